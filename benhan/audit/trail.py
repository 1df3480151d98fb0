"""Searching the audit trail the way auditors ask (AuditEvent?patient=…&date=ge…), and the report
"who looked at this patient's record, when".

Served from the trail's own rows (audit_event, audit_patient), never from the resource table: the
trail is append-only and written by the server alone. Reading it is itself audited.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from benhan.fhir.capability import AUDIT_TRAIL_PARAMETERS
from benhan import errors
from benhan.audit import fhir_view
from benhan.auth.actor import Actor
from benhan.fhir.datetimes import parse_range
from benhan.fhir.search import check_query
from benhan.store import audit_query
from benhan.store.audit_log import AuditRecord
from benhan.store.audit_query import TrailQuery

AUDIT_TYPE = "AuditEvent"
DEFAULT_COUNT = 20
MAX_COUNT = 1000
MAX_VALUES = 200
PARAMETERS = AUDIT_TRAIL_PARAMETERS     # listed in the CapabilityStatement from the same tuple
RESULT_PARAMETERS = ("_count", "_sort", "_cursor", "_total")
IGNORED = ("_format", "_pretty")
_DATE_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=\d)")


@dataclass
class TrailPage:
    rows: list                              # store rows, newest first (or oldest with _sort=date)
    has_next: bool
    next_cursor: int | None
    total: int | None
    applied: list[tuple[str, str]]          # the parameters used, for the self and next links
    ignored: list[str] = field(default_factory=list)

    def events(self, node_id: str, facility: str | None = None) -> list[dict]:
        return [fhir_view.render(r, node_id, facility) for r in self.rows]


def may_read(actor: Actor, letter: str) -> bool:
    return actor.access is None or actor.access.mode(letter, AUDIT_TYPE) is not None


def _audit(store, actor: Actor, interaction: str, *, outcome: str = "0", res_id: str | None = None,  # noqa: ANN001
           query: str | None = None, patients: tuple[str, ...] = ()) -> None:
    store.read_audit.add(AuditRecord(
        recorded=_now_us(), interaction=interaction, agent=actor.name, outcome=outcome,
        source_address=actor.source_address, res_type=AUDIT_TYPE, res_id=res_id, query=query,
        patients=patients, role=" ".join(actor.roles) or None, client_id=actor.client_id))


def _now_us() -> int:
    import time
    return time.time_ns() // 1000


def _check(store, actor: Actor, letter: str, interaction: str, **audit: Any) -> None:  # noqa: ANN001
    if not may_read(actor, letter):
        _audit(store, actor, interaction, outcome="4", **audit)
        raise errors.Forbidden("you may not " + ("search" if letter == "s" else "read") + " the audit trail")


# --- parsing --------------------------------------------------------------------------------------

def _values(key: str, raw: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    if not values:
        raise errors.InvalidSearchParameter(f"{key} needs a value", expression=key)
    if len(values) > MAX_VALUES:
        raise errors.InvalidSearchParameter(f"{key}: at most {MAX_VALUES} values", expression=key)
    return values


def _token(value: str) -> tuple[str | None, str]:
    if "|" in value:
        system, _, code = value.partition("|")
        return system or None, code
    return None, value


def _reference_id(value: str, res_type: str) -> str:
    """'Patient/p1', an absolute URL ending in Patient/p1, or 'p1' → 'p1'."""
    marker = f"{res_type}/"
    if marker in value:
        return value.rsplit(marker, 1)[1].split("/")[0]
    return value


def _entity(key: str, value: str) -> tuple[str, str | None]:
    parts = value.split("?")[0].rstrip("/").split("/")
    # Type/id, Type/id/_history/n or an absolute URL ending in one of them.
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2], parts[-1]
    if len(parts) == 1 and parts[0][:1].isupper():
        return parts[0], None
    raise errors.InvalidSearchParameter(f"{key}={value}: expected Type/id", expression=key)


def _seq_of(node_id: str, value: str) -> int | None:
    prefix = node_id + "-"
    if value.startswith(prefix) and value[len(prefix):].isascii() and value[len(prefix):].isdigit():
        digits = value[len(prefix):]
        return int(digits) if len(digits) <= 18 else None
    return None


def _int(key: str, value: str, limit: int) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise errors.InvalidSearchParameter(f"{key} must be a whole number, not {value!r}", expression=key)
    return min(int(value), limit)


def parse(items: list[tuple[str, str]], node_id: str, *, lenient: bool = False) -> tuple[TrailQuery, dict, list[str]]:
    """Search parameters → (criteria, result options, ignored parameters)."""
    check_query(items)      # NUL or endless values: 400 before any reaches the trail's columns
    q = TrailQuery()
    options: dict[str, Any] = {"count": DEFAULT_COUNT, "newest_first": True, "cursor": None, "total": False}
    ignored: list[str] = []
    seqs: set[int] | None = None
    for key, raw in items:
        name, _, modifier = key.partition(":")
        if key in IGNORED:
            continue
        if name in PARAMETERS and modifier:
            if lenient:
                ignored.append(key)
                continue
            raise errors.UnknownSearchParameter(f"{key}: AuditEvent search takes no modifiers", expression=key)
        if key == "_count":
            options["count"] = _int(key, raw, MAX_COUNT)
        elif key == "_sort":
            if raw not in ("date", "-date", "_lastUpdated", "-_lastUpdated"):
                raise errors.InvalidSearchParameter("AuditEvent sorts by date only (_sort=date or -date)",
                                                    expression="_sort")
            options["newest_first"] = raw.startswith("-")
        elif key == "_cursor":
            options["cursor"] = _int(key, raw, 2**62)
        elif key == "_total":
            options["total"] = raw == "accurate"
        elif key == "_id":
            found = {s for s in (_seq_of(node_id, v) for v in _values(key, raw)) if s is not None}
            seqs = found if seqs is None else seqs & found
        elif key == "patient":
            q.patients.append(tuple(_reference_id(v, "Patient") for v in _values(key, raw)))
        elif key == "agent":
            names, practitioners = [], []
            for v in _values(key, raw):
                system, code = _token(v)
                if system is None and "Practitioner/" in code:
                    practitioners.append(_reference_id(code, "Practitioner"))
                else:
                    names.append(code)
            _agent_criteria(q, names, practitioners)
        elif key == "altid":
            q.agents.append(_values(key, raw))
        elif key == "agent-name":
            q.agent_names.append(_values(key, raw))
        elif key == "date":
            for v in _values(key, raw):
                m = _DATE_PREFIX.match(v)
                comparator, text = (m.group(1), v[2:]) if m else ("eq", v)
                span = parse_range(text)
                if span is None:
                    raise errors.InvalidSearchParameter(f"date={v}: not a FHIR date or dateTime", expression="date")
                q.dates.append((comparator, span[0], span[1]))
        elif key == "entity":
            q.entities.append(tuple(_entity(key, v) for v in _values(key, raw)))
        elif key == "entity-type":
            q.entity_types.append(tuple(_token(v)[1] for v in _values(key, raw)))
        elif key == "action":
            q.actions.append(_values(key, raw))
        elif key == "outcome":
            q.outcomes.append(tuple(_token(v)[1] for v in _values(key, raw)))
        elif key == "subtype":
            q.interactions_in.append(frozenset().union(*(fhir_view.interactions_of_subtype(*_token(v))
                                                          for v in _values(key, raw))))
        elif key == "type":
            _type_criteria(q, [_token(v) for v in _values(key, raw)])
        elif key == "address":
            q.addresses.append(_values(key, raw))
        elif key == "purpose":
            q.purposes.append(tuple(_token(v)[1] for v in _values(key, raw)))
        elif lenient:
            ignored.append(key)
        else:
            raise errors.UnknownSearchParameter(
                f"AuditEvent search does not take {key!r} (it takes {', '.join(PARAMETERS + RESULT_PARAMETERS)})",
                expression=key)
    if seqs is not None:
        q.seqs = tuple(sorted(seqs))
    return q, options, ignored


def _agent_criteria(q: TrailQuery, names: list[str], practitioners: list[str]) -> None:
    if names and practitioners:
        # OR across two columns: not expressible as two AND-ed criteria; search each separately.
        raise errors.InvalidSearchParameter("agent: give user names or Practitioner references, not both at once",
                                            expression="agent")
    if names:
        q.agents.append(tuple(names))
    if practitioners:
        q.agent_practitioners.append(tuple(practitioners))


def _type_criteria(q: TrailQuery, tokens: list[tuple[str | None, str]]) -> None:
    inside: set[str] = set()
    outside: frozenset[str] | None = None
    for system, code in tokens:
        kind, names = fhir_view.interactions_of_type(system, code)
        if kind == "in":
            inside |= names
        else:
            outside = names
    if outside is not None and inside:
        raise errors.InvalidSearchParameter("type: Application Activity (110100) cannot be OR-ed with other types",
                                            expression="type")
    if outside is not None:
        q.interactions_not_in.append(outside)
    else:
        q.interactions_in.append(frozenset(inside))


# --- searching ------------------------------------------------------------------------------------

def search(store, actor: Actor, items: list[tuple[str, str]], *, lenient: bool = False) -> TrailPage:  # noqa: ANN001
    """AuditEvent?… over the trail: one page, newest first unless _sort=date."""
    query_text = "&".join(f"{k}={v}" for k, v in items)
    _check(store, actor, "s", "search-type", query=query_text)
    q, options, ignored = parse(items, store.node_id, lenient=lenient)
    with store.db.read() as conn:
        rows, more = audit_query.search(conn, q, count=options["count"], cursor=options["cursor"],
                                        newest_first=options["newest_first"])
        total = audit_query.count(conn, q) if options["total"] else None
    patients = tuple(sorted({p for group in q.patients for p in group}))
    _audit(store, actor, "search-type", query=query_text, patients=patients)
    applied = [(k, v) for k, v in items if k not in ("_cursor", *IGNORED) and k not in ignored]
    next_cursor = rows[-1].seq if more and rows else None
    return TrailPage(rows, more, next_cursor, total, applied, ignored)


def read(store, actor: Actor, event_id: str) -> Any:  # noqa: ANN001, ANN401
    """One trail row by its AuditEvent id, or NotFound."""
    _check(store, actor, "r", "read", res_id=event_id)
    seq = _seq_of(store.node_id, event_id)
    rows = []
    if seq is not None:
        with store.db.read() as conn:
            rows, _ = audit_query.search(conn, TrailQuery(seqs=(seq,)), count=1)
    _audit(store, actor, "read", res_id=event_id, outcome="0" if rows else "4",
           patients=tuple(rows[0].patients.split(" ")) if rows and rows[0].patients else ())
    if not rows:
        raise errors.NotFound(f"AuditEvent/{event_id} is not known")
    return rows[0]


# --- the patient report ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    """One line of "who looked at this patient's record, when"."""
    seq: int
    when: int                   # µs since the epoch, UTC
    username: str
    display: str | None
    roles: tuple[str, ...]
    interaction: str
    resource: str | None        # Type/id or Type/id/_history/n, or the searched type
    source_address: str | None
    outcome: str
    break_glass: bool
    client_id: str | None


def report_for_patient(store, patient_id: str, actor: Actor | None = None, *, limit: int = 1000,  # noqa: ANN001
                       since: int | None = None) -> list[Access]:
    """Every event that touched the patient's record, newest first (up to `limit`)."""
    actor = actor or Actor.system()
    q = TrailQuery(patients=[(patient_id,)])
    if since is not None:
        q.dates.append(("ge", since, since))
    _check(store, actor, "s", "search-type", query=f"patient={patient_id}", patients=(patient_id,))
    out: list[Access] = []
    cursor = None
    with store.db.read() as conn:
        while len(out) < limit:
            rows, more = audit_query.search(conn, q, count=min(500, limit - len(out)), cursor=cursor)
            out += [_access(r) for r in rows]
            if not more or not rows:
                break
            cursor = rows[-1].seq
    _audit(store, actor, "search-type", query=f"patient={patient_id}", patients=(patient_id,))
    return out


def _access(r: Any) -> Access:  # noqa: ANN401
    if r.res_type and r.res_id:
        what = f"{r.res_type}/{r.res_id}" + (f"/_history/{r.version}" if r.version else "")
    else:
        what = r.res_type
    return Access(r.seq, r.recorded, r.agent, r.display_name, tuple((r.role or "").split()), r.interaction,
                  what, r.source_address, r.outcome, r.purpose == "BTG", r.client_id)
