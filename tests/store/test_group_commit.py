"""Group commit on SQLite (store/group_commit.py): writes queued while another commits share one
transaction, each in its own savepoint — one write's error takes back that write alone, the others
are committed and answered; a write alone in its group rolls back whole on its error."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from benhan.store.database import Database
from benhan.store.group_commit import GroupCommit


@pytest.fixture
def db(tmp_path: Path):  # noqa: ANN201
    d = Database(f"sqlite:///{tmp_path / 'g.sqlite'}")
    with d.write() as conn:
        conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)"))
    yield d
    d.dispose()


def _rows(db: Database) -> dict[str, str]:
    with db.read() as conn:
        return dict(conn.execute(text("SELECT k, v FROM t")).all())


def _insert(k: str, v: str, then_fail: bool = False):  # noqa: ANN202
    def work(conn):  # noqa: ANN001, ANN202
        conn.execute(text("INSERT INTO t (k, v) VALUES (:k, :v)"), {"k": k, "v": v})
        if then_fail:
            raise ValueError(f"{k} refused after its insert")
        return k
    return work


def test_a_write_that_fails_in_a_group_takes_back_only_itself(db: Database) -> None:
    gc = GroupCommit(db)
    holding, release = threading.Event(), threading.Event()

    def first(conn):  # noqa: ANN001, ANN202
        conn.execute(text("INSERT INTO t (k, v) VALUES ('a', 'Nguyễn')"))
        holding.set()
        release.wait(30)            # the writer thread is busy: what comes now is queued together
        return "a"

    results: dict[str, object] = {}

    def call(name: str, work) -> None:  # noqa: ANN001
        try:
            results[name] = gc.run(work)
        except ValueError as exc:
            results[name] = exc

    threads = [threading.Thread(target=call, args=("a", first))]
    threads[0].start()
    assert holding.wait(30)
    for name, fail in (("b", False), ("c", True), ("d", False)):
        t = threading.Thread(target=call, args=(name, _insert(name, name.upper(), fail)))
        t.start()
        threads.append(t)
    while gc._queue.qsize() < 3:        # all three queued behind the first: one group
        threading.Event().wait(0.01)
    release.set()
    for t in threads:
        t.join(30)
    gc.close()
    assert results["a"] == "a" and results["b"] == "b" and results["d"] == "d"
    assert isinstance(results["c"], ValueError)
    assert _rows(db) == {"a": "Nguyễn", "b": "B", "d": "D"}      # c's insert taken back, nothing else


def test_a_write_alone_that_fails_leaves_nothing_and_the_next_one_stands(db: Database) -> None:
    gc = GroupCommit(db)
    with pytest.raises(ValueError):
        gc.run(_insert("x", "X", then_fail=True))
    assert gc.run(_insert("y", "Y")) == "y"
    # A database error is the caller's too, and the writer goes on.
    with pytest.raises(Exception, match="UNIQUE"):
        gc.run(_insert("y", "again"))
    assert gc.run(_insert("z", "Z")) == "z"
    gc.close()
    assert _rows(db) == {"y": "Y", "z": "Z"}
