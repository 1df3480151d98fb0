"""The quick benchmarks still run against today's code, at their smallest sizes. They print figures
that docs/benchmarks.md records, and nothing else exercises them: twice an API change (orders.place,
the token the API asks for) broke one silently. The figures are not checked here; timing belongs in
bench/, never in a test."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script, args, says", [
    ("bench_ui.py", ["--runs", "1"], "first chart view total"),
    ("bench_generator.py", ["--patients", "20", "--workers", "1", "--data-dir", "{tmp}/gen"], "patients 20"),
    ("bench_terminology.py", ["--n", "3"], "filter='viem phoi'"),
    ("bench_auth.py", ["--n", "10"], "µs"),
    ("bench_token_lookup.py", ["--n", "10", "--tokens", "100", "--clients", "2"], "µs"),
    ("bench_signing.py", ["--runs", "1"], "verify PDF"),
    ("bench_claims.py", ["--episodes", "20"], "episodes 20"),
    ("bench_billing.py", ["--visits", "5"], "visits 5"),
    ("bench_bulk_export.py", ["--resources", "2000"], "2,000 resources in"),
    ("bench_startup.py", ["--no-server", "--rounds", "1"], "doctor --help"),
    ("bench_encryption.py", ["--prefill", "20", "--creates", "8", "--reads", "40", "--units", "4"], "encrypted/plain"),
    ("bench_audit.py", ["--backend", "sqlite", "--quick", "--units", "2"], "audit chain intact"),
    ("bench_index_upgrade.py", ["--bundles", "1"], "full reindex"),
    ("bench_canonical_search.py", ["--responses", "600", "--rounds", "3"], "matches each"),
])
def test_a_quick_benchmark_runs_to_the_end(script: str, args: list[str], says: str, tmp_path: Path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *(a.format(tmp=tmp_path) for a in args)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert says in done.stdout and "machine" in done.stdout


def test_the_loop_reads_benchmark_runs_to_the_end(pg_database) -> None:  # noqa: ANN001 - PostgreSQL, or skipped
    from tests.conftest import PG_ADMIN_URL
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_loop_reads.py"), "--reads", "60",
                           "--patients", "10", "--rounds", "1", "--pg-url", PG_ADMIN_URL.rsplit("/", 1)[0]],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "batched, 1 conn" in done.stdout and "machine" in done.stdout
