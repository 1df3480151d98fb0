"""The connection to the national e-prescription system (benhan.documents.eprescription): POST
{url}/api/v1/gui-don-thuoc with the facility's linking code (mã liên thông) and its password as HTTP
basic authentication, through the outbox's HTTP transport."""
from __future__ import annotations

import base64
from dataclasses import dataclass

from benhan import errors
from benhan.outbox import http


@dataclass
class HttpNationalPrescriptionSystem:
    url: str
    linking_code: str
    password: str
    timeout: float = 15.0

    def submit(self, payload: dict) -> dict:
        if not self.url:
            raise errors.PrescriptionSubmissionFailed(
                "chưa cấu hình hệ thống đơn thuốc quốc gia (national_prescription_url) | the national "
                "e-prescription system is not configured")
        basic = base64.b64encode(f"{self.linking_code}:{self.password}".encode()).decode()
        try:
            answer = http.post(f"{self.url.rstrip('/')}/api/v1/gui-don-thuoc", json=payload,
                               headers={"Authorization": f"Basic {basic}"}, timeout=self.timeout)
        except http.Unreachable as exc:
            raise errors.PrescriptionSubmissionFailed(
                f"không kết nối được hệ thống đơn thuốc quốc gia ({exc}) | the national e-prescription system "
                "could not be reached") from None
        if answer.status != 200:
            said = answer.body.get("message") or answer.body.get("error") or f"HTTP {answer.status}"
            raise errors.PrescriptionSubmissionFailed(
                f"hệ thống đơn thuốc quốc gia từ chối (HTTP {answer.status}): {said} | refused: {said}")
        return answer.body
