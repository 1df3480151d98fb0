"""The database connection and everything that differs between SQLite and PostgreSQL.

SQLite (a facility's PC): WAL so readers never wait for the writer; one writer at a time, taken
with BEGIN IMMEDIATE and serialised inside the process by a lock so threads queue instead of
spinning on SQLITE_BUSY; synchronous=FULL so an acknowledged write survives a power cut.
PostgreSQL (a hospital or hub): READ COMMITTED, row locks (SELECT … FOR UPDATE) on the resources
being written.
"""
from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from pathlib import Path

from sqlalchemy import Connection, create_engine, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import NullPool

from benhan import errors
from benhan.store import encryption
from benhan.store.private_files import prepare_sqlite
from benhan.store.schema import node_setting


def display_url(url: str) -> str:
    """The database URL with any password hidden, for messages and logs."""
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


# What SQLite says of a file that is not (or no longer) a whole database. The driver raises these
# as its base DatabaseError (not Operational/Integrity errors, which are about the request).
_DAMAGE = ("malformed", "not a database", "file is encrypted", "disk image", "database corrupt")


def _sqlite_errors() -> tuple[type[BaseException], ...]:
    """sqlite3's and, when installed, SQLCipher's DatabaseError (not subclasses of each other)."""
    import sqlite3
    if encryption.available():
        return (sqlite3.DatabaseError, encryption.dbapi().DatabaseError)
    return (sqlite3.DatabaseError,)


def damaged_file_message(exc: BaseException | None, url: str) -> str | None:
    """One line for a damaged SQLite file, naming it; None for any other error."""
    if not isinstance(exc, _sqlite_errors()) or not any(d in str(exc) for d in _DAMAGE):
        return None
    where = make_url(url).database or url
    unkeyed = encryption.read_without_key(exc, url)
    if unkeyed:
        return unkeyed
    return (f"the database file {where} is damaged: {exc}; restore it from a backup with `benhan restore` "
            f"(docs/operations.md){encryption.missing_key_hint(url)}")


def failure_line(exc: BaseException) -> str | None:
    """One line for the CLI when the database itself failed (unreachable, refusing, damaged), or
    None when the error is something else."""
    from sqlalchemy.exc import DBAPIError
    if not isinstance(exc, (DBAPIError, *_sqlite_errors())):
        return None
    orig = getattr(exc, "orig", None) or exc
    said = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return f"the database could not be used: {said} (check it, or restore it from a backup with `benhan restore`)"


def server_closed(dbapi_conn) -> bool:  # noqa: ANN001
    """True when the server has closed this idle psycopg connection (it went down, restarted, or
    ended the session): an idle session receives nothing, so a readable socket means the server
    said goodbye (or sent a parameter change, which consume_input takes and which leaves it
    usable). A poll of the socket: no round trip, a few microseconds."""
    import select

    from psycopg import OperationalError
    from psycopg.pq import ConnStatus
    pgconn = dbapi_conn.pgconn
    try:
        for _ in range(3):
            if pgconn.status != ConnStatus.OK:
                return True
            if not select.select([pgconn.socket], [], [], 0)[0]:
                return False
            # The goodbye comes as an error message, then the end of the stream: the second read
            # raises. A ParameterStatus is taken and leaves nothing more to read.
            pgconn.consume_input()
    except (OSError, ValueError, OperationalError):
        return True
    return True     # still more to read from an idle session: not one to trust


def _replace_closed(dbapi_conn, _record, _proxy) -> None:  # noqa: ANN001
    # DisconnectionError at checkout: the pool discards this connection and checks out a new one
    # (SQLAlchemy's "pessimistic disconnect handling", without the SELECT 1 of pool_pre_ping).
    if server_closed(dbapi_conn):
        raise DisconnectionError("the database server closed this connection; opening a new one")


# Page cache per SQLite connection; the pool holds up to 24 of them.
SQLITE_CACHE_KB = 4000


class Database:
    def __init__(self, url: str, *, busy_timeout_ms: int = 30000, pool_size: int = 5,
                 synchronous: str = "FULL"):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.encrypted = False
        self._write_lock = threading.Lock()
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ":memory:" and not database.startswith("file:"):
                prepare_sqlite(Path(database))      # owner-only from the start (private_files)
            # Encrypted (SQLCipher) exactly when the database has a key file (store/encryption.py);
            # a key that does not open the file is one line here, not an error at the first query.
            where = encryption.target(url)
            key = encryption.key_for(where)
            self.encrypted = key is not None
            self.engine = self._sqlite_engine(where.url, busy_timeout_ms, synchronous, key)
        else:
            # No pre-ping: it costs a round trip per transaction. A connection the server has
            # closed (a restart, pg_terminate_backend, an idle timeout) is found at checkout by a
            # look at its socket instead, which costs no round trip, and replaced (_replace_closed).
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2,
                                        pool_recycle=3600)
            event.listen(self.engine, "checkout", _replace_closed)
        # PostgreSQL: one-statement reads answered on the event loop (a read by id); None on SQLite,
        # whose reads are library calls and are answered on the loop through the engine itself.
        self.loop_reads: LoopReads | None = None if self.is_sqlite else LoopReads(self.engine)

    @staticmethod
    def _sqlite_engine(url: str, busy_timeout_ms: int, synchronous: str, key: bytes | None = None) -> Engine:
        memory = url in ("sqlite://", "sqlite:///:memory:")
        # Enough pooled connections for the server's worker threads (web.app caps them at
        # WORKER_THREADS), so connections are reused rather than opened per request.
        pool = {"pool_size": 16, "max_overflow": 8} if not memory else {"poolclass": NullPool}
        if key is not None:
            # SQLCipher: its DB-API module (so SQLAlchemy maps its exceptions) and a creator that
            # gives the key before anything reads the file.
            path = Path(make_url(url).database)
            engine = create_engine(url, module=encryption.dbapi(), **pool,
                                   creator=lambda: encryption.connect(path, key, check_same_thread=False))
        else:
            engine = create_engine(url, connect_args={"check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred-only).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if not memory:
                cur.execute("PRAGMA journal_mode = WAL")
            cur.execute(f"PRAGMA synchronous = {synchronous}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
            cur.close()

        @event.listens_for(engine, "handle_error")
        def _damaged(context) -> None:  # noqa: ANN001
            # A damaged file is not a bug to report with a traceback: say which file and what to do.
            damage = damaged_file_message(context.original_exception, url)
            if damage:
                raise errors.DatabaseDamaged(damage) from context.original_exception

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            # Straight to the driver: through exec_driver_sql the BEGIN cost ~25 µs more CPU (an
            # execution context, a cursor result) on every read and write transaction. Its errors
            # come out as they did: a damaged file as DatabaseDamaged, the rest as SQLAlchemy's
            # (a lock held too long is the OperationalError that write() turns into DatabaseBusy).
            dbapi = conn.dialect.loaded_dbapi
            try:
                conn.connection.driver_connection.execute(f"BEGIN {mode}")
            except dbapi.Error as exc:
                damage = damaged_file_message(exc, url)
                if damage:
                    raise errors.DatabaseDamaged(damage) from exc
                raise DBAPIError.instance(f"BEGIN {mode}", None, exc, dbapi.Error, dialect=conn.dialect) from exc

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        if self.is_sqlite:
            with self._write_lock:
                try:
                    with self.engine.connect() as conn:
                        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                        with conn.begin():
                            yield conn
                except OperationalError as exc:
                    if "locked" in str(exc) or "busy" in str(exc):
                        raise errors.DatabaseBusy() from None
                    raise
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for everything read inside it."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def read_single(self) -> Iterator[Connection]:
        """A connection for a read of ONE statement, which is its own snapshot: on PostgreSQL it runs
        in autocommit, without BEGIN and COMMIT — one round trip instead of three (a read by id's
        token lookup). Two statements that must agree with each other belong in read()."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def node_id(self) -> str:
        """This node's name in the change log; made once and kept in the database."""
        with self.read() as conn:
            value = conn.execute(select(node_setting.c.value).where(node_setting.c.key == "node_id")).scalar()
        if value:
            return value
        with self.write() as conn:
            value = conn.execute(select(node_setting.c.value).where(node_setting.c.key == "node_id")).scalar()
            if not value:
                value = "node-" + uuid.uuid4().hex[:12]
                conn.execute(node_setting.insert().values(key="node_id", value=value))
        return value

    def dispose(self) -> None:
        if self.loop_reads is not None:
            self.loop_reads.close()
        self.engine.dispose()


# Connections per event loop (per server process) for LoopReads. A read by id is one short statement;
# reads that find both busy go together as one (LoopReads.fetch_batched), which costs PostgreSQL and
# this process far less per read than more connections each running its own: in process at 32 reads
# in flight, 2 connections batching serve ~1.8x the reads of 4 without (bench/bench_loop_reads.py).
# Two, not one, so that a slow read (a large body, a hiccup of the link) does not hold up every other.
LOOP_READ_CONNECTIONS = 2


def _finish(conn) -> None:  # noqa: ANN001
    """Close a psycopg connection without awaiting anything (from any thread, any loop's state)."""
    try:
        conn.pgconn.finish()
    except Exception:  # noqa: BLE001 - already gone is what was wanted
        pass


def _settle(batch: dict[str, list[asyncio.Future]], *, found: dict[str, list[tuple]] | None = None,
            error: BaseException | None = None) -> None:
    """Answer every request of a batch (one whose client has gone is skipped): its rows, or the error."""
    for key, waiters in batch.items():
        for waiter in waiters:
            if waiter.done():
                continue
            if isinstance(error, Exception):
                waiter.set_exception(error)
            elif error is not None:
                waiter.cancel()                         # the batch was cancelled: the loop is ending
            else:
                waiter.set_result((found or {}).get(key, []))


class _LoopPool:
    """Up to `size` psycopg AsyncConnections of one event loop, in autocommit, each with one cursor
    kept for it (binary results: a body's bytea is not hex-encoded by the server and decoded here,
    which cost more CPU than the rest of the statement). Only that loop's thread touches it. A
    connection is given to one request at a time; one whose statement was interrupted (a
    cancelled request, a broken link) is closed rather than reused."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connect_args: dict, size: int):
        self.loop = loop
        self._connect_args = connect_args
        self._size = size
        self._idle: list = []
        self._open = 0
        self._waiters: deque[asyncio.Future] = deque()
        self._batches: dict[str, dict[str, list[asyncio.Future]]] = {}
        self._tasks: set[asyncio.Task] = set()
        self.closed = False

    async def _take(self):  # noqa: ANN202
        from psycopg import AsyncConnection
        while True:
            while self._idle:
                cur = self._idle.pop()
                if not server_closed(cur.connection):
                    return cur
                self._discard(cur)
            if self._open < self._size:
                self._open += 1
                try:
                    conn = await AsyncConnection.connect(autocommit=True, **self._connect_args)
                    return conn.cursor(binary=True)
                except BaseException:
                    self._open -= 1
                    self._give(None)
                    raise
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                cur = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._give(waiter.result())     # handed over just as this request was cancelled
                raise
            if cur is not None:
                return cur
            # None: a connection was closed, so one may be opened: try again.

    def _give(self, cur) -> None:  # noqa: ANN001
        """A connection's cursor back (None: a place freed for a new one), to the first waiting request."""
        if cur is not None and self.closed:
            self._open -= 1
            _finish(cur.connection)
            cur = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(cur)
                return
        if cur is not None:
            self._idle.append(cur)

    def _discard(self, cur) -> None:  # noqa: ANN001
        self._open -= 1
        _finish(cur.connection)
        self._give(None)

    async def _run(self, cur, sql: str, params: tuple) -> list[tuple]:  # noqa: ANN001
        """One statement on a connection taken for it, which is given back (or closed) after."""
        from psycopg.pq import TransactionStatus
        try:
            await cur.execute(sql, params, prepare=True)
            rows = await cur.fetchall()
        except BaseException:
            # An error of the statement leaves an autocommit session idle and usable; anything
            # else (a cancellation mid-statement, a broken link) does not: close it.
            conn = cur.connection
            if conn.closed or conn.pgconn.transaction_status != TransactionStatus.IDLE:
                self._discard(cur)
            else:
                self._give(cur)
            raise
        self._give(cur)
        return rows

    async def fetch_batched(self, sql_one: str, sql_many: str, group: str, key: str) -> list[tuple]:
        """See LoopReads.fetch_batched: alone when a connection is free and no batch of `group` is
        waiting, else in that batch (started if need be)."""
        batch = self._batches.get(group)
        if batch is None and not self._waiters and (self._idle or self._open < self._size):
            return await self.fetch_all(sql_one, (group, key))
        if batch is None:
            batch = self._batches[group] = {}
            task = self.loop.create_task(self._run_batch(sql_many, group, batch))
            self._tasks.add(task)                   # the loop keeps only a weak reference to a task
            task.add_done_callback(self._tasks.discard)
        waiter = self.loop.create_future()
        batch.setdefault(key, []).append(waiter)
        return await waiter

    async def _run_batch(self, sql_many: str, group: str, batch: dict[str, list[asyncio.Future]]) -> None:
        try:
            cur = await self._take()
            # Those arriving from now on make the next batch: this one's ids are sent as they are.
            self._unlist(group, batch)
            rows = await self._run(cur, sql_many, (group, list(batch)))
        except BaseException as exc:
            self._unlist(group, batch)
            _settle(batch, error=exc)
            if not isinstance(exc, Exception):
                raise
            return
        found: dict[str, list[tuple]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(row[1:])
        _settle(batch, found=found)

    def _unlist(self, group: str, batch: dict) -> None:
        """No longer the batch that reads of `group` join (unless a later one already is)."""
        if self._batches.get(group) is batch:
            del self._batches[group]

    async def fetch_all(self, sql: str, params: tuple) -> list[tuple]:
        return await self._run(await self._take(), sql, params)

    def close(self) -> None:
        self.closed = True
        for cur in self._idle:
            self._open -= 1
            _finish(cur.connection)
        self._idle.clear()


class LoopReads:
    """PostgreSQL reads of ONE statement answered on the event loop, through a few psycopg
    AsyncConnections of that loop in autocommit, instead of on a worker thread through the engine:
    no thread hop, no BEGIN/COMMIT (one statement is its own snapshot), the statement prepared
    once per connection. Only for what the hot path needs (the read by id with its gate lookup);
    everything else keeps the engine. Connections are opened at first use; a loop that has ended
    (a test client's) has its connections closed when another loop comes."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._pools: dict[int, _LoopPool] = {}
        self._connect_args: dict | None = None

    def _pool(self) -> _LoopPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(id(loop))
        if pool is not None and pool.loop is loop and not pool.closed:
            return pool
        for key, other in list(self._pools.items()):
            if other.loop.is_closed() or other.loop is loop or other.closed:
                other.close()
                self._pools.pop(key, None)
        if self._connect_args is None:
            # The engine's own: the same server, credentials, TLS settings and type adapters.
            _, self._connect_args = self._engine.dialect.create_connect_args(self._engine.url)
        pool = self._pools[id(loop)] = _LoopPool(loop, self._connect_args, LOOP_READ_CONNECTIONS)
        return pool

    @staticmethod
    def usable() -> bool:
        """Whether the running event loop can serve psycopg's async connections: not Windows'
        default ProactorEventLoop, which psycopg refuses (the read then goes to a worker thread)."""
        proactor = getattr(asyncio, "ProactorEventLoop", None)
        return proactor is None or not isinstance(asyncio.get_running_loop(), proactor)

    async def fetch_all(self, sql: str, params: tuple) -> list[tuple]:
        """The rows of one query (`%s` placeholders). A driver error is raised as SQLAlchemy's, as
        the engine's would be."""
        from psycopg import Error
        try:
            return await self._pool().fetch_all(sql, params)
        except Error as exc:
            raise DBAPIError.instance(sql, params, exc, Error, dialect=self._engine.dialect) from exc

    async def fetch_batched(self, sql_one: str, sql_many: str, group: str, key: str) -> list[tuple]:
        """The rows of `sql_one` with parameters (group, key): a read by id. When every connection is
        busy, the reads of the same group (type) arriving meanwhile wait together and go as ONE
        statement, `sql_many` with (group, [keys]), whose rows start with their key: under
        concurrency one round trip, one execution and one wake-up of PostgreSQL's backend serve many
        reads instead of each paying its own on the same cores. A read arriving with a connection
        free goes alone at once, as before: batching never delays a read that need not wait."""
        from psycopg import Error
        pool = self._pool()
        try:
            return await pool.fetch_batched(sql_one, sql_many, group, key)
        except Error as exc:
            raise DBAPIError.instance(sql_one, (group, key), exc, Error, dialect=self._engine.dialect) from exc

    def close(self) -> None:
        for pool in list(self._pools.values()):
            pool.close()
        self._pools.clear()
