"""Issue 11 item 8: sync after a node is restored from a backup loses nothing, silently or not.

A restored node numbers its next changes again from the backup's point, so the batch ids it sends
are ones the hub has answered before, for other content. The hub knows a batch by its id *and* its
content digest, skips only versions it already holds from the node (by content), and takes a new
epoch (written by `restore`) — or numbers below its cursor with content it does not know (a copy
put back by hand) — as the node's numbering starting again. The node then pulls back, once, its own
changes the hub holds from after the backup, and says so in its status.

Real backups and restores (SQLite online backup / pg_dump) of the node's database, on both kinds;
the hub on both kinds too."""
from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from benhan.store import backup
from benhan.store import sync_tables as st
from benhan.store.schema import audit_event, sync_batch
from benhan.sync import status
from tests import factories
from tests.conftest import own_pg_database
from tests.sync.harness import Node, change_rows, versions
from tests.sync.test_push_authority import review_page


@pytest.fixture(params=["sqlite", "postgresql"])
def node_database(request: pytest.FixtureRequest) -> str | None:
    """The node's database: its data folder's SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        return None
    gen = own_pg_database("benhan_node")
    url = next(gen)
    request.addfinalizer(lambda: next(gen, None))
    return url


def _node(hub, tmp_path: Path, url: str | None) -> Node:  # noqa: ANN001
    return Node(tmp_path, hub, "tyt-r", database_url=url)


def _restore(node: Node, file: Path, *, by_hand: bool) -> None:
    """Stop the node (close its database), put the backup back, start it again. `by_hand`: the
    files are put back without `benhan restore` (no new epoch) — the hub must notice anyway."""
    node.close()
    url = node.config.sqlalchemy_url
    if not by_hand:
        backup.restore(url, file)
    elif url.startswith("sqlite"):
        backup._restore_sqlite(backup._sqlite_path(url), file)
    else:
        backup._restore_pg(url, file)
    node.reopen()


def _patients(node: Node, n: int, family: str) -> list[str]:
    out = []
    for _ in range(n):
        p = node.repo.create("Patient", factories.patient(family=family)).res_id
        node.repo.create("Observation", factories.observation(f"Patient/{p}"))
        out.append(p)
    return out


def _ids(store, res_type: str) -> set[str]:  # noqa: ANN001
    return {i for t, i, _ in versions(store) if t == res_type}


@pytest.mark.parametrize("by_hand", [False, True], ids=["benhan-restore", "copied-back-by-hand"])
def test_a_restored_node_loses_nothing(hub, tmp_path, node_database, by_hand):  # noqa: ANN001
    node = _node(hub, tmp_path, node_database)
    before = _patients(node, 3, "Trước")
    edited = before[0]
    node.round()
    taken = backup.backup(node.store.db, tmp_path / "backups")

    # A day of work, synced: then the disk fails and the backup is put back.
    day = _patients(node, 4, "Trong ngày")
    body = node.repo.read("Patient", edited).json()
    node.repo.update("Patient", edited, dict(body, gender="female"))
    node.round()
    at_hub_before = versions(hub.store)
    _restore(node, taken, by_hand=by_hand)
    assert not _ids(node.store, "Patient") & set(day)

    # After the restore: 5 new patients, and an edit of the patient the lost day had edited too.
    after = _patients(node, 5, "Sau")
    body = node.repo.read("Patient", edited).json()
    node.repo.update("Patient", edited, dict(body, birthDate="1990-01-01"))
    result = node.round()

    # Everything new reached the hub, byte for byte; nothing the hub held was lost or replaced.
    mine = versions(node.store, origin=node.store.node_id)
    at_hub = versions(hub.store)
    new = {k: h for k, h in mine.items() if k[1] in after}
    assert len(new) == 5 and {k: at_hub.get(k) for k in new} == new
    assert all(at_hub.get(k) == h for k, h in at_hub_before.items())
    # The lost day came back to the node, as the hub holds it.
    assert set(day) <= _ids(node.store, "Patient")
    here = versions(node.store)
    assert all(here.get(k) == h for k, h in at_hub.items() if k[1] in day)
    # The two edits of one patient from one base are both kept: merged (they touch different
    # fields) or set aside for review — never one silently dropped.
    with hub.store.db.read() as conn:
        queued = [(r.res_type, r.res_id) for r in st.conflicts(conn)]
    kept = hub.repo.read("Patient", edited).json()
    assert queued == [("Patient", edited)] or (kept["gender"], kept["birthDate"]) == ("female", "1990-01-01")
    # The operator is told: a recovery happened and what it brought back; nothing is pending.
    seen = status.node_status(node.store)
    assert seen["pending"] == 0 and seen["recovering"] is None
    assert seen["recovered"]["pulled"] >= len(day) * 2 and result.recovered
    assert f"Đã lấy lại từ hub sau khi khôi phục: {seen['recovered']['pulled']}" in review_page(node)
    # The node numbered its changes again (batches from the same first seq, other content): the hub
    # answered each anew.
    with hub.store.db.read() as conn:
        ids = [b.split("~")[0] for b in conn.execute(select(sync_batch.c.batch_id)).scalars()]
        restarts = conn.execute(select(audit_event.c.detail).where(audit_event.c.subtype == "sync-restore")).all()
    firsts = [i.split(":")[1].split("-")[0] for i in ids]
    assert len(firsts) > len(set(firsts)), f"the scenario did not number changes again: {ids}"
    assert len(restarts) == 1
    # And it settles: the recovered versions are not sent back, nothing is applied twice.
    again = node.round()
    assert again.pushed == 0 and again.pulled == 0
    for rows in (change_rows(node.store), change_rows(hub.store)):
        assert len(rows) == len(set(rows))


def test_a_replayed_batch_is_answered_once_and_other_content_under_its_id_is_applied(hub, make_node):  # noqa: ANN001
    """The protocol itself: the same batch twice gets the first answer and changes nothing; a batch
    reusing that id with other content (a restored node) is not answered from memory."""
    node = make_node()
    sync = node.sync()
    node.repo.create("Patient", factories.patient())
    first = sync.next_batch()
    answer = sync.hub.push(first)
    assert sync.hub.push(first) == answer
    before = change_rows(hub.store)
    other = sync.next_batch()           # the cursor has not moved: the same id
    assert other.header["batch"] == first.header["batch"]
    pid = str(uuid.uuid4())
    body = dict(factories.patient(family="Khác"), id=pid, meta={"versionId": "1", "lastUpdated": "2026-12-01T00:00:00Z"})
    other.versions[0].res_id = pid
    other.versions[0].body = orjson.dumps(body)
    second = sync.hub.push(other)
    assert second["applied"] == 1 and second["batch"] == first.header["batch"]
    assert len(change_rows(hub.store)) == len(before) + 1
    with hub.store.db.read() as conn:
        assert st.current(conn, [("Patient", pid)], lock=False)
