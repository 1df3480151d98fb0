"""What authenticating a request costs before any route runs (benhan/web/authn.py): a backend's
bearer token, a user's token through an app (their roles ∩ the token's scopes, their break-the-glass
grants), and a web session cookie. CPU per request, in process, on a fresh SQLite database.

Usage: .venv/bin/python bench/bench_auth.py [--n 2000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth import sessions, users  # noqa: E402
from benhan.store.store import Store  # noqa: E402
from benhan.web.authn import _token_actor  # noqa: E402
from tests.auth_helpers import TOKEN, install_in_store, token_for  # noqa: E402


def cpu_us(work, n: int) -> float:  # noqa: ANN001
    for _ in range(min(100, n)):
        work()
    start = time.process_time()
    for _ in range(n):
        work()
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(config_mod.load(env={}, data_dir=Path(tmp) / "data"))
        try:
            install_in_store(store)
            doctor, _ = users.create_user(store, "bs.bench", "Bác sĩ", ["doctor"], departments=["khoa-noi"],
                                          password="một câu mật khẩu đủ dài")
            user_token = token_for(store, "user/*.cruds", user_pk=doctor.pk)["Authorization"].split()[1]
            cookie, _ = sessions.start(store, doctor, mfa_passed=True)
            rows = [("backend token (system/*.cruds)", lambda: _token_actor(store, TOKEN, None)),
                    ("user token (doctor, user/*.cruds)", lambda: _token_actor(store, user_token, None)),
                    ("web session cookie (resolve only)", lambda: sessions.resolve(store, cookie))]
            print(f"\n{'credential':<38}{'CPU per request':>18}")
            for name, work in rows:
                print(f"{name:<38}{cpu_us(work, args.n):>15.0f} µs")
        finally:
            store.close()


if __name__ == "__main__":
    main()
