"""Where the automatic backups stand: ONE small reader for the admin page, every page's footer and
`benhan doctor`.

The scheduler (store/backup_schedule.py) keeps its results in a small JSON file in the backup
folder, `benhan-backup-status.json` (owner-only, replaced atomically): the last scheduled backup
(when, ok or the error, the file, the resources it held), the last automatic restore test (when,
ok or what failed) and the second place (the copy folder: ok, or why not). Several server
processes share it through the folder, so it needs no table and no migration.

`status(backup_dir)` reads it; a missing or unreadable file gives an empty BackupStatus (never
backed up, never tested), not an error. `cached_status` is for the page footer: it reads the file
again only when its modification time changes (one stat() per page).
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

STATUS_FILE = "benhan-backup-status.json"


@dataclass(frozen=True)
class BackupStatus:
    """Times are µs since the epoch (UTC), None when it never happened.

    - last_backup_at / last_ok / last_error: the last scheduled backup attempt, its outcome and,
      when it failed, one line saying why;
    - last_backup_file / last_resources: the file it wrote and the resources it held;
    - last_success_at: the last attempt that succeeded (a failure after a success keeps it);
    - last_restore_test_at / restore_test_ok / restore_test_detail: the last automatic restore test;
    - second_place_ok / second_place_error: the copy to the second folder (None: not configured);
    - schedule_hours: the schedule's interval when the status was written (for "late");
    - hub_copy_ok / hub_copy_error / hub_copy_at / hub_copy_file: a node's copy of its newest backup
      to the hub (sync/backup_copy.py; None: never tried, e.g. not enrolled).
    """
    last_backup_at: int | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    last_backup_file: str | None = None
    last_resources: int | None = None
    last_success_at: int | None = None
    last_restore_test_at: int | None = None
    restore_test_ok: bool | None = None
    restore_test_detail: str | None = None
    second_place_ok: bool | None = None
    second_place_error: str | None = None
    schedule_hours: float | None = None
    hub_copy_ok: bool | None = None
    hub_copy_error: str | None = None
    hub_copy_at: int | None = None
    hub_copy_file: str | None = None
    slots: dict = field(default_factory=dict)

    def late(self, now_us: int, schedule_hours: float | None = None) -> bool:
        """No successful backup within twice the schedule's interval (or none ever)."""
        hours = schedule_hours or self.schedule_hours or 24.0
        return self.last_success_at is None or now_us - self.last_success_at > 2 * hours * 3600e6

    def problems(self, now_us: int, schedule_hours: float | None = None) -> list[str]:
        """Message keys (web/locale) of what the footer warns about: late, failed, never restore-tested,
        restore test failed. Empty when all is well."""
        found = []
        if self.last_ok is False:
            found.append("backup.warn.failed")
        elif self.late(now_us, schedule_hours):
            found.append("backup.warn.late")
        if self.last_restore_test_at is None:
            found.append("backup.warn.untested")
        elif self.restore_test_ok is False:
            found.append("backup.warn.test_failed")
        return found


def status_path(backup_dir: Path) -> Path:
    return Path(backup_dir) / STATUS_FILE


def read_raw(backup_dir: Path) -> dict:
    try:
        data = json.loads(status_path(backup_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def status(backup_dir: Path) -> BackupStatus:
    """The backup status kept in `backup_dir` (the `backup_dir` setting; Config.backups)."""
    data = read_raw(backup_dir)
    known = {k: data[k] for k in BackupStatus.__dataclass_fields__ if k in data}
    try:
        return BackupStatus(**known)
    except TypeError:
        return BackupStatus()


def status_for(config) -> BackupStatus:  # noqa: ANN001 - benhan.config.Config
    return status(config.backups)


_cache: dict[Path, tuple[float, BackupStatus]] = {}
_lock = threading.Lock()


def cached_status(backup_dir: Path) -> BackupStatus:
    """status(), read again only when the file changed: cheap enough for every page."""
    path = status_path(backup_dir)
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return BackupStatus()
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    found = status(backup_dir)
    with _lock:
        _cache[path] = (mtime, found)
    return found
