"""The VNeID health book (claims/health_book.py) for many closed visits: the tables built (the claim's
plus XML8, or XML1 + XML8 without BHYT), checked with the claim rules and signed in the envelope,
as the serve worker does for each visit it queues. Half the visits are without BHYT. The episodes are
bench_claims.py's seeded mix with the 4-part summary written. Queueing and sending are the outbox's
(measured by the claims tests' behaviour, not here); reading the record is the billing layer's.

Usage: .venv/bin/python bench/bench_health_book.py [--episodes 1000]
"""
from __future__ import annotations

import dataclasses
import random
import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import print_machine  # noqa: E402
from bench.bench_claims import VN, episode  # noqa: E402
from benhan.claims import envelope, health_book, validation  # noqa: E402
from benhan.signing import xmldsig  # noqa: E402
from benhan.signing.local_ca import LocalCA  # noqa: E402


def main(argv: list[str]) -> None:
    n = int(argv[argv.index("--episodes") + 1]) if "--episodes" in argv else 1000
    issued = LocalCA("http://127.0.0.1:9").issue("Bệnh viện thử", organization="Bệnh viện thử")
    key = xmldsig.key_from_pkcs12(issued.pkcs12("x"), "x")
    print_machine()
    validation.icd_codes(date(2026, 11, 1))
    rng = random.Random(16)
    made = datetime(2026, 11, 30, 12, 0, tzinfo=VN)
    t_build = t_sign = 0.0
    not_ready = 0
    start = time.perf_counter()
    for i in range(n):
        ep, lines = episode(i, rng)
        ep = dataclasses.replace(ep, results_summary="Bạch cầu 8,2 G/L", plan="Tái khám sau 1 tháng",
                                 **({"card": "", "object_code": "9"} if i % 2 else {}))
        t0 = time.perf_counter()
        book = health_book.build(ep, lines)
        t1 = time.perf_counter()
        if book.state != health_book.READY:
            not_ready += 1
            if not_ready == 1:
                print(book.reasons())
        else:
            envelope.sign(envelope.build(ep.facility, made, book.tables), key)
            _ = book.key
        t2 = time.perf_counter()
        t_build, t_sign = t_build + t1 - t0, t_sign + t2 - t1
    total = time.perf_counter() - start
    print(f"visits {n} (half without BHYT), not ready {not_ready}")
    print(f"built + checked {t_build:7.2f} s")
    print(f"signed + key    {t_sign:7.2f} s")
    print(f"total           {total:7.2f} s  ({total / max(n, 1) * 1000:.1f} ms per visit)")
    if not_ready:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
