"""The current version of every resource of some types, without reading a body.

For caches built from stored resources (the terminology indexes): one small query per request tells
whether anything they were built from has changed — in this process or in another worker.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select

from benhan.store.schema import resource
from benhan.store.store import Store

_CURRENT = (select(resource.c.res_type, resource.c.res_id, resource.c.version)
            .where(resource.c.res_type.in_(bindparam("types", expanding=True))))


def current_versions(store: Store, res_types: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """(type, id) -> current version number, deleted resources included (a delete is a version)."""
    with store.db.read() as conn:
        return {(r.res_type, r.res_id): r.version for r in conn.execute(_CURRENT, {"types": list(res_types)})}
