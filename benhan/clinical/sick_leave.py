"""The certificate of leave from work with social-insurance pay (giấy chứng nhận nghỉ việc hưởng BHXH,
TT 25/2025/TT-BYT Mẫu 07), recorded by the doctor on the visit page and printed as the `sickleave` form.

R4 has no resource for it: a `Basic` coded `document-kind#sick-leave`, of the patient, naming the visit
(extension `…/StructureDefinition/encounter`), its author the doctor and `created` the day it is issued,
with the paper's items as extensions (`…/StructureDefinition/sick-leave-*`, the shape the form reads,
benhan.documents.forms.sources.SICK_LEAVE_EXT): the days off as a period (from … to the end of …), the
series number, the social-insurance number, the treatment, the parents of a child under 7, a note. The
diagnosis printed is the visit's own. A new certificate of the same visit is a new Basic; the paper
prints the latest."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from benhan.auth.actor import Actor
from benhan.clinical.common import BENHAN, Problems, now, parse_date, ref, ref_id, stamp
from benhan.store.repository import Repository

DOCUMENT_KIND = f"{BENHAN}/CodeSystem/document-kind"
SICK_LEAVE = "sick-leave"
ENCOUNTER_EXT = f"{BENHAN}/StructureDefinition/encounter"
SD = f"{BENHAN}/StructureDefinition"
# form field → the item (extension f"{SD}/sick-leave-<name>", valueString)
TEXTS = {"leave_number": "number", "leave_bhxh": "bhxh", "leave_treatment": "treatment",
         "leave_father": "father", "leave_mother": "mother", "leave_note": "note"}
# TT 56/2017/TT-BYT (as amended by TT 18/2022): one certificate gives at most 30 days off.
MAX_DAYS = 30
MAX_TEXT = 2_000


def of_visit(repo: Repository, encounter: dict) -> list[dict]:
    """The visit's certificates, newest first. Read among all the patient's (a patient off work month
    after month has more than a page of them, and the visit's is the newest)."""
    found = repo.search_all("Basic", [("subject", encounter["subject"]["reference"]),
                                      ("code", f"{DOCUMENT_KIND}|{SICK_LEAVE}")])
    mine = [m.json() for m in found
            if any(e.get("url") == ENCOUNTER_EXT and ref_id(e.get("valueReference")) == encounter["id"]
                   for e in m.json().get("extension", []))]
    return sorted(mine, key=lambda b: (b.get("created", ""), b.get("meta", {}).get("lastUpdated", "")), reverse=True)


def period_of(basic: dict) -> tuple[str, str]:
    p = next((e.get("valuePeriod") or {} for e in basic.get("extension", []) if e.get("url") == f"{SD}/sick-leave-period"),
             {})
    return p.get("start", ""), p.get("end", "")


def _day(p: Problems, field: str, text: str) -> date | None:
    try:
        day = parse_date(text)
    except ValueError:
        p.add(field, "ui.err.date")
        return None
    if day is None:
        p.add(field, "ui.err.required")
    return day


def record(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], tz: str = "+07:00",
           clock: datetime | None = None) -> str:
    """Record the certificate; the Basic's id. Refused (FormInvalid, by field) without the days off, with
    an end before the start, a start before the visit, more than 30 days, or a social-insurance number
    that is not 10 digits."""
    p = Problems()
    clock = clock or now(tz)
    v = {k: (values.get(k) or "").strip() for k in ("leave_from", "leave_to", *TEXTS)}
    start, end = _day(p, "leave_from", v["leave_from"]), _day(p, "leave_to", v["leave_to"])
    visit_start = (encounter.get("period") or {}).get("start", "")[:10]
    if start and visit_start and start.isoformat() < visit_start:
        p.add("leave_from", "ui.leave.err.before_visit")
    if start and end:
        if end < start:
            p.add("leave_to", "ui.leave.err.order")
        elif (end - start).days + 1 > MAX_DAYS:
            p.add("leave_to", "ui.leave.err.too_long", n=MAX_DAYS)
    if v["leave_bhxh"] and not re.fullmatch(r"\d{10}", v["leave_bhxh"]):
        p.add("leave_bhxh", "ui.leave.err.bhxh")
    for name in TEXTS:
        if len(v[name]) > MAX_TEXT:
            p.add(name, "ui.err.too_long", n=MAX_TEXT)
    p.raise_if_any()
    body = {"resourceType": "Basic", "code": {"coding": [{"system": DOCUMENT_KIND, "code": SICK_LEAVE,
                                                          "display": "Giấy chứng nhận nghỉ việc hưởng BHXH"}]},
            "subject": encounter["subject"], "created": clock.date().isoformat(),
            "author": {"display": actor.display or actor.name},
            "extension": [{"url": ENCOUNTER_EXT, "valueReference": ref("Encounter", encounter["id"])},
                          {"url": f"{SD}/sick-leave-period", "valuePeriod": {"start": start.isoformat(),
                                                                             "end": end.isoformat()}},
                          *({"url": f"{SD}/sick-leave-{name}", "valueString": v[field]}
                            for field, name in TEXTS.items() if v[field])]}
    rid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "Basic", rid, stamp(body, actor), create_only=True)], "create")
    return rid
