"""Writing versions: resource, version, index, change-log and audit rows, in the caller's
transaction, many resources at once (a Bundle) with one statement per table.

Work that needs no database (validation, index extraction, hashing) is done by the caller before
the transaction opens (a PendingWrite), so the write lock is held only for the inserts.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from benhan import errors
from benhan.fhir.datetimes import format_instant, from_us
from benhan.fhir.indexing import IndexRows
from benhan.fhir.resource_json import dumps, stamp
from benhan.store.schema import INDEX_COLUMNS, INDEX_TABLES, change_log, resource, resource_version

COMPRESS_ABOVE = 2048   # bytes of JSON; smaller bodies do not pay for compression


@dataclass
class PendingWrite:
    """One version to write. `resource` is None for a delete."""
    method: str                         # POST, PUT, PATCH, DELETE
    res_type: str
    res_id: str
    resource: dict | None
    content_hash: bytes | None
    index: IndexRows | None
    if_match: int | None = None         # the version the client edited from (If-Match)
    create_only: bool = False           # POST: the id was minted here, it cannot exist yet


@dataclass
class Stored:
    """What a write did."""
    res_type: str
    res_id: str
    version: int
    last_updated: int
    created: bool = False
    noop: bool = False
    deleted: bool = False
    body: bytes | None = None           # the stored JSON (None for a delete)
    resource_pk: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Current:
    pk: int
    version: int
    deleted: bool
    content_hash: bytes


def encode_body(body: bytes) -> tuple[int, bytes]:
    if len(body) > COMPRESS_ABOVE:
        packed = zlib.compress(body, 1)
        if len(packed) < len(body) * 0.8:
            return 1, packed
    return 0, body


def decode_body(encoding: int, body: bytes) -> bytes:
    return zlib.decompress(body) if encoding == 1 else bytes(body)


def load_current(conn: Connection, keys: list[tuple[str, str]], *, lock: bool) -> dict[tuple[str, str], Current]:
    """The current row of each (type, id), locked for update on PostgreSQL."""
    found: dict[tuple[str, str], Current] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        q = select(resource.c.pk, resource.c.res_type, resource.c.res_id, resource.c.version,
                   resource.c.deleted, resource.c.content_hash)
        if len(chunk) == 1:
            q = q.where(and_(resource.c.res_type == chunk[0][0], resource.c.res_id == chunk[0][1]))
        else:
            q = q.where(tuple_(resource.c.res_type, resource.c.res_id).in_(chunk))
        if lock:
            q = q.with_for_update()
        for row in conn.execute(q):
            found[(row.res_type, row.res_id)] = Current(row.pk, row.version, row.deleted, bytes(row.content_hash))
    return found


def write_all(conn: Connection, pending: list[PendingWrite], *, now_us: int, node_id: str,
              lock: bool) -> list[Stored]:
    """Write every pending version in this transaction; returns what each did, in order."""
    # A freshly minted id (create_only) cannot exist yet: no need to look it up. Should it exist
    # after all, the unique constraint refuses the insert and the transaction rolls back.
    current = load_current(conn, list({(p.res_type, p.res_id) for p in pending if not p.create_only}), lock=lock)
    last_updated = format_instant(from_us(now_us))
    results: list[Stored] = []
    new_rows: list[dict] = []
    new_for: list[int] = []
    updates: list[dict] = []
    for i, p in enumerate(pending):
        cur = current.get((p.res_type, p.res_id))
        if p.if_match is not None and (cur is None or cur.version != p.if_match):
            raise errors.VersionConflict(
                f"{p.res_type}/{p.res_id} is at version {cur.version if cur else 'none'}, "
                f"not {p.if_match}", expression="If-Match")
        if p.resource is None:                                   # delete
            if cur is None or cur.deleted:
                results.append(Stored(p.res_type, p.res_id, cur.version if cur else 0, now_us, noop=True,
                                      deleted=True))
                continue
            version = cur.version + 1
            results.append(Stored(p.res_type, p.res_id, version, now_us, deleted=True, resource_pk=cur.pk,
                                  extra={"base": cur.version}))
            updates.append({"b_pk": cur.pk, "version": version, "last_updated": now_us, "deleted": True,
                            "content_hash": b""})
            current[(p.res_type, p.res_id)] = Current(cur.pk, version, True, b"")
            continue
        if cur is not None and p.create_only:
            raise errors.Conflict(f"{p.res_type}/{p.res_id} already exists")
        if cur is not None and not cur.deleted and cur.content_hash == p.content_hash:
            results.append(Stored(p.res_type, p.res_id, cur.version, now_us, noop=True, resource_pk=cur.pk))
            continue
        version = 1 if cur is None else cur.version + 1
        body = dumps(stamp(p.resource, version, last_updated))
        stored = Stored(p.res_type, p.res_id, version, now_us, created=cur is None or cur.deleted,
                        body=body, resource_pk=cur.pk if cur else 0,
                        extra={"base": cur.version if cur else None, "index": p.index})
        results.append(stored)
        if cur is None:
            new_rows.append({"res_type": p.res_type, "res_id": p.res_id, "version": version,
                             "last_updated": now_us, "deleted": False, "content_hash": p.content_hash})
            new_for.append(i)
            current[(p.res_type, p.res_id)] = Current(0, version, False, p.content_hash)
        else:
            updates.append({"b_pk": cur.pk, "version": version, "last_updated": now_us, "deleted": False,
                            "content_hash": p.content_hash})
            current[(p.res_type, p.res_id)] = Current(cur.pk, version, False, p.content_hash)
    if new_rows and conn.dialect.name == "sqlite":
        # One driver execute per row, its pk from lastrowid: SQLAlchemy's insert … RETURNING in
        # parameter order cost ~0.3 ms of CPU for a single create (statement, cache key,
        # execution context), more than SQLite's insert.
        cur = conn.connection.cursor()
        try:
            for i, row in zip(new_for, new_rows):
                cur.execute(_INSERT_RESOURCE, (row["res_type"], row["res_id"], row["version"], row["last_updated"],
                                               row["deleted"], row["content_hash"]))
                results[i].resource_pk = cur.lastrowid
        except conn.dialect.loaded_dbapi.IntegrityError:
            raise errors.Conflict("a resource with one of these ids already exists") from None
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(_INSERT_RESOURCE, None, exc, conn.dialect.loaded_dbapi.Error,
                                      dialect=conn.dialect) from exc
        finally:
            cur.close()
    elif new_rows:
        q = insert(resource).returning(resource.c.pk, sort_by_parameter_order=True)
        try:
            pks = conn.execute(q, new_rows).scalars().all()
        except IntegrityError:
            raise errors.Conflict("a resource with one of these ids already exists") from None
        for i, pk in zip(new_for, pks):
            results[i].resource_pk = pk
    if updates:
        conn.execute(update(resource).where(resource.c.pk == bindparam("b_pk")), updates)
    written = [r for r in results if not r.noop]
    if written:
        _write_versions(conn, written, pending, results, now_us, node_id)
    return results


# The bulk inserts of a write go to the driver's executemany as plain tuples: through SQLAlchemy's
# insert() each row's parameters are processed one by one (a resource has ~20 index rows), which
# cost more CPU than the database's own work. One SQL text per table and placeholder style.
_VERSION_COLUMNS = ("resource_pk", "version", "last_updated", "method", "deleted", "encoding", "body")
_LOG_COLUMNS = ("resource_pk", "res_type", "res_id", "version", "base_version", "origin_node", "committed_at")
_INDEX_COLUMNS = {name: ("resource_pk", "res_type", *cols, "grp") for name, cols in INDEX_COLUMNS.items()}


@cache
def _insert_sql(table: str, columns: tuple[str, ...], placeholder: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([placeholder] * len(columns))})"


_INSERT_RESOURCE = ("INSERT INTO resource (res_type, res_id, version, last_updated, deleted, content_hash) "
                    "VALUES (?, ?, ?, ?, ?, ?)")


def executemany(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """The rows into the table, on the DBAPI cursor of the caller's transaction: through
    exec_driver_sql each statement cost ~50 µs more CPU (execution context, result object), and
    a single create runs six of them. A driver error is raised as SQLAlchemy's (IntegrityError …)."""
    if not rows:
        return
    sql = _insert_sql(table, columns, "?" if conn.dialect.paramstyle == "qmark" else "%s")
    cur = conn.connection.cursor()
    try:
        cur.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cur.close()


def fetch_all(conn: Connection, sql: str, params: tuple) -> list[tuple]:
    """The rows of one query (written with ? placeholders) run on the DBAPI cursor of the caller's
    transaction: a statement on the write path that SQLAlchemy would cost more CPU to execute than
    the database to answer. A driver error is raised as SQLAlchemy's."""
    if conn.dialect.paramstyle != "qmark":
        sql = _percent_sql(sql)
    cur = conn.connection.cursor()
    try:
        cur.execute(sql, params)
        return cur.fetchall()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cur.close()


@cache
def _percent_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def insert_index_rows(conn: Connection, index_rows: dict[str, list[tuple]]) -> None:
    """Insert the per-table index tuples that index_tuples gathered."""
    for name, rows in index_rows.items():
        executemany(conn, INDEX_TABLES[name].name, _INDEX_COLUMNS[name], rows)


def index_tuples(into: dict[str, list[tuple]], rows: IndexRows, resource_pk: int, res_type: str) -> None:
    """One resource's index rows as insert tuples (columns _INDEX_COLUMNS), per table."""
    for name, table_rows in rows.tables():
        if not table_rows:
            continue
        n = len(INDEX_COLUMNS[name])
        target = into[name]
        for row in table_rows:
            # A composite parameter's rows carry their group number after the columns.
            target.append((resource_pk, res_type, *row[:n], row[n] if len(row) > n else None))


def _write_versions(conn: Connection, written: list[Stored], pending: list[PendingWrite],
                    results: list[Stored], now_us: int, node_id: str) -> None:
    methods = {id(r): p.method for p, r in zip(pending, results)}
    versions, log_rows = [], []
    reindex: list[int] = []
    index_rows: dict[str, list[tuple]] = {name: [] for name in INDEX_TABLES}
    for r in written:
        encoding, body = encode_body(r.body) if r.body is not None else (0, b"")
        versions.append((r.resource_pk, r.version, now_us, methods[id(r)], r.deleted, encoding, body))
        log_rows.append((r.resource_pk, r.res_type, r.res_id, r.version, r.extra.get("base"), node_id, now_us))
        if r.version > 1:
            reindex.append(r.resource_pk)
        rows: IndexRows | None = r.extra.get("index")
        if rows is not None:
            index_tuples(index_rows, rows, r.resource_pk, r.res_type)
    if reindex:
        for table in INDEX_TABLES.values():
            for start in range(0, len(reindex), 500):
                conn.execute(delete(table).where(table.c.resource_pk.in_(reindex[start:start + 500])))
    with one_round_trip(conn):
        executemany(conn, resource_version.name, _VERSION_COLUMNS, versions)
        insert_index_rows(conn, index_rows)
        executemany(conn, change_log.name, _LOG_COLUMNS, log_rows)


@contextmanager
def one_round_trip(conn: Connection) -> Iterator[None]:
    """PostgreSQL: the inserts inside sent as one pipeline and answered by one sync. Alone, each
    executemany opens a pipeline of its own and waits for its answer: a round trip and its share
    of psycopg's pipeline machinery per table, four to seven per create. An error of any of them
    comes at the sync, raised as SQLAlchemy's (IntegrityError …); the caller's transaction is then
    rolled back. Elsewhere (SQLite, in process) it changes nothing."""
    if conn.dialect.name != "postgresql":
        yield
        return
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with conn.connection.driver_connection.pipeline():
            yield
    except dbapi_error as exc:
        raise DBAPIError.instance("pipelined inserts", None, exc, dbapi_error, dialect=conn.dialect) from exc
