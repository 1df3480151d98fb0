"""How often each code is used, from the search index (no resource body is read).

The diagnosis type-ahead ranks the codes a facility uses most first; counting Conditions by code is
one GROUP BY over the token index, and the answer is kept until a resource of that type changes
(the change log's last sequence number for the type is one indexed lookup).
"""
from __future__ import annotations

from sqlalchemy import and_, func, select

from benhan.store.schema import change_log, idx_token
from benhan.store.store import Store


def token_counts(store: Store, res_type: str, param: str, system: str) -> dict[str, int]:
    """code -> number of current resources of `res_type` whose `param` token holds system|code."""
    q = (select(idx_token.c.code, func.count(func.distinct(idx_token.c.resource_pk)))
         .where(and_(idx_token.c.res_type == res_type, idx_token.c.param == param, idx_token.c.system == system))
         .group_by(idx_token.c.code))
    with store.db.read() as conn:
        return {code: n for code, n in conn.execute(q) if code}


def last_change(store: Store, res_type: str) -> int:
    """The change log's last sequence number for a type (0 when none): a cache key for counts."""
    q = select(func.max(change_log.c.seq)).where(change_log.c.res_type == res_type)
    with store.db.read() as conn:
        return conn.execute(q).scalar() or 0
