"""_include and _revinclude (http://hl7.org/fhir/R4/search.html#include), with :iterate.

Both read the reference index: _include follows the page's references out (idx_reference rows of
the page's resources), _revinclude finds the resources whose references point at the page. One
statement per include and round, whatever the page size; :iterate repeats on what the previous
round added, a bounded number of times.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, and_, false, or_, select

from benhan.fhir.search import SearchRequest
from benhan.store.schema import idx_reference, resource, resource_version
from benhan.store.writer import decode_body

MAX_ROUNDS = 4          # :iterate follows at most this many hops
MAX_INCLUDED = 5000     # a page never drags in more than this


def _load(conn: Connection, keys: set[tuple[str, str]], exclude: set[tuple[str, str]]):  # noqa: ANN202
    from benhan.store.repository import VersionBody
    wanted = sorted(keys - exclude)
    by_type: dict[str, list[str]] = {}
    for t, i in wanted:
        by_type.setdefault(t, []).append(i)
    out = []
    r, v = resource, resource_version
    for res_type, ids in by_type.items():
        for start in range(0, len(ids), 500):
            # One type at a time with a plain IN on the id: the (type, id) unique index answers
            # it, where a row-value IN list made SQLite read the whole resource table.
            q = (select(r.c.pk, r.c.res_type, r.c.res_id, v.c.version, v.c.last_updated, v.c.encoding, v.c.body)
                 .select_from(r.join(v, and_(v.c.resource_pk == r.c.pk, v.c.version == r.c.version)))
                 .where(and_(r.c.res_type == res_type, r.c.res_id.in_(ids[start:start + 500]),
                             r.c.deleted == false())))
            out += [VersionBody(row.res_type, row.res_id, row.version, row.last_updated, False,
                                decode_body(row.encoding, row.body), pk=row.pk) for row in conn.execute(q)]
    return sorted(out, key=lambda b: (b.res_type, b.res_id))


def _forward(conn: Connection, inc, sources: list) -> set[tuple[str, str]]:  # noqa: ANN001
    pks = [b.pk for b in sources if b.res_type == inc.source_type]
    if not pks:
        return set()
    t = idx_reference
    cond = [t.c.resource_pk.in_(pks), t.c.target_type.is_not(None), t.c.target_id.is_not(None)]
    if inc.param:
        cond.append(t.c.param == inc.param)
    if inc.target_type:
        cond.append(t.c.target_type == inc.target_type)
    return {(row.target_type, row.target_id) for row in conn.execute(select(t.c.target_type, t.c.target_id).where(and_(*cond)))}


def _reverse(conn: Connection, inc, targets: list) -> set[tuple[str, str]]:  # noqa: ANN001
    keys = [(b.res_type, b.res_id) for b in targets
            if inc.target_type is None or b.res_type == inc.target_type]
    if not keys:
        return set()
    t, r = idx_reference, resource
    by_type: dict[str, list[str]] = {}
    for kt, kid in keys:
        by_type.setdefault(kt, []).append(kid)
    pointing = or_(*(and_(t.c.target_type == kt, t.c.target_id.in_(kids)) for kt, kids in by_type.items()))
    cond = [t.c.res_type == inc.source_type, pointing, r.c.pk == t.c.resource_pk, r.c.deleted == false()]
    if inc.param:
        cond.append(t.c.param == inc.param)
    return {(row.res_type, row.res_id) for row in conn.execute(select(r.c.res_type, r.c.res_id).where(and_(*cond)))}


def resolve(conn: Connection, req: SearchRequest, page: list,
            visible: Callable[[list], list] | None = None) -> tuple[list, bool]:
    """The resources the page's _include/_revinclude bring in (not those already on the page),
    and whether MAX_INCLUDED left some out. `visible` keeps those the actor may see; it is applied
    each round, so :iterate never follows a reference out of a resource the actor may not see
    (an invisible patient's practitioner)."""
    seen = {(b.res_type, b.res_id) for b in page}
    frontier, included = page, []
    iterating = any(i.iterate for i in (*req.includes, *req.revincludes))
    for round_ in range(MAX_ROUNDS):
        wanted: set[tuple[str, str]] = set()
        for inc in req.includes:
            if round_ == 0 or inc.iterate:
                wanted |= _forward(conn, inc, frontier)
        for inc in req.revincludes:
            if round_ == 0 or inc.iterate:
                wanted |= _reverse(conn, inc, frontier)
        loaded = _load(conn, wanted, seen)
        seen |= {(b.res_type, b.res_id) for b in loaded}
        shown = visible(loaded) if visible is not None else loaded
        new = shown[: MAX_INCLUDED - len(included)]
        if len(new) < len(shown):
            return included + new, True
        if not new:
            break
        included += new
        frontier = new
        if not iterating:
            break
        if len(included) >= MAX_INCLUDED:
            return included, True           # a further round was not followed
    return included, False
