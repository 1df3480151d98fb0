"""Is the search index built from this server's definitions?

The index rows of a resource are extracted with the search-parameter table and the extraction code
of the server that wrote it. A new version of either (fhir.searchparams.index_version) leaves older
rows behind: parameters that no longer exist, or that point elsewhere (the R4 table once held the
spec's *example* Condition.subject). The version an index was built with is a node setting; `benhan
serve` compares it before it serves and reindexes when it differs (store/reindex.py: batched,
resumable — an interrupted reindex leaves the old version recorded, so the next start does it again),
and `benhan reindex` of every type records it. A new, empty database is simply marked current.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, func, insert, select

from benhan.fhir.derived_params import derived_row_params
from benhan.fhir.searchparams import INDEX_REVISION, index_version
from benhan.store.schema import INDEX_TABLES, node_setting, resource
from benhan.store.store import Store

KEY = "search.index_version"


def stored(store: Store) -> str | None:
    with store.db.read() as conn:
        return conn.execute(select(node_setting.c.value).where(node_setting.c.key == KEY)).scalar()


def mark_current(store: Store) -> None:
    with store.db.write() as conn:
        conn.execute(delete(node_setting).where(node_setting.c.key == KEY))
        conn.execute(insert(node_setting).values(key=KEY, value=index_version()))


def is_stale(store: Store) -> bool:
    return stored(store) != index_version()


# Revisions that only stopped writing some parameters' rows: from the one before, with the same
# definitions, the index is brought up to date by deleting those rows instead of re-reading every
# resource (revision 2: fhir/derived_params). Resources per delete transaction: a short write lock
# at a time, and a WAL that stays small on an old PC's disk.
_DROP_ONLY = {2: 1}
DROP_WINDOW = 20_000


def _drops_only(old: str | None) -> bool:
    if old is None:
        return False
    old_revision, _, old_digest = old.partition(":")
    return (_DROP_ONLY.get(INDEX_REVISION) == (int(old_revision) if old_revision.isdigit() else None)
            and old_digest == index_version().partition(":")[2])


def drop_derived_rows(store: Store) -> int:
    """Delete the index rows of parameters now answered from others' rows; how many went."""
    by_type = derived_row_params()
    with store.db.read() as conn:
        top = conn.execute(select(func.max(resource.c.pk))).scalar() or 0
    gone = 0
    for low in range(0, top, DROP_WINDOW):
        with store.db.write() as conn:
            for table in INDEX_TABLES.values():
                for res_type, params in by_type.items():
                    # `|| ''`: the resource_pk index drives (a window of resources), not the
                    # (res_type, param) one, which would walk every such row for each window.
                    gone += conn.execute(delete(table).where(
                        table.c.resource_pk > low, table.c.resource_pk <= low + DROP_WINDOW,
                        (table.c.res_type + "") == res_type, (table.c.param + "").in_(params))).rowcount
    return gone


def reindex_if_stale(store: Store, progress: Callable[[int, int], None] | None = None) -> int | None:
    """Reindex when the index was built under another version (or none recorded, with data);
    returns how many resources were reindexed (0 when deleting rows was enough), None when
    nothing was to do."""
    old = stored(store)
    if old == index_version():
        return None
    if old is None and store.is_empty():
        mark_current(store)
        return None
    if _drops_only(old):
        drop_derived_rows(store)
        mark_current(store)
        return 0
    from benhan.store.reindex import reindex
    done = reindex(store, progress=progress)
    mark_current(store)         # only once every resource is done: an interrupted run starts again
    return done
