"""Finding stored CodeSystems and ValueSets by canonical URL (and version) or id, and keeping their
indexes in memory, one registry per open store.

Parsing a 15k-concept CodeSystem and indexing it takes a few hundred milliseconds, so it happens at
first use and is kept. Before each operation one small query (store.versions) reads the current
version of every CodeSystem and ValueSet; if any changed — here or in another worker process — the
URL resolutions are forgotten and indexes of versions no longer current are dropped. So a PUT of a
CodeSystem is seen by the next request, and an unchanged store costs one query.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from benhan import errors
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.store.versions import current_versions
from benhan.terminology.index import CodeSystemIndex

TYPES = ("CodeSystem", "ValueSet")
_STATUS_ORDER = {"active": 0, "draft": 1, "unknown": 2, "retired": 3}


@dataclass(frozen=True)
class Stored:
    """A stored CodeSystem or ValueSet: the parsed JSON, or for a CodeSystem its index."""
    res_type: str
    res_id: str
    res_version: int
    body: Any           # CodeSystemIndex for a CodeSystem, the resource dict for a ValueSet


class Registry:
    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.RLock()
        self._versions: dict[tuple[str, str], int] | None = None
        self._by_url: dict[tuple[str, str, str | None], tuple[str, int]] = {}
        self._loaded: dict[tuple[str, str, int], Stored] = {}

    def refresh(self) -> None:
        """Notice writes made since the last call (one query)."""
        current = current_versions(self.store, TYPES)
        with self._lock:
            if current != self._versions:
                self._versions = current
                self._by_url.clear()
                self._loaded = {k: v for k, v in self._loaded.items() if current.get(k[:2]) == k[2]}

    # --- lookups -------------------------------------------------------------------------------
    def code_system(self, repo: Repository, url: str, version: str | None = None) -> CodeSystemIndex | None:
        found = self._resolve(repo, "CodeSystem", url, version)
        return found.body if found else None

    def value_set(self, repo: Repository, url: str, version: str | None = None) -> dict | None:
        found = self._resolve(repo, "ValueSet", url, version)
        return found.body if found else None

    def by_id(self, repo: Repository, res_type: str, res_id: str) -> Any:
        """The index (CodeSystem) or resource (ValueSet) with this id; NotFound/Gone as for a read."""
        with self._lock:
            version = (self._versions or {}).get((res_type, res_id))
            hit = self._loaded.get((res_type, res_id, version)) if version is not None else None
        if hit is not None:
            return hit.body
        v = repo.read(res_type, res_id)
        return self._keep(res_type, res_id, v.version, v.json()).body

    # --- internals -----------------------------------------------------------------------------
    def _resolve(self, repo: Repository, res_type: str, url: str, version: str | None) -> Stored | None:
        with self._lock:
            key = self._by_url.get((res_type, url, version))
            if key is not None and (res_type, *key) in self._loaded:
                return self._loaded[(res_type, *key)]
        items = [("url", url), ("_count", "100")] + ([("version", version)] if version else [])
        matches = repo.search_type(res_type, items).matches
        candidates = [(m, m.json()) for m in matches]
        # A uri search matches the whole url; a version token search may match more loosely.
        candidates = [(m, body) for m, body in candidates if body.get("url") == url
                      and (version is None or body.get("version") == version)]
        if not candidates:
            return None
        m, body = min(candidates, key=lambda mb: _preference(mb[1]))
        stored = self._keep(res_type, m.res_id, m.version, body)
        with self._lock:
            self._by_url[(res_type, url, version)] = (m.res_id, m.version)
        return stored

    def _keep(self, res_type: str, res_id: str, res_version: int, body: dict) -> Stored:
        key = (res_type, res_id, res_version)
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            content = CodeSystemIndex(body, res_id, res_version) if res_type == "CodeSystem" else body
            stored = self._loaded[key] = Stored(res_type, res_id, res_version, content)
            return stored


def _preference(body: dict) -> tuple:
    """Which version answers when none is asked for: active before draft before retired, then the
    newest by date (TT 06/2026 over QĐ 4469/2020), then the highest version string."""
    return (_STATUS_ORDER.get(body.get("status"), 2), _neg(body.get("date") or ""), _neg(body.get("version") or ""))


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in text) + (1,)


_registries: "weakref.WeakKeyDictionary[Store, Registry]" = weakref.WeakKeyDictionary()
_registries_lock = threading.Lock()


def registry(store: Store) -> Registry:
    """This store's registry, brought up to date with the database."""
    with _registries_lock:
        reg = _registries.get(store)
        if reg is None:
            reg = _registries[store] = Registry(store)
    reg.refresh()
    return reg


def require(found: Any, what: str) -> Any:
    if found is None:
        raise errors.UnknownCodeSystem(f"{what} is not known to this server")
    return found
