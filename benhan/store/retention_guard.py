"""No medical record is deleted before its retention period ends (TT 33/2025; docs/operations.md).

Whatever deletes — the REST API's DELETE, a batch or transaction entry, a conditional delete, the
CLI — goes through Repository.commit, which calls `check` inside the write transaction. The rule
that knows what a record is and how long it is kept (benhan.clinical.retention) is installed here
at import, as with store.act_rules and store.write_rules (store may not import clinical).

Past its end date a record is still not deleted by a plain DELETE: destruction is a council
decision (`benhan retention destroy --decision FILE`), which releases exactly the listed resources
for the duration of its own writes (`releasing`) and then purges their earlier versions' content
(`purge_versions`). The audit trail is append-only and is never purged.
"""
from __future__ import annotations

import contextvars
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from sqlalchemy import Connection, and_, select, update

from benhan import errors
from benhan.fhir.resource_json import loads
from benhan.store.schema import idx_reference, resource, resource_version
from benhan.store.writer import PendingWrite, decode_body

DESTROYED_TAG = {"system": "https://benhan.vn/fhir/CodeSystem/retention", "code": "destroyed",
                 "display": "Đã tiêu hủy theo quyết định của hội đồng"}


@dataclass
class Lookup:
    """What a retention rule may read inside the write transaction."""
    conn: Connection

    def load(self, res_type: str, res_id: str) -> dict | None:
        row = self.conn.execute(
            select(resource_version.c.encoding, resource_version.c.body, resource.c.deleted)
            .select_from(resource.join(resource_version, and_(resource_version.c.resource_pk == resource.c.pk,
                                                               resource_version.c.version == resource.c.version)))
            .where(and_(resource.c.res_type == res_type, resource.c.res_id == res_id))).first()
        if row is None or row.deleted:
            return None
        return loads(decode_body(row.encoding, row.body))

    def referring(self, res_type: str, target_type: str, target_id: str, params: tuple[str, ...]) -> list[str]:
        """Ids of current `res_type` resources whose `params` reference target_type/target_id."""
        q = (select(resource.c.res_id).distinct()
             .select_from(idx_reference.join(resource, resource.c.pk == idx_reference.c.resource_pk))
             .where(and_(idx_reference.c.res_type == res_type, idx_reference.c.param.in_(params),
                         idx_reference.c.target_type == target_type, idx_reference.c.target_id == target_id,
                         resource.c.deleted.is_(False))))
        return [r.res_id for r in self.conn.execute(q)]

    def current_ids(self, res_type: str) -> list[str]:
        q = select(resource.c.res_id).where(and_(resource.c.res_type == res_type, resource.c.deleted.is_(False)))
        return [r.res_id for r in self.conn.execute(q)]

    def naming(self, target_type: str, target_id: str, params: tuple[str, ...]) -> list[tuple[str, str]]:
        """(type, id) of every current resource, of any type, whose `params` reference the target."""
        q = (select(resource.c.res_type, resource.c.res_id).distinct()
             .select_from(idx_reference.join(resource, resource.c.pk == idx_reference.c.resource_pk))
             .where(and_(idx_reference.c.param.in_(params), idx_reference.c.target_type == target_type,
                         idx_reference.c.target_id == target_id, resource.c.deleted.is_(False))))
        return [(r.res_type, r.res_id) for r in self.conn.execute(q)]


# (lookup, type, id, current body) -> why this deletion is refused, or None
Rule = Callable[[Lookup, str, str, dict], "str | None"]
_RULES: list[Rule] = []
_released: contextvars.ContextVar[frozenset[tuple[str, str]]] = contextvars.ContextVar(
    "retention_released", default=frozenset())


def install(rule: Rule) -> None:
    if rule not in _RULES:
        _RULES.append(rule)


@contextmanager
def releasing(keys: set[tuple[str, str]]) -> Iterator[None]:
    """Let exactly these (type, id) be deleted by the writes made inside (a council decision)."""
    token = _released.set(frozenset(keys) | _released.get())
    try:
        yield
    finally:
        _released.reset(token)


def released() -> frozenset[tuple[str, str]]:
    """The resources the caller's council decision releases. Read in the caller's thread: on SQLite
    the write itself runs in the group-commit thread, where this context is not visible."""
    return _released.get()


def check(conn: Connection, pending: list[PendingWrite], released: frozenset[tuple[str, str]]) -> None:
    """409 for a deletion the installed rule refuses and no council decision releases."""
    deletes = [p for p in pending if p.method == "DELETE"]
    if not deletes or not _RULES:
        return
    lookup = Lookup(conn)
    for p in deletes:
        if (p.res_type, p.res_id) in released:
            continue
        body = lookup.load(p.res_type, p.res_id)
        if body is None:
            continue
        for rule in _RULES:
            why = rule(lookup, p.res_type, p.res_id, body)
            if why:
                raise errors.Conflict(why, expression=p.res_type)


def purge_versions(conn: Connection, res_type: str, res_id: str) -> int:
    """Replace the content of every earlier version of a destroyed resource by a tombstone naming
    only its type and id (the version numbers and their dates stay, so history shows that something
    existed and when it was destroyed). Number of versions purged."""
    pk = conn.execute(select(resource.c.pk).where(and_(resource.c.res_type == res_type,
                                                       resource.c.res_id == res_id))).scalar()
    if pk is None:
        return 0
    stub = json.dumps({"resourceType": res_type, "id": res_id, "meta": {"tag": [DESTROYED_TAG]}},
                      ensure_ascii=False).encode()
    done = conn.execute(update(resource_version)
                        .where(and_(resource_version.c.resource_pk == pk, resource_version.c.deleted.is_(False)))
                        .values(encoding=0, body=stub))
    return done.rowcount or 0
