"""The patient confirms her discharge paper with a code sent by SMS (TT 13/2025 Đ3 k3): the code
goes out through the gateway (checked by a stand-in that refuses what a provider refuses), a wrong
code leaves fewer tries, an expired one is refused, the right one is recorded as an electronic
confirmation — with its evidence, never as a digital signature."""
from __future__ import annotations

import base64
import datetime as dt
import json
import re

import pytest

from benhan import errors
from benhan.documents import confirmation, signing
from benhan.outbox.sms import SmsGateway
from benhan.signing import keys
from tests.signing.sms_standin import SmsStandIn
from tests.signing.test_documents import DOCTOR_CCCD, _world


def _signed(store, ca, trust):  # noqa: ANN001, ANN202
    repo, actor, eid = _world(store)
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    return repo, actor, signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)


def test_the_patient_confirms_by_otp_and_it_is_kept_as_a_confirmation(store, ca, trust):  # noqa: ANN001
    repo, actor, done = _signed(store, ca, trust)
    with SmsStandIn() as sms:
        gateway = SmsGateway(sms.url, sms.key)
        challenge = confirmation.request(repo, done.document_reference_id, "+84 912 345 678", gateway.send)
        [message] = sms.sent
        assert message["to"] == "0912345678" and challenge.phone_masked == "091****678"
        code = re.search(r"\b(\d{6})\b", message["text"]).group(1)
        wrong = "000000" if code != "000000" else "111111"
        with pytest.raises(errors.ConfirmationRefused, match="4 tries left"):
            confirmation.confirm(repo, actor, challenge.id, wrong)
        provenance_id = confirmation.confirm(repo, actor, challenge.id, code)
        with pytest.raises(errors.ConfirmationRefused):          # a code confirms once
            confirmation.confirm(repo, actor, challenge.id, code)
    provenance = repo.read("Provenance", provenance_id).json()
    [sig] = provenance["signature"]
    assert sig["sigFormat"] == confirmation.FORMAT and sig["type"][0]["code"] == "1.2.840.10065.1.12.1.7"
    evidence = json.loads(base64.b64decode(sig["data"]))
    assert evidence["channel"] == "sms-otp" and evidence["phone"] == "091****678"
    assert len(evidence["pdf_sha256"]) == 64 and evidence["message_id"] == message["message_id"]
    assert "không phải chữ ký số" in provenance["extension"][0]["valueString"]
    assert [c["phone"] for c in confirmation.confirmations(repo, done.document_reference_id)] == ["091****678"]


def test_an_expired_code_a_landline_and_a_gateway_refusal_are_refused(store, ca, trust):  # noqa: ANN001
    repo, actor, done = _signed(store, ca, trust)
    with SmsStandIn() as sms:
        gateway = SmsGateway(sms.url, sms.key)
        past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=6)
        challenge = confirmation.request(repo, done.document_reference_id, "0912345678", gateway.send, now=past)
        code = re.search(r"\b(\d{6})\b", sms.sent[-1]["text"]).group(1)
        with pytest.raises(errors.ConfirmationRefused, match="expired"):
            confirmation.confirm(repo, actor, challenge.id, code)
        with pytest.raises(errors.ConfirmationRefused, match="mobile"):
            confirmation.request(repo, done.document_reference_id, "02438251234", gateway.send)
        with pytest.raises(errors.SmsFailed, match="refused"):
            confirmation.request(repo, done.document_reference_id, "0912345678", SmsGateway(sms.url, "sai").send)
