"""A facility node's sync round: push its own changes, then pull the hub's (docs/sync.md "A round").

Cursors live in node_setting:
  sync.push_seq   last own change-log seq the hub acknowledged (moved only after the ack)
  sync.audit_seq  last audit seq the hub acknowledged
  sync.pull_seq   last hub seq applied (written in the same transaction as the page it ends)
A failure anywhere leaves them where the last acknowledged or committed step put them, so the next
round repeats at most one batch or one page — which the other end recognises and does not apply twice.

`fault` is a hook for the tests: it is called with the name of each step and may raise there.
"""
from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benhan.store import audit_log
from benhan.store import sync_tables as st
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store
from benhan.sync import apply, wire
from benhan.sync.transport import KEY_FILE, HubClient, SyncFailed, generate_key, load_key

BATCH_VERSIONS = 500
AUDIT_PER_BATCH = 1000
PULL_PAGE = 500
_AUDIT_WIRE = ("recorded", "interaction", "outcome", "agent", "source_address", "res_type", "res_id", "version",
               "query", "subtype", "role", "client_id", "purpose", "patients", "detail", "chain_pos")


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass
class RoundResult:
    pushed: int = 0
    pulled: int = 0
    batches: int = 0
    pages: int = 0
    conflicts: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)     # versions the hub would not take from us
    recovered: bool = False                               # a recovery after a restore finished
    seconds: float = 0.0


class NodeSync:
    def __init__(self, store: Store, hub: HubClient, *, fault: Callable[[str], None] | None = None):
        self.store = store
        self.hub = hub
        self.fault = fault or (lambda step: None)

    @classmethod
    def from_settings(cls, store: Store, http=None) -> "NodeSync":  # noqa: ANN001
        """The enrolled node's sync (hub URL, client id and key from its settings and data folder)."""
        with store.db.read() as conn:
            s = st.get_settings(conn, "sync.")
        if not s.get("sync.client_id"):
            raise SyncFailed("this node is not enrolled with a hub (benhan node enroll HUB_URL TOKEN)")
        hub_url = store.config.hub_url or s["sync.hub_url"]
        key = load_key(Path(s.get("sync.key_file") or store.config.data_dir / KEY_FILE))
        return cls(store, HubClient(hub_url, client_id=s["sync.client_id"], key=key, http=http,
                                    ca_file=store.config.hub_ca_file))

    # --- settings ------------------------------------------------------------------------------
    def _cursor(self, name: str) -> int:
        with self.store.db.read() as conn:
            return int(st.get_setting(conn, f"sync.{name}") or 0)

    # --- a round -------------------------------------------------------------------------------
    def round(self, result: RoundResult | None = None) -> RoundResult:
        """Push, then pull. `result` is filled as the round goes, so a caller still sees what
        progress a round made when it fails half-way (the runner's backoff)."""
        started = time.monotonic()
        result = result if result is not None else RoundResult()
        try:
            self.push_all(result)
            self.pull_all(result)
        except Exception as exc:
            self._note(last_error=f"{type(exc).__name__}: {exc}"[:500], last_attempt=str(now_us()))
            raise
        result.seconds = time.monotonic() - started
        self._note(last_sync=str(now_us()), last_error="", last_attempt=str(now_us()),
                   bytes=self._bytes_today())
        return result

    def _bytes_today(self) -> str:
        from datetime import datetime, timezone
        day = datetime.now(timezone.utc).date().isoformat()
        with self.store.db.read() as conn:
            prior = json.loads(st.get_setting(conn, "sync.bytes") or "{}")
        sent = self.hub.bytes_sent - getattr(self, "_counted_sent", 0)
        received = self.hub.bytes_received - getattr(self, "_counted_received", 0)
        self._counted_sent, self._counted_received = self.hub.bytes_sent, self.hub.bytes_received
        if prior.get("day") != day:
            prior = {"day": day, "sent": 0, "received": 0}
        prior["sent"] += sent
        prior["received"] += received
        return json.dumps(prior)

    def _note(self, **values: str) -> None:
        with self.store.db.write() as conn:
            for k, v in values.items():
                st.set_setting(conn, f"sync.{k}", v)

    # --- push ----------------------------------------------------------------------------------
    def next_batch(self) -> wire.Message | None:
        """The next batch to send, from the cursors; None when nothing is pending."""
        own = self.store.node_id
        with self.store.db.read() as conn:
            cursor = int(st.get_setting(conn, "sync.push_seq") or 0)
            audit_cursor = int(st.get_setting(conn, "sync.audit_seq") or 0)
            changes = st.own_changes(conn, own, cursor, BATCH_VERSIONS)
            changes = wire.within_batch_size(changes)
            events = st.audit_after(conn, audit_cursor, AUDIT_PER_BATCH)
            backlog = st.count_own_changes(conn, own, cursor)
            # Edits made from this node's own version (which the hub may have set aside): said so.
            own_bases = st.own_based(conn, own, [(c.resource_pk, c.base) for c in changes if c.base])
            epoch = st.get_setting(conn, st.EPOCH)
        if epoch is None:
            with self.store.db.write() as conn:
                epoch = st.epoch(conn)
        if not changes and not events:
            return None
        first, last = (changes[0].seq, changes[-1].seq) if changes else (cursor + 1, cursor)
        batch = wire.batch_id(own, first, last)
        header = {"kind": "push", "batch": batch, "node": own, "first": first, "last": last,
                  "backlog": backlog - len(changes), "epoch": epoch, "audit_seq": audit_cursor}
        if events:
            batch += f"+a{events[0]['seq']}-{events[-1]['seq']}"
            header.update(batch=batch, audit_first=events[0]["seq"], audit_last=events[-1]["seq"],
                          audit_head=[events[-1]["chain_pos"], events[-1]["hash"]])
        versions = [wire.Version(c.seq, c.res_type, c.res_id, c.version, c.base, c.deleted, c.method,
                                 c.last_updated, c.body, agent=c.agent, resolves=c.resolves,
                                 base_own=(c.resource_pk, c.base) in own_bases) for c in changes]
        audit = [{"e": e["seq"], **{k: e[k] for k in _AUDIT_WIRE if e.get(k) is not None}} for e in events]
        return wire.Message(header, versions, audit)

    def push_all(self, result: RoundResult) -> None:
        while True:
            message = self.next_batch()
            if message is None:
                return
            self.fault("push:before-send")
            answer = self.hub.push(message)
            self.fault("push:after-send")          # the hub has committed; the answer may be lost
            if answer.get("batch") != message.header["batch"]:
                raise SyncFailed(f"the hub answered for batch {answer.get('batch')!r}, "
                                 f"not {message.header['batch']!r}")
            refused = answer.get("refused") or []
            now = now_us()
            with self.store.db.write() as conn:
                st.set_setting(conn, "sync.push_seq", str(answer["acked"]))
                st.set_setting(conn, "sync.audit_seq", str(answer["audit_acked"]))
                st.set_setting(conn, "sync.hub_conflicts", str(len(answer.get("conflicts") or [])))
                if refused:
                    # Not silently dropped: kept for the status and review page, and audited here.
                    st.note_refused(conn, refused, now)
                    audit_log.write(conn, [AuditRecord(
                        recorded=now, interaction="batch", agent="sync", outcome="8", subtype="sync-refused",
                        detail=json.dumps({"batch": message.header["batch"], "refused": refused[:100]}))])
                if answer.get("restored") and st.recovery(conn) is None:
                    # The hub holds changes of ours this database no longer has (restored by hand
                    # from a copy): pull them back, as after `benhan restore`.
                    st.begin_recovery(conn, "the hub found this node's change log restarted", now,
                                      new_epoch_too=False)
            result.pushed += len(message.versions)
            result.batches += 1
            result.conflicts += answer.get("conflicts") or []
            result.refused += refused

    # --- pull ----------------------------------------------------------------------------------
    def pull_all(self, result: RoundResult) -> None:
        with self.store.db.read() as conn:
            recovering = st.recovery(conn) is not None
        pulled_before = result.pulled
        while True:
            since = self._cursor("pull_seq")
            # Recovering after a restore: the hub sends this node's own changes too, so that what
            # it made after the backup comes back.
            message = self.hub.pull(since, PULL_PAGE, own=recovering)
            self.fault("pull:after-receive")
            more = self.apply_page(message, cursor_from=since, result=result)
            self.fault("pull:after-commit")
            if not more:
                break
        if recovering:
            with self.store.db.write() as conn:
                st.end_recovery(conn, result.pulled - pulled_before, now_us())
            result.recovered = True

    def apply_page(self, message: wire.Message, *, cursor_from: int | None, result: RoundResult | None = None,
                   user: str = "sync") -> bool:
        """Apply a pull page (or a fetch) in one transaction with its cursor; whether more follow."""
        header = message.header
        own = self.store.node_id
        with self.store.db.read() as conn:
            hub_origin = st.get_setting(conn, "sync.hub_node_id") or "hub"
        # A version of our own coming back (after a restore) is stored as the hub's: it is not
        # ours to push again, and the hub holds it at this number.
        writes = [(v, apply.prepare(self.store, v, hub_origin if v.origin in ("", own) else v.origin,
                                    validate=False)) for v in message.versions]
        now = now_us()
        with self.store.db.write() as conn:
            if cursor_from is not None:
                # A page answered for an older cursor (a retried request) is ignored, not re-applied.
                current = int(st.get_setting(conn, "sync.pull_seq") or 0)
                if current != cursor_from:
                    return True
            pushed = int(st.get_setting(conn, "sync.push_seq") or 0)
            applied = apply.apply_pull(conn, self.store, writes, own=self.store.node_id, pushed_up_to=pushed,
                                       now_us=now)
            self.fault("pull:during-apply")
            if cursor_from is not None:
                st.set_setting(conn, "sync.pull_seq", str(int(header["next"])))
            if writes:
                patients = {v.res_id for v in message.versions if v.res_type == "Patient"}
                audit_log.write(conn, [AuditRecord(
                    recorded=now, interaction="batch", agent=user, subtype="sync-pull" if cursor_from is not None
                    else "sync-fetch", patients=tuple(sorted(patients))[:50],
                    detail=json.dumps({"since": header.get("since"), "next": header.get("next"),
                                       "applied": applied.applied, "conflicts": len(applied.conflicts)}))]
                    # one event per resource merged or set aside here, by this sync's user
                    + [dataclasses.replace(e, agent=user) for e in applied.events])
        if result is not None:
            result.pulled += applied.applied
            result.pages += 1
            result.conflicts += applied.conflicts
        return bool(header.get("more"))

    # --- on demand -----------------------------------------------------------------------------
    def fetch(self, cccd: str, user: str) -> list[str]:
        """Fetch a patient's record from the hub by CCCD (referral, emergency); their ids."""
        message = self.hub.fetch(cccd, user)
        self.apply_page(message, cursor_from=None, user=user)
        return list(message.header.get("patients") or [])


def enroll(store: Store, hub_url: str, invite_token: str, http=None) -> dict:  # noqa: ANN001
    """Generate this node's key pair, register its public key with the hub, keep the client id."""
    key_path = store.config.data_dir / KEY_FILE
    jwk = generate_key(key_path)
    hub = HubClient(hub_url, http=http, ca_file=store.config.hub_ca_file)
    try:
        answer = hub.enroll(invite_token, store.node_id, jwk)
    finally:
        if http is None:
            hub.close()
    with store.db.write() as conn:
        for k, v in (("hub_url", hub_url.rstrip("/")), ("client_id", answer["client_id"]), ("name", answer["node"]),
                     ("hub_node_id", answer.get("hub_node_id", "")), ("key_file", str(key_path.resolve()))):
            st.set_setting(conn, f"sync.{k}", v)
    return answer
