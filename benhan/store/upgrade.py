"""A safe upgrade: back up, migrate, and on failure put the database back as it was.

`benhan upgrade`, `benhan migrate` and the server's start-up migration (Store.open) all come here.
A facility with a part-time IT person must never be left with half a schema: the old version of
benhan (which they can reinstall) must find its database intact.

1. Note a fingerprint of the database: schema revision, the tables, the row count of each table,
   and a SHA-256 over every resource's (type, id, version, deleted, content hash).
2. Back up (store/backup.py, `benhan-pre-upgrade-<rev>-<time>`), when the database holds data:
   encrypted with the data folder's backup key (store/backup_crypto.py; created, its recovery key
   left for the admin page, when there is none yet), like every other backup — an upgrade must not
   leave the whole record in plain text beside the database. A database encrypted at rest
   (SQLCipher) can only be backed up this way.
3. Migrate (Alembic, in one transaction: on SQLite and PostgreSQL a failing DDL statement normally
   takes the whole migration back with it).
4. On failure: fingerprint again. When it equals the one before, the transaction did undo
   everything. When it does not (a migration that committed part of its work, a dropped
   connection mid-way), the backup is put back — SQLite: the file swapped (the failed one kept
   beside it as `….failed-upgrade-<time>`); PostgreSQL: pg_restore --clean in one transaction and
   the tables the failed migration added dropped — and the fingerprint checked once more.
   Either way UpgradeFailed says in one line what failed and that the database was rolled back.

A rollback is not a restore in the sync or audit sense: the database is exactly the one the
backup was taken of a moment ago, nothing happened in between, so no new sync epoch is started.
"""
from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import inspect, select, text

from benhan import errors
from benhan.store import backup as backup_mod
from benhan.store import backup_crypto
from benhan.store import migrate
from benhan.store.database import Database
from benhan.store.health_probes import sqlite_file
from benhan.store.schema import resource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fingerprint:
    revision: str | None
    tables: dict[str, int]            # table → rows
    resources_digest: str

    @property
    def resources(self) -> int:
        return self.tables.get("resource", 0)


def fingerprint(db: Database) -> Fingerprint:
    """What a rollback must give back: the revision, every table's row count, the resources' digest."""
    names = sorted(inspect(db.engine).get_table_names())
    with db.read() as conn:
        counts = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar() for n in names}
        h = hashlib.sha256()
        if "resource" in names:
            q = (select(resource.c.res_type, resource.c.res_id, resource.c.version, resource.c.deleted,
                        resource.c.content_hash).order_by(resource.c.res_type, resource.c.res_id))
            for t, i, v, d, ch in conn.execute(q):
                h.update(f"{t}/{i}/{v}/{int(bool(d))}/".encode())
                h.update(bytes(ch) if ch is not None else b"-")
                h.update(b"\n")
    return Fingerprint(migrate.current_revision(db), counts, h.hexdigest())


@dataclass
class Upgraded:
    state: str                        # empty | current | behind (as migrate.status said before)
    before: str | None                # revision before
    after: str | None                 # revision after
    backup: Path | None = None
    resources: int = 0
    notes: list[str] = field(default_factory=list)


def safe_upgrade(db: Database, backup_dir: Path | None, *, keep: int = 10, label: str = "pre-upgrade",
                 by: str | None = None, data_dir: Path | None = None) -> Upgraded:
    """Bring the schema to head; see the module's text. Raises UpgradeFailed (after the rollback)
    or SchemaUnknown (a schema this version does not know: nothing is touched). `data_dir`: where
    the backup key lives; without it (a caller with no data folder) the backup is the plain format."""
    state = migrate.status(db)
    if state == "unknown":
        migrate.check(db)
    before_rev = migrate.current_revision(db)
    if state == "current":      # every start and command comes here: nothing counted, nothing read
        return Upgraded(state, before_rev, before_rev)
    before = fingerprint(db) if state == "behind" else None
    copy = key = None
    notes: list[str] = []
    if before is not None and backup_dir is not None:
        if data_dir is not None:
            if backup_crypto.init_key(data_dir, pending=True) is not None:
                notes.append("a backup key was made for this backup; its recovery key waits on the admin page "
                             "(Sao lưu / Backups) until someone saves it")
            key = backup_crypto.load_key(data_dir)
        if key is not None:
            copy = backup_mod.encrypted_backup(db, backup_dir, key, label=f"{label}-{before_rev}", by=by).path
        else:
            copy = backup_mod.backup(db, backup_dir, label=f"{label}-{before_rev}", by=by)
        backup_mod.prune(backup_dir, f"{label}-", keep)
        log.info("backup before the upgrade: %s", copy)
    try:
        _migrate(db)
    except Exception as exc:  # noqa: BLE001 - any failure of a migration is rolled back, then reported
        why = _reason(exc)
        # The traceback only at debug level: the command line prints one line (UpgradeFailed).
        log.debug("the upgrade from %s failed: %s", before_rev, why, exc_info=True)
        if before is None:
            raise errors.UpgradeFailed(f"nâng cấp cơ sở dữ liệu mới thất bại | setting up the new database "
                                       f"failed: {why}") from None
        where = _roll_back(db, before, copy, key)
        raise errors.UpgradeFailed(
            f"nâng cấp thất bại, đã trả cơ sở dữ liệu về như trước (phiên bản lược đồ {before_rev}) | the upgrade "
            f"failed and the database was rolled back to schema {before_rev} ({where}): {why}") from None
    after = migrate.current_revision(db)
    done = Upgraded(state, before_rev, after, copy, _resources(db), notes)
    if before is not None and done.resources < before.resources:
        # A migration that loses resources is a failed one, whatever it said.
        where = _roll_back(db, before, copy, key, force=True)
        raise errors.UpgradeFailed(f"nâng cấp làm mất tài nguyên, đã trả về như trước | the upgrade lost resources "
                                   f"({before.resources} → {done.resources}); rolled back to {before_rev} ({where})")
    return done


def _resources(db: Database) -> int:
    try:
        with db.read() as conn:
            return conn.execute(text("SELECT count(*) FROM resource")).scalar() or 0
    except Exception:  # noqa: BLE001 - an empty database has no resource table yet
        return 0


def _migrate(db: Database) -> None:
    migrate.run_upgrade(db)     # Alembic is imported there, only when there is something to migrate


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    said = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return f"{type(orig).__name__}: {said}"[:400]


def _same(db: Database, before: Fingerprint) -> bool:
    try:
        return fingerprint(db) == before
    except Exception:  # noqa: BLE001 - a database left unreadable is not the same
        return False


def _roll_back(db: Database, before: Fingerprint, copy: Path | None, key: backup_crypto.BackupKey | None,
               force: bool = False) -> str:
    """Make the database equal `before` again; a few words on how, for the message."""
    if not force and _same(db, before):
        return "the migration's transaction undid itself" + (f"; backup kept: {copy.name}" if copy else "")
    if copy is None:
        raise errors.UpgradeFailed("the upgrade failed part-way and there is no backup to roll back to; "
                                   "restore the last backup with `benhan restore`")
    if db.is_sqlite:
        _put_back_sqlite(db, copy, key)
    elif copy.name.endswith(backup_mod.ENC_SUFFIX):
        with backup_mod.scratch_dir(copy.parent) as tmp:      # decrypted only there, removed after
            plain = tmp / copy.name.removesuffix(backup_mod.ENC_SUFFIX)
            backup_crypto.decrypt_file(copy, plain, key=key)
            _put_back_pg(db, plain, set(before.tables))
    else:
        _put_back_pg(db, copy, set(before.tables))
    if not _same(db, before):
        raise errors.UpgradeFailed(f"the upgrade failed and putting back the backup {copy} did not give the "
                                   "database as it was; restore it with `benhan restore` (docs/operations.md)")
    return f"restored from {copy.name}"


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _put_back_sqlite(db: Database, copy: Path, key: backup_crypto.BackupKey | None) -> None:
    target = sqlite_file(db.url)
    if target is None:
        raise errors.UpgradeFailed("an in-memory database cannot be rolled back")
    db.dispose()     # every pooled connection closed: SQLite folds the WAL into the file
    staged = target.with_name(target.name + ".rollback")
    if copy.name.endswith(backup_mod.ENC_SUFFIX):
        try:
            backup_crypto.decrypt_file(copy, staged, key=key)
            backup_mod.check_sqlite_copy(copy, staged)      # integrity-checked first
            backup_mod.encrypt_at_rest_like(db.url, staged)  # a SQLCipher node's file stays encrypted
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
    else:
        backup_mod.inspect_sqlite_backup(copy, staged)      # decompressed and integrity-checked first
    failed = target.with_name(f"{target.name}.failed-upgrade-{_stamp()}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(str(target) + suffix)
        if old.exists():
            old.rename(Path(str(failed) + suffix))      # kept for whoever looks into the failure
    os.replace(staged, target)
    log.info("the failed upgrade's database is kept as %s", failed)


def _put_back_pg(db: Database, copy: Path, tables: set[str]) -> None:
    args, env = backup_mod._pg_args(db.url)
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           *args, str(copy)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise errors.UpgradeFailed(f"the upgrade failed and pg_restore of {copy} failed too: "
                                   f"{backup_mod._last_line(done.stderr, done.returncode)}; restore it with "
                                   "`benhan restore`")
    extra = sorted(set(inspect(db.engine).get_table_names()) - tables)
    if extra:   # tables the failed migration created (not in the backup, so pg_restore left them)
        with db.engine.begin() as conn:
            for name in extra:
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
