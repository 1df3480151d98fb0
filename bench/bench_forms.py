"""Rendering the forms the layout engine draws (15/BV1, the TT 26 prescription, the TT 01 referral and
follow-up slips), in-process over a SQLite store holding one seeded visit (tests/forms/seed.py):

- render: the form's values read from the gathered data, laid out and written as PDF;
- gather + render: the same with the record read from the store first (what one print costs).

    .venv/bin/python bench/bench_forms.py [--runs 30]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("BENHAN_SRC") or str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import percentile, print_machine  # noqa: E402


def _times(fn, runs: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


def _line(label: str, ms: list[float], extra: str = "") -> None:
    print(f"{label:<40} p50 {statistics.median(ms):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms   (n={len(ms)}){extra}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print_machine()
    from benhan import config
    from benhan.auth.actor import Actor
    from benhan.clinical.printouts import forms as printouts
    from benhan.documents.forms import FORMS, printing
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    sys.path.insert(0, str(ROOT))
    from tests.forms import seed
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(config.load(env={}, data_dir=Path(tmp) / "data"))
        try:
            ids = seed.build(store)
            repo = Repository(store, Actor.system())

            def gather():  # noqa: ANN202
                return printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
            ctx = gather()
            for key, form in FORMS.items():
                def render(c=None, k=key):  # noqa: ANN001, ANN202
                    return printing.print_form(repo, c or ctx, k, seed.DOCTOR, seed.PRINTED, "http://bench")
                first = render()                                     # warm-up (fonts, imports)
                info = f"   {form.page}, {first.rendered.pages} page(s), {len(first.pdf) / 1024:.0f} KB"
                _line(f"{form.code[:22]} render", _times(render, args.runs), info)
                _line(f"{form.code[:22]} gather + render", _times(lambda k=key: render(gather(), k), args.runs))
        finally:
            store.close()


if __name__ == "__main__":
    main()
