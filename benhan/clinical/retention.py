"""How long a medical record is kept, and its destruction by a council decision (TT 33/2025/TT-BYT,
Luật Lưu trữ 33/2024; ../shared/vietnam.md §1.4; docs/operations.md "Retention").

A record (hồ sơ bệnh án) is one visit: the Encounter and every resource that names it as its
`encounter` (or `context`). Its class comes from the visit:
- a medical incident (the Encounter carries INCIDENT_EXT true) — TT 33 group 01 item 38: permanent;
- a death (the discharge's death extension, or disposition `exp`) — item 39: 30 years;
- psychiatric (ICD-10 F), traffic accident (V01–V99) or occupational accident (Y96, a
  work-related condition) among the visit's diagnoses — item 40: 20 years;
- any other inpatient or outpatient record — item 44: 10 years.
A record with several of these takes the longest (Đ15 k3 of the archives law: "a mixed file takes its
longest period"). The period counts from the year the work ended (Đ15 k3): a visit that ended in 2026
and is kept 10 years is kept through 31/12/2036 (the day it may first be destroyed is 01/01/2037 —
our reading of "from the year", marked as inference in the docs). A visit not yet ended has not
started its period: it is kept.

The rule installed in store.retention_guard refuses the deletion of a record's resources (and of
a Patient who has any record) on every write path. Destruction is `destroy(decision)`: the council's
decision (number, date, members, the records) is checked — every record past its end date, or
nothing is done — then each record's resources are deleted, their earlier versions' content purged,
and one AuditEvent written per record plus one for the decision.
"""
from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical import outcome
from benhan.store import audit_log, retention_guard
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository, now_us
from benhan.store.store import Store

BENHAN = "https://benhan.vn/fhir"
INCIDENT_EXT = f"{BENHAN}/StructureDefinition/medical-incident"
DECISION_CODE = {"system": f"{BENHAN}/CodeSystem/retention", "code": "destruction-decision",
                 "display": "Quyết định tiêu hủy hồ sơ"}
LINK_PARAMS = ("encounter", "context")
PERMANENT = None


@dataclass(frozen=True)
class RetentionClass:
    code: str
    years: int | None           # None: permanent
    item: str                   # the row of TT 33/2025 annex, group 01
    label_vi: str
    label_en: str


CLASSES = {
    "incident": RetentionClass("incident", PERMANENT, "38", "Hồ sơ sự cố y khoa", "Medical-incident record"),
    "death": RetentionClass("death", 30, "39", "Hồ sơ người bệnh tử vong", "Death record"),
    "psychiatric": RetentionClass("psychiatric", 20, "40", "Hồ sơ bệnh án tâm thần", "Psychiatric record"),
    "traffic": RetentionClass("traffic", 20, "40", "Hồ sơ tai nạn giao thông", "Traffic-accident record"),
    "occupational": RetentionClass("occupational", 20, "40", "Hồ sơ tai nạn lao động", "Occupational-accident record"),
    "inpatient": RetentionClass("inpatient", 10, "44", "Hồ sơ bệnh án nội trú", "Inpatient record"),
    "outpatient": RetentionClass("outpatient", 10, "44", "Hồ sơ bệnh án ngoại trú", "Outpatient record"),
}


def _system_today() -> date:
    return datetime.now(timezone.utc).date()


_clock: Callable[[], date] = _system_today


def set_clock(clock: Callable[[], date] | None) -> None:
    """Tests (and nothing else) set the day; None restores the system clock."""
    global _clock
    _clock = clock or _system_today


def today() -> date:
    return _clock()


@dataclass
class Retention:
    encounter_id: str
    patient_id: str | None
    klass: RetentionClass
    reasons: list[RetentionClass] = field(default_factory=list)
    ended: date | None = None           # when the visit ended (None: still open)
    keep_until: date | None = None      # last day kept; None: open visit or permanent

    @property
    def permanent(self) -> bool:
        return self.klass.years is None

    def may_destroy(self, on: date) -> bool:
        return self.keep_until is not None and on > self.keep_until

    def json(self) -> dict:
        return {"record": f"Encounter/{self.encounter_id}", "patient": self.patient_id,
                "class": self.klass.code, "item": self.klass.item, "years": self.klass.years,
                "ended": self.ended.isoformat() if self.ended else None,
                "keep_until": self.keep_until.isoformat() if self.keep_until else None,
                "destroyable": self.may_destroy(today())}


def _ref_id(ref: object, res_type: str) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        kind, _, rid = ref["reference"].rpartition("/")
        if kind.endswith(res_type) and rid:
            return rid
    return None


def _codes(condition: dict) -> list[str]:
    return [str(c.get("code", "")).upper() for c in (condition.get("code") or {}).get("coding", [])
            if isinstance(c, dict)]


def _diagnosis_class(code: str) -> str | None:
    if code.startswith("F"):
        return "psychiatric"
    if code[:1] == "V" and code[1:3].isdigit():
        return "traffic"
    if code.startswith("Y96"):
        return "occupational"
    return None


def _is_dead(encounter: dict) -> bool:
    if outcome.death_of(encounter) is not None:
        return True
    disposition = (encounter.get("hospitalization") or {}).get("dischargeDisposition") or {}
    return any(c.get("code") == "exp" for c in disposition.get("coding", []) if isinstance(c, dict))


def is_incident(encounter: dict) -> bool:
    return any(e.get("url") == INCIDENT_EXT and e.get("valueBoolean") is True
               for e in encounter.get("extension", []) if isinstance(e, dict))


def _ended(encounter: dict) -> date | None:
    if encounter.get("status") not in ("finished", "cancelled", "entered-in-error"):
        return None
    period = encounter.get("period") or {}
    stamp = period.get("end") or period.get("start") or (encounter.get("meta") or {}).get("lastUpdated")
    try:
        return date.fromisoformat(str(stamp)[:10]) if stamp else None
    except ValueError:
        return None


def classify(encounter: dict, conditions: list[dict]) -> Retention:
    """The retention of one visit, from its Encounter and the Conditions that name it."""
    reasons = []
    if is_incident(encounter):
        reasons.append(CLASSES["incident"])
    if _is_dead(encounter):
        reasons.append(CLASSES["death"])
    for cond in conditions:
        for code in _codes(cond):
            kind = _diagnosis_class(code)
            if kind and CLASSES[kind] not in reasons:
                reasons.append(CLASSES[kind])
    base = CLASSES["inpatient" if (encounter.get("class") or {}).get("code") == "IMP" else "outpatient"]
    reasons.append(base)
    longest = min(reasons, key=lambda k: (k.years is not None, -(k.years or 0)))
    ended = _ended(encounter)
    keep_until = (date(ended.year + longest.years, 12, 31)
                  if ended is not None and longest.years is not None else None)
    return Retention(encounter.get("id", ""), _ref_id(encounter.get("subject"), "Patient"), longest,
                     reasons, ended, keep_until)


def of_encounter(lookup: retention_guard.Lookup, encounter: dict) -> Retention:
    conditions = [c for cid in lookup.referring("Condition", "Encounter", encounter["id"], ("encounter",))
                  if (c := lookup.load("Condition", cid)) is not None]
    return classify(encounter, conditions)


def _record_encounters(lookup: retention_guard.Lookup, res_type: str, res_id: str, body: dict) -> list[dict]:
    """The visits (records) a resource belongs to: itself for an Encounter; the one it names;
    every visit of a Patient."""
    if res_type == "Encounter":
        return [body]
    if res_type == "Patient":
        ids = lookup.referring("Encounter", "Patient", res_id, ("subject", "patient"))
    else:
        ids = [i for key in LINK_PARAMS if (i := _ref_id(body.get(key), "Encounter"))]
    return [e for i in ids if (e := lookup.load("Encounter", i)) is not None]


def refusal(lookup: retention_guard.Lookup, res_type: str, res_id: str, body: dict) -> str | None:
    """Installed in store.retention_guard: why this deletion is refused (every record's deletion is:
    before its end date by law, after it only through a council decision)."""
    for enc in _record_encounters(lookup, res_type, res_id, body):
        r = of_encounter(lookup, enc)
        if r.permanent:
            until_vi, until_en = "vĩnh viễn", "permanently"
        elif r.keep_until is None:
            until_vi, until_en = "khi lượt khám chưa kết thúc", "while the visit is open"
        elif not r.may_destroy(today()):
            until_vi = f"đến hết ngày {r.keep_until.strftime('%d/%m/%Y')}"
            until_en = f"until {r.keep_until.isoformat()}"
        else:
            return (f"{res_type}/{res_id}: hồ sơ Encounter/{enc['id']} đã hết hạn lưu trữ; chỉ tiêu hủy theo quyết "
                    f"định của hội đồng (benhan retention destroy) | the record Encounter/{enc['id']} is past its "
                    "retention end; it is destroyed only by a council decision (benhan retention destroy)")
        return (f"{res_type}/{res_id} thuộc hồ sơ Encounter/{enc['id']} ({r.klass.label_vi}), phải lưu trữ "
                f"{until_vi} theo Thông tư 33/2025/TT-BYT | belongs to the record Encounter/{enc['id']} "
                f"({r.klass.label_en}), which is kept {until_en} (TT 33/2025, group 01 item {r.klass.item})")
    return None


def install_rules() -> None:
    retention_guard.install(refusal)


# --- reading and reporting ------------------------------------------------------------------------
def of_visit(store: Store, encounter_id: str) -> Retention | None:
    """The retention of one visit (for the visit page)."""
    with store.db.read() as conn:
        lookup = retention_guard.Lookup(conn)
        enc = lookup.load("Encounter", encounter_id)
        return of_encounter(lookup, enc) if enc is not None else None


def report(store: Store, *, until: date | None = None) -> list[Retention]:
    """Every record with its class and end date, soonest end first (open and permanent last);
    `until`: only the records whose end date is on or before that day."""
    out = []
    with store.db.read() as conn:
        lookup = retention_guard.Lookup(conn)
        for i in lookup.current_ids("Encounter"):
            enc = lookup.load("Encounter", i)
            if enc is not None:
                out.append(of_encounter(lookup, enc))
    if until is not None:
        out = [r for r in out if r.keep_until is not None and r.keep_until <= until]
    return sorted(out, key=lambda r: (r.keep_until is None, r.keep_until or date.max, r.encounter_id))


# --- destruction -----------------------------------------------------------------------------------
@dataclass
class Decision:
    number: str
    decided: date
    members: list[str]
    records: list[str]          # Encounter ids

    @classmethod
    def parse(cls, data: object) -> "Decision":
        """A council decision from its JSON: {"number", "date", "members": [...], "records": [...]}."""
        if not isinstance(data, dict):
            raise errors.InvalidUserSetting("the decision file must be a JSON object")
        number, when = data.get("number"), data.get("date")
        members, records = data.get("members"), data.get("records")
        if not isinstance(number, str) or not number.strip():
            raise errors.InvalidUserSetting("the decision needs its number (\"number\")")
        try:
            decided = date.fromisoformat(str(when))
        except ValueError:
            raise errors.InvalidUserSetting("the decision needs its date as YYYY-MM-DD (\"date\")") from None
        if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, str) and m.strip() for m in members):
            raise errors.InvalidUserSetting("the decision needs the council's members (\"members\", at least two names)")
        if not isinstance(records, list) or not records or not all(isinstance(r, str) for r in records):
            raise errors.InvalidUserSetting("the decision needs the list of records (\"records\": [\"Encounter/…\"])")
        ids = [r.removeprefix("Encounter/") for r in records]
        if decided > today():
            raise errors.InvalidUserSetting(f"the decision's date {decided.isoformat()} is in the future")
        return cls(number.strip(), decided, [m.strip() for m in members], ids)


def destroy(store: Store, decision: Decision, *, agent: str | None = None) -> dict:
    """Carry out a council decision: refuses (naming them) if any listed record is not past its end
    date, or unknown; else deletes each record's resources, purges their content, audits."""
    agent = agent or f"cli:{getpass.getuser()}"
    on = today()
    early, missing, plan = [], [], {}
    with store.db.read() as conn:
        lookup = retention_guard.Lookup(conn)
        for enc_id in decision.records:
            enc = lookup.load("Encounter", enc_id)
            if enc is None:
                missing.append(enc_id)
                continue
            r = of_encounter(lookup, enc)
            if not r.may_destroy(on):
                early.append((enc_id, r))
                continue
            plan[enc_id] = (r, lookup.naming("Encounter", enc_id, LINK_PARAMS) + [("Encounter", enc_id)])
    if missing or early:
        parts = [f"Encounter/{i}: không có | not found" for i in missing]
        parts += [f"Encounter/{i}: lưu đến {'vĩnh viễn' if r.permanent else r.keep_until or 'khi kết thúc'} "
                  f"| kept until {'permanent' if r.permanent else r.keep_until or 'the visit ends'}" for i, r in early]
        raise errors.Conflict("chưa được tiêu hủy, hồ sơ chưa hết hạn lưu trữ | refused, records not past their "
                              "retention end: " + "; ".join(parts))
    repo = Repository(store, Actor.system(agent))
    purged = 0
    detail = {"decision": decision.number, "date": decision.decided.isoformat(), "members": decision.members}
    records = []
    for enc_id, (r, keys) in plan.items():
        with retention_guard.releasing(set(keys)):
            for res_type, res_id in keys:
                repo.delete(res_type, res_id)
        with store.db.write() as conn:
            for res_type, res_id in keys:
                purged += retention_guard.purge_versions(conn, res_type, res_id)
            head = audit_log.write(conn, [AuditRecord(
                recorded=now_us(), interaction="delete", subtype="retention-destroy", agent=agent,
                res_type="Encounter", res_id=enc_id, patients=(r.patient_id,) if r.patient_id else (),
                detail=json.dumps({**detail, "class": r.klass.code, "keep_until": r.keep_until.isoformat(),
                                   "resources": [f"{t}/{i}" for t, i in keys]}, ensure_ascii=False))])
            audit_log.note_head(conn, head, now_us())
        records.append({"record": f"Encounter/{enc_id}", "resources": len(keys)})
    audit_log.append(store.db, [AuditRecord(
        recorded=now_us(), interaction="delete", subtype="retention-decision", agent=agent,
        query=f"decision {decision.number}",
        detail=json.dumps({**detail, "records": [f"Encounter/{i}" for i in decision.records]}, ensure_ascii=False))])
    return {"decision": decision.number, "records": records, "versions_purged": purged}
