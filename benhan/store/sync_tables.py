"""The SQL of sync (docs/sync.md): reading the change log for push and pull, writing versions that
were made elsewhere (with their own version number, body and origin), setting local versions
aside, the review queues, the hub's node registry and the node's cursors.

The decisions (what is a conflict, what a node may receive) live in benhan/sync/; this module only
reads and writes rows, always inside a transaction its caller holds.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (BigInteger, Connection, String, and_, bindparam, case, delete, func, insert, literal,
                        or_, select, tuple_, update)
from sqlalchemy.exc import DBAPIError, IntegrityError

from benhan.fhir.indexing import IndexRows
from benhan.store.schema import (INDEX_COLUMNS, INDEX_TABLES, audit_event, change_log, idx_reference, idx_token,
                                 node_setting, resource, resource_version, sync_batch, sync_conflict,
                                 sync_duplicate, sync_feed, sync_node, sync_resolution, sync_scope,
                                 sync_traffic)
from benhan.store.writer import decode_body, encode_body, index_tuples, insert_index_rows

# --- node settings (cursors, enrolment) -----------------------------------------------------------


def get_setting(conn: Connection, key: str) -> str | None:
    return conn.execute(select(node_setting.c.value).where(node_setting.c.key == key)).scalar()


def get_settings(conn: Connection, prefix: str) -> dict[str, str]:
    rows = conn.execute(select(node_setting.c.key, node_setting.c.value)
                        .where(node_setting.c.key.startswith(prefix, autoescape=True)))
    return {r.key: r.value for r in rows}


def set_setting(conn: Connection, key: str, value: str) -> None:
    if conn.execute(update(node_setting).where(node_setting.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(insert(node_setting).values(key=key, value=value))


# --- reading the change log -----------------------------------------------------------------------

@dataclass
class Change:
    """One committed version as the change log and the version table hold it."""
    seq: int
    res_type: str
    res_id: str
    version: int
    base: int | None
    origin: str
    deleted: bool
    method: str
    last_updated: int
    body: bytes | None
    resource_pk: int = 0
    resolves: bool = False
    agent: str | None = None
    committed_at: int = 0          # when this end committed it (the pull's gap rule)


def _changes_query():  # noqa: ANN202
    cl, v = change_log, resource_version
    return (select(cl.c.seq, cl.c.resource_pk, cl.c.res_type, cl.c.res_id, cl.c.version, cl.c.base_version,
                   cl.c.origin_node, cl.c.committed_at, v.c.deleted, v.c.method, v.c.last_updated, v.c.encoding,
                   v.c.body, sync_resolution.c.version.label("resolves"))
            .select_from(cl.join(v, and_(v.c.resource_pk == cl.c.resource_pk, v.c.version == cl.c.version))
                         .outerjoin(sync_resolution, and_(sync_resolution.c.resource_pk == cl.c.resource_pk,
                                                          sync_resolution.c.version == cl.c.version))))


def _change(row: Any) -> Change:
    body = None if row.deleted else decode_body(row.encoding, row.body)
    return Change(row.seq, row.res_type, row.res_id, row.version, row.base_version, row.origin_node,
                  bool(row.deleted), row.method, row.last_updated, body, row.resource_pk, row.resolves is not None,
                  committed_at=row.committed_at)


def own_changes(conn: Connection, origin: str, after: int, limit: int) -> list[Change]:
    """This node's own changes after `after`, in sequence order (what push sends)."""
    q = (_changes_query().where(and_(change_log.c.seq > after, change_log.c.origin_node == origin))
         .order_by(change_log.c.seq).limit(limit))
    changes = [_change(r) for r in conn.execute(q)]
    _attach_agents(conn, changes)
    return changes


def count_own_changes(conn: Connection, origin: str, after: int) -> int:
    return conn.execute(select(func.count()).select_from(change_log).where(and_(
        change_log.c.seq > after, change_log.c.origin_node == origin))).scalar() or 0


def _attach_agents(conn: Connection, changes: list[Change]) -> None:
    """Who made each version: the agent of its write's audit row (attribution at the hub)."""
    keys = list({(c.res_type, c.res_id) for c in changes})
    found: dict[tuple[str, str, int], str] = {}
    for start in range(0, len(keys), 400):
        chunk = keys[start:start + 400]
        q = (select(audit_event.c.res_type, audit_event.c.res_id, audit_event.c.version, audit_event.c.agent)
             .where(and_(tuple_(audit_event.c.res_type, audit_event.c.res_id).in_(chunk),
                         audit_event.c.action.in_(("C", "U", "D")))))
        for r in conn.execute(q):
            found[(r.res_type, r.res_id, r.version)] = r.agent
    for c in changes:
        c.agent = found.get((c.res_type, c.res_id, c.version))


def changes_after(conn: Connection, after: int, limit: int) -> list[Change]:
    """Every change after `after` in sequence order (what pull examines; agents not needed)."""
    q = _changes_query().where(change_log.c.seq > after).order_by(change_log.c.seq).limit(limit)
    return [_change(r) for r in conn.execute(q)]


def pull_upper(conn: Connection, after: int, window: int, fresh_after_us: int | None) -> int:
    """The last seq a pull page may reach: at most `window` rows after `after`, and — when
    `fresh_after_us` is given (PostgreSQL: a seq becomes visible at commit) — stopping before the
    first gap whose next row committed after that time (a transaction still in flight may fill it).
    The gaps are found by the database over the window; no row leaves it."""
    w = (select(change_log.c.seq, change_log.c.committed_at).where(change_log.c.seq > after)
         .order_by(change_log.c.seq).limit(window).subquery())
    if fresh_after_us is None:
        return conn.execute(select(func.max(w.c.seq))).scalar() or after
    prev = func.lag(w.c.seq, 1, literal(after, BigInteger)).over(order_by=w.c.seq).label("prev")
    lagged = select(w.c.seq, w.c.committed_at, prev).subquery()
    gap = case((and_(lagged.c.seq != lagged.c.prev + 1, lagged.c.committed_at > fresh_after_us), lagged.c.prev))
    top, first_gap = conn.execute(select(func.max(lagged.c.seq), func.min(gap))).one()
    return first_gap if first_gap is not None else (top or after)


def _one_of(conn: Connection, column: Any, values: list, item_type: Any = String) -> Any:
    """`column IN values` as one parameter whatever the list's length: an array on PostgreSQL, a
    JSON list read by json_each on SQLite (no statement with thousands of placeholders, which
    psycopg parsed anew for each length)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY
        return column == func.any(bindparam(None, list(values), type_=ARRAY(item_type)))
    listed = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(select(listed.c.value))


FEED_BUILT = "sync.feed_built"      # node_setting: the change log is classified into sync_feed up to this seq
SHARED_KEY, JUDGE_KEY = "*", "~"


def feed_built(conn: Connection, *, lock: bool = False) -> int:
    """The seq up to which the change log is classified into sync_feed; `lock`: held until the
    transaction ends (one builder at a time — the others wait, then find it built)."""
    q = select(node_setting.c.value).where(node_setting.c.key == FEED_BUILT)
    if lock:
        q = q.with_for_update()
    found = conn.execute(q).scalar()
    if found is None and lock:
        try:
            with conn.begin_nested():
                conn.execute(insert(node_setting).values(key=FEED_BUILT, value="0"))
        except IntegrityError:      # another worker made it first: wait for its lock
            pass
        found = conn.execute(q).scalar()
    return int(found or 0)


def build_feed(conn: Connection, upper: int, fresh_after_us: int | None, compartment_types: Iterable[str],
               *, chunk: int = 20_000, chunks: int = 5) -> int:
    """Classify the change log into sync_feed up to `upper` (a seq the caller's gap rule let it
    read), at most `chunks` × `chunk` rows in this call; returns the seq it is built to. Each
    row is classified once for the whole province, instead of once per node at every pull.

    Keys: "*" for a row outside the Patient compartment; a Patient's row under its own id; a
    current version in the compartment under each patient its reference index names (any
    reference to a Patient: a superset of its compartment, which the pull's Scope.filter judges);
    "~" for a row whose resource is deleted or at another version when classified — judged by its
    own body at each pull, as before. A row about nobody gets no key: no node receives it.
    Each chunk stops before a gap a transaction still in flight may fill (pull_upper's rule from
    the feed's own watermark), so a late commit is never passed over."""
    built = feed_built(conn, lock=True)
    comp = sorted(compartment_types)
    cl, r, ref = change_log, resource, idx_reference
    for _ in range(chunks):
        if built >= upper:
            break
        top = min(pull_upper(conn, built, chunk, fresh_after_us), upper)
        if top <= built:
            break
        rng = and_(cl.c.seq > built, cl.c.seq <= top)
        current = and_(r.c.pk == cl.c.resource_pk, r.c.version == cl.c.version, r.c.deleted.is_(False))
        parts = [
            select(literal(SHARED_KEY, String).label("k"), cl.c.seq, cl.c.origin_node)
            .where(and_(rng, cl.c.res_type.notin_(comp))),
            select(cl.c.res_id, cl.c.seq, cl.c.origin_node).where(and_(rng, cl.c.res_type == "Patient")),
            select(literal(JUDGE_KEY, String), cl.c.seq, cl.c.origin_node)
            .select_from(cl.outerjoin(r, current))
            .where(and_(rng, cl.c.res_type.in_(comp), cl.c.res_type != "Patient", r.c.pk.is_(None))),
            select(ref.c.target_id, cl.c.seq, cl.c.origin_node)
            .select_from(cl.join(r, current).join(ref, and_(ref.c.resource_pk == cl.c.resource_pk,
                                                            ref.c.target_type == "Patient")))
            .where(and_(rng, cl.c.res_type.in_(comp), cl.c.res_type != "Patient")),
        ]
        from sqlalchemy import union
        conn.execute(insert(sync_feed).from_select(["scope_key", "seq", "origin_node"], union(*parts)))
        built = top
    conn.execute(update(node_setting).where(node_setting.c.key == FEED_BUILT).values(value=str(built)))
    return built


def changes_in_scope(conn: Connection, after: int, upper: int, limit: int, *, exclude_origin: str | None,
                     patients: Iterable[str], compartment_types: Iterable[str] = ()) -> list[Change]:
    """The changes in (after, upper] that may be in a node's scope, in sequence order, at most
    `limit`: a superset the caller judges row by row (sync.scope.Scope.filter). `upper` must not
    pass feed_built (build_feed first).

    Read from sync_feed by key — shared data, the node's patients, the rows judged by body — so a
    pull reads the rows of its own scope (an index range per key), not the whole province's
    traffic since its cursor; not those made by `exclude_origin`. The bodies are read only for
    the rows chosen."""
    f = sync_feed
    keys = [SHARED_KEY, JUDGE_KEY, *patients]
    where = [f.c.seq > after, f.c.seq <= upper, _one_of(conn, f.c.scope_key, keys)]
    if exclude_origin is not None:
        where.append(f.c.origin_node != exclude_origin)
    seqs = list(conn.execute(select(f.c.seq).where(and_(*where)).distinct().order_by(f.c.seq).limit(limit))
                .scalars())
    if not seqs:
        return []
    cl = change_log
    q = _changes_query().where(_one_of(conn, cl.c.seq, seqs, BigInteger)).order_by(cl.c.seq)
    return [_change(r) for r in conn.execute(q)]


def last_seq(conn: Connection) -> int:
    return conn.execute(select(func.max(change_log.c.seq))).scalar() or 0


def current_versions(conn: Connection, pks: list[int]) -> dict[int, int]:
    """The current version number of each resource (by pk)."""
    found: dict[int, int] = {}
    for start in range(0, len(pks), 500):
        rows = conn.execute(select(resource.c.pk, resource.c.version).where(resource.c.pk.in_(pks[start:start + 500])))
        found.update({row.pk: row.version for row in rows})
    return found


def version_body(conn: Connection, resource_pk: int, version: int) -> bytes | None:
    row = conn.execute(select(resource_version.c.encoding, resource_version.c.body, resource_version.c.deleted)
                       .where(and_(resource_version.c.resource_pk == resource_pk,
                                   resource_version.c.version == version))).first()
    if row is None or row.deleted:
        return None
    return decode_body(row.encoding, row.body)


def audit_after(conn: Connection, after: int, limit: int) -> list[dict]:
    """Audit rows after seq `after` (what push sends with the changes)."""
    q = select(audit_event).where(audit_event.c.seq > after).order_by(audit_event.c.seq).limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]


def count_audit_after(conn: Connection, after: int) -> int:
    return conn.execute(select(func.count()).select_from(audit_event).where(audit_event.c.seq > after)).scalar() or 0


# --- current state and local versions -------------------------------------------------------------

@dataclass
class Slot:
    pk: int
    version: int
    deleted: bool


def current(conn: Connection, keys: list[tuple[str, str]], *, lock: bool) -> dict[tuple[str, str], Slot]:
    out: dict[tuple[str, str], Slot] = {}
    for start in range(0, len(keys), 400):
        chunk = keys[start:start + 400]
        q = select(resource.c.pk, resource.c.res_type, resource.c.res_id, resource.c.version, resource.c.deleted) \
            .where(tuple_(resource.c.res_type, resource.c.res_id).in_(chunk))
        if lock:
            q = q.with_for_update()
        for r in conn.execute(q):
            out[(r.res_type, r.res_id)] = Slot(r.pk, r.version, bool(r.deleted))
    return out


def local_versions(conn: Connection, resource_pk: int, above: int) -> list[Change]:
    """The versions of a resource above `above`, with their change-log origin and seq."""
    q = _changes_query().where(and_(change_log.c.resource_pk == resource_pk, change_log.c.version > above)) \
        .order_by(change_log.c.version)
    return [_change(r) for r in conn.execute(q)]


def remove_versions(conn: Connection, resource_pk: int, above: int) -> None:
    """Take versions above `above` out of the version table and the change log (they have been
    copied into a conflict record first). The resource row is rewritten by the next write."""
    conn.execute(delete(resource_version).where(and_(resource_version.c.resource_pk == resource_pk,
                                                     resource_version.c.version > above)))
    conn.execute(delete(change_log).where(and_(change_log.c.resource_pk == resource_pk,
                                               change_log.c.version > above)))


# --- writing versions made elsewhere -------------------------------------------------------------

@dataclass
class RemoteWrite:
    """A version to store exactly as it was made: its number, body bytes, origin and base."""
    res_type: str
    res_id: str
    version: int
    base: int | None
    deleted: bool
    method: str
    last_updated: int
    body: bytes | None
    content_hash: bytes
    index: IndexRows | None
    origin: str
    resolves: bool = False


def write_remote(conn: Connection, writes: list[RemoteWrite], slots: dict[tuple[str, str], Slot],
                 now_us: int) -> None:
    """Store the versions, one statement per table for all of them. Each (type, id) at most once in
    `writes` (callers split repeated keys into successive calls); `slots` is updated."""
    new = [w for w in writes if (w.res_type, w.res_id) not in slots]
    if new:
        pks = conn.execute(insert(resource).returning(resource.c.pk, sort_by_parameter_order=True), [
            {"res_type": w.res_type, "res_id": w.res_id, "version": w.version, "last_updated": w.last_updated,
             "deleted": w.deleted, "content_hash": w.content_hash} for w in new]).scalars().all()
        for w, pk in zip(new, pks):
            slots[(w.res_type, w.res_id)] = Slot(pk, 0, True)
    new_ids = {id(w) for w in new}
    old = [w for w in writes if id(w) not in new_ids]
    pk_of = {id(w): slots[(w.res_type, w.res_id)].pk for w in writes}
    if old:
        conn.execute(update(resource).where(resource.c.pk == _bp("b_pk")), [
            {"b_pk": pk_of[id(w)], "version": w.version, "last_updated": w.last_updated, "deleted": w.deleted,
             "content_hash": w.content_hash} for w in old])
        stale = [pk_of[id(w)] for w in old]
        for table in INDEX_TABLES.values():
            for start in range(0, len(stale), 400):
                conn.execute(delete(table).where(table.c.resource_pk.in_(stale[start:start + 400])))
    versions, logs, marks = [], [], []
    index_rows: dict[str, list[tuple]] = {name: [] for name in INDEX_TABLES}
    for w in writes:
        pk = pk_of[id(w)]
        encoding, body = encode_body(w.body) if w.body is not None else (0, b"")
        versions.append((pk, w.version, w.last_updated, w.method, w.deleted, encoding, body))
        logs.append((pk, w.res_type, w.res_id, w.version, w.base, w.origin, now_us))
        if w.index is not None and not w.deleted:
            index_tuples(index_rows, w.index, pk, w.res_type)
        if w.resolves:
            marks.append({"resource_pk": pk, "version": w.version})
        slots[(w.res_type, w.res_id)] = Slot(pk, w.version, w.deleted)
    if conn.dialect.name == "postgresql":
        # One COPY per table for the whole batch: a push of 500 versions has ~7,500 index rows,
        # and one INSERT per row (executemany) cost PostgreSQL a parse-bind-execute each — the
        # biggest share of its CPU per synced resource.
        _pg_insert(conn, resource_version, _VERSION_COLUMNS, versions)
        for name, rows in index_rows.items():
            _pg_insert(conn, INDEX_TABLES[name], _INDEX_COLUMNS[name], rows)
        _pg_insert(conn, change_log, _LOG_COLUMNS, logs)
    else:
        if versions:
            conn.execute(insert(resource_version), [dict(zip(_VERSION_COLUMNS, v)) for v in versions])
        insert_index_rows(conn, index_rows)
        if logs:
            conn.execute(insert(change_log), [dict(zip(_LOG_COLUMNS, r)) for r in logs])
    if marks:
        conn.execute(insert(sync_resolution), marks)


_VERSION_COLUMNS = ("resource_pk", "version", "last_updated", "method", "deleted", "encoding", "body")
_LOG_COLUMNS = ("resource_pk", "res_type", "res_id", "version", "base_version", "origin_node", "committed_at")
_INDEX_COLUMNS = {name: ("resource_pk", "res_type", *cols, "grp") for name, cols in INDEX_COLUMNS.items()}


def _pg_insert(conn: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY … FROM STDIN on the caller's transaction: any number of rows in one statement, the rows
    formatted by psycopg's C code (INSERT … unnest of arrays spent most of its hub CPU dumping the
    arrays element by element in Python). A driver error is raised as SQLAlchemy's (IntegrityError
    …), as the callers expect."""
    if not rows:
        return
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cur = conn.connection.cursor()
    try:
        with cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cur.close()


def _bp(name: str):  # noqa: ANN202
    from sqlalchemy import bindparam
    return bindparam(name)


def mark_resolution(conn: Connection, resource_pk: int, version: int) -> None:
    conn.execute(insert(sync_resolution).values(resource_pk=resource_pk, version=version))


# --- review queue: conflicts ----------------------------------------------------------------------

def open_conflicts(conn: Connection, res_type: str, res_id: str, origin: str | None = None) -> list:
    """The open set-aside versions of a resource (of one origin node), oldest first."""
    q = select(sync_conflict).where(and_(sync_conflict.c.res_type == res_type, sync_conflict.c.res_id == res_id,
                                         sync_conflict.c.status == "open"))
    if origin is not None:
        q = q.where(sync_conflict.c.origin_node == origin)
    return conn.execute(q.order_by(sync_conflict.c.pk)).all()


def set_aside_version(conn: Connection, origin: str, res_type: str, res_id: str, version: int):  # noqa: ANN201
    """The newest review-queue row (any status) holding this node's version `version` of the
    resource as its set-aside body, or None: the base of a later edit the node made from it."""
    rows = conn.execute(select(sync_conflict).where(and_(
        sync_conflict.c.res_type == res_type, sync_conflict.c.res_id == res_id, sync_conflict.c.origin_node == origin,
        sync_conflict.c.kind.in_(("conflict", "merged")))).order_by(sync_conflict.c.pk.desc())).all()
    for r in rows:
        if (r.their_versions or "").split()[-1:] == [str(version)]:
            return r
    return None


def own_based(conn: Connection, origin: str, keys: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (resource pk, base version) pairs name a version this node made itself (its change-log
    row has this origin): a push says so, so the hub can tell that base from its own version of
    that number when the node's was set aside there."""
    wanted = sorted(set(keys))
    out: set[tuple[int, int]] = set()
    for start in range(0, len(wanted), 400):
        chunk = wanted[start:start + 400]
        q = select(change_log.c.resource_pk, change_log.c.version).where(and_(
            tuple_(change_log.c.resource_pk, change_log.c.version).in_(chunk), change_log.c.origin_node == origin))
        out |= {(r.resource_pk, r.version) for r in conn.execute(q)}
    return out


def add_conflict(conn: Connection, **values: Any) -> int:
    values.setdefault("status", "open")
    return conn.execute(insert(sync_conflict).values(**values).returning(sync_conflict.c.pk)).scalar_one()


def update_conflict(conn: Connection, pk: int, **values: Any) -> None:
    conn.execute(update(sync_conflict).where(sync_conflict.c.pk == pk).values(**values))


def close_conflicts(conn: Connection, res_type: str, res_id: str, *, version: int, by: str, now_us: int,
                    status: str = "resolved", seq_up_to: int | None = None) -> int:
    """Close the open rows of a resource; `seq_up_to`: only those whose set-aside edit is at or
    below this seq of its node (a node keeps open what it never pushed)."""
    cond = and_(sync_conflict.c.res_type == res_type, sync_conflict.c.res_id == res_id,
                sync_conflict.c.status == "open")
    if seq_up_to is not None:
        cond = and_(cond, or_(sync_conflict.c.their_seq.is_(None), sync_conflict.c.their_seq <= seq_up_to))
    return conn.execute(update(sync_conflict).where(cond)
                        .values(status=status, resolved_at=now_us, resolved_by=by, resolved_version=version)).rowcount


def conflicts(conn: Connection, status: str | None = "open", limit: int = 200, *, origin: str | None = None) -> list:
    q = select(sync_conflict)
    if status:
        q = q.where(sync_conflict.c.status == status)
    if origin is not None:
        q = q.where(sync_conflict.c.origin_node == origin)
    return conn.execute(q.order_by(sync_conflict.c.pk.desc()).limit(limit)).all()


def conflict(conn: Connection, pk: int):  # noqa: ANN201
    return conn.execute(select(sync_conflict).where(sync_conflict.c.pk == pk)).first()


def count_conflicts(conn: Connection, origin: str | None = None) -> int:
    """Resources waiting for review (a resource with several set-aside versions counts once)."""
    q = select(sync_conflict.c.res_type, sync_conflict.c.res_id).where(sync_conflict.c.status == "open").distinct()
    if origin is not None:
        q = q.where(sync_conflict.c.origin_node == origin)
    return conn.execute(select(func.count()).select_from(q.subquery())).scalar() or 0


def conflicts_for_seqs(conn: Connection, origin: str, first: int, last: int) -> list:
    return conn.execute(select(sync_conflict.c.res_type, sync_conflict.c.res_id, sync_conflict.c.kind,
                               sync_conflict.c.kept_version, sync_conflict.c.their_seq)
                        .where(and_(sync_conflict.c.origin_node == origin, sync_conflict.c.their_seq >= first,
                                    sync_conflict.c.their_seq <= last))
                        .order_by(sync_conflict.c.their_seq)).all()


# --- review queue: duplicate patients -------------------------------------------------------------

def patients_with_identifier(conn: Connection, system: str, value: str) -> list[str]:
    q = (select(resource.c.res_id).select_from(idx_token.join(resource, resource.c.pk == idx_token.c.resource_pk))
         .where(and_(idx_token.c.res_type == "Patient", idx_token.c.param == "identifier",
                     idx_token.c.system == system, idx_token.c.code == value, resource.c.deleted.is_(False))))
    return sorted(set(conn.execute(q).scalars()))


def add_duplicate(conn: Connection, a: str, b: str, system: str, value: str, now_us: int) -> bool:
    a, b = sorted((a, b))
    if conn.execute(select(sync_duplicate.c.pk).where(and_(sync_duplicate.c.patient_a == a,
                                                           sync_duplicate.c.patient_b == b))).first():
        return False
    conn.execute(insert(sync_duplicate).values(patient_a=a, patient_b=b, system=system, value=value,
                                               detected_at=now_us, status="open"))
    return True


def duplicates(conn: Connection, status: str | None = "open", limit: int = 200) -> list:
    q = select(sync_duplicate)
    if status:
        q = q.where(sync_duplicate.c.status == status)
    return conn.execute(q.order_by(sync_duplicate.c.pk.desc()).limit(limit)).all()


def open_duplicate(conn: Connection, pk: int):  # noqa: ANN201
    """The open duplicate candidate `pk`, or None."""
    return conn.execute(select(sync_duplicate).where(and_(sync_duplicate.c.pk == pk,
                                                          sync_duplicate.c.status == "open"))).first()


def review_duplicate(conn: Connection, pk: int, decision: str, by: str, now_us: int) -> int:
    return conn.execute(update(sync_duplicate).where(and_(sync_duplicate.c.pk == pk,
                                                          sync_duplicate.c.status == "open"))
                        .values(status=decision, reviewed_by=by, reviewed_at=now_us)).rowcount


# --- hub: nodes, batches, scope, traffic -----------------------------------------------------------

def node_row(conn: Connection, *, name: str | None = None, client_id: str | None = None,
             invite_client: str | None = None, lock: bool = False):  # noqa: ANN201
    q = select(sync_node)
    if name is not None:
        q = q.where(sync_node.c.name == name)
    if client_id is not None:
        q = q.where(sync_node.c.client_id == client_id)
    if invite_client is not None:
        q = q.where(sync_node.c.invite_client == invite_client)
    if lock:
        q = q.with_for_update()
    return conn.execute(q).first()


def node_rows(conn: Connection) -> list:
    return conn.execute(select(sync_node).order_by(sync_node.c.name)).all()


def insert_node(conn: Connection, **values: Any) -> None:
    values.setdefault("push_seq", 0)
    values.setdefault("audit_seq", 0)
    try:
        with conn.begin_nested():
            conn.execute(insert(sync_node).values(**values))
    except IntegrityError:
        raise ValueError(f"a node named {values['name']!r} already exists") from None


def update_node(conn: Connection, name: str, **values: Any) -> int:
    return conn.execute(update(sync_node).where(sync_node.c.name == name).values(**values)).rowcount


def batch_response(conn: Connection, batch_id: str) -> dict | None:
    text = conn.execute(select(sync_batch.c.response).where(sync_batch.c.batch_id == batch_id)).scalar()
    return json.loads(text) if text else None


def remember_batch(conn: Connection, batch_id: str, node_name: str, response: dict, now_us: int) -> None:
    conn.execute(insert(sync_batch).values(batch_id=batch_id, node_name=node_name, received_at=now_us,
                                           response=json.dumps(response, separators=(",", ":"))))


def add_scope(conn: Connection, node_name: str, patient_ids: Iterable[str], reason: str, now_us: int) -> None:
    ids = sorted(set(patient_ids))
    if not ids:
        return
    have = set()
    for start in range(0, len(ids), 400):
        have |= set(conn.execute(select(sync_scope.c.patient_id).where(and_(
            sync_scope.c.node_name == node_name, sync_scope.c.patient_id.in_(ids[start:start + 400])))).scalars())
    rows = [{"node_name": node_name, "patient_id": p, "reason": reason, "added_at": now_us}
            for p in ids if p not in have]
    if rows:
        conn.execute(insert(sync_scope), rows)


def scope_patients(conn: Connection, node_name: str) -> dict[str, str]:
    """patient id → reason (home, fetch) for the node."""
    return dict(conn.execute(select(sync_scope.c.patient_id, sync_scope.c.reason)
                             .where(sync_scope.c.node_name == node_name)).all())


def holders(conn: Connection, patient_ids: Iterable[str]) -> dict[str, set[str]]:
    """node name → which of these patients are in its scope (nodes holding none are left out)."""
    out: dict[str, set[str]] = {}
    for node_name, patient_id in conn.execute(select(sync_scope.c.node_name, sync_scope.c.patient_id)
                                              .where(sync_scope.c.patient_id.in_(sorted(set(patient_ids))))):
        out.setdefault(node_name, set()).add(patient_id)
    return out


def referred_patients(conn: Connection, organization_id: str, *, not_in_scope_of: str | None = None) -> set[str]:
    """Patients of ServiceRequests (referrals) whose performer is this organization;
    `not_in_scope_of`: leaving out the patients already in that node's scope (a facility's orders
    to its own laboratory name it as performer: without this, every pull read them all)."""
    perf, subj = idx_reference.alias("perf"), idx_reference.alias("subj")
    cond = [perf.c.res_type == "ServiceRequest", perf.c.param == "performer",
            perf.c.target_type == "Organization", perf.c.target_id == organization_id,
            subj.c.param == "subject", subj.c.target_type == "Patient"]
    if not_in_scope_of is not None:
        cond.append(~select(sync_scope.c.patient_id).where(and_(
            sync_scope.c.node_name == not_in_scope_of, sync_scope.c.patient_id == subj.c.target_id)).exists())
    q = (select(subj.c.target_id).distinct().select_from(perf.join(subj, subj.c.resource_pk == perf.c.resource_pk))
         .where(and_(*cond)))
    return set(conn.execute(q).scalars())


def add_traffic(conn: Connection, node_name: str, day: str, bytes_in: int, bytes_out: int) -> None:
    done = conn.execute(update(sync_traffic).where(and_(sync_traffic.c.node_name == node_name,
                                                        sync_traffic.c.day == day))
                        .values(bytes_in=sync_traffic.c.bytes_in + bytes_in,
                                bytes_out=sync_traffic.c.bytes_out + bytes_out)).rowcount
    if not done:
        try:
            with conn.begin_nested():
                conn.execute(insert(sync_traffic).values(node_name=node_name, day=day, bytes_in=bytes_in,
                                                         bytes_out=bytes_out))
        except IntegrityError:   # another worker inserted the day's row first
            add_traffic(conn, node_name, day, bytes_in, bytes_out)


def traffic(conn: Connection, day: str) -> dict[str, tuple[int, int]]:
    return {r.node_name: (r.bytes_in, r.bytes_out)
            for r in conn.execute(select(sync_traffic).where(sync_traffic.c.day == day))}


def patient_compartment_rows(conn: Connection, patient_id: str, member_types: dict[str, tuple[str, ...]]) -> list[int]:
    """pks of the resources in a patient's compartment (for the on-demand fetch)."""
    conds = [and_(idx_reference.c.res_type == t, idx_reference.c.param.in_(params))
             for t, params in member_types.items() if params]
    q = select(idx_reference.c.resource_pk).where(and_(
        idx_reference.c.target_type == "Patient", idx_reference.c.target_id == patient_id, or_(*conds)))
    return sorted(set(conn.execute(q).scalars()))


def current_changes(conn: Connection, pks: list[int]) -> list[Change]:
    """The current version of each resource, as a change (its latest change-log row)."""
    out: list[Change] = []
    for start in range(0, len(pks), 400):
        chunk = pks[start:start + 400]
        q = (_changes_query().join(resource, and_(resource.c.pk == change_log.c.resource_pk,
                                                  resource.c.version == change_log.c.version))
             .where(change_log.c.resource_pk.in_(chunk)))
        out += [_change(r) for r in conn.execute(q)]
    return out


# --- hub: what a node has pushed before, whose a resource is ---------------------------------------

def _node_key(kind: str, node_name: str) -> str:
    """A node_setting key per node (keys are at most 64 characters; long names are hashed)."""
    key = f"node.{kind}.{node_name}"
    if len(key) <= 64:
        return key
    import hashlib
    return f"node.{kind}#" + hashlib.sha256(node_name.encode()).hexdigest()[:40]


def node_authoring(conn: Connection, node_name: str) -> frozenset[str]:
    """Resource types outside the Patient compartment the node may author at the hub even when they
    are not its own ("*": all); empty by default."""
    text = get_setting(conn, _node_key("authors", node_name))
    return frozenset(t for t in (text or "").split() if t)


def set_node_authoring(conn: Connection, node_name: str, types: Iterable[str]) -> None:
    set_setting(conn, _node_key("authors", node_name), " ".join(sorted(set(types))))


def node_epoch(conn: Connection, node_name: str) -> str | None:
    """The epoch of the node's change log the hub last heard (a new one after each restore)."""
    return get_setting(conn, _node_key("epoch", node_name))


def set_node_epoch(conn: Connection, node_name: str, epoch: str) -> None:
    set_setting(conn, _node_key("epoch", node_name), epoch)


def pushed_before(conn: Connection, origin: str, versions: list[tuple[int, str, str, int, bytes | None, bool]]) -> set[int]:
    """Which of the pushed versions (seq, type, id, version, body, deleted) the hub already has
    from this node: the same version with the same bytes in its version table, or set aside in its
    review queue. A replay of such a version must change nothing."""
    keys = sorted({(t, i) for _, t, i, _, _, _ in versions})
    held: dict[tuple[str, str, int], tuple[bool, bytes | None]] = {}
    queued: dict[tuple[str, str], list] = {}
    # The resources by their unique (type, id), then their change-log rows by resource_pk: the
    # change log has no (type, id) index, and matching it on those columns read every row of the
    # type — a cost that grew with the hub's whole history, for every push (84 ms a push at 26,000
    # rows). A resource the hub does not hold has no version to compare.
    pk_key = {pk: key for key, pk in _pks(conn, keys).items()}
    pks = sorted(pk_key)
    for start in range(0, len(pks), 400):
        q = (select(change_log.c.resource_pk, change_log.c.version, resource_version.c.deleted,
                    resource_version.c.encoding, resource_version.c.body)
             .select_from(change_log.join(resource_version, and_(
                 resource_version.c.resource_pk == change_log.c.resource_pk,
                 resource_version.c.version == change_log.c.version)))
             .where(and_(change_log.c.resource_pk.in_(pks[start:start + 400]), change_log.c.origin_node == origin)))
        for r in conn.execute(q):
            held[(*pk_key[r.resource_pk], r.version)] = (bool(r.deleted), None if r.deleted
                                                         else decode_body(r.encoding, r.body))
    for start in range(0, len(keys), 400):
        chunk = keys[start:start + 400]
        q = (select(sync_conflict.c.res_type, sync_conflict.c.res_id, sync_conflict.c.their_versions,
                    sync_conflict.c.their_body, sync_conflict.c.their_deleted)
             .where(and_(tuple_(sync_conflict.c.res_type, sync_conflict.c.res_id).in_(chunk),
                         sync_conflict.c.origin_node == origin)))
        for r in conn.execute(q):
            queued.setdefault((r.res_type, r.res_id), []).append(r)
    out = set()
    for seq, t, i, version, body, deleted in versions:
        found = held.get((t, i, version))
        if found is not None and found[0] == deleted and (deleted or found[1] == body):
            out.add(seq)
            continue
        for r in queued.get((t, i), ()):
            listed = (r.their_versions or "").split()
            # The row keeps the body of the last version listed; earlier ones are known by number.
            if str(version) in listed and (listed[-1] != str(version) or bool(r.their_deleted) == deleted
                                           and (deleted or bytes(r.their_body or b"") == body)):
                out.add(seq)
                break
    return out


def _pks(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(type, id) → resource pk, for those the store holds (deleted ones too)."""
    out: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), 400):
        q = select(resource.c.pk, resource.c.res_type, resource.c.res_id) \
            .where(tuple_(resource.c.res_type, resource.c.res_id).in_(keys[start:start + 400]))
        out.update({(r.res_type, r.res_id): r.pk for r in conn.execute(q)})
    return out


def current_hashes(conn: Connection, pks: list[int]) -> dict[int, bytes]:
    """resource pk → content hash of its current version."""
    out: dict[int, bytes] = {}
    for start in range(0, len(pks), 400):
        q = select(resource.c.pk, resource.c.content_hash).where(resource.c.pk.in_(pks[start:start + 400]))
        out.update({r.pk: bytes(r.content_hash or b"") for r in conn.execute(q)})
    return out


def first_origins(conn: Connection, pks: list[int]) -> dict[int, str]:
    """resource pk → the node that made its first version still in the change log (its author)."""
    out: dict[int, str] = {}
    for start in range(0, len(pks), 400):
        chunk = pks[start:start + 400]
        first = (select(change_log.c.resource_pk, func.min(change_log.c.version).label("v"))
                 .where(change_log.c.resource_pk.in_(chunk)).group_by(change_log.c.resource_pk).subquery())
        q = (select(change_log.c.resource_pk, change_log.c.origin_node)
             .select_from(change_log.join(first, and_(first.c.resource_pk == change_log.c.resource_pk,
                                                      first.c.v == change_log.c.version))))
        out.update({r.resource_pk: r.origin_node for r in conn.execute(q)})
    return out


def referencing(conn: Connection, pks: list[int], target_type: str, target_id: str) -> set[int]:
    """Which of these resources reference target_type/target_id (in any indexed reference)."""
    out: set[int] = set()
    for start in range(0, len(pks), 400):
        q = select(idx_reference.c.resource_pk).where(and_(
            idx_reference.c.resource_pk.in_(pks[start:start + 400]), idx_reference.c.target_type == target_type,
            idx_reference.c.target_id == target_id))
        out |= set(conn.execute(q).scalars())
    return out


def referrers(conn: Connection, res_type: str, param: str, target_type: str, target_id: str) -> list[int]:
    """The resources of `res_type` whose `param` references target_type/target_id (e.g. the
    Provenances whose target is a resource: sync/signed.py)."""
    return list(conn.execute(select(idx_reference.c.resource_pk).where(and_(
        idx_reference.c.res_type == res_type, idx_reference.c.param == param,
        idx_reference.c.target_type == target_type, idx_reference.c.target_id == target_id))).scalars())


# --- node: epochs, recovery after a restore, refusals ----------------------------------------------
# A node's change log is numbered by its own database: restored from a backup, it numbers its next
# changes again from the backup's point. The epoch (random, new at each restore) tells the hub that
# these numbers start again; the recovery note makes the node pull back, once, its own changes the
# hub holds from after the backup (docs/sync.md "After a restore").

EPOCH = "sync.epoch"
RECOVERY = "sync.recovery"         # JSON {"since", "at", "reason"} while the node pulls back its own data
RECOVERED = "sync.recovered"       # JSON {"at", "reason", "pulled"}: the last recovery, done
REFUSED = "sync.refused"           # JSON list: the latest versions the hub refused
REFUSED_TOTAL = "sync.refused_total"
REFUSED_KEPT = 50


def new_epoch() -> str:
    import secrets
    return secrets.token_hex(8)


def epoch(conn: Connection) -> str:
    """This node's epoch; made on first use."""
    found = get_setting(conn, EPOCH)
    if not found:
        found = new_epoch()
        set_setting(conn, EPOCH, found)
    return found


def begin_recovery(conn: Connection, reason: str, now_us: int, *, new_epoch_too: bool = True) -> None:
    """Start a new epoch (unless the hub already knows of the break) and ask the next rounds to pull
    back this node's own changes from its pull cursor on."""
    if new_epoch_too:
        set_setting(conn, EPOCH, new_epoch())
    since = int(get_setting(conn, "sync.pull_seq") or 0)
    set_setting(conn, RECOVERY, json.dumps({"since": since, "at": now_us, "reason": reason[:300]}))


def recovery(conn: Connection) -> dict | None:
    text = get_setting(conn, RECOVERY)
    return json.loads(text) if text else None


def end_recovery(conn: Connection, pulled: int, now_us: int) -> None:
    started = recovery(conn) or {}
    set_setting(conn, RECOVERY, "")
    set_setting(conn, RECOVERED, json.dumps({"at": now_us, "reason": started.get("reason", ""),
                                             "started": started.get("at"), "pulled": pulled}))


def note_refused(conn: Connection, refused: list[dict], now_us: int) -> None:
    """Keep the hub's refusals where the operator sees them (sync status, the review page)."""
    kept = json.loads(get_setting(conn, REFUSED) or "[]")
    kept = ([dict(r, at=now_us) for r in refused] + kept)[:REFUSED_KEPT]
    set_setting(conn, REFUSED, json.dumps(kept, ensure_ascii=False))
    set_setting(conn, REFUSED_TOTAL, str(int(get_setting(conn, REFUSED_TOTAL) or 0) + len(refused)))


def mark_restored(db_url: str, source: str) -> None:
    """Called by a restore (store/backup.py) on the database it has just put back."""
    import time

    from benhan.store.database import Database
    db = Database(db_url)
    try:
        with db.write() as conn:
            begin_recovery(conn, f"restored from {source}", time.time_ns() // 1000)
    finally:
        db.dispose()
