"""Backups that happen by themselves: the schedule, retention, the second place and the weekly
restore test. Run inside the server by BackupRunner (web/backup_runner.py), a round a minute.

- Schedule: a daily backup at `backup_hour` (the facility's local time, `timezone` setting) and, on
  SQLite, one every hour (`backup_hourly`; the online backup API is cheap). A slot is a local day
  (daily) or a local hour (hourly); the first round after a start takes a slot that was missed.
- One process per slot: a round holds an fcntl lock on `benhan-schedule.lock` in the backup folder
  (a second worker's round waits for it) and, under it, reads which slots are done from the status
  file (backup_status.py); a slot is taken only if it is newer than the one done. Two workers therefore take one backup per slot. (Workers on
  different machines sharing one PostgreSQL database need a shared backup folder for this.)
- Encrypted: backup.encrypted_backup with the data key of backup_crypto (created with its recovery
  key at the first round; the admin page shows the recovery key once).
- Retention, grandfather-father-son by the backup's local time: the newest `backup_keep_hourly`
  backups, plus the newest of each of the last `backup_keep_daily` days, `backup_keep_weekly` ISO
  weeks and `backup_keep_monthly` months. Only files this scheme wrote (benhan-daily-*, benhan-hourly-*
  *.enc) are ever pruned: manual and pre-migration backups are left alone.
- Second place: each backup is copied to `backup_copy_dir` (a USB disk or a mounted share) and the
  same retention applies there; a missing folder is reported (status, admin page), not a failure.
- Restore test: every `backup_restore_test_days` days the newest scheduled backup is decrypted into
  a private scratch folder (SQLite) or a scratch database (PostgreSQL), checked (integrity_check or
  pg_restore), its resources counted and compared with the count in its header, and its audit chain
  head compared with the one noted at backup time; then the scratch copy is deleted.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from benhan import errors
from benhan.store import backup as backup_mod
from benhan.store import backup_audit, backup_crypto, backup_status
from benhan.store.database import Database
from benhan.store.private_files import create_private, private_dir

log = logging.getLogger(__name__)
LOCK_FILE = "benhan-schedule.lock"
LABELS = ("daily", "hourly")
_NAME = re.compile(r"^benhan-(daily|hourly)-(\d{8}T\d{12}Z)\.(sqlite|pgdump)\.enc$")


@dataclass(frozen=True)
class Policy:
    hour: int = 2                 # local hour of the daily backup; < 0: no scheduled backups
    hourly: bool = True           # SQLite only
    keep_hourly: int = 24
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 12
    restore_test_days: int = 7
    copy_dir: Path | None = None
    tz: dt.tzinfo = dt.timezone(dt.timedelta(hours=7))

    @classmethod
    def from_config(cls, config) -> "Policy":  # noqa: ANN001 - benhan.config.Config
        from benhan.fhir.datetimes import parse_zone      # store may import fhir, not auth
        copy = config.backup_copy_dir
        return cls(hour=int(config.backup_hour), hourly=bool(config.backup_hourly),
                   keep_hourly=config.backup_keep_hourly, keep_daily=config.backup_keep_daily,
                   keep_weekly=config.backup_keep_weekly, keep_monthly=config.backup_keep_monthly,
                   restore_test_days=config.backup_restore_test_days,
                   copy_dir=copy if str(copy) not in ("", ".") else None, tz=parse_zone(config.timezone))

    def interval_hours(self, sqlite: bool) -> float:
        return 1.0 if sqlite and self.hourly else 24.0


# --- which slot is due ---------------------------------------------------------------------------

def slots(now: dt.datetime, policy: Policy) -> dict[str, str]:
    """The current daily and hourly slot ids (local time)."""
    local = now.astimezone(policy.tz)
    day = local.date() if local.hour >= policy.hour else local.date() - dt.timedelta(days=1)
    return {"daily": day.strftime("%Y%m%d"), "hourly": local.strftime("%Y%m%d%H")}


def due(now: dt.datetime, policy: Policy, done: dict, sqlite: bool) -> str | None:
    """'daily', 'hourly' or None, given the slots already done."""
    if policy.hour < 0:
        return None
    current = slots(now, policy)
    # Newer than the slot done, not merely different: a worker whose round comes late (or a clock
    # set back) does not take an older slot again. The ids are fixed-width digits: text order is time order.
    if current["daily"] > done.get("daily", ""):
        return "daily"
    if sqlite and policy.hourly and current["hourly"] > done.get("hourly", ""):
        return "hourly"
    return None


# --- retention -----------------------------------------------------------------------------------

def taken(name: str) -> dt.datetime | None:
    found = _NAME.match(name)
    if not found:
        return None
    return dt.datetime.strptime(found.group(2), "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.timezone.utc)


def retained(names: list[str], policy: Policy) -> set[str]:
    """The scheduled backups to keep among `names` (grandfather-father-son by local time)."""
    ours = sorted(((taken(n), n) for n in names if taken(n) is not None), reverse=True)
    keep: set[str] = {n for _, n in ours[:max(policy.keep_hourly, 0)]}
    for count, key in ((policy.keep_daily, lambda t: t.date()),
                       (policy.keep_weekly, lambda t: t.isocalendar()[:2]),
                       (policy.keep_monthly, lambda t: (t.year, t.month))):
        seen: list = []
        for when, name in ours:              # newest first: the first of a period is its newest
            period = key(when.astimezone(policy.tz))
            if period in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(period)
            keep.add(name)
    return keep


def prune(directory: Path, policy: Policy) -> list[str]:
    """Delete the scheduled backups (and their sidecars) that retention does not keep."""
    if not directory.is_dir():
        return []
    names = [p.name for p in directory.iterdir() if _NAME.match(p.name)]
    keep = retained(names, policy)
    gone = []
    for name in names:
        if name not in keep:
            (directory / name).unlink(missing_ok=True)
            (directory / (name + backup_audit.SIDECAR)).unlink(missing_ok=True)
            gone.append(name)
    return sorted(gone)


# --- the status file and the lock ----------------------------------------------------------------

def write_status(backup_dir: Path, data: dict) -> None:
    path = backup_status.status_path(backup_dir)
    partial = path.with_name(path.name + ".part")
    with create_private(partial, "w") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    partial.replace(path)


@contextmanager
def schedule_lock(backup_dir: Path, wait: bool = True) -> Iterator[bool]:
    """True while this process holds the schedule's lock. It waits for another process's round to
    end (then this one sees the slot done); wait=False gives False at once instead."""
    private_dir(backup_dir)
    try:
        import fcntl
    except ImportError:          # Windows: one server process (SQLite) anyway
        yield True
        return
    fd = os.open(Path(backup_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _us(when: dt.datetime) -> int:
    return int(when.timestamp() * 1_000_000)


# --- the restore test ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TestResult:
    ok: bool
    detail: str
    resources: int | None = None


def restore_test(file: Path, db_url: str, *, key: backup_crypto.BackupKey | None = None,
                 recovery: str | None = None) -> TestResult:
    """Decrypt and restore `file` into a scratch copy, check it, compare it with its header. Never
    touches the live database; the scratch copy is always removed."""
    try:
        with open(file, "rb") as f:
            header = backup_crypto.read_header(f, file.name)
        expected = header.meta.get("resources")
        head = header.meta.get("chain_head")
        with backup_mod.scratch_dir(file.parent) as tmp:
            plain = tmp / "restore-test"
            backup_crypto.decrypt_file(file, plain, key=key, recovery=recovery)
            if header.kind == backup_crypto.KIND_SQLITE:
                info = backup_mod.check_sqlite_copy(file, plain)
                found_head = _sqlite_head(plain)
                resources = info.resources
            else:
                resources, found_head = _pg_scratch_restore(plain, db_url)
        if expected is not None and resources != expected:
            return TestResult(False, f"{file.name}: {resources} resources restored, {expected} at backup time",
                              resources)
        if head and (found_head is None or list(found_head) != list(head)):
            return TestResult(False, f"{file.name}: the audit chain head restored is {found_head}, "
                                     f"{head} at backup time", resources)
        return TestResult(True, f"{file.name}: {resources} resources, integrity ok", resources)
    except errors.BenhanError as exc:
        return TestResult(False, str(exc))
    except (OSError, sqlite3.Error) as exc:
        return TestResult(False, f"{file.name}: {exc}")


def _sqlite_head(path: Path) -> tuple[int, str] | None:
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT chain_pos, hash FROM audit_chain_head").fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return (row[0], row[1]) if row else None


def _pg_scratch_restore(dump: Path, db_url: str) -> tuple[int, tuple[int, str] | None]:
    """pg_restore into a scratch database on the same server, count, read the head, drop it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    url = make_url(db_url)
    scratch = f"benhan_restore_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        try:
            args, env = backup_mod._pg_args(url.set(database=scratch).render_as_string(hide_password=False))
            done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", *args, str(dump)],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise errors.RestoreRefused("pg_restore into the scratch database failed: "
                                            + backup_mod._last_line(done.stderr, done.returncode))
            engine = create_engine(url.set(database=scratch))
            try:
                with engine.connect() as conn:
                    resources = conn.execute(text("SELECT count(*) FROM resource")).scalar()
                    row = conn.execute(text("SELECT chain_pos, hash FROM audit_chain_head")).first()
            finally:
                engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    finally:
        admin.dispose()
    return resources, ((row[0], row[1]) if row else None)


# --- one round -----------------------------------------------------------------------------------

def copy_to_second_place(file: Path, policy: Policy) -> tuple[bool | None, str | None]:
    if policy.copy_dir is None:
        return None, None
    target_dir = Path(policy.copy_dir)
    if not target_dir.is_dir():
        return False, f"{target_dir} is not there (USB disk not plugged in, or the share not mounted?)"
    try:
        partial = target_dir / (file.name + ".part")
        with open(file, "rb") as fin, create_private(partial) as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
            fout.flush()
            os.fsync(fout.fileno())
        partial.replace(target_dir / file.name)
        prune(target_dir, policy)
    except OSError as exc:
        return False, f"copy to {target_dir} failed: {exc}"
    return True, None


def run_round(db: Database, data_dir: Path, backup_dir: Path, policy: Policy, now: dt.datetime) -> str:
    """One scheduler round: 'busy' (another process holds the lock), 'idle', or what it did."""
    with schedule_lock(backup_dir) as mine:
        if not mine:
            return "busy"
        _remove_stale_scratch(backup_dir, now)
        data = backup_status.read_raw(backup_dir)
        done = dict(data.get("slots") or {})
        label = due(now, policy, done, db.is_sqlite)
        did = []
        if label:
            did.append(_take(db, data_dir, backup_dir, policy, now, label, data, done))
            write_status(backup_dir, data)
        last_test = data.get("last_restore_test_at")
        if policy.hour >= 0 and data.get("last_success_at") and (
                last_test is None or _us(now) - last_test >= policy.restore_test_days * 86400e6):
            did.append(_test(db, data_dir, backup_dir, now, data))
            write_status(backup_dir, data)
        return "; ".join(did) or "idle"


def _remove_stale_scratch(backup_dir: Path, now: dt.datetime, older_than_hours: float = 6) -> None:
    """A process killed mid-backup leaves its scratch folder (a plain snapshot) behind: remove those
    not touched for hours (a running backup's own is recent)."""
    for tmp in Path(backup_dir).glob(".benhan-scratch-*"):
        try:
            if now.timestamp() - tmp.stat().st_mtime > older_than_hours * 3600:
                shutil.rmtree(tmp, ignore_errors=True)
                log.warning("removed a scratch folder left by an interrupted backup: %s", tmp)
        except OSError:
            pass


def _take(db: Database, data_dir: Path, backup_dir: Path, policy: Policy, now: dt.datetime, label: str,
          data: dict, done: dict) -> str:
    current = slots(now, policy)
    data.update(last_backup_at=_us(now), schedule_hours=policy.interval_hours(db.is_sqlite))
    try:
        key = backup_crypto.load_key(data_dir)
        if key is None:                    # the first round: a key, its recovery key kept for the admin page
            backup_crypto.init_key(data_dir, pending=True)
            key = backup_crypto.load_key(data_dir)
        made = backup_mod.encrypted_backup(db, backup_dir, key, label, by="system:backup-schedule",
                                           now_us=_us(now))
    except Exception as exc:  # noqa: BLE001 - any failure is the status the footer shows, not a dead round
        message = exc.message if isinstance(exc, errors.BenhanError) else f"{type(exc).__name__}: {exc}"
        data.update(last_ok=False, last_error=message.splitlines()[0][:500] if message else type(exc).__name__)
        log.error("scheduled %s backup failed: %s", label, exc)
        return f"{label} backup failed"
    done[label] = current[label]
    if label == "daily":
        done["hourly"] = current["hourly"]      # the daily one covers this hour
    ok, why = copy_to_second_place(made.path, policy)
    data.update(last_ok=True, last_error=None, last_backup_file=made.path.name, last_resources=made.resources,
                last_success_at=_us(now), second_place_ok=ok, second_place_error=why, slots=done)
    if why:
        log.warning("backup second place: %s", why)
    prune(backup_dir, policy)
    return f"{label} backup {made.path.name}"


def newest_scheduled(backup_dir: Path) -> Path | None:
    found = sorted((taken(p.name), p) for p in Path(backup_dir).iterdir() if _NAME.match(p.name)) \
        if Path(backup_dir).is_dir() else []
    return found[-1][1] if found else None


def _test(db: Database, data_dir: Path, backup_dir: Path, now: dt.datetime, data: dict) -> str:
    file = newest_scheduled(backup_dir)
    if file is None:
        result = TestResult(False, "no scheduled backup to test")
    else:
        try:
            result = restore_test(file, db.url, key=backup_crypto.load_key(data_dir))
        except Exception as exc:  # noqa: BLE001 - a failed test is a result, not a dead scheduler
            result = TestResult(False, f"{file.name}: {exc}")
    data.update(last_restore_test_at=_us(now), restore_test_ok=result.ok, restore_test_detail=result.detail[:500])
    (log.info if result.ok else log.error)("restore test: %s", result.detail)
    return f"restore test {'ok' if result.ok else 'FAILED'}"


NowFn = Callable[[], dt.datetime]
