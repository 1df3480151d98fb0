"""Issue 17 part 1: backups that happen by themselves — encrypted, kept by grandfather-father-son,
copied to a second place, restore-tested — and the drills an IT person relies on: a damaged
database restored from the last scheduled backup with the recovery key; a wrong key or a changed
file refused in one line. Real CLI processes (each in its own process group, ended on failure too),
real SQLite files and a real PostgreSQL database."""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from benhan import config as config_mod, errors
from benhan.auth.actor import Actor
from benhan.store import backup, backup_crypto, backup_schedule as bs, backup_status
from benhan.store.database import Database
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests.server_process import end, spawn

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 9, 20, 30, tzinfo=UTC)      # 03:30 on 10/03 in +07:00


def add_patients(store: Store, n: int, family: str = "Nguyễn") -> None:
    repo = Repository(store, Actor.system("test"))
    for i in range(n):
        repo.create("Patient", {"resourceType": "Patient", "name": [{"family": family, "given": [f"Văn {i}"]}]})


def count(store: Store) -> int:
    from sqlalchemy import func, select
    from benhan.store.schema import resource
    with store.db.read() as conn:
        return conn.execute(select(func.count()).select_from(resource)).scalar()


def benhan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI as a real process in its own process group; end the group whatever happens."""
    p = spawn([sys.executable, "-m", "benhan.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
              text=True, env={**os.environ, **(env or {})})
    try:
        out, err = p.communicate(timeout=300)
    finally:
        end(p)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def policy(**kw) -> bs.Policy:  # noqa: ANN003
    return bs.Policy(**kw)


# --- the encrypted format ------------------------------------------------------------------------

def _encrypt(tmp_path: Path, data: bytes, chunk: int, monkeypatch) -> tuple[Path, backup_crypto.BackupKey, str]:  # noqa: ANN001
    monkeypatch.setattr(backup_crypto, "CHUNK", chunk)
    key, recovery = backup_crypto.new_key()
    path = tmp_path / "x.sqlite.enc"
    with open(path, "wb") as f:
        enc = backup_crypto.Encryptor(f, key, backup_crypto.KIND_SQLITE, {"resources": 3}, compress=False)
        enc.write(data)
        enc.close()
    return path, key, recovery


def _chunks(raw: bytes) -> tuple[bytes, list[bytes]]:
    import struct
    fixed = struct.calcsize(">8sBB8s16s16s12s48sI")
    meta_len = struct.unpack(">I", raw[fixed - 4:fixed])[0]
    pos = fixed + meta_len
    header, chunks = raw[:pos], []
    while pos < len(raw):
        length = struct.unpack(">I", raw[pos + 1:pos + 5])[0]
        chunks.append(raw[pos:pos + 5 + length])
        pos += 5 + length
    return header, chunks


def test_round_trip_with_the_recovery_key_alone_and_with_the_key_file(tmp_path, monkeypatch):
    data = os.urandom(10_000)
    path, key, recovery = _encrypt(tmp_path, data, 1000, monkeypatch)
    assert data not in path.read_bytes()
    backup_crypto.decrypt_file(path, tmp_path / "a", recovery=recovery.lower().replace("-", " "))
    assert (tmp_path / "a").read_bytes() == data
    backup_crypto.decrypt_file(path, tmp_path / "b", key=key)
    assert (tmp_path / "b").read_bytes() == data
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o600


def test_compressed_stream_round_trip_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(backup_crypto, "CHUNK", 512)
    key, recovery = backup_crypto.new_key()
    data = ("Nguyễn Văn An, 12 Lê Lợi, Huế; " * 2000).encode() + os.urandom(3000)
    path = tmp_path / "z.sqlite.enc"
    with open(path, "wb") as f:
        enc = backup_crypto.Encryptor(f, key, backup_crypto.KIND_SQLITE, {})
        for i in range(0, len(data), 777):
            enc.write(data[i:i + 777])
        enc.close()
    assert path.stat().st_size < len(data) // 3
    backup_crypto.decrypt_file(path, tmp_path / "out", recovery=recovery)
    assert (tmp_path / "out").read_bytes() == data


def test_a_wrong_or_mistyped_recovery_key_is_one_clear_refusal(tmp_path, monkeypatch):
    path, _, recovery = _encrypt(tmp_path, b"x" * 100, 1000, monkeypatch)
    other = backup_crypto.new_key()[1]
    with pytest.raises(backup_crypto.WrongRecoveryKey) as wrong:
        backup_crypto.decrypt_file(path, tmp_path / "out", recovery=other)
    assert str(wrong.value.message) == backup_crypto.WRONG_KEY
    typo = ("Z" if recovery[0] != "Z" else "Y") + recovery[1:]
    with pytest.raises(errors.RestoreRefused, match="mistyped"):
        backup_crypto.decrypt_file(path, tmp_path / "out", recovery=typo)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["flip", "reorder", "drop_final", "drop_middle", "append", "meta"])
def test_a_changed_backup_is_refused_naming_what_is_wrong(tmp_path, monkeypatch, damage):
    path, key, _ = _encrypt(tmp_path, os.urandom(5000), 1000, monkeypatch)
    header, chunks = _chunks(path.read_bytes())
    assert len(chunks) == 5
    if damage == "flip":
        bad = bytearray(chunks[2])
        bad[20] ^= 1
        chunks[2] = bytes(bad)
    elif damage == "reorder":
        chunks[1], chunks[2] = chunks[2], chunks[1]
    elif damage == "drop_final":
        chunks = chunks[:-1]
    elif damage == "drop_middle":
        del chunks[2]
    elif damage == "append":
        chunks.append(chunks[1])
    else:
        header = header.replace(b'"resources": 3', b'"resources": 4')
    path.write_bytes(header + b"".join(chunks))
    expected = {"flip": "chunk 2", "reorder": "chunk 1", "drop_final": "without its final chunk",
                "drop_middle": "chunk 2", "append": "after its final chunk", "meta": "header or first chunk"}
    with pytest.raises(backup_crypto.BackupDamaged, match=expected[damage]):
        backup_crypto.decrypt_file(path, tmp_path / "out", key=key)
    assert not (tmp_path / "out").exists()


# --- retention -----------------------------------------------------------------------------------

def _name(when: dt.datetime, label: str = "daily") -> str:
    return f"benhan-{label}-{when.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.sqlite.enc"


def test_retention_keeps_7_daily_4_weekly_12_monthly_by_local_time():
    tz = dt.timezone(dt.timedelta(hours=7))
    # A daily backup at 02:00 local for 400 days up to Tuesday 31/03/2026, and others' files beside.
    last = dt.datetime(2026, 3, 31, 2, 0, tzinfo=tz)
    names = [_name(last - dt.timedelta(days=d)) for d in range(400)]
    foreign = ["benhan-manual-20260101T000000000000Z.sqlite.enc", "benhan-pre-migrate-0007-x.sqlite.gz"]
    keep = bs.retained(names + foreign, bs.Policy(keep_hourly=0, tz=tz))
    days = sorted(dt.datetime.strptime(n.split("-")[2][:8], "%Y%m%d").date() for n in keep)
    # 02:00 local is 19:00 UTC the day before: the names carry the UTC day.
    local_days = sorted(d + dt.timedelta(days=1) for d in days)
    expected = {dt.date(2026, 3, d) for d in range(25, 32)}                  # 7 days
    expected |= {dt.date(2026, 3, 22), dt.date(2026, 3, 15)}                 # Sundays ending the weeks before
    expected |= {dt.date(2026, 2, 28), dt.date(2026, 1, 31), dt.date(2025, 12, 31), dt.date(2025, 11, 30),
                 dt.date(2025, 10, 31), dt.date(2025, 9, 30), dt.date(2025, 8, 31), dt.date(2025, 7, 31),
                 dt.date(2025, 6, 30), dt.date(2025, 5, 31), dt.date(2025, 4, 30)}   # month ends
    assert set(local_days) == expected
    assert not set(foreign) & keep


def test_prune_deletes_only_the_scheduled_backups_retention_drops(tmp_path):
    now = T0
    for h in range(30):
        (tmp_path / _name(now - dt.timedelta(hours=h), "hourly")).write_bytes(b"x")
        (tmp_path / (_name(now - dt.timedelta(hours=h), "hourly") + ".audit-head.json")).write_text("{}")
    (tmp_path / "benhan-manual-20200101T000000000000Z.sqlite.enc").write_bytes(b"x")
    gone = bs.prune(tmp_path, bs.Policy(keep_hourly=24, keep_daily=1, keep_weekly=0, keep_monthly=0))
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("benhan-hourly") and p.suffix == ".enc")
    assert len(left) == 24 and len(gone) == 6
    assert all(not (tmp_path / (g + ".audit-head.json")).exists() for g in gone)
    assert (tmp_path / "benhan-manual-20200101T000000000000Z.sqlite.enc").exists()


# --- the schedule --------------------------------------------------------------------------------

def test_slots_follow_the_local_day_and_hour():
    p = bs.Policy(hour=2)
    # 18:30 UTC on 09/03 = 01:30 on 10/03 local: before 02:00, so still the 09/03 daily slot.
    assert bs.due(dt.datetime(2026, 3, 9, 18, 30, tzinfo=UTC), p, {"daily": "20260309"}, sqlite=False) is None
    assert bs.due(dt.datetime(2026, 3, 9, 19, 0, tzinfo=UTC), p, {"daily": "20260309"}, sqlite=False) == "daily"
    done = {"daily": "20260310", "hourly": "2026031003"}
    assert bs.due(T0, p, done, sqlite=True) is None
    assert bs.due(T0 + dt.timedelta(hours=1), p, done, sqlite=True) == "hourly"
    assert bs.due(T0 + dt.timedelta(hours=1), p, done, sqlite=False) is None
    assert bs.due(T0, bs.Policy(hour=-1), {}, sqlite=True) is None


WORKER = """
import datetime as dt, sys
from pathlib import Path
from benhan.store import backup_schedule as bs
from benhan.store.database import Database
url, data, backups, start = sys.argv[1:5]
db = Database(url)
t0 = dt.datetime.fromisoformat(start)
for minutes in (0, 1, 2, 61, 62):      # a worker's rounds, a minute apart, through two hours
    print(bs.run_round(db, Path(data), Path(backups), bs.Policy(restore_test_days=10_000),
                       t0 + dt.timedelta(minutes=minutes)), flush=True)
db.dispose()
"""


@pytest.fixture
def sqlite_store(tmp_path):  # noqa: ANN001, ANN201
    s = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data"))
    yield s
    s.close()


def test_two_workers_take_one_backup_per_slot(sqlite_store, tmp_path):
    add_patients(sqlite_store, 3)
    cfg = sqlite_store.config
    workers = [spawn([sys.executable, "-c", WORKER, sqlite_store.db.url, str(cfg.data_dir), str(cfg.backups),
                      T0.isoformat()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        outputs = [w.communicate(timeout=300) for w in workers]
    finally:
        for w in workers:
            end(w)
    assert all(w.returncode == 0 for w in workers), outputs
    said = [line for out, _ in outputs for line in out.splitlines()]
    assert sum("daily backup" in line for line in said) == 1 and sum("hourly backup" in line for line in said) == 1
    made = sorted(p.name for p in cfg.backups.iterdir() if p.name.endswith(".enc"))
    assert [n.split("-")[1] for n in made] == ["daily", "hourly"], made
    st = backup_status.status(cfg.backups)
    assert st.last_ok and st.slots == {"daily": "20260310", "hourly": "2026031004"}


def test_the_runner_takes_the_backup_tests_it_and_reports_the_missing_second_place(sqlite_store, tmp_path):
    from benhan.web.backup_runner import BackupRunner
    add_patients(sqlite_store, 4)
    store = SimpleNamespace(config=sqlite_store.config.replace(backup_copy_dir=str(tmp_path / "usb")),
                            db=sqlite_store.db)
    clock = [T0]
    runner = BackupRunner(store, now=lambda: clock[0])
    assert "daily backup" in runner.run_round() and "restore test ok" in runner.last
    st = backup_status.status(store.config.backups)
    assert st.last_ok and st.restore_test_ok and st.last_resources == count(store)
    assert st.second_place_ok is False and "usb" in st.second_place_error
    assert st.problems(bs._us(clock[0])) == []
    # The recovery key is kept for the admin page to show once; the key file is owner-only.
    pending = store.config.data_dir / backup_crypto.PENDING_RECOVERY_FILE
    assert backup_crypto.parse_recovery_key(pending.read_text())
    assert stat.S_IMODE(backup_crypto.key_path(store.config.data_dir).stat().st_mode) == 0o600
    # The USB disk comes back: the next backup is copied there too.
    (tmp_path / "usb").mkdir()
    clock[0] += dt.timedelta(hours=1)
    assert "hourly backup" in runner.run_round()
    st = backup_status.status(store.config.backups)
    assert st.second_place_ok is True and (tmp_path / "usb" / st.last_backup_file).is_file()
    # Three hours without a backup (twice the hourly schedule and more): the footer says "late".
    assert st.problems(bs._us(clock[0] + dt.timedelta(hours=3))) == ["backup.warn.late"]


# --- the drills ----------------------------------------------------------------------------------

def _corrupt_pages(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    for page in range(4096 * 2, len(raw), 4096):
        raw[page + 8:page + 400] = b"\xde" * 392
    path.write_bytes(bytes(raw))


def test_drill_sqlite_damaged_database_restored_from_the_scheduled_backup_with_the_recovery_key(tmp_path):
    data = tmp_path / "data"
    store = Store.open(config_mod.load(env={}, data_dir=data))
    try:
        add_patients(store, 20)
        assert "daily backup" in bs.run_round(store.db, data, store.config.backups, bs.Policy(), T0)
        at_backup = count(store)
        add_patients(store, 5, family="Trần")            # written after the backup: these are lost
    finally:
        store.close()
    recovery = (data / backup_crypto.PENDING_RECOVERY_FILE).read_text().strip()
    st = backup_status.status(data / "backups")
    file = data / "backups" / st.last_backup_file
    # The PC dies; a new one has only the backup file (copied off) and the paper with the key.
    (data / "benhan.sqlite-wal").unlink(missing_ok=True)
    _corrupt_pages(data / "benhan.sqlite")
    con = sqlite3.connect(data / "benhan.sqlite")
    try:
        found = con.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        found = str(exc)
    finally:
        con.close()
    assert found != "ok"
    damaged = benhan("audit", "verify", "--data-dir", str(data))
    assert damaged.returncode == 1 and "BENHAN-4007" in damaged.stderr
    # The next scheduled round notices too: the backup fails (shown in every footer), the good one stays.
    db = Database(f"sqlite:///{data / 'benhan.sqlite'}")
    try:
        assert "backup failed" in bs.run_round(db, data, data / "backups", bs.Policy(), T0 + dt.timedelta(hours=1))
    finally:
        db.dispose()
    after = backup_status.status(data / "backups")
    assert after.last_ok is False and "damaged" in after.last_error and after.last_backup_file == file.name
    assert "backup.warn.failed" in after.problems(bs._us(T0 + dt.timedelta(hours=1)))
    assert file.is_file()
    new = tmp_path / "new-pc"
    new.mkdir()
    copy = new / file.name
    copy.write_bytes(file.read_bytes())

    wrong = benhan("restore", str(copy), "--data-dir", str(new / "data"), "--recovery-key", backup_crypto.new_key()[1])
    assert wrong.returncode == 1 and wrong.stderr.strip().count("\n") == 0
    assert backup_crypto.WRONG_KEY in wrong.stderr and "Traceback" not in wrong.stderr
    assert not (new / "data" / "benhan.sqlite").exists()

    tampered = new / ("x" + file.name)
    raw = bytearray(copy.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    tampered.write_bytes(bytes(raw))
    refused = benhan("restore", str(tampered), "--data-dir", str(new / "data"), "--recovery-key", recovery)
    assert refused.returncode == 1 and "fails authentication" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0 and not (new / "data" / "benhan.sqlite").exists()

    done = benhan("restore", str(copy), "--data-dir", str(new / "data"), "--recovery-key", recovery)
    assert done.returncode == 0, done.stderr
    restored = Store.open(config_mod.load(env={}, data_dir=new / "data"))
    try:
        assert count(restored) == at_backup
        found = Repository(restored, Actor.system("test")).search_type("Patient", [("family", "Trần")])
        assert found.matches == []
    finally:
        restored.close()
    assert not [p for p in new.rglob("*") if p.name.startswith(".benhan-scratch")]


def test_drill_postgresql_restore_with_the_recovery_key_and_the_restore_test(pg_database, tmp_path):
    from tests.conftest import empty_pg
    url = empty_pg(pg_database)
    data = tmp_path / "data"
    store = Store.open(config_mod.load(env={}, data_dir=data, database_url=url))
    try:
        add_patients(store, 12)
        assert "daily backup" in bs.run_round(store.db, data, store.config.backups, bs.Policy(), T0)
        at_backup = count(store)
        st = backup_status.status(store.config.backups)
        assert st.restore_test_ok, st.restore_test_detail
        assert str(at_backup) in st.restore_test_detail
        add_patients(store, 4, family="Trần")
        # The data is damaged (a table emptied by mistake).
        from sqlalchemy import text
        with store.db.engine.begin() as conn:
            conn.execute(text("TRUNCATE resource CASCADE"))
    finally:
        store.close()
    recovery = (data / backup_crypto.PENDING_RECOVERY_FILE).read_text().strip()
    file = data / "backups" / st.last_backup_file
    assert file.name.endswith(".pgdump.enc") and b"PGDMP" not in file.read_bytes()[:4096]
    wrong = benhan("restore", str(file), "--database-url", url, "--data-dir", str(tmp_path / "other"),
                   "--recovery-key", backup_crypto.new_key()[1])
    assert wrong.returncode == 1 and backup_crypto.WRONG_KEY in wrong.stderr
    done = benhan("restore", str(file), "--database-url", url, "--data-dir", str(tmp_path / "other"),
                  "--recovery-key", recovery)
    assert done.returncode == 0, done.stderr
    restored = Store.open(config_mod.load(env={}, data_dir=data, database_url=url))
    try:
        assert count(restored) == at_backup
        assert len(Repository(restored, Actor.system("t")).search_type("Patient", [("family", "Nguyễn")]).matches) == 12
    finally:
        restored.close()


def test_the_status_file_and_backups_are_owner_only(sqlite_store):
    cfg = sqlite_store.config
    bs.run_round(sqlite_store.db, cfg.data_dir, cfg.backups, bs.Policy(), T0)
    for p in cfg.backups.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p
    assert json.loads(backup_status.status_path(cfg.backups).read_text())["last_ok"] is True


def test_a_scratch_folder_left_by_a_killed_backup_is_removed_later(sqlite_store):
    cfg = sqlite_store.config
    cfg.backups.mkdir(parents=True, exist_ok=True)
    left = cfg.backups / ".benhan-scratch-killed"
    left.mkdir()
    (left / "snapshot.sqlite").write_bytes(b"plain")
    recent = cfg.backups / ".benhan-scratch-running"
    recent.mkdir()
    old = T0.timestamp() - 7 * 3600
    os.utime(left, (old, old))
    os.utime(recent, (T0.timestamp(), T0.timestamp()))
    bs.run_round(sqlite_store.db, cfg.data_dir, cfg.backups, bs.Policy(hour=-1), T0)
    assert not left.exists() and recent.exists()


def test_the_footer_problems_name_a_failure_and_a_failed_restore_test():
    now = bs._us(T0)
    failed = backup_status.BackupStatus(last_backup_at=now, last_ok=False, last_error="disk full",
                                        last_success_at=now - 3600_000_000, last_restore_test_at=now,
                                        restore_test_ok=False, schedule_hours=1.0)
    assert failed.problems(now) == ["backup.warn.failed", "backup.warn.test_failed"]
    fine = backup_status.BackupStatus(last_backup_at=now, last_ok=True, last_success_at=now,
                                      last_restore_test_at=now, restore_test_ok=True, schedule_hours=24.0)
    assert fine.problems(now + 47 * 3600_000_000) == []
    assert fine.problems(now + 49 * 3600_000_000) == ["backup.warn.late"]


def test_a_database_encrypted_at_rest_is_backed_up_and_restored_still_encrypted(tmp_path):
    from benhan.store import encryption
    data = tmp_path / "data"
    data.mkdir()
    cfg = config_mod.load(env={}, data_dir=data, database_encryption=True)
    assert encryption.ensure_at_first_start(cfg.sqlalchemy_url, True)
    store = Store.open(cfg)
    try:
        add_patients(store, 6)
        assert "daily backup" in bs.run_round(store.db, data, cfg.backups, bs.Policy(), T0)
        at_backup = count(store)
        add_patients(store, 2, family="Trần")
    finally:
        store.close()
    st = backup_status.status(cfg.backups)
    assert st.restore_test_ok, st.restore_test_detail
    done = benhan("restore", str(cfg.backups / st.last_backup_file), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert not (data / "benhan.sqlite").read_bytes().startswith(b"SQLite format 3")   # still encrypted at rest
    restored = Store.open(cfg)
    try:
        assert count(restored) == at_backup
    finally:
        restored.close()
