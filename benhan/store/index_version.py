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

from sqlalchemy import delete, insert, select

from benhan.fhir.searchparams import index_version
from benhan.store.schema import node_setting
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


def reindex_if_stale(store: Store, progress: Callable[[int, int], None] | None = None) -> int | None:
    """Reindex when the index was built under another version (or none recorded, with data);
    returns how many resources were reindexed, None when nothing was to do."""
    if not is_stale(store):
        return None
    if stored(store) is None and store.is_empty():
        mark_current(store)
        return None
    from benhan.store.reindex import reindex
    done = reindex(store, progress=progress)
    mark_current(store)         # only once every resource is done: an interrupted run starts again
    return done
