"""The patient's (or representative's) electronic confirmation of a signed document by a one-time code
sent to their phone (TT 13/2025 Đ3 k3; Luật GDĐT 20/2023 Đ22 k4). It is **not** a digital signature
and is never shown as one: it is recorded as its own Provenance, whose signature type is
"Consent Signature" with the format `application/vnd.benhan.otp-confirmation+json`, and whose
evidence says who confirmed, what (the SHA-256 of the signed PDF and of the document Bundle), when,
through which channel and message (vietnam-signing.md §1.6: keep the evidence).

The code: 6 random digits, valid 5 minutes, 5 tries; only its salted hash is kept, in the node settings
(shared by every server process), and removed once used. A code is sent at once or not at all.

The other way (issue 13.4): a handwritten signature drawn on the screen of a tablet (or with a mouse),
kept as the PNG image it is, with the time and the device (its name at the facility and the browser's
user agent). It is an electronic confirmation too, recorded the same way apart from its format:
`signature.sigFormat` "image/png" and `signature.data` the image itself; the evidence (device, hashes
of what was confirmed) in the `confirmation-evidence` extension. What tells both apart from a digital
signature in the data: the Consent Signature type (never Author's or Verification Signature), a
sigFormat that is not application/jose or application/pdf, the patient as attester (a representative
as informant) with the staff member as enterer, and the `electronic-confirmation` extension.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from benhan import errors
from benhan.documents import seal as sealing
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
EVIDENCE = "https://benhan.vn/fhir/StructureDefinition/confirmation-evidence"
PAD_FORMAT = "image/png"
PAD_MAX_BYTES = 64 * 1024         # a signature on a 600×200 canvas is a few KB; more is not a signature
PAD_MAX_SIDE = 1600               # pixels, either side
PAD_MIN_INK = 40                  # drawn pixels: fewer is an empty pad or a tap, not a signature
_KEY = "otp:"
VN = dt.timezone(dt.timedelta(hours=7))


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
    when = _now(now).astimezone(VN)       # as the signatures: the facility's clock time, with its offset
    evidence = {"channel": "sms-otp", "phone": masked(record["phone"]), "who": record["who"],
                "message_id": record["message_id"], "sent": record["sent"], "confirmed": when.isoformat(),
                "document": f"DocumentReference/{document['id']}/_history/{record['version']}",
                "pdf_sha256": hashlib.sha256(pdf).hexdigest(), "bundle_sha256": hashlib.sha256(bundle).hexdigest(),
                "recorded_by": actor.name}
    signature = {"sigFormat": FORMAT,
                 "data": base64.b64encode(json.dumps(evidence, ensure_ascii=False).encode()).decode()}
    pid = _record(repo, actor, document, record["version"], record["who"], when, signature,
                  "Xác nhận điện tử bằng mã OTP (TT 13/2025 Điều 3 khoản 3), không phải chữ ký số")
    with repo.store.db.write() as conn:       # used: a code confirms once
        sync_tables.set_setting(conn, _KEY + challenge_id, json.dumps({**record, "hash": "", "tries": TRIES}))
    return pid


def _record(repo: Repository, actor: Actor, document: dict, version: str, who: str, when: dt.datetime,
            signature: dict, statement: str, evidence: list[dict] | None = None) -> str:
    """The confirmation's Provenance: the patient (or representative) confirms, the staff member enters."""
    patient_ref = document["subject"]
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": f"DocumentReference/{document['id']}/_history/{version}"}],
        "recorded": when.isoformat(timespec="seconds"),
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "informant" if who != "patient" else "attester"}]},
                   "who": patient_ref},
                  {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "enterer"}]}, "who": {"display": actor.display or actor.name}}],
        "signature": [{"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": CONSENT_SIGNATURE[0],
                                 "display": CONSENT_SIGNATURE[1]}],
                       "when": when.isoformat(timespec="seconds"), "who": patient_ref, **signature}],
        "extension": [{"url": ELECTRONIC_CONFIRMATION, "valueString": statement},
                      *([{"url": EVIDENCE, "extension": evidence}] if evidence else [])],
    }
    pid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "Provenance", pid, provenance, create_only=True)], "create")
    return pid


# --- a signature drawn on the screen -------------------------------------------------------------

def _refuse_image(vi: str, en: str) -> errors.BenhanError:
    return errors.ConfirmationImageRefused(f"{vi} | {en}")


def pad_image(data: str | bytes) -> bytes:
    """The drawn signature as PNG bytes, checked: a PNG (by its bytes), small, not a blank pad.
    Takes the canvas's data URL ("data:image/png;base64,…") or the bytes."""
    if isinstance(data, str):
        head, _, body = data.strip().partition(",")
        if head != "data:image/png;base64" or not body:
            raise _refuse_image("chưa có chữ ký trên màn hình", "nothing was signed on the screen")
        if len(body) > PAD_MAX_BYTES * 4 // 3 + 4:
            raise _refuse_image(f"ảnh chữ ký quá lớn (tối đa {PAD_MAX_BYTES // 1024} KB)",
                                f"the signature image is too large (at most {PAD_MAX_BYTES // 1024} KB)")
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise _refuse_image("ảnh chữ ký không đọc được", "the signature image cannot be read") from None
    if len(data) > PAD_MAX_BYTES:
        raise _refuse_image(f"ảnh chữ ký quá lớn (tối đa {PAD_MAX_BYTES // 1024} KB)",
                            f"the signature image is too large (at most {PAD_MAX_BYTES // 1024} KB)")
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise _refuse_image("ảnh chữ ký không phải PNG", "the signature image is not a PNG")
    from PIL import Image, ImageChops, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as image:
            if max(image.size) > PAD_MAX_SIDE:
                raise _refuse_image("ảnh chữ ký quá lớn", "the signature image is too large")
            image.load()
            # ink: pixels drawn (opaque and dark) — a transparent or white pad has none
            lum, alpha = image.convert("LA").split()
            drawn = ImageChops.multiply(lum.point(lambda v: 255 if v < 160 else 0),
                                        alpha.point(lambda v: 255 if v > 128 else 0))
            ink = drawn.histogram()[255]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse_image("ảnh chữ ký không đọc được", "the signature image cannot be read") from None
    if ink < PAD_MIN_INK:
        raise _refuse_image("chưa có chữ ký trên màn hình (khung ký còn trống)",
                            "nothing was signed on the screen (the pad is empty)")
    return data


def confirm_by_pad(repo: Repository, actor: Actor, document_reference_id: str, image: str | bytes, *,
                   device: str = "", user_agent: str = "", who: str = "patient",
                   now: dt.datetime | None = None) -> str:
    """Record the patient's (or representative's) signature drawn on the screen as their electronic
    confirmation of the document; the Provenance's id. ConfirmationImageRefused for a bad image."""
    png = pad_image(image)
    document = repo.read("DocumentReference", document_reference_id).json()
    version = document["meta"]["versionId"]
    pdf, bundle = signing.pdf_of(document), signing.raw_bundle_of(document)
    when = _now(now).astimezone(VN)       # as the signatures: the facility's clock time, with its offset
    device, user_agent = " ".join(device.split())[:120], " ".join(user_agent.split())[:300]
    evidence = [{"url": "channel", "valueCode": "signature-pad"},
                {"url": "who", "valueCode": "patient" if who == "patient" else "representative"},
                *([{"url": "device", "valueString": device}] if device else []),
                *([{"url": "userAgent", "valueString": user_agent}] if user_agent else []),
                {"url": "confirmed", "valueDateTime": when.isoformat(timespec="seconds")},
                {"url": "document", "valueString": f"DocumentReference/{document['id']}/_history/{version}"},
                {"url": "pdfSha256", "valueString": hashlib.sha256(pdf).hexdigest()},
                {"url": "bundleSha256", "valueString": hashlib.sha256(bundle).hexdigest()},
                {"url": "imageSha256", "valueString": hashlib.sha256(png).hexdigest()},
                {"url": "recordedBy", "valueString": actor.name}]
    signature = {"sigFormat": PAD_FORMAT, "data": base64.b64encode(png).decode()}
    return _record(repo, actor, document, version, who, when, signature,
                   "Xác nhận điện tử bằng chữ ký tay trên màn hình (TT 13/2025 Điều 3 khoản 3), không phải chữ ký số",
                   evidence)


def chain(repo: Repository, document_reference_id: str) -> list[dict]:
    """The document and the versions it adds to (a sealed version appends the seal to the author's)."""
    out, seen = [], set()
    current: str | None = document_reference_id
    while current and current not in seen:
        seen.add(current)
        document = repo.read("DocumentReference", current).json()
        out.append(document)
        current = sealing.sealed_from(document)
    return out


def confirmations(repo: Repository, document_reference_id: str, *, follow: bool = False) -> list[dict]:
    """The patient's confirmations of a document (with `follow`, of the versions it adds to as well),
    oldest first: {"channel": "otp" | "pad", "when", "who", "phone", "device", "image", "document",
    "pdf_sha256"} each ("image" a data URL of the drawn signature)."""
    ids = [d["id"] for d in chain(repo, document_reference_id)] if follow else [document_reference_id]
    out = []
    for doc_id in ids:
        found = repo.search_type("Provenance", [("target", f"DocumentReference/{doc_id}"), ("_count", "50")])
        for match in found.matches:
            provenance = match.json()
            if provenance["target"][0]["reference"].split("/")[1] != doc_id:
                continue
            for sig in provenance.get("signature", []):
                if sig.get("sigFormat") == FORMAT:
                    evidence = json.loads(base64.b64decode(sig["data"]))
                    out.append({"channel": "otp", "when": sig.get("when", ""), "phone": evidence.get("phone", ""),
                                "who": evidence.get("who", "patient"), "device": "", "image": "",
                                "document": evidence.get("document", ""),
                                "pdf_sha256": evidence.get("pdf_sha256", "")})
                elif sig.get("sigFormat") == PAD_FORMAT:
                    ev = {e["url"]: next(v for k, v in e.items() if k.startswith("value"))
                          for x in provenance.get("extension", []) if x.get("url") == EVIDENCE
                          for e in x.get("extension", [])}
                    out.append({"channel": "pad", "when": sig.get("when", ""), "phone": "",
                                "who": ev.get("who", "patient"),
                                "device": ev.get("device", "") or ev.get("userAgent", ""),
                                "image": f"data:image/png;base64,{sig.get('data', '')}",
                                "document": ev.get("document", ""), "pdf_sha256": ev.get("pdfSha256", "")})
    return sorted(out, key=lambda c: dt.datetime.fromisoformat(c["when"]) if c["when"] else _now(None))


def unchanged_since(repo: Repository, item: dict, pdf: bytes) -> bool:
    """Whether `pdf` (the document as it is now) still holds, byte for byte, what was confirmed: the
    same PDF, or — for a sealed version — that PDF with only the seal appended after it."""
    ref = item["document"].split("/")
    if len(ref) != 4 or not item["pdf_sha256"]:
        return False
    confirmed = signing.pdf_of(repo.vread("DocumentReference", ref[1], ref[3]).json())
    return (hashlib.sha256(confirmed).hexdigest() == item["pdf_sha256"]
            and pdf[:len(confirmed)] == confirmed)
