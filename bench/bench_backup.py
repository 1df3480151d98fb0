"""Encrypted backup of a large SQLite database: time, size, restore-test time, peak memory.

The data is bench/gen_search_data.py's (≈ 56 resources per patient; --patients 1800 ≈ 100,000
resources, 18000 ≈ 1,000,000), generated once and cached under --data-dir. Each phase runs in a
child process so its peak RSS is its own:
- backup: backup.encrypted_backup (online backup API snapshot + integrity_check + count + AES-256-GCM);
- test:   backup_schedule.restore_test (decrypt into a scratch copy, integrity_check, count, chain head).

Usage:
    .venv/bin/python bench/bench_backup.py --patients 1800 --data-dir bench/data/backup-100k
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def phase(name: str, data_dir: Path, arg: str) -> dict:
    from benhan.config import load
    from benhan.store import backup, backup_crypto, backup_schedule
    from benhan.store.database import Database
    cfg = load(env={}, data_dir=data_dir)
    out: dict = {}
    if name == "backup":
        backup_crypto.init_key(data_dir)
        key = backup_crypto.load_key(data_dir)
        db = Database(cfg.sqlalchemy_url)
        t = time.perf_counter()
        made = backup.encrypted_backup(db, Path(arg), key, "bench")
        out["seconds"] = time.perf_counter() - t
        db.dispose()
        out.update(file=str(made.path), bytes=made.path.stat().st_size, resources=made.resources)
    else:
        t = time.perf_counter()
        result = backup_schedule.restore_test(Path(arg), cfg.sqlalchemy_url, key=backup_crypto.load_key(data_dir))
        out["seconds"] = time.perf_counter() - t
        out.update(ok=result.ok, detail=result.detail)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=1800)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--phase", choices=["backup", "test"], help=argparse.SUPPRESS)
    ap.add_argument("--arg", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.data_dir, args.arg)))
        return
    from _common import print_machine
    from bench_search import ensure_sqlite
    print_machine()
    manifest = ensure_sqlite(args.data_dir, args.patients, args.seed)
    db_file = args.data_dir / "benhan.sqlite"
    print(f"database: {manifest.get('resources', '?')} resources, {db_file.stat().st_size / 2**20:.0f} MiB")
    out_dir = args.data_dir / "bench-backups"
    results = {}
    arg = str(out_dir)
    for name in ("backup", "test"):
        done = subprocess.run([sys.executable, __file__, "--data-dir", str(args.data_dir), "--phase", name,
                               "--arg", arg], capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        if name == "backup":
            arg = results[name]["file"]
    b, t = results["backup"], results["test"]
    print(f"encrypted backup: {b['seconds']:.1f} s, {b['bytes'] / 2**20:.0f} MiB "
          f"({b['resources']} resources), peak RSS {b['peak_rss_mib']:.0f} MiB")
    print(f"restore test:     {t['seconds']:.1f} s, {'ok' if t['ok'] else 'FAILED'} ({t['detail']}), "
          f"peak RSS {t['peak_rss_mib']:.0f} MiB")
    Path(b["file"]).unlink()
    Path(b["file"] + ".audit-head.json").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
