"""Bulk Data $export: resources written per second and the memory it takes, on a fresh SQLite (or
PostgreSQL) database of N resources.

The database is filled straight into the `resource` and `resource_version` tables (the shape the
write path leaves: stamped JSON, zlib above 2 KiB as store.writer does) — a system-level export
reads nothing else, and going through the validating write path would take ~10 minutes per million
resources for no difference to what is measured. Per patient: 1 Patient, 5 Encounters, each with 8
vital-sign Observations and 1 Condition (51 resources).

The export then runs through the server's own code path in-process: a job is created, claimed and
run by store.bulk_export.run_job (the function the server's worker calls), writing NDJSON files per
type. With --http the same export is also asked for over HTTP from a real `benhan serve` (kick-off,
polling, downloading every file).

Printed: resources/s of the export, the files' size, the process's RSS before and its peak during
the export (the peak is reset after the fill, /proc/self/clear_refs), RSS sampled along the export
(flat = memory does not grow with the database), the load average, and the machine.

    .venv/bin/python bench/bench_bulk_export.py --resources 100000
    .venv/bin/python bench/bench_bulk_export.py --resources 1000000 --keep /tmp/bulk1m
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.fhir.resource_json import content_hash, dumps, stamp  # noqa: E402
from benhan.store import bulk_export  # noqa: E402
from benhan.store.schema import resource, resource_version  # noqa: E402
from benhan.store.store import Store  # noqa: E402
from benhan.store.writer import encode_body  # noqa: E402

PER_PATIENT = 51
VITALS = [("8867-4", "Heart rate", "/min", (55, 110)), ("8310-5", "Body temperature", "Cel", (36, 39.5)),
          ("9279-1", "Respiratory rate", "/min", (12, 24)), ("29463-7", "Body weight", "kg", (40, 90)),
          ("8302-2", "Body height", "cm", (145, 180)), ("8480-6", "Systolic blood pressure", "mm[Hg]", (95, 165)),
          ("8462-4", "Diastolic blood pressure", "mm[Hg]", (55, 100)),
          ("59408-5", "Oxygen saturation", "%", (92, 100))]
ICD = [("J06.9", "Nhiễm trùng hô hấp trên cấp"), ("I10", "Tăng huyết áp vô căn"), ("E11.9", "Đái tháo đường type 2"),
       ("K29.7", "Viêm dạ dày"), ("M54.5", "Đau vùng thắt lưng")]


def rss_kib() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def patient_resources(rng: random.Random, n: int) -> list[dict]:
    pid = str(uuid.UUID(int=rng.getrandbits(128)))
    out = [{"resourceType": "Patient", "id": pid, "active": True,
            "identifier": [{"system": "https://benhan.vn/sid/cccd", "value": f"{rng.randrange(10**11, 10**12):012d}"}],
            "name": [{"family": "Nguyễn", "given": ["Văn", f"An {n}"], "text": f"Nguyễn Văn An {n}"}],
            "gender": rng.choice(["male", "female"]),
            "birthDate": f"{rng.randint(1940, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "address": [{"text": "Xã Tân Phú, tỉnh Đồng Nai", "country": "VN"}]}]
    for v in range(5):
        eid = str(uuid.UUID(int=rng.getrandbits(128)))
        day = f"2026-{rng.randint(1, 9):02d}-{rng.randint(10, 28)}"
        out.append({"resourceType": "Encounter", "id": eid, "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                    "subject": {"reference": f"Patient/{pid}"},
                    "period": {"start": f"{day}T08:00:00+07:00", "end": f"{day}T09:00:00+07:00"}})
        for code, display, unit, (lo, hi) in VITALS:
            out.append({"resourceType": "Observation", "id": str(uuid.UUID(int=rng.getrandbits(128))),
                        "status": "final",
                        "category": [{"coding": [{"code": "vital-signs", "system":
                                                  "http://terminology.hl7.org/CodeSystem/observation-category"}]}],
                        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
                        "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"},
                        "effectiveDateTime": f"{day}T08:1{v}:00+07:00",
                        "valueQuantity": {"value": round(rng.uniform(lo, hi), 1), "unit": unit,
                                          "system": "http://unitsofmeasure.org", "code": unit}})
        icd, text = rng.choice(ICD)
        out.append({"resourceType": "Condition", "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                   "code": "active"}]},
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": icd, "display": text}]},
                    "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"},
                    "recordedDate": f"{day}T08:30:00+07:00"})
    return out


def fill(store: Store, n: int, seed: int) -> float:
    rng = random.Random(seed)
    started = time.perf_counter()
    now = time.time_ns() // 1000
    stamp_text = "2026-11-01T08:00:00.000+07:00"
    pk, batch_r, batch_v = 0, [], []

    def flush() -> None:
        with store.db.write() as conn:
            conn.execute(resource.insert(), batch_r)
            conn.execute(resource_version.insert(), batch_v)
        batch_r.clear()
        batch_v.clear()
    patient = 0
    while pk < n:
        for body in patient_resources(rng, patient):
            if pk >= n:
                break
            pk += 1
            encoding, raw = encode_body(dumps(stamp(body, 1, stamp_text)))
            batch_r.append({"pk": pk, "res_type": body["resourceType"], "res_id": body["id"], "version": 1,
                            "last_updated": now, "deleted": False, "content_hash": content_hash(body)})
            batch_v.append({"resource_pk": pk, "version": 1, "last_updated": now, "method": "PUT", "deleted": False,
                            "encoding": encoding, "body": raw})
        patient += 1
        if len(batch_r) >= 20_000:
            flush()
    if batch_r:
        flush()
    # The search index is left empty (the export does not read it): say it is current, so that a
    # server started on this database (--http) does not rebuild it first.
    from benhan.store.index_version import mark_current
    mark_current(store)
    return time.perf_counter() - started


def export_in_process(store: Store, expiry_hours: float = 1.0) -> dict:
    actor = Actor(name="bench", kind="client", client_id="bench")
    job = bulk_export.create(store, actor, bulk_export.ExportRequest("system", None), "bench")
    assert bulk_export.claim(store) == job
    samples: list[tuple[int, int]] = []
    real_rows = bulk_export.export_rows

    def sampled(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        inner = kw.pop("check")

        def check(count: int) -> None:
            if not samples or count - samples[-1][0] >= 100_000:
                samples.append((count, rss_kib()["VmRSS"]))
            inner(count)
        return real_rows(*args, check=check, **kw)
    bulk_export.export_rows = sampled
    load_before = os.getloadavg()
    cpu0, t0 = time.process_time(), time.perf_counter()
    try:
        state = bulk_export.run_job(store, job, expiry_hours=expiry_hours)
    finally:
        bulk_export.export_rows = real_rows
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert state == "done", state
    import orjson
    files = orjson.loads(bulk_export.get(store, job).output)
    written = sum(f["count"] for f in files)
    size = sum(f["size"] for f in files)
    bulk_export.remove(store, job)
    return {"resources": written, "files": len(files), "seconds": seconds, "cpu": cpu, "bytes": size,
            "samples": samples, "load": (load_before, os.getloadavg())}


def export_over_http(store: Store, data_dir: Path, database_url: str | None) -> dict:
    import httpx

    from tests.auth_helpers import install_in_store
    from tests.server_process import ServerProcess
    headers = install_in_store(store)
    with ServerProcess(data_dir, database_url) as server, httpx.Client(timeout=600) as http:
        t0 = time.perf_counter()
        r = http.get(f"{server.base}/$export", headers={**headers, "Accept": "application/fhir+json",
                                                        "Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        url = r.headers["content-location"]
        while (s := http.get(url, headers=headers)).status_code == 202:
            time.sleep(float(s.headers.get("retry-after", "1")) / 5)
        assert s.status_code == 200, s.text
        ready = time.perf_counter() - t0
        n = 0
        for item in s.json()["output"]:
            with http.stream("GET", item["url"], headers=headers) as f:
                for chunk in f.iter_bytes():
                    n += chunk.count(b"\n")
        total = time.perf_counter() - t0
        http.delete(url, headers=headers)
        server.stop()
    return {"resources": n, "ready_seconds": ready, "total_seconds": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL of an EMPTY database (default: SQLite)")
    ap.add_argument("--keep", type=Path, default=None, help="data folder to use and keep (default: a temporary one)")
    ap.add_argument("--http", action="store_true", help="also export over HTTP from a real `benhan serve`")
    args = ap.parse_args()

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="bench-bulk-export-"))
    cfg = config_mod.load(env={}, data_dir=data_dir, database_url=args.database_url)
    store = Store.open(cfg)
    try:
        print_machine(args.database_url)
        print(f"  load avg    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the start")
        if store.is_empty():
            seconds = fill(store, args.resources, args.seed)
            print(f"fill: {args.resources:,} resources in {seconds:.1f} s ({args.resources / seconds:,.0f}/s)")
        else:
            print("fill: the database holds data already; exporting what is there")
        rss_before = rss_kib()
        peak_reset = reset_peak()
        r = export_in_process(store)
        rss_after = rss_kib()
        print(f"export (in-process, run_job): {r['resources']:,} resources in {r['seconds']:.1f} s = "
              f"**{r['resources'] / r['seconds']:,.0f} resources/s** (CPU {r['cpu']:.1f} s, "
              f"{r['cpu'] / max(r['resources'], 1) * 1e6:.1f} µs/resource)")
        print(f"  files {r['files']}, {r['bytes'] / 2**20:,.0f} MiB of NDJSON")
        print(f"  RSS before {rss_before['VmRSS'] / 1024:.0f} MiB; peak during the export "
              f"{rss_after['VmHWM'] / 1024:.0f} MiB{'' if peak_reset else ' (peak not reset: includes the fill)'}")
        print("  RSS along the export (resources written → MiB): "
              + ", ".join(f"{n:,}→{kib / 1024:.0f}" for n, kib in r["samples"]))
        print(f"  load avg before / after: {r['load'][0][0]:.2f} / {r['load'][1][0]:.2f}")
        if args.http:
            h = export_over_http(store, data_dir, args.database_url)
            print(f"export over HTTP: ready after {h['ready_seconds']:.1f} s, {h['resources']:,} resources "
                  f"downloaded in {h['total_seconds']:.1f} s in all = {h['resources'] / h['total_seconds']:,.0f}/s")
    finally:
        store.close()
        if args.keep is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
