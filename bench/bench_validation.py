"""How long validation of one resource takes on the write path.

Times ``default_validator().validate()`` over every resource of the official R4 examples package
(JSON parsing excluded), and separately over the Patient and Observation examples, each timed as the
best of several rounds to keep scheduler noise out. Prints the figures and the machine.

Usage: .venv/bin/python bench/bench_validation.py [--rounds N]
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benhan.fhir.validation import default_validator  # noqa: E402
from bench._common import cpu_model  # noqa: E402
from tools.fhir_packages import examples_dir  # noqa: E402


def load_examples() -> list[tuple[str, dict, int]]:
    found = []
    for path in sorted(examples_dir().glob("*.json")):
        if path.name == "package.json":
            continue
        data = path.read_bytes()
        resource = orjson.loads(data)
        if isinstance(resource, dict) and "resourceType" in resource:
            found.append((path.name, resource, len(data)))
    return found


def per_resource_us(resource: dict, rounds: int) -> float:
    """Best-of-rounds mean of a batch of validations, in microseconds."""
    validate = default_validator().validate
    batch = 50
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            validate(resource)
        best = min(best, (time.perf_counter() - start) / batch)
    return best * 1e6


def main(argv: list[str]) -> None:
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 5
    start = time.perf_counter()
    validator = default_validator()
    compile_ms = (time.perf_counter() - start) * 1e3
    examples = load_examples()

    times = []
    for _, resource, _ in examples:
        t0 = time.perf_counter()
        validator.validate(resource)
        times.append((time.perf_counter() - t0) * 1e6)
    typical = [t for (_, _, size), t in zip(examples, times) if size < 20_000]

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"start-up (load definitions + compile): {compile_ms:.0f} ms")
    print(f"all {len(examples)} example resources: mean {statistics.mean(times):.0f} µs, "
          f"median {statistics.median(times):.0f} µs, total {sum(times) / 1e6:.2f} s")
    print(f"the {len(typical)} examples under 20 kB: mean {statistics.mean(typical):.0f} µs")
    for name in ("Patient-example.json", "Observation-example.json", "Observation-vitals-panel.json",
                 "Observation-blood-pressure.json", "Patient-pat1.json"):
        resource = next((r for n, r, _ in examples if n == name), None)
        if resource is not None:
            print(f"{name}: {per_resource_us(resource, rounds):.0f} µs")


if __name__ == "__main__":
    main(sys.argv[1:])
