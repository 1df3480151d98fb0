"""Two-step validation of an analyser's results, as a laboratory signs them off:

1. technical validation (duyệt kỹ thuật) by the lab technician — the run, the controls, the sample
   are right: the report records the technician as its performer and when; it stays `preliminary`;
2. medical validation (duyệt y khoa) by a doctor — the results make sense for this patient: the
   report becomes `final`, its Observations `final`, the doctor its resultsInterpreter (the same
   field the result entry fills with "Bác sĩ duyệt kết quả", so the printed sheet names them), and
   the order `completed` (it leaves the worklist).

The two are different people: the user who validated technically cannot validate medically (refused).
Critical-value Flags are acknowledged by the doctor here too (an audited update of the Flag).
"""
from __future__ import annotations

from benhan.auth.actor import Actor
from benhan.clinical.common import BENHAN, is_actor, now, ref_id, stamp
from benhan.lab import critical
from benhan.store.repository import Repository

TECHNICAL = f"{BENHAN}/StructureDefinition/technical-validation"


class ValidationRefused(Exception):
    """Why a validation step is refused; `key` is the message id the UI translates."""

    def __init__(self, key: str, english: str):
        super().__init__(english)
        self.key = key


def _report(repo: Repository, report_id: str) -> dict:
    report = repo.read("DiagnosticReport", report_id).json()
    if report.get("status") != "preliminary":
        raise ValidationRefused("ui.lab.err.not_preliminary", f"report is {report.get('status')}, not preliminary")
    return report


def _who(actor: Actor) -> str:
    return actor.name


def technical_by(report: dict) -> str:
    """The user name of the technician who validated technically, '' when not yet."""
    return next((e.get("valueString", "") for e in report.get("extension", []) if e.get("url") == TECHNICAL), "")


def _version(body: dict) -> int | None:
    return int(body.get("meta", {}).get("versionId", "0")) or None


def _plain(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "meta"}


def technical(repo: Repository, actor: Actor, report_id: str, tz: str = "+07:00") -> None:
    report = _report(repo, report_id)
    if technical_by(report):
        raise ValidationRefused("ui.lab.err.already_technical", "already validated technically")
    body = _plain(report)
    body["extension"] = [*body.get("extension", []), {"url": TECHNICAL, "valueString": _who(actor)}]
    body["performer"] = [*body.get("performer", []), {"display": actor.display or actor.name}]
    body["issued"] = now(tz).isoformat()
    repo.commit([repo.prepare("PUT", "DiagnosticReport", report_id, stamp(body, actor), if_match=_version(report))],
                "transaction")


def medical(repo: Repository, actor: Actor, report_id: str, interpreter: dict | None = None,
            tz: str = "+07:00") -> None:
    """`interpreter`: the doctor's Practitioner reference (default: the actor's name as display)."""
    report = _report(repo, report_id)
    tech = technical_by(report)
    if not tech:
        raise ValidationRefused("ui.lab.err.technical_first", "technical validation comes first")
    if tech == _who(actor):
        raise ValidationRefused("ui.lab.err.same_person",
                                "the medical validation is by another person than the technical one")
    when = now(tz).isoformat()
    pending = []
    for r in report.get("result", []):
        oid = ref_id(r) or ""
        obs = repo.read("Observation", oid).json()
        done = {**_plain(obs), "status": "final"}
        pending.append(repo.prepare("PUT", "Observation", oid, stamp(done, actor), if_match=_version(obs)))
    body = {**_plain(report), "status": "final", "issued": when,
            "resultsInterpreter": [interpreter or {"display": actor.display or actor.name}]}
    pending.append(repo.prepare("PUT", "DiagnosticReport", report_id, stamp(body, actor), if_match=_version(report)))
    for based in report.get("basedOn", []):
        order = repo.read("ServiceRequest", ref_id(based) or "").json()
        if order.get("status") == "active":
            pending.append(repo.prepare("PUT", "ServiceRequest", order["id"],
                                        stamp({**_plain(order), "status": "completed"}, actor),
                                        if_match=_version(order)))
    repo.commit(pending, "transaction")


def open_flags(repo: Repository, encounter_id: str) -> list[dict]:
    """The active critical-value Flags of a visit, oldest first."""
    found = repo.search_all("Flag", [("encounter", f"Encounter/{encounter_id}")])
    flags = [m.json() for m in found if m.json().get("status") == "active"      # R4 Flag: no status search
             and any(e.get("url") == critical.OBSERVATION for e in m.json().get("extension", []))]
    return sorted(flags, key=lambda f: f.get("period", {}).get("start", ""))


def flags_for(repo: Repository, actor: Actor, legacy_scan: int = 200) -> list[dict]:
    """The active critical-value Flags for a doctor, oldest first: the doctor's home page lists
    them until they are acknowledged. The flag is for the order's requester, matched by account
    or Practitioner (common.is_actor), so a namesake does not see it. Every flag still awaiting
    acknowledgement is found by its tag; flags written before the tag existed are looked for
    among the `legacy_scan` most recently updated, as they were then."""
    awaiting = f"{critical.AWAITING['system']}|{critical.AWAITING['code']}"
    seen = {m.res_id: m.json() for m in repo.search_all("Flag", [("_tag", awaiting)])}
    for m in repo.search_type("Flag", [("_sort", "-_lastUpdated"), ("_count", str(legacy_scan))]).matches:
        seen.setdefault(m.res_id, m.json())
    flags = [f for f in seen.values() if f.get("status") == "active"
             and any(e.get("url") == critical.FOR and is_actor(e.get("valueReference"), actor)
                     for e in f.get("extension", []))]
    return sorted(flags, key=lambda f: f.get("period", {}).get("start", ""))


def acknowledge(repo: Repository, actor: Actor, flag_id: str, tz: str = "+07:00") -> None:
    """The doctor has seen the critical value: the Flag ends (inactive, period.end, who)."""
    flag = repo.read("Flag", flag_id).json()
    if flag.get("status") != "active":
        raise ValidationRefused("ui.lab.err.flag_closed", "the flag is already acknowledged")
    body = _plain(flag)
    body["status"] = "inactive"
    body["period"] = {**body.get("period", {}), "end": now(tz).isoformat()}
    body["extension"] = [*body.get("extension", []), {"url": critical.ACKNOWLEDGED,
                                                       "valueString": actor.display or actor.name}]
    repo.commit([repo.prepare("PUT", "Flag", flag_id, stamp(body, actor), if_match=_version(flag))], "transaction")
