"""A search by canonical URL without a version (`QuestionnaireResponse?questionnaire=URL`, which
matches URL and URL|any-version) on SQLite, in process: the reference rows of the parameter are
walked whole unless the url index drives (store/search.py _Canonical).

A SQLite database gets N QuestionnaireResponses answering 50 questionnaires (each in three
versions and unversioned), in transaction Bundles of 500; the same searches are then timed
(median of --rounds, each a different questionnaire) with `_total=accurate`. Prints the machine,
the sizes and the milliseconds. To compare two revisions, run each one's copy of this script on
the same --work database (the second run reuses it).

Usage:
    .venv/bin/python bench/bench_canonical_search.py [--responses 100000] [--rounds 40] [--work DIR]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.store import bundles  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402

BASE = "http://benhan.vn/fhir/Questionnaire/phieu-"
FORMS = 50


def _canonical(i: int) -> str:
    form, version = divmod(i, 4)
    url = f"{BASE}{form % FORMS:02d}"
    return url if version == 3 else f"{url}|{version + 1}.0"


def _fill(repo: Repository, n: int) -> None:
    for start in range(0, n, 500):
        entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}",
                    "resource": {"resourceType": "QuestionnaireResponse", "status": "completed",
                                 "questionnaire": _canonical(i)},
                    "request": {"method": "POST", "url": "QuestionnaireResponse"}}
                   for i in range(start, min(n, start + 500))]
        bundles.process_bundle(repo, {"resourceType": "Bundle", "type": "transaction", "entry": entries},
                               "http://localhost/fhir")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--work", type=Path, help="a folder kept between runs (default: a temporary one)")
    args = parser.parse_args()
    print_machine()
    if args.work is None:
        with tempfile.TemporaryDirectory(prefix="bench-canonical-") as tmp:
            run(args, Path(tmp))
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        run(args, args.work)


def run(args: argparse.Namespace, work: Path) -> None:
    fresh = not (work / "benhan.sqlite").exists() and not any(work.glob("*.sqlite*"))
    store = Store.open(config_mod.load(env={}, data_dir=work))
    try:
        repo = Repository(store, Actor.system("bench"))
        if fresh:
            start = time.perf_counter()
            _fill(repo, args.responses)
            print(f"  loaded {args.responses} QuestionnaireResponses in {time.perf_counter() - start:.1f} s")
        times, counts = [], []
        for r in range(args.rounds + 2):
            url = f"{BASE}{r % FORMS:02d}"
            start = time.perf_counter()
            found = repo.search_type("QuestionnaireResponse", [("questionnaire", url), ("_total", "accurate"),
                                                               ("_count", "10")])
            if r >= 2:                                   # the first two warm the caches
                times.append((time.perf_counter() - start) * 1000)
                counts.append(found.total)
        print(f"  {work}")
        print(f"  questionnaire=URL (any version), _total=accurate: median {statistics.median(times):.2f} ms, "
              f"p95 {sorted(times)[int(len(times) * 0.95) - 1]:.2f} ms over {len(times)} searches; "
              f"{statistics.median(counts):.0f} matches each")
    finally:
        store.close()


if __name__ == "__main__":
    main()
