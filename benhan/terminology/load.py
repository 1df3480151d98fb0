"""`benhan terminology load`: write the packaged code systems and value sets into the store.

Idempotent: each resource is matched by url + version (a conditional update); when the stored
content already equals what the builders make, nothing is written — not even validated, since
validating a 15k-concept CodeSystem is the slow part of a load.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from benhan import errors
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.store.versions import current_versions
from benhan.terminology import admin_units, curated, icd10, labs, small_lists

# name -> builder of (CodeSystem, ValueSet) pairs; the names are what `--only` takes.
CATALOG: dict[str, Callable[[], list[tuple[dict, dict]]]] = {
    "icd10-tt06": lambda: [icd10.tt06()],
    "icd10-qd4469": lambda: [icd10.qd4469()],
    "provinces": lambda: [admin_units.provinces()],
    "wards": lambda: [admin_units.wards()],
    "legacy-admin": admin_units.legacy,
    "ethnicity": lambda: [small_lists.ethnicity()],
    "bhyt-card-type": lambda: [small_lists.bhyt_card_types()],
    "bhyt-visit-type": lambda: [small_lists.bhyt_visit_types()],
    "bhyt-beneficiary": lambda: [curated.bhyt_beneficiary_groups()],
    "occupation": lambda: [curated.occupation_groups()],
    "encounter-type": lambda: [curated.encounter_types()],
    "lab-tests": lambda: [labs.lab_tests()],
}

# The CodeSystem each entry writes (its id), so that a start can tell what is missing with one query
# instead of building 15k-concept resources to compare; tests/terminology/test_first_start.py checks
# it against the builders.
CODE_SYSTEM_IDS: dict[str, tuple[str, ...]] = {
    "icd10-tt06": ("vn-icd10-cs-tt06-2026",), "icd10-qd4469": ("vn-icd10-cs-qd4469-2020",),
    "provinces": ("vn-province",), "wards": ("vn-ward",),
    "legacy-admin": ("vn-province-legacy", "vn-district-cs", "vn-ward-legacy"), "ethnicity": ("vn-ethnicity",),
    "bhyt-card-type": ("vn-bhyt-card-type-cs",), "bhyt-visit-type": ("bhyt-ma-loai-kcb",),
    "bhyt-beneficiary": ("bhyt-beneficiary-group",), "occupation": ("vn-occupation-group",),
    "encounter-type": ("benhan-encounter-type",), "lab-tests": ("lab-loinc-vn",),
}


@dataclass(frozen=True)
class Loaded:
    res_type: str
    res_id: str
    url: str
    version: str
    outcome: str        # created | updated | unchanged
    concepts: int | None = None

    def line(self) -> str:
        size = f", {self.concepts} concepts" if self.concepts is not None else ""
        return f"{self.outcome:<9} {self.res_type}/{self.res_id} {self.url}|{self.version}{size}"


def resources(names: list[str] | None = None) -> Iterator[dict]:
    """The resources of the named entries of CATALOG (all when None), CodeSystem before ValueSet."""
    unknown = [n for n in names or () if n not in CATALOG]
    if unknown:
        raise errors.InvalidOperationParameter(
            f"unknown code system name(s) {', '.join(unknown)}; known: {', '.join(CATALOG)}")
    for name in names or CATALOG:
        for cs, vs in CATALOG[name]():
            yield cs
            yield vs


def load(store: Store, names: list[str] | None = None,
         progress: Callable[[Loaded], None] | None = None) -> list[Loaded]:
    repo = Repository(store, Actor.system("terminology-loader"))
    done = []
    for resource in resources(names):
        result = _put(repo, resource)
        done.append(result)
        if progress:
            progress(result)
    return done


def missing(store: Store) -> list[str]:
    """The CATALOG entries whose code systems are not stored (one query, no resource built)."""
    stored = {res_id for (_, res_id) in current_versions(store, ("CodeSystem",))}
    return [name for name, ids in CODE_SYSTEM_IDS.items() if not set(ids) <= stored]


def ensure(store: Store, progress: Callable[[str], None] | None = None) -> list[Loaded]:
    """Load the code lists that are missing (a new database, or a release that brings a new version):
    what `benhan serve` and the demo load run at start, so that a facility can record a diagnosis
    from its first minute. Nothing to do costs one query; the whole set on a new database ~1.5 s."""
    names = missing(store)
    if not names:
        return []
    if progress:
        progress(f"đang nạp danh mục mã (ICD-10, đơn vị hành chính…) | loading the code lists: {', '.join(names)}")
    started = time.perf_counter()
    done = load(store, names)
    if progress:
        progress(f"đã nạp | loaded: {len(done)} resources, {sum(r.concepts or 0 for r in done):,} codes "
                 f"({time.perf_counter() - started:.1f} s)")
    return done


def _put(repo: Repository, resource: dict) -> Loaded:
    res_type, url, version = resource["resourceType"], resource["url"], resource["version"]
    found = repo.find(res_type, urlencode({"url": url, "version": version}))
    if len(found) > 1:
        raise errors.MultipleMatches(f"{res_type}?url={url}&version={version} matches more than one resource")
    target = found[0].res_id if found else resource["id"]
    wanted = {**resource, "id": target}
    count = len(resource["concept"]) if res_type == "CodeSystem" else None
    if found and {k: v for k, v in found[0].json().items() if k != "meta"} == wanted:
        return Loaded(res_type, target, url, version, "unchanged", count)
    stored = repo.update(res_type, target, wanted)
    outcome = "created" if stored.created else "unchanged" if stored.noop else "updated"
    return Loaded(res_type, target, url, version, outcome, count)
