"""Parse + write cost of resource JSON (benhan.fhir.resource_json) against bare orjson, for a
typical Observation with integers only (the fast path) and with decimals (kept exactly as sent:
orjson validates, then the standard library reads the numbers as text).

    .venv/bin/python bench/bench_json.py [--n 20000]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import machine  # noqa: E402
from benhan.fhir.resource_json import dumps, loads  # noqa: E402


def observation(value: str) -> bytes:
    return (b'{"resourceType":"Observation","id":"0b7e5c1e-4a3b-4c1d-9e2f-5a6b7c8d9e0f",'
            b'"meta":{"versionId":"3","lastUpdated":"2026-11-20T08:30:00.123+07:00"},"status":"final",'
            b'"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",'
            b'"code":"vital-signs","display":"Vital Signs"}]}],'
            b'"code":{"coding":[{"system":"http://loinc.org","code":"8310-5","display":"Body temperature"}],'
            b'"text":"Nhiet do"},"subject":{"reference":"Patient/0b7e5c1e-4a3b-4c1d-9e2f-5a6b7c8d9e10"},'
            b'"encounter":{"reference":"Encounter/0b7e5c1e-4a3b-4c1d-9e2f-5a6b7c8d9e11"},'
            b'"effectiveDateTime":"2026-11-20T08:30:00+07:00","performer":[{"reference":"Practitioner/p1"}],'
            b'"valueQuantity":{"value":' + value + b',"unit":"Cel","system":"http://unitsofmeasure.org",'
            b'"code":"Cel"},"referenceRange":[{"low":{"value":' + value + b'},"high":{"value":' + value + b'}}]}')


def per_call_us(fn, n: int) -> float:  # noqa: ANN001
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    print("machine", machine())
    for label, value in (("integers only", b"37"), ("decimals", b"37.50")):
        raw = observation(value)
        bare = per_call_us(lambda: orjson.dumps(orjson.loads(raw)), n)
        kept = per_call_us(lambda: dumps(loads(raw)), n)
        assert dumps(loads(raw)) == raw
        print(f"{label:14} parse+write: orjson {bare:6.1f} µs, resource_json {kept:6.1f} µs")


if __name__ == "__main__":
    main()
