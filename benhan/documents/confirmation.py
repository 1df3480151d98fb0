"""The patient's (or representative's) electronic confirmation of a signed document by a one-time code
sent to their phone (TT 13/2025 Đ3 k3; Luật GDĐT 20/2023 Đ22 k4). It is **not** a digital signature
and is never shown as one: it is recorded as its own Provenance, whose signature type is
"Consent Signature" with the format `application/vnd.benhan.otp-confirmation+json`, and whose
evidence says who confirmed, what (the SHA-256 of the signed PDF and of the document Bundle), when,
through which channel and message (vietnam-signing.md §1.6: keep the evidence).

The code: 6 random digits, valid 5 minutes, 5 tries; only its salted hash is kept, in the node settings
(shared by every server process), and removed once used. A code is sent at once or not at all.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from benhan import errors
from benhan.auth.actor import Actor
from benhan.documents import signing
from benhan.store import sync_tables
from benhan.store.repository import Repository
from benhan.vn.phone import normalize_phone, phone_problems

LIFETIME = dt.timedelta(minutes=5)
TRIES = 5
FORMAT = "application/vnd.benhan.otp-confirmation+json"
CONSENT_SIGNATURE = ("1.2.840.10065.1.12.1.7", "Consent Signature")
ELECTRONIC_CONFIRMATION = "https://benhan.vn/fhir/StructureDefinition/electronic-confirmation"
_KEY = "otp:"


@dataclass
class Challenge:
    id: str
    phone_masked: str
    expires: dt.datetime


def masked(phone: str) -> str:
    return phone[:3] + "****" + phone[-3:]


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)


def patient_phone(repo: Repository, document: dict) -> str:
    patient = repo.read("Patient", document["subject"]["reference"].split("/", 1)[1]).json()
    return next((normalize_phone(t.get("value", "")) for t in patient.get("telecom", [])
                 if t.get("system") in ("phone", "sms") and not phone_problems(t.get("value", ""), mobile_only=True)),
                "")


def request(repo: Repository, document_reference_id: str, phone: str, send: Callable[[str, str], str], *,
            who: str = "patient", now: dt.datetime | None = None) -> Challenge:
    """Send a code for confirming document `document_reference_id` to `phone`; the challenge."""
    document = repo.read("DocumentReference", document_reference_id).json()
    number = normalize_phone(phone)
    problems = phone_problems(number, mobile_only=True)
    if problems:
        raise errors.ConfirmationRefused(f"số điện thoại di động không đúng | not a mobile number: {problems[0]}")
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    challenge = Challenge(str(uuid.uuid4()), masked(number), _now(now) + LIFETIME)
    title = (document.get("type") or {}).get("text", "tai lieu")
    message_id = send(number, f"Ma xac nhan {title} tai benhan: {code}. Hieu luc 5 phut. Khong chia se ma nay.")
    record = {"hash": _hash(salt, code), "salt": salt, "expires": challenge.expires.isoformat(), "tries": 0,
              "document": document_reference_id, "version": document["meta"]["versionId"], "phone": number,
              "who": who, "message_id": message_id, "sent": _now(now).isoformat()}
    with repo.store.db.write() as conn:
        sync_tables.set_setting(conn, _KEY + challenge.id, json.dumps(record))
    return challenge


def confirm(repo: Repository, actor: Actor, challenge_id: str, code: str, *, now: dt.datetime | None = None) -> str:
    """Check the code and record the confirmation; the Provenance's id. ConfirmationRefused otherwise."""
    with repo.store.db.write() as conn:
        raw = sync_tables.get_setting(conn, _KEY + challenge_id)
        if raw is None:
            raise errors.ConfirmationRefused("mã không còn hiệu lực, hãy gửi mã mới | the code is no longer valid; "
                                             "send a new one")
        record = json.loads(raw)
        expired = _now(now) > dt.datetime.fromisoformat(record["expires"])
        right = hmac.compare_digest(record["hash"], _hash(record["salt"], (code or "").strip()))
        if expired or (not right and record["tries"] + 1 >= TRIES):
            sync_tables.set_setting(conn, _KEY + challenge_id, json.dumps({**record, "hash": "", "tries": TRIES}))
        elif not right:
            sync_tables.set_setting(conn, _KEY + challenge_id, json.dumps({**record, "tries": record["tries"] + 1}))
    if expired or record["tries"] >= TRIES or not record["hash"]:
        raise errors.ConfirmationRefused("mã đã hết hạn hoặc nhập sai quá số lần, hãy gửi mã mới | the code expired "
                                         "or was mistyped too often; send a new one")
    if not right:
        raise errors.ConfirmationRefused(f"mã xác nhận không đúng (còn {TRIES - record['tries'] - 1} lần) | wrong code "
                                         f"({TRIES - record['tries'] - 1} tries left)")
    document = repo.read("DocumentReference", record["document"]).json()
    pdf, bundle = signing.pdf_of(document), signing.raw_bundle_of(document)
    when = _now(now)
    evidence = {"channel": "sms-otp", "phone": masked(record["phone"]), "who": record["who"],
                "message_id": record["message_id"], "sent": record["sent"], "confirmed": when.isoformat(),
                "document": f"DocumentReference/{document['id']}/_history/{record['version']}",
                "pdf_sha256": hashlib.sha256(pdf).hexdigest(), "bundle_sha256": hashlib.sha256(bundle).hexdigest(),
                "recorded_by": actor.name}
    patient_ref = document["subject"]
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": f"DocumentReference/{document['id']}/_history/{record['version']}"}],
        "recorded": when.isoformat(timespec="seconds"),
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "informant" if record["who"] != "patient" else "attester"}]},
                   "who": patient_ref},
                  {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "enterer"}]}, "who": {"display": actor.display or actor.name}}],
        "signature": [{"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": CONSENT_SIGNATURE[0],
                                 "display": CONSENT_SIGNATURE[1]}],
                       "when": when.isoformat(timespec="seconds"), "who": patient_ref, "sigFormat": FORMAT,
                       "data": base64.b64encode(json.dumps(evidence, ensure_ascii=False).encode()).decode()}],
        "extension": [{"url": ELECTRONIC_CONFIRMATION, "valueString":
                       "Xác nhận điện tử bằng mã OTP (TT 13/2025 Điều 3 khoản 3), không phải chữ ký số"}],
    }
    pid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "Provenance", pid, provenance, create_only=True)], "create")
    with repo.store.db.write() as conn:       # used: a code confirms once
        sync_tables.set_setting(conn, _KEY + challenge_id, json.dumps({**record, "hash": "", "tries": TRIES}))
    return pid


def confirmations(repo: Repository, document_reference_id: str) -> list[dict]:
    """The OTP confirmations recorded for a document: {"when", "phone", "who"} each."""
    found = repo.search_type("Provenance", [("target", f"DocumentReference/{document_reference_id}"),
                                            ("_count", "50")])
    out = []
    for match in found.matches:
        for sig in match.json().get("signature", []):
            if sig.get("sigFormat") == FORMAT:
                evidence = json.loads(base64.b64decode(sig["data"]))
                out.append({"when": sig.get("when", ""), "phone": evidence.get("phone", ""),
                            "who": evidence.get("who", "patient")})
    return out
