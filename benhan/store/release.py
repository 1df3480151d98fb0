"""The one gate every resource leaves the store through.

Whatever path hands resources to a caller — a read or vread, a search page and what its _include /
_revinclude bring in, a compartment search, Patient/$everything, history, a batch's GET entries,
and so the clinician pages and printouts built on them — passes the resources through a Gate
before they go. The Gate
- keeps only those the actor may see, by the same rule as store.access's SQL (a resource of a
  patient-limited type goes when one of the patients whose record it is, is in the actor's scope;
  a type the actor may not use at all never goes), so a resource reached by reference
  (Observation.hasMember, Encounter.partOf …) is held to the rule a direct read is; and
- collects the patients whose record each released resource is, so that the audit event of the
  request names every one of them ("who looked at my record" finds it in each patient's list).

Whose record a resource is comes from the reference index for a current version, and from the
version's own body for an earlier one (history, vread): an earlier version may have been about
someone else, and it is that version's content that leaves.

Searches also filter in SQL (store.access.search_condition) so counts, pages and cursors never
reflect what the actor may not see; the Gate is the last check on what actually goes out, on every
path, whatever SQL produced the rows.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Protocol

import orjson
from sqlalchemy import Connection, and_, bindparam, or_, select

from benhan.fhir.indexing import extract
from benhan.store import access as access_sql
from benhan.store.access import PATIENT, Access
from benhan.store.schema import idx_reference, resource, resource_version
from benhan.store.writer import fetch_all

CHUNK = 2000    # ids per IN list: well under SQLite's and PostgreSQL's bound-parameter limits


class Outgoing(Protocol):
    """A resource version about to be handed out (store.repository.VersionBody)."""
    res_type: str
    res_id: str
    version: int
    deleted: bool
    body: bytes | None
    pk: int


def _chunks(items: Sequence, size: int = CHUNK):  # noqa: ANN202
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Built once per shape, with the pks as an expanding parameter: building a select per call cost
# more than SQLite's work for a read (see repository._READ_VERSION).
_CURRENT_VERSIONS = (select(resource.c.pk, resource.c.version)
                     .where(resource.c.pk.in_(bindparam("pks", expanding=True))))


@cache
def _indexed_statement(types: tuple[str, ...]):  # noqa: ANN202
    ref = idx_reference
    # `res_type || ''`: the pks drive (ix_idx_reference_resource). Given two or more, SQLite took
    # the (res_type, param) lookup index instead and walked every Observation.subject row of the
    # store for a search page's twenty Observations.
    pairs = or_(*(and_((ref.c.res_type + "") == t, ref.c.param.in_(access_sql.member_params(t))) for t in types))
    return select(ref.c.resource_pk, ref.c.target_id).where(and_(
        ref.c.resource_pk.in_(bindparam("pks", expanding=True)), ref.c.target_type == PATIENT, pairs))


def _current_versions(conn: Connection, pks: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in _chunks(pks):
        out.update((pk, version) for pk, version in conn.execute(_CURRENT_VERSIONS, {"pks": part}))
    return out


@cache
def _indexed_one_sql(types: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """_indexed_statement for one pk as driver SQL (writer.fetch_all) and its parameters after the
    pk: the read by id's second statement, which through SQLAlchemy cost more than SQLite's work."""
    pairs, params = [], []
    for t in types:
        names = access_sql.member_params(t)
        pairs.append(f"(res_type || '' = ? AND param IN ({', '.join('?' for _ in names)}))")
        params += [t, *names]
    sql = (f"SELECT resource_pk, target_id FROM {idx_reference.name} "
           f"WHERE resource_pk = ? AND target_type = ? AND ({' OR '.join(pairs)})")
    return sql, (PATIENT, *params)


def _indexed_patients(conn: Connection, pks: list[int], types: set[str]) -> dict[int, set[str]]:
    """pk → the patients its current version's index names through a compartment parameter."""
    named: dict[int, set[str]] = {}
    if len(pks) == 1:
        sql, params = _indexed_one_sql(tuple(sorted(types)))
        for pk, target in fetch_all(conn, sql, (pks[0], *params)):
            named.setdefault(pk, set()).add(target)
        return named
    statement = _indexed_statement(tuple(sorted(types)))
    for part in _chunks(pks):
        for pk, target in conn.execute(statement, {"pks": part}):
            named.setdefault(pk, set()).add(target)
    return named


def patients_of_versions(conn: Connection, items: Sequence[Outgoing], *, current: bool = False) -> list[set[str]]:
    """For each version, the ids of the patients whose record it is (a Patient: itself).
    `current`: the caller read them as their resources' current versions (a search page)."""
    # A Patient is its own record (below): looking up whom its index names would be wasted.
    members = [b for b in items if b.pk and b.res_type != PATIENT and access_sql.member_params(b.res_type)]
    pks = sorted({b.pk for b in members})
    versions = {} if current or not pks else _current_versions(conn, pks)
    named = _indexed_patients(conn, pks, {b.res_type for b in members}) if pks else {}
    out: list[set[str]] = []
    for b in items:
        if b.res_type == PATIENT:
            out.append({b.res_id})
        elif not access_sql.member_params(b.res_type):
            out.append(set())
        elif b.body is not None and not current and versions.get(b.pk) != b.version:
            # An earlier version: whose it was is in its own references, not in today's index.
            rows = extract(orjson.loads(b.body)).reference
            out.append(access_sql.referenced_patients(b.res_type, rows))
        else:
            out.append(set(named.get(b.pk, ())))
    return out


def patients_allowed(conn: Connection, access: Access, candidates: Iterable[str]) -> set[str]:
    """Those of the candidate patient ids that are in the actor's scope (store.access's rule)."""
    wanted = sorted({c for c in candidates if c})
    if not wanted:
        return set()
    allowed = access_sql.patients_in_scope(access.scope).subquery()
    found: set[str] = set()
    for part in _chunks(wanted):
        found |= set(conn.execute(select(allowed.c.patient_id).where(allowed.c.patient_id.in_(part))).scalars())
    return found


class Gate:
    """One request's way out: release() filters, `patients` accumulates whose records went."""

    def __init__(self, conn: Connection, access: Access | None, also_into: set[str] | None = None):
        """`also_into`: a longer-lived set that collects the patients too (a request's several reads)."""
        self.conn = conn
        self.access = access
        self.patients: set[str] = set()
        self.withheld: set[str] = set()     # the patients of what was kept back (a refusal's audit)
        self._also_into = also_into

    def _went(self, patients: set[str]) -> None:
        self.patients |= patients
        if self._also_into is not None:
            self._also_into |= patients

    def release(self, items: Sequence[Outgoing], letter: str = "r", *, current: bool = False) -> list:
        """The items the actor may see (letter: the SMART interaction the path is, r or s), in
        their order; the patients whose records they are join `patients`. `current`: the items
        were read as current versions (saves looking that up)."""
        if not items:
            return []
        return self._keep(items, patients_of_versions(self.conn, items, current=current), letter)

    def _keep(self, items: Sequence[Outgoing], owners: list[set[str]], letter: str) -> list:
        access = self.access
        if access is None:                       # the system itself: everything, still audited
            for ps in owners:
                self._went(ps)
            return list(items)
        limited = {t: access.patient_limited(letter, t) for t in {b.res_type for b in items}}
        candidates = set().union(*(ps for b, ps in zip(items, owners) if limited[b.res_type]))
        allowed = patients_allowed(self.conn, access, candidates) if candidates else set()
        keep = []
        for b, ps in zip(items, owners):
            rule = limited[b.res_type]
            if rule is None or (rule and ps.isdisjoint(allowed)):
                # A type the actor may not use at all, or nobody in scope: not theirs to see.
                self.withheld |= ps
                continue
            keep.append(b)
            self._went(ps)
        return keep

    def release_one(self, item: Outgoing, letter: str = "r", *, current: bool = False) -> bool:
        return bool(self.release([item], letter, current=current))

    def release_current(self, item: Outgoing, indexed: Iterable[str], letter: str = "r") -> bool:
        """release_one for a current version whose reference-index patients the caller read in the
        same statement as the version (current_with_patients_sql: PostgreSQL's read by id)."""
        if item.res_type == PATIENT:
            owners = {item.res_id}
        elif access_sql.member_params(item.res_type):
            owners = set(indexed)
        else:
            owners = set()
        return bool(self._keep([item], [owners], letter))


@cache
def current_with_patients_sql(res_type: str, mark: str = "?") -> str:
    """PostgreSQL, parameters (res_type, res_id) as `mark` (`?` for writer.fetch_all, `%s` for the
    driver itself): a resource's current version (the columns of
    repository._READ_CURRENT_SQL) and, last, the patients its reference index names through a
    compartment parameter (_indexed_one_sql's rows as an array; empty for a Patient or a type
    outside the compartment) — the read by id's two statements as one, which is its own snapshot."""
    return f"SELECT {_current_columns(res_type)} WHERE r.res_type = {mark} AND r.res_id = {mark} AND v.version = r.version"


@cache
def currents_with_patients_sql(res_type: str) -> str:
    """current_with_patients_sql for several ids of one type at once, parameters (res_type, an array
    of ids) as `%s`: the same columns after the id of each row found. Reads by id that arrived together
    while every connection was busy share it (database.LoopReads.fetch_batched)."""
    return (f"SELECT r.res_id, {_current_columns(res_type)} "
            f"WHERE r.res_type = %s AND r.res_id = ANY(%s) AND v.version = r.version")


def _current_columns(res_type: str) -> str:
    """The select list and FROM of the read by id's statement (see current_with_patients_sql)."""
    names = access_sql.member_params(res_type) if res_type != PATIENT else ()
    if names:
        quoted = ", ".join("'" + n.replace("'", "''") + "'" for n in names)
        # `x.res_type || ''`: the pk drives (ix_idx_reference_resource), as in _indexed_statement.
        # Without it, on tables not yet analyzed, PostgreSQL took the (res_type, param) lookup index
        # and filtered every Observation.subject row by pk: 0.7-2.5 ms instead of ~0.02 per read.
        owners = (f"ARRAY(SELECT x.target_id FROM {idx_reference.name} AS x WHERE x.resource_pk = r.pk "
                  f"AND x.target_type = '{PATIENT}' AND x.res_type || '' = r.res_type AND x.param IN ({quoted}))")
    else:
        owners = "NULL"
    return (f"v.version, v.last_updated, v.deleted, v.encoding, v.body, v.method, r.pk, r.version, {owners} "
            f"FROM {resource.name} AS r JOIN {resource_version.name} AS v ON v.resource_pk = r.pk")
