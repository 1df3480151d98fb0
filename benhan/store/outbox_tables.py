"""The SQL of the outbox (benhan/outbox/queue.py decides; this reads and writes rows inside the
transaction its caller holds). Times are microseconds since the epoch, UTC, like every table."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from benhan.store.schema import outbox_item


@dataclass
class Item:
    pk: int
    kind: str
    idem_key: str
    subject: str
    patient: str | None
    payload: bytes
    state: str
    attempts: int
    created_at: int
    due_at: int | None
    next_attempt: int
    sent_at: int | None
    receipt: str | None
    last_error: str | None
    late_reason: str | None


_COLUMNS = [outbox_item.c[name] for name in Item.__dataclass_fields__]


def _item(row) -> Item:  # noqa: ANN001
    return Item(**{name: row._mapping[name] for name in Item.__dataclass_fields__})


def add(conn: Connection, *, kind: str, idem_key: str, subject: str, patient: str | None, payload: bytes,
        now: int, due: int | None) -> tuple[int, bool]:
    """Queue a message; (pk, True) — or the existing row's (pk, False) when the key is known."""
    known = conn.execute(select(outbox_item.c.pk).where(outbox_item.c.idem_key == idem_key)).scalar()
    if known is not None:
        return known, False
    pk = conn.execute(insert(outbox_item).values(
        kind=kind, idem_key=idem_key, subject=subject, patient=patient, payload=payload, state="pending",
        attempts=0, created_at=now, due_at=due, next_attempt=now)).inserted_primary_key[0]
    return pk, True


def _takeable(now: int):  # noqa: ANN202
    return or_(and_(outbox_item.c.state == "pending", outbox_item.c.next_attempt <= now),
               and_(outbox_item.c.state == "sending", outbox_item.c.lease_until < now))


def take(conn: Connection, *, owner: str, now: int, lease_until: int, kinds: tuple[str, ...]) -> Item | None:
    """The next message due (or whose sender's lease ran out), leased to ``owner``: the update
    only succeeds if no one else took it since it was read, so two workers never hold one row."""
    while True:
        pk = conn.execute(select(outbox_item.c.pk).where(_takeable(now), outbox_item.c.kind.in_(kinds))
                          .order_by(outbox_item.c.next_attempt, outbox_item.c.pk).limit(1)).scalar()
        if pk is None:
            return None
        taken = conn.execute(update(outbox_item).where(outbox_item.c.pk == pk, _takeable(now))
                             .values(state="sending", lease_owner=owner, lease_until=lease_until,
                                     attempts=outbox_item.c.attempts + 1)).rowcount
        if taken == 1:
            return _item(conn.execute(select(*_COLUMNS).where(outbox_item.c.pk == pk)).one())


def finish(conn: Connection, pk: int, owner: str, **values: object) -> bool:
    """Record the outcome of a send, if ``owner`` still holds the lease."""
    return conn.execute(update(outbox_item).where(outbox_item.c.pk == pk, outbox_item.c.state == "sending",
                                                  outbox_item.c.lease_owner == owner)
                        .values(lease_owner=None, lease_until=None, **values)).rowcount == 1


def get(conn: Connection, pk: int) -> Item | None:
    row = conn.execute(select(*_COLUMNS).where(outbox_item.c.pk == pk)).first()
    return _item(row) if row else None


def by_key(conn: Connection, idem_key: str) -> Item | None:
    row = conn.execute(select(*_COLUMNS).where(outbox_item.c.idem_key == idem_key)).first()
    return _item(row) if row else None


def listing(conn: Connection, *, kind: str | None = None, subject: str | None = None, state: str | None = None,
            limit: int | None = 200) -> list[Item]:
    q = select(*_COLUMNS)
    if kind:
        q = q.where(outbox_item.c.kind == kind)
    if subject:
        q = q.where(outbox_item.c.subject == subject)
    if state:
        q = q.where(outbox_item.c.state == state)
    q = q.order_by(outbox_item.c.pk.desc())
    return [_item(r) for r in conn.execute(q.limit(limit) if limit else q)]


def counts(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(select(outbox_item.c.kind, outbox_item.c.state, func.count())
                        .group_by(outbox_item.c.kind, outbox_item.c.state))
    return {(r[0], r[1]): r[2] for r in rows}


def retry_now(conn: Connection, pk: int, now: int, states: tuple[str, ...] = ("given-up",)) -> bool:
    """A message given up on (or, when ``states`` says so, rejected and fixed at the remote's end:
    a certificate registered, an account unlocked) put back in the queue."""
    return conn.execute(update(outbox_item).where(outbox_item.c.pk == pk,
                                                  outbox_item.c.state.in_(states))
                        .values(state="pending", next_attempt=now)).rowcount == 1
