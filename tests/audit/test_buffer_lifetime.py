"""The read-audit buffer's thread lives as long as its store: closing the store writes what waits
and ends the thread; a store dropped without close ends it too (after writing); a read after close
is written at once. A test's store left open used to keep its thread retrying into a database the
test had dropped, printing "the audit trail cannot be written" at the end of the run."""
from __future__ import annotations

import gc
import threading

from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests import factories
from tests.audit.helpers import DOCTOR, sql

READS = 7


def _reads_of(config, pid: str) -> int:  # noqa: ANN001
    store = Store.open(config, upgrade=False)
    try:
        return sql(store, "SELECT count(*) FROM audit_event WHERE interaction = 'read' AND res_id = :p", p=pid)[0][0]
    finally:
        store.close()


def _store_with_waiting_reads(config) -> tuple[Store, str, threading.Thread]:  # noqa: ANN001
    store = Store.open(config)
    store.read_audit._flush_seconds = 3600       # the thread would not write them by itself
    doc = Repository(store, DOCTOR)
    pid = doc.create("Patient", factories.patient()).res_id
    for _ in range(READS):
        doc.read("Patient", pid)
    thread = store.read_audit._thread
    assert thread is not None and thread.is_alive() and store.read_audit.health().pending == READS
    return store, pid, thread


def test_a_closed_store_leaves_no_flush_thread_and_its_waiting_reads_are_written(db_config):
    store, pid, thread = _store_with_waiting_reads(db_config)
    store.close()
    assert not thread.is_alive()
    assert store.read_audit.health().pending == 0
    assert _reads_of(db_config, pid) == READS
    store.close()                                # twice: nothing left to do, nothing breaks
    assert thread not in threading.enumerate()


def test_a_store_dropped_without_close_ends_its_thread_after_writing(db_config):
    store, pid, thread = _store_with_waiting_reads(db_config)
    db = store.db
    del store
    gc.collect()
    thread.join(timeout=30)
    try:
        assert not thread.is_alive()
        assert _reads_of(db_config, pid) == READS
    finally:
        db.dispose()


def test_a_read_after_close_is_written_at_once_without_a_new_thread(db_config):
    store, pid, thread = _store_with_waiting_reads(db_config)
    store.close()
    try:
        store.read_audit.add(AuditRecord(recorded=1, interaction="read", agent="late", res_type="Patient",
                                         res_id=pid))
        assert store.read_audit._thread is thread and not thread.is_alive()
        assert store.read_audit.health().pending == 0
    finally:
        store.db.dispose()
    assert _reads_of(db_config, pid) == READS + 1
