"""`benhan doctor`: every check ok on a healthy install (SQLite and PostgreSQL), and each broken
thing found with the right status and fix — a corrupt SQLite file, an old backup, a world-readable
database, an expired TLS certificate, plain HTTP on the LAN, a skewed clock, a given-up claim, an
altered audit row; the exit codes (0/1/2) and the --json shape from real `benhan doctor` processes."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from benhan import config as config_mod
from benhan.ops import doctor
from benhan.outbox.queue import Outbox
from benhan.store import backup_schedule as bs
from benhan.store.store import Store
from benhan.sync.clock import HubClock
from tests.server_process import _environment, end, fresh_postgres_database, spawn


def _healthy(cfg: config_mod.Config, now: dt.datetime) -> Store:
    """A store with a scheduled (encrypted) backup and its restore test done at `now`."""
    store = Store.open(cfg)
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    from tests import factories
    Repository(store, Actor.system("test")).create("Patient", factories.patient())   # a chained audit event
    bs.run_round(store.db, cfg.data_dir, cfg.backups, bs.Policy.from_config(cfg), now)
    return store


def by_id(report: doctor.Report) -> dict[str, doctor.Result]:
    return {r.id: r for r in report.results}


@pytest.fixture(params=["sqlite", "postgresql"])
def cfg(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    (tmp_path / "data").mkdir(mode=0o700)       # as the installer makes it (SQLite: the store does too)
    if request.param == "sqlite":
        yield config_mod.load(env={}, data_dir=tmp_path / "data")
        return
    with fresh_postgres_database(request.getfixturevalue("pg_database")) as url:
        yield config_mod.load(env={}, data_dir=tmp_path / "data", database_url=url)


def test_a_healthy_install_is_all_ok(cfg) -> None:  # noqa: ANN001
    now = dt.datetime.now(dt.timezone.utc)
    store = _healthy(cfg, now)
    try:
        report = doctor.run(cfg, now=now + dt.timedelta(minutes=5))
    finally:
        store.close()
    found = by_id(report)
    assert {r.id: r.status for r in report.results if r.status != "ok"} == {}
    assert report.exit_code == 0
    assert {"database", "schema", "audit_chain", "backup.age", "backup.restore_test", "sync", "outbox",
            "disk.data", "disk.backups", "permissions", "https", "clock"} <= set(found)
    assert found["schema"].numbers["state"] == "current"
    assert found["audit_chain"].numbers["head"][0] >= 1
    if cfg.sqlalchemy_url.startswith("sqlite"):
        assert found["database"].numbers["check"] == "quick_check"
    else:
        assert found["database"].numbers["engine"] == "postgresql" and found["database"].numbers["server_version"]
        assert "checksum_failures" in found["database"].evidence[1]
    full = by_id(doctor.run(cfg, now=now, full=True))
    assert full["audit_chain"].status == "ok" and full["audit_chain"].numbers["full"] is True


def test_old_backups_warn_then_fail_and_a_failed_restore_test_fails(tmp_path: Path) -> None:
    cfg = config_mod.load(env={}, data_dir=tmp_path / "data")
    now = dt.datetime.now(dt.timezone.utc)
    _healthy(cfg, now).close()
    late = by_id(doctor.run(cfg, now=now + dt.timedelta(days=3)))["backup.age"]
    assert late.status == "warn" and "3.0 days ago" in late.evidence[1] and "benhan backup" in late.fix[0]
    week = by_id(doctor.run(cfg, now=now + dt.timedelta(days=8)))["backup.age"]
    assert week.status == "fail" and "8.0 ngày" in week.evidence[0]
    status_file = cfg.backups / "benhan-backup-status.json"
    data = json.loads(status_file.read_text())
    data.update(restore_test_ok=False, restore_test_detail="resources 3 ≠ 4")
    status_file.write_text(json.dumps(data))
    test = by_id(doctor.run(cfg, now=now))["backup.restore_test"]
    assert test.status == "fail" and "resources 3 ≠ 4" in test.evidence[1]


def test_world_readable_database_and_key_fail_with_the_chmod_fix(tmp_path: Path) -> None:
    cfg = config_mod.load(env={}, data_dir=tmp_path / "data")
    Store.open(cfg).close()
    database = cfg.data_dir / "benhan.sqlite"
    key = cfg.data_dir / "sync-node-key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    os.chmod(key, 0o600)
    assert by_id(doctor.run(cfg))["permissions"].status == "ok"
    os.chmod(database, 0o644)
    os.chmod(key, 0o640)
    found = by_id(doctor.run(cfg))["permissions"]
    assert found.status == "fail"
    assert f"chmod 600 '{database}'" in found.fix[0] and f"chmod 600 '{key}'" in found.fix[1]
    # SQLite gives its -wal and -shm the database file's mode: those are listed too.
    assert {str(database), str(key)} <= {p["path"] for p in found.numbers["too_open"]}
    for companion in cfg.data_dir.glob("benhan.sqlite*"):
        os.chmod(companion, 0o600)
    assert by_id(doctor.run(cfg))["permissions"].status == "warn"    # the key: group only


def test_expired_tls_certificate_fails_and_plain_http_on_the_lan_fails(tmp_path: Path) -> None:
    from benhan.web import tls
    made = tls.self_signed(tmp_path / "tls", ["benhan-pc"], days=10)
    cfg = config_mod.load(env={}, data_dir=tmp_path / "data", tls_cert_file=str(made.cert_file),
                          tls_key_file=str(made.key_file), host="0.0.0.0")
    Store.open(cfg).close()
    now = dt.datetime.now(dt.timezone.utc)
    soon = by_id(doctor.run(cfg, now=now))
    assert soon["cert.tls"].status == "warn" and soon["cert.tls"].numbers["days_left"] in (9, 10)
    assert soon["https"].status == "ok"
    expired = by_id(doctor.run(cfg, now=now + dt.timedelta(days=12)))["cert.tls"]
    assert expired.status == "fail" and "expired on" in expired.evidence[1]
    assert "benhan tls self-signed --force" in expired.fix[1]
    plain = by_id(doctor.run(cfg.replace(tls_cert_file="", tls_key_file="")))["https"]
    assert plain.status == "fail" and "0.0.0.0" in plain.evidence[1] and "benhan tls self-signed" in plain.fix[0]
    local = by_id(doctor.run(cfg.replace(tls_cert_file="", tls_key_file="", host="127.0.0.1")))["https"]
    assert local.status == "ok"


def test_clock_skew_against_the_hub(tmp_path: Path) -> None:
    cfg = config_mod.load(env={}, data_dir=tmp_path / "data", role="node", hub_url="https://hub.invalid")
    Store.open(cfg).close()
    asked = []

    def hub(offset: float):  # noqa: ANN202
        def probe(url: str, ca):  # noqa: ANN001, ANN202
            asked.append(url)
            return HubClock(offset, 0.05)
        return probe
    assert by_id(doctor.run(cfg, hub_clock=hub(4.0)))["clock"].status == "ok"
    assert by_id(doctor.run(cfg, hub_clock=hub(-45.0)))["clock"].status == "warn"
    skew = by_id(doctor.run(cfg, hub_clock=hub(300.0)))["clock"]
    assert skew.status == "fail" and "+300 seconds" in skew.evidence[1] and "timedatectl" in skew.fix[1]
    assert asked == ["https://hub.invalid"] * 3
    unreachable = by_id(doctor.run(cfg))["clock"]          # the real probe: the hub cannot be reached
    assert unreachable.status == "warn" and "could not ask the hub's time" in unreachable.evidence[1]
    standalone = by_id(doctor.run(cfg.replace(role="", hub_url="")))["clock"]
    assert standalone.status == "ok" and "skipped" in standalone.evidence[1]


def test_the_real_hub_clock_probe_reads_the_date_header(tmp_path: Path) -> None:
    import threading
    from email.utils import formatdate
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Skewed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def date_time_string(self, timestamp=None) -> str:  # noqa: ANN001
            return formatdate(__import__("time").time() + 600, usegmt=True)   # ten minutes ahead

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass
    server = HTTPServer(("127.0.0.1", 0), Skewed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        from benhan.sync.clock import hub_offset
        found = hub_offset(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert 598 <= found.offset_seconds <= 602


def test_given_up_and_waiting_outbox_items(tmp_path: Path) -> None:
    cfg = config_mod.load(env={}, data_dir=tmp_path / "data")
    store = Store.open(cfg)
    try:
        now = dt.datetime.now(dt.timezone.utc)
        box = Outbox(store.db, clock=lambda: now - dt.timedelta(days=2))
        box.put("bhyt-claim", "k1", "LK1", b"<x/>")
        assert by_id(doctor.run(cfg, now=now))["outbox"].status == "warn"       # 2 days > 24 h
        with store.db.write() as conn:
            conn.execute(text("UPDATE outbox_item SET state = 'given-up'"))
        found = by_id(doctor.run(cfg, now=now))["outbox"]
    finally:
        store.close()
    assert found.status == "fail" and "Hồ sơ BHYT: 1 bị từ chối/ngừng gửi" in found.evidence[0]
    assert found.numbers["bhyt-claim"]["failed"] == 1


def test_an_altered_audit_row_breaks_the_chain(tmp_path: Path) -> None:
    cfg = config_mod.load(env={}, data_dir=tmp_path / "data")
    store = _healthy(cfg, dt.datetime.now(dt.timezone.utc))
    try:
        with store.db.write() as conn:
            last = conn.execute(text("SELECT max(chain_pos) FROM audit_event")).scalar()
            conn.execute(text("UPDATE audit_event SET agent = 'someone-else' WHERE chain_pos = :p"), {"p": last})
    finally:
        store.close()
    quick = by_id(doctor.run(cfg))["audit_chain"]
    assert quick.status == "fail" and f"chain_pos {last}" in quick.evidence[1]
    assert "benhan audit verify" in quick.fix[1]
    assert by_id(doctor.run(cfg, full=True))["audit_chain"].status == "fail"


def run_doctor(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "benhan.cli", "doctor", *args]
    process = spawn(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())
    try:
        out, err = process.communicate(timeout=180)
        return subprocess.CompletedProcess(command, process.returncode, out, err)
    finally:
        end(process, graceful=False)


def test_exit_codes_json_and_a_corrupt_database_from_real_processes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = config_mod.load(env={}, data_dir=data)
    healthy = run_doctor("--data-dir", str(data), "--json")
    assert healthy.returncode == 2 and json.loads(healthy.stdout)["checks"][0]["status"] == "fail"   # no database
    store = Store.open(cfg)
    store.close()
    warned = run_doctor("--data-dir", str(data))                 # never backed up: a warning
    assert warned.returncode == 1, warned.stdout + warned.stderr
    assert "[CẢNH BÁO] Sao lưu gần nhất" in warned.stdout and "mã thoát 1" in warned.stdout
    _healthy(cfg, dt.datetime.now(dt.timezone.utc)).close()
    ok = run_doctor("--data-dir", str(data), "--lang", "en")
    assert ok.returncode == 0, ok.stdout
    assert "exit code 0" in ok.stdout and "[OK      ] Database integrity" in ok.stdout
    report = json.loads(run_doctor("--data-dir", str(data), "--json").stdout)
    assert report["status"] == "ok" and report["exit_code"] == 0 and report["counts"]["fail"] == 0
    for check in report["checks"]:
        assert set(check) == {"id", "status", "title", "evidence", "fix", "numbers"}
        assert check["status"] in ("ok", "warn", "fail") and set(check["title"]) == {"vi", "en"}
    # Damage the file's pages past its header: SQLite still opens it, quick_check finds the damage.
    database = data / "benhan.sqlite"
    raw = bytearray(database.read_bytes())
    for page in range(2, len(raw) // 4096):
        raw[page * 4096 + 100: page * 4096 + 400] = b"\xde\xad\xbe\xef" * 75
    database.write_bytes(bytes(raw))
    broken = run_doctor("--data-dir", str(data), "--json")
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    found = {c["id"]: c for c in json.loads(broken.stdout)["checks"]}
    assert found["database"]["status"] == "fail"
    assert "benhan restore" in found["database"]["fix"]["vi"]
    table = run_doctor("--data-dir", str(data), "--full")
    assert table.returncode == 2 and "[LỖI     ] Cơ sở dữ liệu: toàn vẹn" in table.stdout


def test_postgresql_from_a_real_process_and_an_unreachable_server(tmp_path: Path, pg_database: str) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    with fresh_postgres_database(pg_database) as url:
        cfg = config_mod.load(env={}, data_dir=data, database_url=url)
        _healthy(cfg, dt.datetime.now(dt.timezone.utc)).close()
        done = run_doctor("--data-dir", str(data), "--database-url", url, "--json")
        assert done.returncode == 0, done.stdout
        found = {c["id"]: c for c in json.loads(done.stdout)["checks"]}
        assert found["database"]["numbers"]["engine"] == "postgresql"
        assert found["database"]["numbers"]["size_bytes"] > 0 and "xact_commit" in found["database"]["numbers"]
    # Nothing listens on port 1: the database line fails with the driver's reason, the rest still run.
    down = run_doctor("--data-dir", str(data), "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x",
                      "--lang", "en")
    assert down.returncode == 2 and "Traceback" not in down.stdout + down.stderr
    assert "[FAIL    ] Check could not run: database" in down.stdout and "OperationalError" in down.stdout
    assert "[OK      ] HTTPS on the LAN" in down.stdout


def test_an_encrypted_database_is_checked_through_its_key(tmp_path: Path) -> None:
    from benhan.store import encryption
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    cfg = config_mod.load(env={}, data_dir=data)
    encryption.create_key(cfg.sqlalchemy_url)
    Store.open(cfg).close()
    assert encryption.is_plain_file(data / "benhan.sqlite") is False          # SQLCipher pages
    found = by_id(doctor.run(cfg, full=True))
    assert found["database"].status == "ok" and found["database"].numbers["check"] == "integrity_check"
    assert found["permissions"].status == "ok" and found["schema"].status == "ok"
    (data / "benhan.key").write_text((data / "benhan.key").read_text().replace('"', "'", 2))   # unreadable key
    broken = by_id(doctor.run(cfg))["database"]
    assert broken.status == "fail" and "Traceback" not in broken.evidence[1]
