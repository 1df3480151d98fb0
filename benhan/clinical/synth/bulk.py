"""Writing many synthetic patients fast, in process: the bulk path behind `benhan demo --patients N`.

Each resource goes through Repository.prepare — validated against the FHIR definitions, hashed and
index-extracted like any write — and Repository.commit, the store's batched writer (one transaction
per few thousand resources with their version, index, change-log and audit rows). No HTTP, no
Bundle parsing, and no lookup of existing ids: the ids are fresh UUIDs, so each write is a create.

Preparing is CPU work and the commit mostly the database's, so with `workers` > 0 patients are
prepared in that many forked processes while this one commits; the data are the same either way,
because every patient comes from its own random stream (generator.py).
"""
from __future__ import annotations

import multiprocessing
import time
from contextlib import nullcontext
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from benhan.auth.actor import Actor
from benhan.clinical.synth.generator import TODAY, Facility, data_set, patient_record
from benhan.store import bulk_load
from benhan.store.repository import Repository
from benhan.store.store import Store

ACTOR = "demo-generator"


@dataclass
class BulkFigures:
    patients: int
    resources: int = 0
    seconds: float = 0.0
    commit_seconds: float = 0.0
    index_seconds: float = 0.0        # building the search indexes after the load (a new database)
    index_started: float = 0.0
    workers: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0


_WORKER: dict = {}


def _open_worker(config) -> None:  # noqa: ANN001
    """Pool initializer: this process's own Store (its own connections; the schema is already current)."""
    from multiprocessing.util import Finalize
    _WORKER["store"] = store = Store.open(config, upgrade=False)
    _WORKER["repo"] = Repository(store, Actor.system(ACTOR))
    # Run when the worker exits after pool.close(): its connections and commit thread end cleanly.
    Finalize(store, store.close, exitpriority=10)


def _write_chunk(spec: tuple[int, int, int, list[Facility], date, bool]) -> tuple[int, dict[str, int], float]:
    """Prepare and commit one chunk of patients in this worker; (resources, counts by type, commit s)."""
    seed, first, last, facilities, today, upsert = spec
    repo: Repository = _WORKER["repo"]
    pending, by_type = prepare_patients(repo, seed, first, last, facilities, today, upsert)
    t = time.perf_counter()
    repo.commit(pending, "create")
    return len(pending), by_type, time.perf_counter() - t


def prepare_patients(repo: Repository, seed: int, first: int, last: int, facilities: list[Facility],
                     today: date, upsert: bool = False) -> tuple[list, dict[str, int]]:
    """PendingWrites of patients first..last-1 (validated, hashed, index-extracted) and counts by type.
    `upsert`: PUT with a lookup (loading the same seed again changes nothing) instead of a plain create."""
    pending, by_type = [], {}
    for n in range(first, last):
        for r in patient_record(seed, n, facilities[n % len(facilities)], today):
            t = r["resourceType"]
            by_type[t] = by_type.get(t, 0) + 1
            pending.append(repo.prepare("PUT" if upsert else "POST", t, r["id"], r, create_only=not upsert))
    return pending, by_type


def chunks(patients: int, per_chunk: int) -> Iterator[tuple[int, int]]:
    for first in range(0, patients, per_chunk):
        yield first, min(patients, first + per_chunk)


def generate(store: Store, *, patients: int, seed: int, facilities: int | None = None, workers: int = 0,
             commit_every: int = 4000, today: date = TODAY, upsert: bool = False,
             progress: Callable[[BulkFigures], None] | None = None, progress_every: float = 30.0) -> BulkFigures:
    """Generate and store `patients` patients (and their facilities) with their records."""
    repo = Repository(store, Actor.system(ACTOR))
    facilities = facilities or max(1, patients // 2000)
    facs, fac_resources = data_set(seed, patients, facilities)
    figures = BulkFigures(patients, workers=workers)
    started = time.perf_counter()
    pending = [repo.prepare("PUT" if upsert else "POST", r["resourceType"], r["id"], r, create_only=not upsert)
               for r in fac_resources]
    for r in fac_resources:
        figures.by_type[r["resourceType"]] = figures.by_type.get(r["resourceType"], 0) + 1
    figures.resources = len(pending)

    # ~30 resources a patient; on a database holding fewer, the search indexes are built at the end.
    defer = bulk_load.worth_deferring(store.db, patients * 30) if not upsert else False
    with bulk_load.deferred_indexes(store.db) if defer else nullcontext():
        _load(repo, store, figures, pending, seed, patients, facs, today, upsert, workers, commit_every,
              progress, progress_every, started)
    figures.index_seconds = time.perf_counter() - figures.index_started if defer else 0.0
    figures.seconds = time.perf_counter() - started
    return figures


def _load(repo: Repository, store: Store, figures: BulkFigures, pending: list, seed: int, patients: int,
          facs: list[Facility], today: date, upsert: bool, workers: int, commit_every: int,
          progress, progress_every: float, started: float) -> None:  # noqa: ANN001
    def flush() -> None:
        nonlocal pending
        if pending:
            t = time.perf_counter()
            repo.commit(pending, "create")
            figures.commit_seconds += time.perf_counter() - t
            pending = []

    if workers > 0:
        flush()
        _in_workers(store, figures, seed, patients, facs, today, upsert, workers, commit_every, progress,
                    progress_every, started)
    else:
        last_report = started
        for first, last in chunks(patients, 25):
            batch, by_type = prepare_patients(repo, seed, first, last, facs, today, upsert)
            pending.extend(batch)
            _count(figures, len(batch), by_type)
            if len(pending) >= commit_every:
                flush()
            now = time.perf_counter()
            if progress and now - last_report >= progress_every:
                last_report = now
                figures.seconds = now - started
                progress(figures)
        flush()
    figures.index_started = time.perf_counter()


def _count(figures: BulkFigures, n: int, by_type: dict[str, int]) -> None:
    figures.resources += n
    for t, c in by_type.items():
        figures.by_type[t] = figures.by_type.get(t, 0) + c


def _in_workers(store: Store, figures: BulkFigures, seed: int, patients: int, facs: list[Facility], today: date,
                upsert: bool, workers: int, commit_every: int, progress, progress_every: float,  # noqa: ANN001
                started: float) -> None:
    """Each worker process generates, prepares and commits its own chunks through its own Store.
    Nothing but counts crosses between processes (pickling prepared writes cost the parent as much CPU
    as committing them), and while one process commits the other prepares; SQLite's write lock (BEGIN
    IMMEDIATE, busy timeout) takes the turns, PostgreSQL needs none."""
    per_chunk = max(1, commit_every // 36)          # ~36 resources a patient: one commit per chunk
    specs = [(seed, a, b, facs, today, upsert) for a, b in chunks(patients, per_chunk)]
    last_report = started
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_open_worker, initargs=(store.config,))
    try:
        for n, by_type, commit_s in pool.imap_unordered(_write_chunk, specs, chunksize=1):
            _count(figures, n, by_type)
            figures.commit_seconds += commit_s
            now = time.perf_counter()
            if progress and now - last_report >= progress_every:
                last_report = now
                figures.seconds = now - started
                progress(figures)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
