"""Encryption at rest of a SQLite node (SQLCipher, store/encryption.py, `benhan key …`).

Through the real command line and a real `benhan serve`: a new database made with
database_encryption = true is encrypted from its first page, the server writes and reads patients,
a copy of the file (and its -wal) gives nothing without the key, a wrong or missing key is one line,
the recovery key re-creates the key file, rotation re-keys, and a plain demo database is encrypted
in place with every row kept.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from benhan.store import encryption
from benhan.store.database import Database
from benhan.store.schema import resource, resource_version
from benhan.store.writer import decode_body
from tests import factories
from tests.auth_helpers import AUTH, install
from tests.factories import FHIR_JSON
from tests.server_process import benhan_command, end, free_port, run_benhan, spawn, _environment

RECOVERY = re.compile(r"\b(?:[0-9A-Z]{4}-){13}[0-9A-Z]{4}\b")
NAME = ("Trần", ("Thị", "Bích", "Ngọc"))


def recovery_key_in(output: str) -> str:
    keys = RECOVERY.findall(output)
    assert len(keys) == 1, f"expected the recovery key printed once:\n{output}"
    return keys[0]


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def patient_family(url: str, pid: str) -> str:
    db = Database(url)                  # opened the way the server opens it: through the key file
    try:
        with db.read() as conn:
            row = conn.execute(
                select(resource_version.c.encoding, resource_version.c.body)
                .select_from(resource.join(resource_version, (resource_version.c.resource_pk == resource.c.pk)
                                           & (resource_version.c.version == resource.c.version)))
                .where(resource.c.res_type == "Patient", resource.c.res_id == pid)).one()
    finally:
        db.dispose()
    return json.loads(decode_body(row.encoding, row.body))["name"][0]["family"]


def serve(data: Path) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = data.parent / "server.log"
    with open(log, "ab") as out:
        proc = spawn(benhan_command("serve", "--data-dir", str(data), "--port", str(port), "--no-code-lists"),
                     stdout=out, stderr=subprocess.STDOUT, env=_environment())
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=2) as http:
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            try:
                if http.get(f"http://127.0.0.1:{port}/fhir/metadata").status_code == 200:
                    return proc, port, log
            except httpx.TransportError:
                pass
            time.sleep(0.1)


def test_an_encrypted_node_serves_patients_and_a_stolen_file_gives_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "benhan.toml").write_text("database_encryption = true\n", encoding="utf-8")
    url = f"sqlite:///{data / 'benhan.sqlite'}"
    proc, port, log = serve(data)
    try:
        recovery = recovery_key_in(log.read_text())
        db = Database(url)                      # the suite's token, given through the key like the server
        try:
            with db.write() as conn:
                install(conn)
        finally:
            db.dispose()
        base = f"http://127.0.0.1:{port}/fhir"
        with httpx.Client(timeout=30, headers=AUTH) as http:
            made = http.post(f"{base}/Patient", json=factories.patient(*NAME), headers=FHIR_JSON)
            assert made.status_code == 201, made.text
            pid = made.json()["id"]
            read = http.get(f"{base}/Patient/{pid}")
            assert read.status_code == 200 and read.json()["name"][0]["family"] == "Trần"
        # While the server runs the write may still sit in the -wal: neither file shows the name.
        for name in ("benhan.sqlite", "benhan.sqlite-wal"):
            path = data / name
            if path.exists():
                raw = path.read_bytes()
                for word in ("Trần", "Bích", "Ngọc", "Tran"):
                    assert word.encode() not in raw, f"{word} in {name}"
    finally:
        end(proc)
    assert (data / "benhan.key").stat().st_mode & 0o077 == 0
    stolen = tmp_path / "stolen.sqlite"
    stolen.write_bytes((data / "benhan.sqlite").read_bytes())
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(stolen).execute("SELECT * FROM sqlite_master").fetchall()
    assert patient_family(url, pid) == "Trần"

    # A wrong key file: one line, non-zero, nothing changed.
    good = (data / "benhan.key").read_bytes()
    encryption.write_key_file(data / "benhan.key", encryption.new_recovery()[0])
    line = one_line(run_benhan("migrate", "--data-dir", str(data)))
    assert "does not open the database" in line and "benhan key recover" in line
    # No key file at all (a new machine): one line that says how to get it back.
    (data / "benhan.key").unlink()
    line = one_line(run_benhan("migrate", "--data-dir", str(data)))
    assert "key file" in line and "benhan key recover" in line
    # A mistyped recovery key, then another database's: one line each, no key file written.
    typo = recovery[:-1] + ("0" if recovery[-1] != "0" else "1")
    assert "mistyped" in one_line(run_benhan("key", "recover", "--recovery-key", typo, "--data-dir", str(data)))
    other = encryption.new_recovery()[1]
    assert "does not open" in one_line(run_benhan("key", "recover", "--recovery-key", other, "--data-dir", str(data)))
    assert not (data / "benhan.key").exists()
    done = run_benhan("key", "recover", "--recovery-key", recovery.lower().replace("-", " "), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert encryption.read_key_file(data / "benhan.key").hex() == json.loads(good)["key"]
    assert patient_family(url, pid) == "Trần"

    # Rotation: a new key and recovery key; the old recovery key no longer opens the database.
    done = run_benhan("key", "rotate", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    new_recovery = recovery_key_in(done.stdout)
    assert new_recovery != recovery
    assert encryption.read_key_file(data / "benhan.key").hex() != json.loads(good)["key"]
    assert patient_family(url, pid) == "Trần"
    (data / "benhan.key").unlink()
    assert "does not open" in one_line(run_benhan("key", "recover", "--recovery-key", recovery,
                                                  "--data-dir", str(data)))
    assert run_benhan("key", "recover", "--recovery-key", new_recovery, "--data-dir", str(data)).returncode == 0
    assert patient_family(url, pid) == "Trần"


def test_a_key_file_elsewhere_is_named_by_the_setting(tmp_path: Path) -> None:
    data, usb = tmp_path / "data", tmp_path / "usb"
    data.mkdir()
    (data / "benhan.toml").write_text(f'database_key_file = "{usb / "benhan.key"}"\n', encoding="utf-8")
    done = run_benhan("key", "init", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    recovery_key_in(done.stdout)
    assert (usb / "benhan.key").exists() and not (data / "benhan.key").exists()
    assert run_benhan("migrate", "--data-dir", str(data)).returncode == 0
    assert encryption.is_plain_file(data / "benhan.sqlite") is False
    status = run_benhan("key", "status", "--data-dir", str(data)).stdout
    assert "(encrypted)" in status and str(usb / "benhan.key") in status
    # The USB stick pulled out: the database cannot be opened, in one line.
    (usb / "benhan.key").rename(tmp_path / "away.key")
    assert "benhan key recover" in one_line(run_benhan("migrate", "--data-dir", str(data)))


def _fingerprint(con, audit_upto: int) -> dict[str, tuple[int, str]]:  # noqa: ANN001
    """Rows and a content hash of the resources, their versions, the change log and the audit trail
    (up to a row: the backup taken first adds its own audit event), read through a DB-API connection."""
    out = {}
    for table, query in (("resource", "ORDER BY pk"), ("resource_version", "ORDER BY resource_pk, version"),
                         ("change_log", "ORDER BY seq"), ("audit_event", f"WHERE seq <= {audit_upto} ORDER BY seq")):
        h, n = hashlib.sha256(), 0
        for row in con.execute(f"SELECT * FROM {table} {query}"):
            h.update(repr(tuple(row)).encode())
            n += 1
        out[table] = (n, h.hexdigest())
    return out


def test_a_plain_demo_database_is_encrypted_in_place_with_every_resource_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_benhan("demo", "--patients", "3", "--data-dir", str(data), timeout=300).returncode == 0
    db_file = data / "benhan.sqlite"
    plain = sqlite3.connect(db_file)
    last_audit = plain.execute("SELECT max(seq) FROM audit_event").fetchone()[0]
    before = _fingerprint(plain, last_audit)
    names = [json.loads(decode_body(enc, body))["name"][0]["family"] for enc, body in plain.execute(
        "SELECT v.encoding, v.body FROM resource r JOIN resource_version v ON v.resource_pk = r.pk "
        "AND v.version = r.version WHERE r.res_type = 'Patient'")]
    plain.close()
    assert before["resource"][0] > 50 and names
    # The plain file shows a family name somewhere (the search index keeps it in the clear).
    family = next(n for n in names if n.encode() in db_file.read_bytes())

    done = run_benhan("key", "encrypt-database", "--data-dir", str(data), timeout=300)
    assert done.returncode == 0, done.stderr
    recovery_key_in(done.stdout)
    assert "backup first" in done.stdout
    assert not list(data.glob("benhan.sqlite.plain-old*")) and not (data / "benhan.sqlite.encrypting").exists()
    raw = db_file.read_bytes()
    assert not raw.startswith(b"SQLite format 3") and family.encode() not in raw
    db = Database(f"sqlite:///{db_file}")
    try:
        with db.read() as conn:
            dbapi = conn.connection.driver_connection
            after = _fingerprint(dbapi, last_audit)
            added = dbapi.execute(f"SELECT count(*) FROM audit_event WHERE seq > {last_audit}").fetchone()[0]
    finally:
        db.dispose()
    assert after == before
    assert added == 1           # the backup taken first, audited
    # Twice is refused in one line.
    assert "not a plain SQLite database" in one_line(run_benhan("key", "encrypt-database", "--data-dir", str(data)))


def test_a_backup_snapshot_of_an_encrypted_database_is_a_plain_copy_for_the_backup_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_benhan("key", "init", "--data-dir", str(data)).returncode == 0
    assert run_benhan("migrate", "--data-dir", str(data)).returncode == 0
    url = f"sqlite:///{data / 'benhan.sqlite'}"
    db = Database(url)
    try:
        with db.write() as conn:
            conn.execute(text("INSERT INTO node_setting (key, value) VALUES ('probe', 'Nguyễn')"))
    finally:
        db.dispose()
    snap = encryption.plain_snapshot(url, tmp_path / "snap.sqlite")
    con = sqlite3.connect(snap)
    assert con.execute("SELECT value FROM node_setting WHERE key = 'probe'").fetchone() == ("Nguyễn",)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_a_postgresql_url_passes_its_tls_options_to_the_driver(tmp_path: Path, pg_database: str) -> None:
    """`?sslmode=…` in database_url reaches libpq (docs/security.md: verify-full for a hub's database).
    This machine's PostgreSQL runs without TLS, so sslmode=require is refused by the server — which
    shows the option was passed — in one line; sslmode=disable connects."""
    from sqlalchemy import create_engine
    engine = create_engine(pg_database)
    try:
        with engine.connect() as conn:
            ssl_on = conn.execute(text("SHOW ssl")).scalar() == "on"
    finally:
        engine.dispose()
    sep = "&" if "?" in pg_database else "?"
    done = run_benhan("migrate", "--data-dir", str(tmp_path / "d"), "--database-url", pg_database + sep + "sslmode=require")
    if ssl_on:
        assert done.returncode == 0, done.stderr
    else:
        assert "SSL" in one_line(done)
    done = run_benhan("migrate", "--data-dir", str(tmp_path / "d"), "--database-url", pg_database + sep + "sslmode=disable")
    assert done.returncode == 0 and "schema" in done.stdout, done.stderr
    done = run_benhan("key", "status", "--data-dir", str(tmp_path / "d"), "--database-url", pg_database)
    assert done.returncode == 0 and "disk encryption" in done.stdout


def test_an_encrypted_database_is_backed_up_encrypted_and_restored_onto_its_node(tmp_path: Path) -> None:
    """store/backup.py takes the snapshot with encryption.plain_snapshot and encrypts it with the
    backup key; an unencrypted backup of an encrypted database is refused in one line that does not
    call the database damaged; a restore onto the node is encrypted with the node's key again."""
    data = tmp_path / "data"
    assert run_benhan("key", "init", "--data-dir", str(data)).returncode == 0
    assert run_benhan("migrate", "--data-dir", str(data)).returncode == 0
    url = f"sqlite:///{data / 'benhan.sqlite'}"
    db = Database(url)
    try:
        with db.write() as conn:
            conn.execute(text("INSERT INTO node_setting (key, value) VALUES ('probe', 'Nguyễn Thị Hoa')"))
    finally:
        db.dispose()
    line = one_line(run_benhan("backup", "--data-dir", str(data)))
    assert "is encrypted" in line and "not damaged" in line and "backup init-key" in line
    assert run_benhan("backup", "init-key", "--data-dir", str(data)).returncode == 0
    done = run_benhan("backup", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    backup_file = Path(done.stdout.strip().splitlines()[-1])
    assert "Nguyễn".encode() not in backup_file.read_bytes()
    db = Database(url)
    try:
        with db.write() as conn:
            conn.execute(text("UPDATE node_setting SET value = 'changed' WHERE key = 'probe'"))
    finally:
        db.dispose()
    done = run_benhan("restore", str(backup_file), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert encryption.is_plain_file(data / "benhan.sqlite") is False
    db = Database(url)
    try:
        with db.read() as conn:
            assert conn.execute(text("SELECT value FROM node_setting WHERE key = 'probe'")).scalar() == "Nguyễn Thị Hoa"
    finally:
        db.dispose()


def test_encrypting_or_rotating_under_a_running_server_is_refused_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    proc, _port, _log = serve(data)
    try:
        line = one_line(run_benhan("key", "encrypt-database", "--data-dir", str(data)))
        assert "in use" in line and "stop the server" in line
    finally:
        end(proc)
    assert encryption.is_plain_file(data / "benhan.sqlite") is True and not (data / "benhan.key").exists()
    assert not (data / "backups").exists() or not list((data / "backups").glob("*pre-encrypt*"))
    assert run_benhan("key", "encrypt-database", "--data-dir", str(data), "--no-backup").returncode == 0
    proc, _port, _log = serve(data)
    try:
        assert "in use" in one_line(run_benhan("key", "rotate", "--data-dir", str(data)))
    finally:
        end(proc)
