"""Rebuilding the search index from the stored resources, for when the search-parameter
definitions change (a new benhan version indexes more, or differently).

Works in batches of current versions, each batch one write transaction (delete the batch's index
rows, insert the new ones), so a reindex can run while the server serves; readers see either the
old or the new rows of a resource, never none. Resumable: it walks resources by pk.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import and_, delete, false, select

from benhan.fhir.indexing import extract
from benhan.fhir.resource_json import loads
from benhan.store.schema import INDEX_TABLES, resource, resource_version
from benhan.store.store import Store
from benhan.store.writer import decode_body, index_tuples, insert_index_rows

BATCH = 500


def reindex(store: Store, *, resource_type: str | None = None, start_pk: int = 0,
            progress: Callable[[int, int], None] | None = None) -> int:
    """Re-extract the index rows of every live resource (of one type, if given); returns how many."""
    r, v = resource, resource_version
    done, last = 0, start_pk
    while True:
        cond = [r.c.pk > last, r.c.deleted == false()]
        if resource_type:
            cond.append(r.c.res_type == resource_type)
        q = (select(r.c.pk, r.c.res_type, v.c.encoding, v.c.body)
             .select_from(r.join(v, and_(v.c.resource_pk == r.c.pk, v.c.version == r.c.version)))
             .where(and_(*cond)).order_by(r.c.pk).limit(BATCH))
        with store.db.read() as conn:
            batch = conn.execute(q).all()
        if not batch:
            return done
        rows: dict[str, list[tuple]] = {name: [] for name in INDEX_TABLES}
        for row in batch:
            index_tuples(rows, extract(loads(decode_body(row.encoding, row.body))), row.pk, row.res_type)
        pks = [row.pk for row in batch]
        with store.db.write() as conn:
            for table in INDEX_TABLES.values():
                conn.execute(delete(table).where(table.c.resource_pk.in_(pks)))
            insert_index_rows(conn, rows)
        done += len(batch)
        last = batch[-1].pk
        if progress:
            progress(done, last)
