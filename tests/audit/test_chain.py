"""The audit trail's hash chain: intact after ordinary work, and any row edited, removed or
inserted directly in the database is named by `verify` — on SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from benhan.audit.verify import verify
from benhan.store import audit_log
from benhan.store.audit_log import GENESIS, AuditRecord, link_hash
from benhan.store.repository import Repository
from tests import factories
from tests.audit.helpers import DOCTOR, a_working_day, chain_length, row_at, sql


def first(store):  # noqa: ANN001, ANN201
    report = verify(store)
    assert not report.intact, "the tampering went unnoticed"
    return report.first


# --- an untouched chain ----------------------------------------------------------------------

def test_a_working_day_leaves_an_intact_chain_with_contiguous_positions(store):
    a_working_day(store)
    report = verify(store)
    assert report.intact, report.line()
    n = chain_length(store)
    assert report.events == n and n > 10
    assert (report.first_pos, report.last_pos) == (1, n)
    assert report.head == (n, row_at(store, n).hash)
    assert report.line().startswith(f"audit chain intact: {n} events (chain_pos 1–{n}; head {n}:")


def test_each_hash_links_the_previous_hash_and_the_rows_own_fields(store):
    a_working_day(store)
    prev = GENESIS
    with store.db.read() as conn:
        from benhan.store import audit_query
        for batch in audit_query.chained(conn, batch=3):      # small batches: the paging is exercised too
            for item in batch:
                assert item.row.hash == link_hash(prev, item.fields)
                prev = item.row.hash


def test_every_event_of_a_patient_has_its_audit_patient_rows(store):
    ids = a_working_day(store)
    rows = sql(store, "SELECT e.seq, e.patients, p.patient_id FROM audit_event e "
                      "JOIN audit_patient p ON p.seq = e.seq WHERE p.patient_id = :p", p=ids["patient"])
    assert len(rows) >= 7
    assert all(ids["patient"] in r.patients.split() for r in rows)


def test_small_and_large_batches_continue_one_chain(store):
    # On PostgreSQL a few events go as a VALUES list and many as arrays (audit_log._pg_write);
    # 2,000 events of up to three patients each would be beyond one statement's parameters as VALUES.
    patients = [f"p{i}" for i in range(7)]
    records = [AuditRecord(recorded=i, interaction="read", agent="bs.lan", res_type="Patient", res_id=f"p{i % 7}",
                           patients=tuple(patients[i % 7: i % 7 + i % 4])) for i in range(2000)]
    audit_log.append(store.db, records[:3])
    audit_log.append(store.db, records[3:])
    report = verify(store)
    assert report.intact and report.events == 2000, report.line()
    expected = sum(len(set(r.patients)) for r in records)
    assert sql(store, "SELECT count(*) FROM audit_patient")[0][0] == expected
    assert report.head == (2000, row_at(store, 2000).hash)


def test_a_trail_with_no_events_yet_verifies(store):
    assert verify(store).line() == "audit chain intact: 0 events (no chained events yet)"


def test_rows_from_before_the_chain_are_counted_as_legacy_not_tampering(store):
    for when in (1000, 2000, 3000):
        sql(store, "INSERT INTO audit_event (recorded, action, interaction, outcome, agent) "
                   "VALUES (:w, 'R', 'read', '0', 'old-user')", w=when)
    a_working_day(store)
    report = verify(store)
    assert report.intact, report.line()
    assert report.legacy == 3
    assert "unchained legacy rows: 3" in report.line()


# --- tampering -------------------------------------------------------------------------------

@pytest.mark.parametrize("column, value", [("agent", "someone-else"), ("res_id", "other-id"),
                                           ("outcome", "4"), ("recorded", 1), ("purpose", "BTG"),
                                           ("patients", None), ("detail", '{"x": 1}')])
def test_an_edited_field_is_named_by_its_chain_position(store, column, value):
    a_working_day(store)
    target = row_at(store, 5)
    sql(store, f"UPDATE audit_event SET {column} = :v WHERE chain_pos = 5", v=value)
    problem = first(store)
    assert (problem.chain_pos, problem.seq, problem.kind) == (5, target.seq, "altered")
    assert problem.line().startswith(f"audit chain broken at chain_pos 5 (seq {target.seq}): altered")


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(store):
    a_working_day(store)
    before = row_at(store, 3)
    sql(store, "UPDATE audit_event SET agent = 'someone-else' WHERE chain_pos = 4")
    with store.db.read() as conn:
        from benhan.store import audit_query
        fields = next(i.fields for b in audit_query.chained(conn) for i in b if i.row.chain_pos == 4)
    sql(store, "UPDATE audit_event SET hash = :h WHERE chain_pos = 4", h=link_hash(before.hash, fields))
    assert (first(store).chain_pos, first(store).kind) == (5, "altered")


def test_a_removed_row_is_named_as_a_gap(store):
    a_working_day(store)
    gone = row_at(store, 6)
    sql(store, "DELETE FROM audit_patient WHERE seq = :s", s=gone.seq)
    sql(store, "DELETE FROM audit_event WHERE seq = :s", s=gone.seq)
    problem = first(store)
    assert (problem.chain_pos, problem.kind) == (6, "removed")
    assert "chain_pos 6 missing" in problem.message


def test_a_removed_row_with_the_positions_closed_up_is_named(store):
    a_working_day(store)
    gone = row_at(store, 6)
    sql(store, "DELETE FROM audit_patient WHERE seq = :s", s=gone.seq)
    sql(store, "DELETE FROM audit_event WHERE seq = :s", s=gone.seq)
    n = chain_length(store) + 1
    for pos in range(7, n + 1):
        sql(store, "UPDATE audit_event SET chain_pos = :new WHERE chain_pos = :old", new=pos - 1, old=pos)
    sql(store, "UPDATE audit_chain_head SET chain_pos = chain_pos - 1")
    problem = first(store)
    assert (problem.chain_pos, problem.kind) == (6, "altered")


def test_a_forged_row_without_a_chain_position_is_an_insertion(store):
    a_working_day(store)
    seq = sql(store, "INSERT INTO audit_event (recorded, action, interaction, outcome, agent) "
                     "VALUES (:w, 'R', 'read', '0', 'forger') RETURNING seq", w=row_at(store, 3).recorded + 1)[0][0]
    problem = first(store)
    assert (problem.seq, problem.kind) == (seq, "inserted")
    assert problem.chain_pos == chain_length(store) + 1     # it sits after every chained row


def test_a_forged_row_at_the_end_of_the_chain_is_an_insertion_even_with_a_valid_hash(store):
    a_working_day(store)
    n = chain_length(store)
    forged = AuditRecord(recorded=2**50, interaction="read", agent="forger").row()
    forged["chain_pos"] = n + 1
    forged["hash"] = link_hash(row_at(store, n).hash, forged)
    sql(store, "INSERT INTO audit_event (recorded, action, interaction, outcome, agent, chain_pos, hash) "
               "VALUES (:recorded, :action, :interaction, :outcome, :agent, :chain_pos, :hash)",
        **{k: forged[k] for k in ("recorded", "action", "interaction", "outcome", "agent", "chain_pos", "hash")})
    problem = first(store)
    assert (problem.chain_pos, problem.kind) == (n + 1, "inserted")


def test_a_forged_row_in_place_of_a_removed_one_is_named(store):
    a_working_day(store)
    gone = row_at(store, 4)
    sql(store, "DELETE FROM audit_patient WHERE seq = :s", s=gone.seq)
    sql(store, "DELETE FROM audit_event WHERE seq = :s", s=gone.seq)
    sql(store, "INSERT INTO audit_event (recorded, action, interaction, outcome, agent, chain_pos, hash) "
               "VALUES (1, 'R', 'read', '0', 'forger', 4, :h)", h=gone.hash)
    problem = first(store)
    assert (problem.chain_pos, problem.kind) == (4, "altered")


def test_a_forged_row_with_a_position_the_chain_never_assigns_is_an_insertion(store):
    a_working_day(store)
    sql(store, "INSERT INTO audit_event (recorded, action, interaction, outcome, agent, chain_pos, hash) "
               "VALUES (1, 'R', 'read', '0', 'forger', 0, :h)", h=GENESIS)
    problem = first(store)
    assert (problem.chain_pos, problem.kind) == (0, "inserted")


def test_an_edited_audit_patient_row_is_named(store):
    ids = a_working_day(store)
    target = sql(store, "SELECT e.seq, e.chain_pos FROM audit_event e JOIN audit_patient p ON p.seq = e.seq "
                        "WHERE p.patient_id = :p ORDER BY e.chain_pos", p=ids["patient"])[2]
    sql(store, "UPDATE audit_patient SET patient_id = 'someone-else' WHERE seq = :s", s=target.seq)
    problem = first(store)
    assert (problem.chain_pos, problem.seq, problem.kind) == (target.chain_pos, target.seq, "patients")
    assert "someone-else" in problem.message


def test_a_removed_audit_patient_row_is_named(store):
    ids = a_working_day(store)
    target = sql(store, "SELECT e.seq, e.chain_pos FROM audit_event e JOIN audit_patient p ON p.seq = e.seq "
                        "WHERE p.patient_id = :p ORDER BY e.chain_pos", p=ids["patient"])[0]
    sql(store, "DELETE FROM audit_patient WHERE seq = :s", s=target.seq)
    assert (first(store).chain_pos, first(store).kind) == (target.chain_pos, "patients")


def test_a_truncated_tail_is_named(store):
    a_working_day(store)
    n = chain_length(store)
    for pos in (n, n - 1):
        seq = row_at(store, pos).seq
        sql(store, "DELETE FROM audit_patient WHERE seq = :s", s=seq)
        sql(store, "DELETE FROM audit_event WHERE seq = :s", s=seq)
    problem = first(store)
    assert (problem.chain_pos, problem.kind) == (n - 1, "truncated")
    assert f"the head says chain_pos {n} but the last row is {n - 2}" in problem.message


def test_a_removed_head_is_named_and_the_next_write_continues_the_chain(store):
    a_working_day(store)
    sql(store, "DELETE FROM audit_chain_head")
    assert first(store).kind == "head"
    Repository(store, DOCTOR).create("Patient", factories.patient())
    assert verify(store).intact


def test_a_rewritten_chain_is_caught_by_a_head_noted_earlier(store):
    a_working_day(store)
    noted = verify(store).head
    sql(store, "UPDATE audit_event SET hash = :h WHERE chain_pos = :p", h="0" * 64, p=noted[0])
    sql(store, "UPDATE audit_chain_head SET hash = :h", h="0" * 64)
    report = verify(store, expect=noted)
    assert any(p.kind == "anchor" for p in report.problems)


def test_only_the_first_of_several_problems_is_named_first(store):
    a_working_day(store)
    sql(store, "UPDATE audit_event SET agent = 'x' WHERE chain_pos IN (3, 8)")
    report = verify(store)
    assert report.first.chain_pos == 3
    assert report.line().endswith("(and 1 more problem)")


# --- the command line ------------------------------------------------------------------------

def _cli(store, *args: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    where = (["--data-dir", str(store.config.data_dir)] if store.db.is_sqlite
             else ["--database-url", store.config.sqlalchemy_url])
    return subprocess.run([sys.executable, "-m", "benhan.cli", "audit", *args, *where],
                          capture_output=True, text=True, timeout=120)


def test_the_command_prints_one_line_and_exits_0_on_an_intact_chain(store):
    a_working_day(store)
    done = _cli(store, "verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("audit chain intact: ")


def test_the_command_names_the_first_broken_link_in_one_line_and_exits_1(store):
    a_working_day(store)
    seq = row_at(store, 2).seq
    sql(store, "UPDATE audit_event SET agent = 'x' WHERE chain_pos = 2")
    done = _cli(store, "verify")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (f"benhan: BENHAN-5010: audit chain broken at chain_pos 2 (seq {seq}): altered — its hash "
                           "does not match its content and the previous link (the row was altered, or put in "
                           "place of another)\n")


def test_the_command_checks_a_head_noted_earlier(store):
    a_working_day(store)
    pos, digest = verify(store).head
    assert _cli(store, "verify", "--expect", f"{pos}:{digest}").returncode == 0
    assert _cli(store, "verify", "--expect", f"{pos}:{'1' * 64}").returncode == 1


# --- concurrency -------------------------------------------------------------------------------

def test_writers_on_many_threads_at_once_leave_one_contiguous_chain(store):
    threads, per_thread = 8, 10
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            repo = Repository(store, DOCTOR)
            start.wait()
            for _ in range(per_thread):
                p = repo.create("Patient", factories.patient())
                repo.read("Patient", p.res_id)
                if _ % 3 == 0:
                    store.read_audit.flush()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    store.read_audit.flush()
    assert failures == []
    report = verify(store)
    assert report.intact, report.line()
    assert report.events == chain_length(store) == 2 * threads * per_thread
    positions = [r[0] for r in sql(store, "SELECT chain_pos FROM audit_event ORDER BY chain_pos")]
    assert positions == list(range(1, 2 * threads * per_thread + 1))


def test_the_first_events_ever_written_at_once_create_one_chain_head(store):
    threads = 8
    start = threading.Barrier(threads)

    def work(i: int) -> None:
        start.wait()
        audit_log.append(store.db, [AuditRecord(recorded=i, interaction="login", agent=f"u{i}", subtype="login")])

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert sql(store, "SELECT count(*) FROM audit_chain_head")[0][0] == 1
    assert verify(store).intact and verify(store).events == threads
