"""Sending a visit's prescription to the national e-prescription system (Hệ thống đơn thuốc quốc gia,
TT 26/2025 Đ12 k6 d: "right after the visit ends"; QĐ 425/QĐ-BYT), behind a small interface so a
stand-in answers in tests and the real connection can change without touching the rest:

1. the national code is issued once (prescription_code.py) and written on every line of the
   prescription (MedicationRequest.identifier), so the paper, the signed document and the national
   system carry the same code; a line that already has one keeps it (the code never changes);
2. the prescription is sent as JSON with the facility's linking code (mã liên thông);
3. the answer is kept on each line (an extension with the time and the system's reference).

Adding the code or the answer does not restamp a line's author (who prescribed stays who prescribed;
the store's history says who added what).

The JSON's field names follow the published descriptions of the connection spec QĐ 808/QĐ-BYT (2022),
read through secondary sources only (forms-tt32.md §5.6): check them against the spec in force
before connecting for real.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical import diagnoses, prescriptions
from benhan.clinical.common import BENHAN
from benhan.clinical.printouts.forms import Context
from benhan.documents import prescription_code
from benhan.documents.prescription_code import NATIONAL_CODE_SYSTEM
from benhan.store.repository import Repository

SENT_EXT = f"{BENHAN}/StructureDefinition/national-prescription-sent"


class NationalPrescriptionSystem(Protocol):
    """The national system as benhan sees it: the HTTP connection is benhan.outbox.eprescription
    (httpx lives in outbox/); `submit` answers the system's JSON or raises PrescriptionSubmissionFailed."""
    def submit(self, payload: dict) -> dict: ...


def _lines(ctx: Context) -> list[dict]:
    return prescriptions.active_lines(ctx.rec.prescriptions)


def code_of(lines: list[dict]) -> str:
    return next((i["value"] for r in lines for i in r.get("identifier", []) if i.get("system") == NATIONAL_CODE_SYSTEM
                 and i.get("value")), "")


def issue_code(repo: Repository, actor: Actor, ctx: Context, kind: str = "C") -> str:
    """The prescription's national code: the one its lines carry, else a new one written on each line."""
    lines = _lines(ctx)
    if not lines:
        raise errors.PrescriptionSubmissionFailed("lượt khám không có đơn thuốc | the visit has no prescription")
    code = code_of(lines)
    if code:
        return code

    def taken(candidate: str) -> bool:
        return bool(repo.search_type("MedicationRequest", [("identifier", f"{NATIONAL_CODE_SYSTEM}|{candidate}"),
                                                           ("_count", "1")]).matches)
    try:
        code = prescription_code.generate(ctx.facility.code, kind, taken)
    except prescription_code.CodeError as exc:       # the facility's code or the kind cannot make a code
        raise errors.PrescriptionSubmissionFailed(str(exc)) from None
    pending = []
    for line in lines:
        body = {k: v for k, v in line.items() if k != "meta"}
        body["identifier"] = [*body.get("identifier", []), {"system": NATIONAL_CODE_SYSTEM, "value": code}]
        version = int(line.get("meta", {}).get("versionId", "0")) or None
        pending.append(repo.prepare("PUT", "MedicationRequest", line["id"], body, if_match=version))
    repo.commit(pending, "transaction")
    return code


def payload(ctx: Context, code: str) -> dict:
    """The prescription as the national system takes it (QĐ 808 field names, see the module's note)."""
    b, p = ctx.banner, ctx.patient
    listed = [d for d in diagnoses.listed(ctx.encounter, ctx.rec.conditions) if not d.cancelled]
    lines = _lines(ctx)
    first = lines[0] if lines else {}
    return {
        "loai_don_thuoc": prescription_code.kind_of(code), "ma_don_thuoc": code,
        "ma_co_so_kham_chua_benh": ctx.facility.code,
        "ho_ten_benh_nhan": b.name, "ngay_sinh_benh_nhan": b.birth_date, "gioi_tinh": b.gender,
        "so_dinh_danh": b.cccd or "", "ma_so_the_bao_hiem_y_te": b.bhyt or "",
        "dia_chi": (p.get("address") or [{}])[0].get("text", ""),
        "chan_doan": [{"ma_chan_doan": d.code, "ten_chan_doan": d.display} for d in listed],
        "thong_tin_don_thuoc": [{
            "ten_thuoc": prescriptions.drug_of(r),
            "so_luong": (r.get("dispenseRequest", {}).get("quantity") or {}).get("value"),
            "don_vi_tinh": (r.get("dispenseRequest", {}).get("quantity") or {}).get("unit", ""),
            "cach_dung": (r.get("dosageInstruction") or [{}])[0].get("text", "")} for r in lines],
        "loi_dan": "; ".join(sorted({(r.get("dosageInstruction") or [{}])[0].get("patientInstruction", "")
                                     for r in lines} - {""})),
        "ngay_tai_kham": ((ctx.appointment or {}).get("start") or "")[:10],
        "ngay_gio_ke_don": first.get("authoredOn", ""),
        "ten_bac_si": (first.get("requester") or {}).get("display", ""),
    }


@dataclass
class Sent:
    code: str
    reference: str          # the national system's own reference of the prescription, as it answered
    at: dt.datetime


def send(repo: Repository, actor: Actor, ctx: Context, system: NationalPrescriptionSystem, now: dt.datetime,
         kind: str = "C") -> Sent:
    """Issue the code (once), send, and keep the answer on each line. `ctx` is re-read after the code
    is written, so what is sent is what is stored."""
    from benhan.clinical.printouts.forms import gather
    code = issue_code(repo, actor, ctx, kind)
    ctx = gather(repo, ctx.encounter["id"], now.date())
    answer = system.submit(payload(ctx, code))
    reference = str(answer.get("ma_tham_chieu") or answer.get("id") or code)
    pending = []
    for line in _lines(ctx):
        body = {k: v for k, v in line.items() if k != "meta"}
        body["extension"] = [e for e in body.get("extension", []) if e.get("url") != SENT_EXT] + [
            {"url": SENT_EXT, "extension": [{"url": "at", "valueDateTime": now.isoformat(timespec="seconds")},
                                            {"url": "reference", "valueString": reference}]}]
        version = int(line.get("meta", {}).get("versionId", "0")) or None
        pending.append(repo.prepare("PUT", "MedicationRequest", line["id"], body, if_match=version))
    repo.commit(pending, "transaction")
    return Sent(code, reference, now)
