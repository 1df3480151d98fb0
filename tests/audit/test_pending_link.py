"""PostgreSQL writes a write's audit rows *pending* and links them into the chain a moment later
(store.audit_log.link_pending), so that writers no longer queue on the chain head across their
commits. What a user relies on: every committed row ends in the chain exactly once, in seq order,
whatever commits meanwhile; a sync push never passes a row still to be linked; verify tells
waiting rows from inserted ones; SQLite still links inside the write."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from benhan import config as config_mod
from benhan.audit.verify import verify
from benhan.store import audit_log
from benhan.store import sync_tables as st
from benhan.store.audit_log import PENDING, AuditRecord
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests import factories
from tests.audit.helpers import DOCTOR, sql
from tests.conftest import empty_pg

DEADLINE_S = 60         # for waits on other threads: generous on a busy machine, never a timing claim


@pytest.fixture
def pg_config(tmp_path, pg_database):  # noqa: ANN001, ANN201
    cfg = config_mod.load(env={}, data_dir=tmp_path / "data", database_url=empty_pg(pg_database))
    Store.open(cfg).close()                 # migrated
    return cfg


@pytest.fixture
def pg_store(pg_config):  # noqa: ANN001, ANN201
    """A PostgreSQL store without the linking thread: the test links when it says so."""
    s = Store.open(pg_config, upgrade=False)
    yield s
    s.close()


def event(i: int, *patients: str) -> AuditRecord:
    return AuditRecord(recorded=1_000 + i, interaction="read", agent=f"u{i % 5}", res_type="Patient",
                       res_id=f"p{i}", patients=patients)


def chain_in_seq_order(store) -> list[int]:  # noqa: ANN001
    """The seqs of the linked rows in chain order."""
    return [r[0] for r in sql(store, "SELECT seq FROM audit_event WHERE chain_pos IS NOT NULL ORDER BY chain_pos")]


def wait_for(condition, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_sqlite_links_inside_the_write(tmp_path):  # noqa: ANN001
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data"))
    try:
        audit_log.append(store.db, [event(1, "p1")])
        assert sql(store, "SELECT chain_pos, hash <> :p FROM audit_event", p=PENDING) == [(1, True)]
        assert sql(store, "SELECT count(*) FROM audit_event WHERE hash = :p", p=PENDING) == [(0,)]
        assert audit_log.link_pending(store.db) == 0
    finally:
        store.close()


def test_a_write_leaves_its_rows_pending_and_the_link_chains_them(pg_store):  # noqa: ANN001
    patient = Repository(pg_store, DOCTOR).create("Patient", factories.patient())
    rows = sql(pg_store, "SELECT seq, chain_pos, hash, patients FROM audit_event")
    assert [(r.chain_pos, r.hash, r.patients) for r in rows] == [(None, PENDING, patient.res_id)]
    # Who was looked at is on record from the commit on, before the link.
    assert sql(pg_store, "SELECT seq, patient_id FROM audit_patient") == [(rows[0].seq, patient.res_id)]
    report = verify(pg_store)
    assert report.intact and (report.events, report.pending) == (0, 1), report.line()
    assert "waiting to be linked: 1" in report.line()

    assert audit_log.link_pending(pg_store.db) == 1
    report = verify(pg_store)
    assert report.intact and (report.events, report.pending) == (1, 0), report.line()
    with pg_store.db.read() as conn:        # the head noted outside the chain too (an anchor)
        assert audit_log.noted_head(conn)[:2] == report.head
    assert audit_log.link_pending(pg_store.db) == 0     # nothing left: a no-op


def test_many_writers_and_linkers_at_once_give_one_chain_in_seq_order(pg_store):  # noqa: ANN001
    writers, rounds = 6, 30
    stop = threading.Event()
    failures: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for r in range(rounds):
                n = (1, 2, 3, 9)[r % 4]         # 9: the unnest shape, the others VALUES lists
                audit_log.append(pg_store.db, [event(w * 1000 + r * 10 + k, f"p{w}", f"q{k}") for k in range(n)])
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    def link() -> None:
        try:
            while not stop.is_set():
                audit_log.link_pending(pg_store.db, batch=7)   # small batches: several per run
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    linkers = [threading.Thread(target=link) for _ in range(2)]
    for t in threads + linkers:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in linkers:
        t.join()
    assert not failures, failures
    audit_log.link_pending(pg_store.db)
    total = writers * sum((1, 2, 3, 9)[r % 4] for r in range(rounds))
    report = verify(pg_store)
    assert report.intact and (report.events, report.pending) == (total, 0), report.line()
    order = chain_in_seq_order(pg_store)
    assert order == sorted(order) and len(set(order)) == total
    assert sql(pg_store, "SELECT count(*) FROM audit_patient")[0][0] == 2 * total


def test_the_linker_waits_for_a_writer_in_flight_and_a_push_never_passes_it(pg_store):  # noqa: ANN001
    db = pg_store.db
    written, commit = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with db.write() as conn:
            audit_log.write(conn, [event(1, "p1")])
            written.set()
            commit.wait(DEADLINE_S)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert written.wait(DEADLINE_S)
        audit_log.append(db, [event(2, "p2")])      # commits first, with the larger seq
        with db.read() as conn:
            # The only visible row waits to be linked: a push sends nothing yet (and so cannot move
            # its cursor past the uncommitted row with the smaller seq).
            assert st.audit_after(conn, 0, 100) == []
        linked: list[int] = []
        linker = threading.Thread(target=lambda: linked.append(audit_log.link_pending(db)))
        linker.start()

        def linker_waits() -> bool:
            with db.engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                         "AND NOT granted")).scalar() == 1
        wait_for(linker_waits, "the linker to wait for the writer in flight")
        assert linked == []
    finally:
        commit.set()
        writer.join()
    linker.join(DEADLINE_S)
    assert linked == [2]
    seqs = chain_in_seq_order(pg_store)
    assert len(seqs) == 2 and seqs == sorted(seqs)
    with db.read() as conn:
        assert [e["res_id"] for e in st.audit_after(conn, 0, 100)] == ["p1", "p2"]
    assert verify(pg_store).intact


def test_a_pending_row_before_the_last_linked_one_is_an_insertion(pg_store):  # noqa: ANN001
    audit_log.append(pg_store.db, [event(1, "p1"), event(2, "p2")])
    audit_log.link_pending(pg_store.db)
    # The linker takes pending rows in seq order and only after every smaller seq committed: a
    # pending row below the last linked one was not written by benhan.
    sql(pg_store, "INSERT INTO audit_event (seq, recorded, action, interaction, outcome, agent, hash) "
                  "VALUES (0, :w, 'R', 'read', '0', 'forger', :p)", w=2**50, p=PENDING)
    report = verify(pg_store)
    assert not report.intact and report.pending == 0
    assert (report.first.kind, report.first.seq) == ("inserted", 0)


def test_the_store_links_on_its_own_about_every_second(pg_config):  # noqa: ANN001
    store = Store.open(pg_config)
    try:
        Repository(store, DOCTOR).create("Patient", factories.patient())
        wait_for(lambda: verify(store).events >= 1 and verify(store).pending == 0, "the store's thread to link")
        assert verify(store).intact
    finally:
        store.close()


def test_a_store_closing_links_what_it_wrote(pg_config):  # noqa: ANN001
    store = Store.open(pg_config)
    store.read_audit.stop()     # its thread ends: only close() can link now
    wait_for(lambda: not store.read_audit._thread.is_alive(), "the linking thread to end")
    try:
        Repository(store, DOCTOR).create("Patient", factories.patient())
    finally:
        store.close()
    store = Store.open(pg_config, upgrade=False)
    try:
        report = verify(store)
        assert report.intact and report.events >= 1 and report.pending == 0, report.line()
    finally:
        store.close()
