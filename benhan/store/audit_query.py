"""Reading the audit trail: the chain in order (for audit.verify) and searches over it (for
audit.trail). The SQL lives here because only store/ speaks SQLAlchemy; deciding what a row means
(FHIR codes, what counts as tampering) is audit/'s business.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, func, not_, or_, select

from benhan.store.audit_log import CHAIN_FIELDS, HEAD_ID
from benhan.store.schema import audit_chain_head, audit_event, audit_patient, user_account

ae, ap = audit_event, audit_patient

# --- the chain ----------------------------------------------------------------------------------

_CHAIN_COLUMNS = [ae.c.seq, ae.c.hash, *(ae.c[name] for name in CHAIN_FIELDS)]


@dataclass(frozen=True)
class ChainRow:
    row: object                       # the audit_event row (attributes by column name)
    fields: object                    # the same as a mapping (what audit_log.link_hash takes)
    linked_patients: frozenset[str]   # its audit_patient rows


def head(conn: Connection) -> tuple[int, str] | None:
    found = conn.execute(select(audit_chain_head.c.chain_pos, audit_chain_head.c.hash)
                         .where(audit_chain_head.c.id == HEAD_ID)).first()
    return None if found is None else (found.chain_pos, found.hash)


def chained(conn: Connection, batch: int = 1000) -> Iterator[list[ChainRow]]:
    """Chained rows in chain_pos order, a batch at a time (keyset paging: bounded memory, and each
    batch an index range scan), each with the patients its audit_patient rows name."""
    after = None
    while True:
        q = select(*_CHAIN_COLUMNS).where(ae.c.chain_pos.is_not(None))
        if after is not None:
            q = q.where(ae.c.chain_pos > after)
        rows = conn.execute(q.order_by(ae.c.chain_pos).limit(batch)).all()
        if not rows:
            return
        seqs = [r.seq for r in rows]
        linked: dict[int, set[str]] = {}
        # Chained rows are inserted under the chain lock, so their seqs rise with chain_pos; a range
        # over seq fetches the batch's audit_patient rows in one index scan.
        for seq, patient in conn.execute(select(ap.c.seq, ap.c.patient_id).where(
                ap.c.seq.between(min(seqs), max(seqs)))):
            linked.setdefault(seq, set()).add(patient)
        yield [ChainRow(r, r._mapping, frozenset(linked.get(r.seq, ()))) for r in rows]
        after = rows[-1].chain_pos


@dataclass(frozen=True)
class Unchained:
    legacy: int                    # rows from before the chain began
    inserted: list[tuple[int, int, int | None]]   # (seq, recorded, chain_pos of the next chained row)
    patient_rows: list[int]        # seqs of unchained rows that have audit_patient rows


def unchained(conn: Connection, limit: int = 10) -> Unchained:
    """Rows without a chain position. Those older than the first chained row (by seq and by time)
    predate the chain (migration 0002); any other is an insertion."""
    first = conn.execute(select(ae.c.seq, ae.c.recorded).where(ae.c.chain_pos.is_not(None))
                         .order_by(ae.c.seq).limit(1)).first()
    null = ae.c.chain_pos.is_(None)
    if first is None:
        old = null
    else:
        old = and_(null, ae.c.seq < first.seq, ae.c.recorded <= first.recorded)
    legacy = conn.execute(select(func.count()).select_from(ae).where(old)).scalar()
    odd = conn.execute(select(ae.c.seq, ae.c.recorded).where(and_(null, not_(old)))
                       .order_by(ae.c.seq).limit(limit)).all()
    inserted = []
    for seq, recorded in odd:
        following = conn.execute(select(func.min(ae.c.chain_pos)).where(
            and_(ae.c.chain_pos.is_not(None), ae.c.seq > seq))).scalar()
        inserted.append((seq, recorded, following))
    patient_rows = list(conn.execute(select(ap.c.seq).distinct().select_from(ap.join(ae, ae.c.seq == ap.c.seq))
                                     .where(null).order_by(ap.c.seq).limit(limit)).scalars())
    return Unchained(legacy, inserted, patient_rows)


# --- searching the trail -------------------------------------------------------------------------

@dataclass
class TrailQuery:
    """Criteria over audit rows; each field narrows (AND); values within one field are OR."""
    seqs: tuple[int, ...] | None = None
    patients: list[tuple[str, ...]] = field(default_factory=list)
    agents: list[tuple[str, ...]] = field(default_factory=list)        # exact user names
    agent_names: list[tuple[str, ...]] = field(default_factory=list)   # prefixes of user or display name
    agent_practitioners: list[tuple[str, ...]] = field(default_factory=list)
    dates: list[tuple[str, int, int]] = field(default_factory=list)    # (comparator, low, high) in µs
    entities: list[tuple[tuple[str, str | None], ...]] = field(default_factory=list)
    entity_types: list[tuple[str, ...]] = field(default_factory=list)
    actions: list[tuple[str, ...]] = field(default_factory=list)
    outcomes: list[tuple[str, ...]] = field(default_factory=list)
    interactions_in: list[frozenset[str]] = field(default_factory=list)
    interactions_not_in: list[frozenset[str]] = field(default_factory=list)
    purposes: list[tuple[str, ...]] = field(default_factory=list)
    addresses: list[tuple[str, ...]] = field(default_factory=list)


_ROW_COLUMNS = [*ae.c, user_account.c.display_name, user_account.c.practitioner_id]
_FROM = ae.outerjoin(user_account, user_account.c.username == ae.c.agent)


def _date(comparator: str, low: int, high: int):  # noqa: ANN202
    r = ae.c.recorded
    return {"eq": r.between(low, high), "ne": not_(r.between(low, high)), "ge": r >= low, "le": r <= high,
            "gt": r > high, "lt": r < low, "sa": r > high, "eb": r < low, "ap": r.between(low, high)}[comparator]


def _conditions(q: TrailQuery) -> list:
    cond = []
    if q.seqs is not None:
        cond.append(ae.c.seq.in_(q.seqs))
    for ids in q.patients:
        cond.append(ae.c.seq.in_(select(ap.c.seq).where(ap.c.patient_id.in_(ids))))
    for names in q.agents:
        cond.append(ae.c.agent.in_(names))
    for prefixes in q.agent_names:
        cond.append(or_(*(or_(func.lower(ae.c.agent).like(_prefix(p), escape="\\"),
                              func.lower(user_account.c.display_name).like(_prefix(p), escape="\\"))
                          for p in prefixes)))
    for ids in q.agent_practitioners:
        cond.append(user_account.c.practitioner_id.in_(ids))
    for comparator, low, high in q.dates:
        cond.append(_date(comparator, low, high))
    for pairs in q.entities:
        cond.append(or_(*(and_(ae.c.res_type == t, ae.c.res_id == i) if i is not None else ae.c.res_type == t
                          for t, i in pairs)))
    for types in q.entity_types:
        cond.append(ae.c.res_type.in_(types))
    for actions in q.actions:
        cond.append(ae.c.action.in_(actions))
    for outcomes in q.outcomes:
        cond.append(ae.c.outcome.in_(outcomes))
    for names in q.interactions_in:
        cond.append(ae.c.interaction.in_(sorted(names)))
    for names in q.interactions_not_in:
        cond.append(ae.c.interaction.not_in(sorted(names)))
    for purposes in q.purposes:
        cond.append(ae.c.purpose.in_(purposes))
    for addresses in q.addresses:
        cond.append(ae.c.source_address.in_(addresses))
    return cond


def _prefix(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def search(conn: Connection, q: TrailQuery, *, count: int, cursor: int | None = None,
           newest_first: bool = True) -> tuple[list, bool]:
    """One page of rows in trail order (seq), after the cursor; (rows, whether more follow)."""
    stmt = select(*_ROW_COLUMNS).select_from(_FROM)
    cond = _conditions(q)
    if cursor is not None:
        cond.append(ae.c.seq < cursor if newest_first else ae.c.seq > cursor)
    if cond:
        stmt = stmt.where(and_(*cond))
    stmt = stmt.order_by(ae.c.seq.desc() if newest_first else ae.c.seq).limit(count + 1)
    rows = conn.execute(stmt).all()
    return rows[:count], len(rows) > count


def count(conn: Connection, q: TrailQuery) -> int:
    cond = _conditions(q)
    stmt = select(func.count()).select_from(_FROM)
    return conn.execute(stmt.where(and_(*cond)) if cond else stmt).scalar()
