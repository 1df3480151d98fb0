"""The hub's pull feed (store/sync_tables.build_feed, docs/scaling.md): the change log classified
once by scope key, so that a pull reads its own scope rather than every node's traffic. What is
checked: each row gets the keys that let every node that may receive it find it (shared data "*",
a patient's id, "~" for a row judged by its body); a feed built in small chunks, or from nothing
after the upgrade that added it (migration 0010), gives every node what it gave before, exactly
once; a pull never reads past the feed. Both backends."""
from __future__ import annotations

from sqlalchemy import delete, select

from benhan.store import sync_tables as st
from benhan.store.schema import change_log, sync_feed
from benhan.sync import hub as hub_mod
from tests import factories


def _feed(store) -> dict[int, set[str]]:  # noqa: ANN001
    with store.db.read() as conn:
        rows = conn.execute(select(sync_feed.c.seq, sync_feed.c.scope_key)).all()
    out: dict[int, set[str]] = {}
    for seq, key in rows:
        out.setdefault(seq, set()).add(key)
    return out


def _seqs(store, res_type: str, res_id: str) -> list[int]:  # noqa: ANN001
    with store.db.read() as conn:
        return list(conn.execute(select(change_log.c.seq).where(
            (change_log.c.res_type == res_type) & (change_log.c.res_id == res_id)).order_by(change_log.c.seq)).scalars())


def _build(store, chunk: int = 20_000, chunks: int = 5) -> int:  # noqa: ANN001
    with store.db.read() as conn:
        top = st.last_seq(conn)
    with store.db.write() as conn:
        return st.build_feed(conn, top, None, hub_mod._compartment_types(store), chunk=chunk, chunks=chunks)


def test_each_row_is_keyed_by_whom_it_may_go_to(hub):
    repo, store = hub.repo, hub.store
    org = repo.create("Organization", {"resourceType": "Organization", "name": "TTYT"}).res_id
    p = repo.create("Patient", factories.patient()).res_id
    obs = repo.create("Observation", factories.observation(f"Patient/{p}")).res_id
    gone = repo.create("Observation", factories.observation(f"Patient/{p}")).res_id
    repo.delete("Observation", gone)
    _build(store)
    feed = _feed(store)
    assert feed[_seqs(store, "Organization", org)[0]] == {"*"}
    assert feed[_seqs(store, "Patient", p)[0]] == {p}
    assert feed[_seqs(store, "Observation", obs)[0]] == {p}
    # Deleted by the time it was classified: both its versions are judged by their bodies at the pull.
    assert all(feed[s] == {"~"} for s in _seqs(store, "Observation", gone))
    # Classified once: building again adds nothing.
    before = sum(len(k) for k in feed.values())
    _build(store)
    assert sum(len(k) for k in _feed(store).values()) == before


def test_a_feed_built_in_small_chunks_or_after_the_upgrade_gives_each_node_its_scope_once(hub, make_node):
    a, b = make_node("tyt-a"), make_node("tyt-b")
    pa = a.repo.create("Patient", factories.patient()).res_id
    for _ in range(3):
        a.repo.create("Observation", factories.observation(f"Patient/{pa}"))
    pb = b.repo.create("Patient", factories.patient()).res_id
    b.repo.create("Observation", factories.observation(f"Patient/{pb}"))
    org = hub.repo.create("Organization", {"resourceType": "Organization", "name": "Sở Y tế"}).res_id
    a.round()
    b.round()
    # As a hub upgraded to 0010 finds it: a change log, an empty feed.
    with hub.store.db.write() as conn:
        conn.execute(delete(sync_feed))
        st.set_setting(conn, st.FEED_BUILT, "0")
    # A pull reads no further than the feed is built: with a feed of two rows, a page stops there.
    assert _build(hub.store, chunk=2, chunks=1) == 2
    with hub.store.db.read() as conn:
        node = st.node_row(conn, name="tyt-b")
    hub_mod.PULL_WINDOW, window = 2, hub_mod.PULL_WINDOW
    try:
        page = hub_mod.serve_pull(hub.store, node, 0)
        assert page.header["next"] <= 4 and page.header["more"]
    finally:
        hub_mod.PULL_WINDOW = window
    c = make_node("tyt-c")
    for n in (a, b, c):
        n.round()
    assert pa not in _ids(b.store, "Patient") and pb not in _ids(a.store, "Patient")
    assert pb in _ids(b.store, "Patient") and pa in _ids(a.store, "Patient")
    for n in (a, b, c):
        assert org in _ids(n.store, "Organization")
    assert _ids(c.store, "Patient") == set() and _ids(c.store, "Observation") == set()
    # Every change-log row classified exactly once (the primary key would refuse a second).
    with hub.store.db.read() as conn:
        assert st.feed_built(conn) == st.last_seq(conn)


def _ids(store, res_type: str) -> set[str]:  # noqa: ANN001
    from benhan.store.schema import resource
    with store.db.read() as conn:
        return set(conn.execute(select(resource.c.res_id).where(resource.c.res_type == res_type)).scalars())
