"""A search-sized database: patients with many visits, deterministic from a seed.

`demo.patients_bundle` makes about 13 resources per patient; a search benchmark wants about 55
(≥ 1,000,000 resources from ≥ 20,000 patients), so this copies its approach (the same name, place
and diagnosis lists, CCCD numbers, ICD-10 and LOINC codes) with more visits and more vital signs,
and writes the resources with their own ids through `Repository.prepare` + `Repository.commit`
(validation and index extraction included, as for any write), without Bundle reference resolution.

Per patient: 1 Patient + 4–7 visits × (1 Encounter + 8 vital-sign Observations + 1 Condition)
≈ 56 resources. One extra "heavy" patient has 50 visits (501 resources) for `$everything`.

Every patient is generated from its own random stream (seed, number), so chunks can be prepared
in worker processes (validation + extraction are CPU work; the commit is the database's) and the
data is the same whatever the number of workers.

Usage (normally called by bench_search.py, which caches the result under bench/data/):
    .venv/bin/python bench/gen_search_data.py --patients 400 --data-dir /tmp/x
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# BENHAN_SRC: run against another checkout of benhan (e.g. a snapshot of a release) than this one.
sys.path.insert(0, os.environ.get("BENHAN_SRC") or str(ROOT))

from benhan.clinical.demo import (DIAGNOSES, FAMILY, GIVEN_F, GIVEN_M, ICD10, LOINC, MIDDLE_F,  # noqa: E402
                                  MIDDLE_M, PLACES, UCUM, VITALS)
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, make_cccd  # noqa: E402

TODAY = date(2026, 11, 1)
ICT = timezone(timedelta(hours=7))
# demo.VITALS plus four more, so that a visit has 8 vital signs.
MORE_VITALS = [("8302-2", "Body height", "cm", (145, 180)), ("8480-6", "Systolic blood pressure", "mm[Hg]", (95, 165)),
               ("8462-4", "Diastolic blood pressure", "mm[Hg]", (55, 100)),
               ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", (92, 100))]
ALL_VITALS = VITALS + MORE_VITALS
VISITS = (4, 7)            # visits per ordinary patient (inclusive)
HEAVY_VISITS = 50          # the heavy patient: 1 + 50 × 10 = 501 resources
PER_VISIT = 1 + len(ALL_VITALS) + 1
HEAVY_NUMBER = -1          # the heavy patient's stream number


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def patient_resources(number: int, seed: int, visits: int | None = None) -> list[dict]:
    """One patient and their visits, each resource with its id; references are `Type/id`."""
    rng = random.Random(f"{seed}:{number}")
    female = rng.random() < 0.52
    birth = date(rng.randint(1940, 2022), rng.randint(1, 12), rng.randint(1, 28))
    code, province, ward = rng.choice(PLACES)
    family = rng.choice(FAMILY)
    middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
    given = rng.choice(GIVEN_F if female else GIVEN_M)
    # The serial is the patient's number, so CCCD numbers are unique in the database.
    cccd = make_cccd(code, birth, female, number % 1_000_000 if number >= 0 else 999_999)
    pid = _uuid(rng)
    patient_ref = {"reference": f"Patient/{pid}"}
    out = [{
        "resourceType": "Patient", "id": pid, "active": True,
        "identifier": [{"system": CCCD_SYSTEM, "value": cccd},
                       {"system": BHYT_SYSTEM, "value": f"HT4{code[1:]}{rng.randrange(10**10):010d}"}],
        "name": [{"use": "official", "text": f"{family} {middle} {given}", "family": family,
                  "given": [middle, given]}],
        "gender": "female" if female else "male",
        "birthDate": birth.isoformat(),
        "telecom": [{"system": "phone", "value": f"09{rng.randrange(10**8):08d}", "use": "mobile"}],
        "address": [{"use": "home", "line": [f"Số {rng.randint(1, 200)}"], "city": ward, "state": province,
                     "country": "VN"}],
    }]
    n_visits = visits if visits is not None else rng.randint(*VISITS)
    for _ in range(n_visits):
        # Visits spread over five years, so that date ranges select a part of a patient's data.
        start = datetime.combine(TODAY - timedelta(days=rng.randint(0, 5 * 365)), datetime.min.time(),
                                 tzinfo=ICT) + timedelta(hours=rng.randint(7, 16), minutes=rng.randint(0, 59))
        eid = _uuid(rng)
        out.append({
            "resourceType": "Encounter", "id": eid, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                      "display": "ambulatory"},
            "subject": patient_ref,
            "period": {"start": start.isoformat(), "end": (start + timedelta(minutes=20)).isoformat()},
        })
        enc_ref = {"reference": f"Encounter/{eid}"}
        for loinc, display, unit, (lo, hi) in ALL_VITALS:
            out.append({
                "resourceType": "Observation", "id": _uuid(rng), "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "vital-signs"}]}],
                "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                "subject": patient_ref, "encounter": enc_ref,
                "effectiveDateTime": start.isoformat(),
                "valueQuantity": {"value": round(rng.uniform(lo, hi), 1), "unit": unit, "system": UCUM,
                                  "code": unit},
            })
        icd, name = rng.choice(DIAGNOSES)
        out.append({
            "resourceType": "Condition", "id": _uuid(rng),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "code": {"coding": [{"system": ICD10, "code": icd, "display": name}], "text": name},
            "subject": patient_ref, "encounter": enc_ref,
            "recordedDate": start.date().isoformat(),
        })
    return out


def heavy_patient(seed: int) -> list[dict]:
    return patient_resources(HEAVY_NUMBER, seed, visits=HEAVY_VISITS)


def chunks(patients: int, seed: int, per_chunk: int = 40) -> Iterator[tuple[int, int, int]]:
    """(seed, first, last) patient ranges; the heavy patient comes first, alone."""
    yield seed, HEAVY_NUMBER, HEAVY_NUMBER + 1
    for first in range(0, patients, per_chunk):
        yield seed, first, min(patients, first + per_chunk)


def chunk_resources(seed: int, first: int, last: int) -> list[dict]:
    if first == HEAVY_NUMBER:
        return heavy_patient(seed)
    out = []
    for n in range(first, last):
        out.extend(patient_resources(n, seed))
    return out


# --- preparing in worker processes ---------------------------------------------------------------

class _ValidatorOnly:
    """The one thing Repository.prepare needs of a Store: validate()."""

    def __init__(self) -> None:
        from benhan.fhir.validation import default_validator
        self._validator = default_validator()

    def validate(self, resource: dict) -> list:
        return [i for i in self._validator.validate(resource) if i.severity == "error"]


_REPO = None


def _worker_repo():  # noqa: ANN202
    global _REPO
    if _REPO is None:
        from benhan.auth.actor import Actor
        from benhan.store.repository import Repository
        _REPO = Repository(_ValidatorOnly(), Actor.system("bench"))  # type: ignore[arg-type]
    return _REPO


def prepare_chunk(spec: tuple[int, int, int]) -> list:
    """PendingWrites of one chunk: validated, hashed and index-extracted (as Repository.prepare)."""
    repo = _worker_repo()
    return [repo.prepare("POST", r["resourceType"], r["id"], r, create_only=True)
            for r in chunk_resources(*spec)]


def load(store, patients: int, seed: int, *, workers: int = 0, progress: bool = True,  # noqa: ANN001
         commit_every: int = 2000) -> dict:
    """Write the whole data set into an open Store; returns counts and rates."""
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    repo = Repository(store, Actor.system("bench"))
    specs = list(chunks(patients, seed))
    total = 0
    started = time.perf_counter()
    commit_s = 0.0
    pending: list = []
    last_report = started

    def flush() -> None:
        nonlocal pending, commit_s
        if pending:
            t = time.perf_counter()
            repo.commit(pending, "create")
            commit_s += time.perf_counter() - t
            pending = []

    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 0 else None
    try:
        prepared = pool.imap(prepare_chunk, specs, chunksize=1) if pool else map(prepare_chunk, specs)
        for batch in prepared:
            pending.extend(batch)
            total += len(batch)
            if len(pending) >= commit_every:
                flush()
            now = time.perf_counter()
            if progress and now - last_report > 30:
                last_report = now
                print(f"    … {total:,} resources, {total / (now - started):,.0f}/s", flush=True)
        flush()
    finally:
        if pool:
            pool.close()
            pool.join()
    seconds = time.perf_counter() - started
    return {"patients": patients + 1, "resources": total, "seconds": seconds, "per_s": total / seconds,
            "commit_seconds": commit_s, "workers": workers}


def database_bytes(store) -> int:  # noqa: ANN001
    """The database's size on disk: the SQLite file (after a WAL checkpoint) or pg_database_size."""
    from sqlalchemy import text
    if store.db.is_sqlite:
        with store.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            page_size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        return int(page_size * pages)
    with store.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


def table_rows(store) -> dict[str, int]:  # noqa: ANN001
    from sqlalchemy import func, select

    from benhan.store.schema import INDEX_TABLES, resource, resource_version
    out = {}
    with store.db.read() as conn:
        for t in (resource, resource_version, *INDEX_TABLES.values()):
            out[t.name] = conn.execute(select(func.count()).select_from(t)).scalar()
    return out


def build(data_dir: Path, database_url: str | None, patients: int, seed: int, *, workers: int = 0) -> dict:
    """Generate into a new database and write data_dir/manifest.json (its presence: complete)."""
    import json

    from benhan.config import load as load_config
    from benhan.store.store import Store
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(load_config(env={}, data_dir=data_dir, database_url=database_url))
    try:
        figures = load(store, patients, seed, workers=workers)
        # Every row was extracted as a write does: record the index version, or `benhan serve`
        # would reindex the whole database at its first start (store.index_version).
        from benhan.store.index_version import mark_current
        mark_current(store)
        figures.update(seed=seed, ordinary_patients=patients, heavy_patient=heavy_patient(seed)[0]["id"],
                       database="sqlite" if store.db.is_sqlite else "postgresql",
                       database_bytes=database_bytes(store), rows=table_rows(store))
    finally:
        store.close()
    (data_dir / "manifest.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--workers", type=int, default=0, help="preparing processes (0: in this one)")
    args = ap.parse_args()
    print(build(args.data_dir, args.database_url, args.patients, args.seed, workers=args.workers))


if __name__ == "__main__":
    main()
