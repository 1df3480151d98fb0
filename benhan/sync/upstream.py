"""A provincial hub syncing up to a national hub by the same protocol (docs/scaling.md "A national
tier"): to the national hub the provincial hub is one more node. It is invited there like a facility
(`benhan node invite` at the national hub), enrols with its own key pair, gets its tokens with a
signed JWT assertion, and pushes its change log with `POST /sync/push` — every version it holds,
whoever made it, byte for byte, in its own sequence order — so that the national hub holds the
same versions (same numbers, same bytes) as the province.

What differs from a facility's push (benhan.sync.node):
- every origin is sent, not only the hub's own changes: the province's whole record goes up;
- on PostgreSQL a seq becomes visible at commit, so a batch stops before a gap in the change log
  until the rows after it are GAP_GRACE_US old (the pull's rule, hub.serve_pull): a version
  committed late is never passed over;
- the audit trail stays at the province (its chain is anchored there); a `sync-push` event at the
  national hub records each batch.
Settings are node_setting rows under `upstream.` (url, client id, key file, cursor), apart from the
hub's own `sync.` rows.

Not built: pulling the national hub's changes back down (another province's referrals), a
background runner and a CLI; `push_all` is what a runner would call every interval.
"""
from __future__ import annotations

import time
from pathlib import Path

from benhan.store import sync_tables as st
from benhan.store.store import Store
from benhan.sync import wire
from benhan.sync.hub import GAP_GRACE_US
from benhan.sync.transport import HubClient, SyncFailed, generate_key, load_key

KEY_FILE = "upstream-node-key.pem"
BATCH_VERSIONS = 500
WINDOW = 50_000


def now_us() -> int:
    return time.time_ns() // 1000


def enroll(store: Store, national_url: str, invite_token: str, http=None) -> dict:  # noqa: ANN001
    """Enrol this hub as a node of the national hub (its invite token); keep the client id."""
    key_path = store.config.data_dir / KEY_FILE
    jwk = generate_key(key_path)
    client = HubClient(national_url, http=http)
    try:
        answer = client.enroll(invite_token, store.node_id, jwk)
    finally:
        if http is None:
            client.close()
    with store.db.write() as conn:
        for k, v in (("url", national_url.rstrip("/")), ("client_id", answer["client_id"]),
                     ("key_file", str(key_path.resolve())), ("push_seq", "0")):
            st.set_setting(conn, f"upstream.{k}", v)
    return answer


def client(store: Store, http=None) -> HubClient:  # noqa: ANN001
    with store.db.read() as conn:
        s = st.get_settings(conn, "upstream.")
    if not s.get("upstream.client_id"):
        raise SyncFailed("this hub is not enrolled with a national hub")
    return HubClient(s["upstream.url"], client_id=s["upstream.client_id"], key=load_key(Path(s["upstream.key_file"])),
                     http=http)


def next_batch(store: Store) -> wire.Message | None:
    """The next batch of this hub's change log after the upstream cursor; None when nothing is due."""
    with store.db.read() as conn:
        cursor = int(st.get_setting(conn, "upstream.push_seq") or 0)
        upper = st.pull_upper(conn, cursor, WINDOW, None if store.db.is_sqlite else now_us() - GAP_GRACE_US)
        changes = [c for c in st.changes_after(conn, cursor, BATCH_VERSIONS) if c.seq <= upper]
        epoch = st.get_setting(conn, st.EPOCH)
        backlog = st.last_seq(conn) - cursor
    changes = wire.within_batch_size(changes)
    if not changes:
        return None
    if epoch is None:
        with store.db.write() as conn:
            epoch = st.epoch(conn)
    first, last = changes[0].seq, changes[-1].seq
    header = {"kind": "push", "batch": wire.batch_id(store.node_id, first, last), "node": store.node_id,
              "first": first, "last": last, "backlog": max(0, backlog - len(changes)), "epoch": epoch,
              "audit_seq": 0}
    versions = [wire.Version(c.seq, c.res_type, c.res_id, c.version, c.base, c.deleted, c.method, c.last_updated,
                             c.body, agent=c.origin, resolves=c.resolves) for c in changes]
    return wire.Message(header, versions)


def push_all(store: Store, hub: HubClient) -> dict:
    """Push every pending batch; the totals of the national hub's answers. The cursor moves only
    after an answer for the batch sent (a lost answer costs one batch, which the national hub
    recognises by id and content and answers again without applying anything twice)."""
    totals = {"batches": 0, "applied": 0, "skipped": 0, "merged": 0, "conflicts": 0, "refused": 0, "invalid": 0}
    while True:
        message = next_batch(store)
        if message is None:
            return totals
        answer = hub.push(message)
        if answer.get("batch") != message.header["batch"]:
            raise SyncFailed(f"the national hub answered for batch {answer.get('batch')!r}, "
                             f"not {message.header['batch']!r}")
        with store.db.write() as conn:
            st.set_setting(conn, "upstream.push_seq", str(answer["acked"]))
        totals["batches"] += 1
        for k in ("applied", "skipped", "merged"):
            totals[k] += int(answer.get(k) or 0)
        for k in ("conflicts", "refused", "invalid"):
            totals[k] += len(answer.get(k) or [])
