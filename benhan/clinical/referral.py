"""The BHYT transfer of a patient to another facility (chuyển cơ sở khám bệnh, chữa bệnh), recorded by the
doctor on the visit's referral page, printed on the referral slip of TT 01/2025/TT-BYT PL VI and sent
in BHYT XML13.

One FHIR `ServiceRequest` of the visit, coded SNOMED CT 3457005 "Patient referral" (the shape the slip
reads, benhan.documents.forms.data.referral_of), with the XML13 fields:
- `identifier` số chuyển tuyến [SO_CHUYENTUYEN]; `performer` the facility referred to, by name and MA_CSKCB
  [MA_NOI_DEN]; `reasonCode` the reason 1a/1b/2 [MA_LYDO_CT]; `occurrenceDateTime` when the patient leaves;
  `requester` the doctor [MA_BAC_SI]; `authoredOn` the date of the slip;
- extensions for what R4 has no element for: the condition at transfer [TINH_TRANG_CT], the treatment
  direction [HUONG_DIEU_TRI], the transport [PHUONGTIEN_VC], the escort and their title
  [HOTEN_NGUOI_HT, CHUCDANH_NGUOI_HT], and "valid for one year" (a disease of TT 01/2025 PL III).
The slip's other items (signs, results, diagnoses, treatment given) come from the record itself.
A new referral of the same visit is a new ServiceRequest; the slip prints the latest."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from benhan.auth.actor import Actor
from benhan.clinical.admission import MA_CSKCB_SYSTEM, parse_datetime
from benhan.clinical.common import BENHAN, Problems, now, ref, requester, stamp
from benhan.store.repository import Repository

SNOMED = "http://snomed.info/sct"
REFERRAL = "3457005"
REASON_SYSTEM = f"{BENHAN}/CodeSystem/ly-do-chuyen"            # TT 01/2025 PL VI (XML13 MA_LYDO_CT)
REASONS = {"1a": "Đủ điều kiện chuyển theo quy định (phù hợp với cấp chuyên môn kỹ thuật)",
           "1b": "Không phù hợp với khả năng đáp ứng của cơ sở",
           "2": "Theo yêu cầu của người bệnh hoặc người đại diện hợp pháp"}
SD = f"{BENHAN}/StructureDefinition"
# form field → the extension's name (the slip's sources.REFERRAL_EXT: f"{SD}/referral-<name>")
TEXTS = {"ref_condition": "condition-at-transfer", "ref_direction": "treatment-direction",
         "ref_transport": "transport", "ref_escort": "escort", "ref_escort_title": "escort-title"}
ONE_YEAR = "valid-one-year"
MAX_TEXT = 2_000


def is_referral(request: dict) -> bool:
    return any(c.get("system") == SNOMED and c.get("code") == REFERRAL
               for c in (request.get("code") or {}).get("coding", []))


def of_visit(repo: Repository, encounter_id: str) -> list[dict]:
    """The visit's referrals, newest first."""
    found = repo.search_type("ServiceRequest", [("encounter", f"Encounter/{encounter_id}"),
                                                ("code", f"{SNOMED}|{REFERRAL}"), ("_count", "20")])
    return sorted((m.json() for m in found.matches), key=lambda r: r.get("authoredOn", ""), reverse=True)


def record(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], tz: str = "+07:00",
           clock: datetime | None = None) -> str:
    """Record the transfer; the ServiceRequest's id. Refused (FormInvalid, by field) without the
    facility referred to or the reason, with a facility code that is not 5 digits, or a departure
    time that is not a time or is before the visit began."""
    p = Problems()
    clock = clock or now(tz)
    v = {k: (values.get(k) or "").strip() for k in ("ref_number", "ref_to", "ref_to_code", "ref_reason", "ref_when",
                                                     *TEXTS)}
    if not v["ref_to"]:
        p.add("ref_to", "ui.err.required")
    if v["ref_to_code"] and not re.fullmatch(r"\d{5}", v["ref_to_code"]):
        p.add("ref_to_code", "ui.adm.err.ma_cskcb")
    if v["ref_reason"] not in REASONS:
        p.add("ref_reason", "ui.err.choose")
    when = None
    try:
        when = parse_datetime(v["ref_when"], tz)
    except ValueError:
        p.add("ref_when", "ui.proc.err.datetime")
    start = (encounter.get("period") or {}).get("start", "")
    if when and len(start) > 10 and when < datetime.fromisoformat(start).replace(second=0, microsecond=0):
        p.add("ref_when", "ui.proc.err.before_admission")
    elif when and when > clock + timedelta(days=1):
        # Written before the ambulance leaves, so a little ahead of now; not days ahead (a year typed wrong).
        p.add("ref_when", "ui.err.future")
    for name in ("ref_number", "ref_to", *TEXTS):
        if len(v[name]) > MAX_TEXT:
            p.add(name, "ui.err.too_long", n=MAX_TEXT)
    p.raise_if_any()
    performer = {"display": v["ref_to"]}
    if v["ref_to_code"]:
        performer["identifier"] = {"system": MA_CSKCB_SYSTEM, "value": v["ref_to_code"]}
    body = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "code": {"coding": [{"system": SNOMED, "code": REFERRAL, "display": "Patient referral"}],
                     "text": "Chuyển cơ sở khám bệnh, chữa bệnh"},
            "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
            "authoredOn": clock.isoformat(), "requester": requester(actor), "performer": [performer],
            "reasonCode": [{"coding": [{"system": REASON_SYSTEM, "code": v["ref_reason"],
                                        "display": REASONS[v["ref_reason"]]}]}],
            "extension": [{"url": f"{SD}/referral-{name}", "valueString": v[field]}
                          for field, name in TEXTS.items() if v[field]]}
    if v["ref_number"]:
        body["identifier"] = [{"value": v["ref_number"]}]
    if when:
        body["occurrenceDateTime"] = when.isoformat()
    if values.get("ref_one_year") == "yes":
        body["extension"].append({"url": f"{SD}/referral-{ONE_YEAR}", "valueBoolean": True})
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "ServiceRequest", rid, stamp(body, actor), create_only=True)], "create")
    return rid
