"""Backup and restore.

SQLite: the SQLite online backup API copies a consistent snapshot while the server keeps
writing; the copy is checked (integrity_check) and gzip-compressed into
``benhan-<label>-<UTC time>.sqlite.gz``. PostgreSQL: ``pg_dump --format=custom`` (consistent by
MVCC) into ``….pgdump``.

A restore checks the file completely (decompresses it, runs integrity_check, reads its schema
revision and counts its resources) before it replaces anything; the database it replaces is kept
beside it, renamed, never deleted.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import make_url

from benhan import errors
from benhan.store import backup_audit, backup_crypto, migrate
from benhan.store.database import Database, damaged_file_message
from benhan.store.private_files import create_private, private_dir

SQLITE_SUFFIX = ".sqlite.gz"
PG_SUFFIX = ".pgdump"
ENC_SUFFIX = ".enc"        # the encrypted format of backup_crypto: .sqlite.enc, .pgdump.enc
SQLITE_ENC_SUFFIX = ".sqlite" + ENC_SUFFIX
PG_ENC_SUFFIX = ".pgdump" + ENC_SUFFIX


@dataclass
class BackupInfo:
    path: Path
    revision: str | None
    resources: int


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _sqlite_path(db_url: str) -> Path:
    database = make_url(db_url).database
    if not database or database == ":memory:":
        raise errors.BackupFailed("an in-memory database cannot be backed up")
    return Path(database)


def backup(db: Database, directory: Path, label: str = "manual", *, by: str | None = None) -> Path:
    """Write a consistent backup of the live database into directory; returns its path. The chain
    head goes beside it (backup_audit); `by` (who asked): the backup is an audit event too."""
    private_dir(directory)             # backups hold every record: owner-only (private_files)
    name = f"benhan-{label}-{_stamp()}"
    head = backup_audit.head_of(db)    # before the snapshot: so certainly inside it
    if db.is_sqlite:
        path = _backup_sqlite(_sqlite_path(db.url), directory / (name + SQLITE_SUFFIX))
    else:
        path = _backup_pg(db.url, directory / (name + PG_SUFFIX))
    if head:
        backup_audit.write_sidecar(path, head)
    if by:
        backup_audit.record_backup(db, path, by, head)
    return path


def _backup_sqlite(source: Path, target: Path) -> Path:
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        snapshot = Path(tmp) / "snapshot.sqlite"
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(snapshot)
        try:
            # pages=-1: copy in one step, so the snapshot is one consistent read transaction.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.Error as exc:
            damage = damaged_file_message(exc, f"sqlite:///{source}")
            raise (errors.DatabaseDamaged(damage) if damage
                   else errors.BackupFailed(f"SQLite backup of {source} failed: {exc}")) from None
        finally:
            dst.close()
            src.close()
        if ok != "ok":
            raise errors.BackupFailed(f"the snapshot of {source} failed its integrity check: {ok}")
        partial = target.with_name(target.name + ".part")
        with open(snapshot, "rb") as fin, create_private(partial) as raw, \
                gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6) as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
        _fsync_file(partial)
        partial.rename(target)
        _fsync_dir(target.parent)
    return target


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename inside path survive a power cut (POSIX; Windows has no directory handles)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pg_args(db_url: str) -> tuple[list[str], dict[str, str]]:
    url = make_url(db_url)
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args + ["--dbname", url.database or ""], env


def _backup_pg(db_url: str, target: Path) -> Path:
    if not shutil.which("pg_dump"):
        raise errors.BackupFailed("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    args, env = _pg_args(db_url)
    partial = target.with_name(target.name + ".part")
    create_private(partial).close()     # pg_dump writes into it and keeps its owner-only mode
    done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), *args],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise errors.BackupFailed(f"pg_dump failed: {_last_line(done.stderr, done.returncode)}")
    partial.rename(target)
    return target


_STAMP = re.compile(r"-(\d{8}T\d{12}Z)(?:\.|$)")


def _taken_at(path: Path) -> str:
    """When a backup was taken, from the UTC time in its name (which sorts as text)."""
    found = _STAMP.search(path.name)
    return found.group(1) if found else ""


def _last_line(stderr: str, returncode: int) -> str:
    """The CLI prints one line: the last thing a PostgreSQL tool said, or its exit status."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else f"exit status {returncode}"


def prune(directory: Path, prefix: str, keep: int) -> None:
    """Keep the newest `keep` backups whose names start with benhan-<prefix>.

    Newest by the time in the name, not by the whole name: the label before it may differ
    (pre-migrate-0002-… is not newer than pre-migrate-0001-… taken later, after a restore).
    """
    files = sorted((p for p in directory.glob(f"benhan-{prefix}*")
                    if not p.name.endswith((".part", backup_audit.SIDECAR))),
                   key=lambda p: (_taken_at(p), p.name))
    for old in files[:-keep] if keep > 0 else files:
        old.unlink()
        old.with_name(old.name + backup_audit.SIDECAR).unlink(missing_ok=True)


def inspect_sqlite_backup(file: Path, into: Path) -> BackupInfo:
    """Decompress a SQLite backup into `into` and check it thoroughly."""
    try:
        return _inspect_sqlite_backup(file, into)
    except BaseException:
        # A refused file leaves nothing behind.
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(str(into) + suffix).unlink(missing_ok=True)
        raise


def _inspect_sqlite_backup(file: Path, into: Path) -> BackupInfo:
    try:
        with gzip.open(file, "rb") as fin, create_private(into) as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
    except (OSError, EOFError, zlib.error) as exc:   # gzip.BadGzipFile is an OSError
        raise errors.RestoreRefused(f"{file} is not a readable benhan SQLite backup ({exc})") from None
    return check_sqlite_copy(file, into)


def check_sqlite_copy(file: Path, into: Path) -> BackupInfo:
    """integrity_check, schema revision and resource count of a plain SQLite copy `into` of `file`."""
    try:
        con = sqlite3.connect(into)
        try:
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise errors.RestoreRefused(f"{file} fails the integrity check: {ok}")
            revision = con.execute("SELECT version_num FROM alembic_version").fetchone()
            resources = con.execute("SELECT count(*) FROM resource").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise errors.RestoreRefused(f"{file} is not a benhan database ({exc})") from None
    rev = revision[0] if revision else None
    if rev not in migrate.known_revisions():
        raise errors.RestoreRefused(f"{file} has schema revision {rev!r}, which this version does not know")
    return BackupInfo(file, rev, resources)


def restore(db_url: str, file: Path, *, by: str = "system", recovery_key: str | None = None,
            data_dir: Path | None = None) -> BackupInfo:
    """Replace the database with the backup in file, after checking the file. Stop the server first.
    `by`: who asked, for the restore's audit event (written into the restored database).
    An encrypted backup (*.enc) is opened with `recovery_key`, else with the key file in `data_dir`
    (same machine); it is decrypted only into a private scratch folder, checked, then swapped in."""
    file = Path(file)
    if not file.is_file():
        raise errors.RestoreRefused(f"{file} does not exist")
    encrypted = file.name.endswith(ENC_SUFFIX)
    if encrypted:
        key = backup_crypto.load_key(data_dir) if data_dir is not None and recovery_key is None else None
        with open(file, "rb") as f:     # the key is checked before the database is touched
            header = backup_crypto.read_header(f, file.name)
            data_key = backup_crypto.data_key_for(header, key=key, recovery=recovery_key)
    replaced = _head_before_restore(db_url)
    if encrypted and db_url.startswith("sqlite"):
        info = _restore_sqlite(_sqlite_path(db_url), file, key=key, recovery=recovery_key, db_url=db_url)
    elif encrypted:
        if not file.name.endswith(PG_ENC_SUFFIX):
            raise errors.RestoreRefused(f"{file} is not a PostgreSQL backup (*{PG_ENC_SUFFIX})")
        with scratch_dir(file.parent) as tmp:
            plain = tmp / file.name.removesuffix(ENC_SUFFIX)
            backup_crypto.decrypt_file(file, plain, key=key, recovery=recovery_key)
            # What is there now is kept first, encrypted with this backup's own key (unwrapped
            # above): pg_restore --clean replaces the tables in place.
            same_key = backup_crypto.BackupKey(header.key_id, data_key, header.wrap_salt, header.wrap_nonce,
                                               header.wrapped_key)
            _keep_pg_encrypted(db_url, file.parent, same_key)
            info = _restore_pg(db_url, plain, keep_before=False)
            info = BackupInfo(file, info.revision, info.resources)
    elif db_url.startswith("sqlite"):
        info = _restore_sqlite(_sqlite_path(db_url), file)
    else:
        info = _restore_pg(db_url, file)
    # A sync node numbers its changes again from the backup's point: a new epoch, and pull back
    # what it had sent the hub since (docs/sync.md "After a restore").
    from benhan.store import sync_tables
    sync_tables.mark_restored(db_url, file.name)
    backup_audit.record_restore(db_url, file, by, replaced)
    return info


def _head_before_restore(db_url: str) -> tuple[int, str] | None:
    """The chain head of the database about to be replaced (None if there is none, or it is unreadable)."""
    if db_url.startswith("sqlite") and not _sqlite_path(db_url).exists():
        return None
    db = Database(db_url)
    try:
        return backup_audit.head_of(db)
    except errors.BenhanError:       # a damaged database being replaced: nothing to name
        return None
    finally:
        db.dispose()


def _restore_sqlite(target: Path, file: Path, *, key=None, recovery: str | None = None,  # noqa: ANN001
                    db_url: str | None = None) -> BackupInfo:
    encrypted = file.name.endswith(ENC_SUFFIX)
    if encrypted and not file.name.endswith(SQLITE_ENC_SUFFIX):
        raise errors.RestoreRefused(f"{file} is not a SQLite backup (*{SQLITE_ENC_SUFFIX})")
    if not encrypted and not file.name.endswith(SQLITE_SUFFIX):
        raise errors.RestoreRefused(f"{file} is not a SQLite backup (*{SQLITE_SUFFIX})")
    made_dir = not target.parent.exists()
    private_dir(target.parent)
    staged = target.with_name(target.name + ".restoring")
    try:
        if encrypted:       # the staged copy is the scratch database: owner-only, removed on failure
            backup_crypto.decrypt_file(file, staged, key=key, recovery=recovery)
            info = check_sqlite_copy(file, staged)
            encrypt_at_rest_like(db_url, staged)
        else:
            info = inspect_sqlite_backup(file, staged)
        _fsync_file(staged)
        with _held_exclusively(target):
            keep = target.with_name(f"{target.name}.before-restore-{_stamp()}")
            for suffix in ("", "-wal", "-shm"):
                old = Path(str(target) + suffix)
                if old.exists():
                    old.rename(Path(str(keep) + suffix))
            staged.rename(target)
        _fsync_dir(target.parent)
    except BaseException:
        staged.unlink(missing_ok=True)
        if made_dir:
            try:
                target.parent.rmdir()
            except OSError:
                pass
        raise
    return info


@contextmanager
def _held_exclusively(target: Path) -> Iterator[None]:
    """Refuse while another process (a running server) has the database open; hold it meanwhile.

    A transaction alone does not tell: in WAL mode BEGIN EXCLUSIVE only waits for the current
    writer, so it succeeds against an idle server (or between two of a busy one's writes). What
    does tell is SQLite's own mark of an open connection: every process with the database open
    holds a read lock on one byte of the -shm file (the "DMS" byte, offset 128 in SQLite's unix
    VFS) for as long as it keeps a connection, idle or not. We take a write lock on that byte,
    which only succeeds when no other process has the database open, and keep it while the files
    are swapped, so a server starting meanwhile cannot open the old database.
    """
    in_use = errors.RestoreRefused(f"{target} is in use; stop the server before restoring")
    if target.exists():
        # A database not in WAL mode: a writer mid-transaction holds its lock.
        con = sqlite3.connect(target, timeout=1)
        try:
            con.execute("BEGIN EXCLUSIVE")
            con.execute("ROLLBACK")
        except sqlite3.OperationalError:
            raise in_use from None
        except sqlite3.DatabaseError:   # encrypted at rest (or damaged): unreadable as plain; the -shm check below stands
            pass
        finally:
            con.close()
    try:
        import fcntl
    except ImportError:         # Windows: SQLite locks the -shm differently; the check above stands
        yield
        return
    try:
        fd = os.open(str(target) + "-shm", os.O_RDWR)
    except FileNotFoundError:   # nobody has the database open in WAL mode
        yield
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
        except OSError:
            raise in_use from None
        yield
    finally:
        os.close(fd)            # closing releases the lock


_SHM_DMS_BYTE = 128   # os_unix.c: UNIX_SHM_DMS = (22 + SQLITE_SHM_NLOCK) * 4 + SQLITE_SHM_NLOCK


def _pg_dump_revision(file: Path) -> str | None:
    """The schema revision recorded in a pg_dump file, read without restoring it."""
    done = subprocess.run(["pg_restore", "--data-only", "--table", "alembic_version", "--file", "-", str(file)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise errors.RestoreRefused(f"{file} is not a readable benhan PostgreSQL backup "
                                    f"({_last_line(done.stderr, done.returncode)})")
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY public.alembic_version "):
            rows = lines[i + 1:lines.index("\\.", i + 1)] if "\\." in lines[i + 1:] else []
            return rows[0].strip() if rows else None
    return None


def _restore_pg(db_url: str, file: Path, keep_before: bool = True) -> BackupInfo:
    if not file.name.endswith(PG_SUFFIX):
        raise errors.RestoreRefused(f"{file} is not a PostgreSQL backup (*{PG_SUFFIX})")
    if not shutil.which("pg_restore"):
        raise errors.RestoreRefused("pg_restore is not installed (Debian: apt-get install postgresql-client)")
    listing = subprocess.run(["pg_restore", "--list", str(file)], capture_output=True, text=True)
    if listing.returncode != 0 or "TABLE DATA public resource" not in listing.stdout:
        raise errors.RestoreRefused(f"{file} is not a readable benhan PostgreSQL backup")
    rev = _pg_dump_revision(file)
    if rev not in migrate.known_revisions():
        raise errors.RestoreRefused(f"{file} has schema revision {rev!r}, which this version does not know")
    # pg_restore --clean replaces the tables in place, so keep what is there first.
    if keep_before:
        _backup_pg(db_url, file.parent / f"benhan-before-restore-{_stamp()}{PG_SUFFIX}")
    args, env = _pg_args(db_url)
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           *args, str(file)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise errors.RestoreRefused(f"pg_restore failed: {_last_line(done.stderr, done.returncode)}")
    db = Database(db_url)
    try:
        rev = migrate.current_revision(db)
        from sqlalchemy import func, select
        from benhan.store.schema import resource
        with db.read() as conn:
            n = conn.execute(select(func.count()).select_from(resource)).scalar()
    finally:
        db.dispose()
    return BackupInfo(file, rev, n)


@contextmanager
def scratch_dir(near: Path) -> Iterator[Path]:
    """A private (0700) temporary folder beside `near`, removed with everything in it afterwards:
    the only place a decrypted copy is ever written."""
    private_dir(Path(near))
    tmp = Path(tempfile.mkdtemp(prefix=".benhan-scratch-", dir=near))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class EncryptedBackup:
    path: Path
    resources: int
    revision: str | None
    chain_head: tuple[int, str] | None
    taken_us: int


def encrypted_backup(db: Database, directory: Path, key: backup_crypto.BackupKey, label: str = "manual", *,
                     by: str | None = None, now_us: int | None = None) -> EncryptedBackup:
    """An encrypted backup (backup_crypto's format) of the live database into directory.

    SQLite: the online backup API copies a consistent snapshot into a private scratch folder, where
    it is checked (integrity_check) and counted, then streamed through the encryptor and deleted.
    PostgreSQL: the resources are counted in a REPEATABLE READ transaction whose snapshot pg_dump
    then uses (--snapshot), so the count is the dump's; pg_dump's output goes straight into the
    encryptor (nothing plain on disk). The header records the time, resources, schema revision and
    chain head, which the restore test compares against."""
    private_dir(directory)
    now_us = now_us if now_us is not None else int(datetime.now(timezone.utc).timestamp() * 1e6)
    stamp = datetime.fromtimestamp(now_us / 1e6, timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    head = backup_audit.head_of(db)
    revision = migrate.current_revision(db)
    suffix = SQLITE_ENC_SUFFIX if db.is_sqlite else PG_ENC_SUFFIX
    target = directory / f"benhan-{label}-{stamp}{suffix}"
    partial = target.with_name(target.name + ".part")
    meta = {"taken_us": now_us, "label": label, "revision": revision,
            "chain_head": list(head) if head else None}
    try:
        if db.is_sqlite:
            resources = _encrypt_sqlite(_sqlite_path(db.url), partial, key, meta, db_url=db.url)
        else:
            resources = _encrypt_pg(db, partial, key, meta)
        _fsync_file(partial)
        partial.rename(target)
        _fsync_dir(directory)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if head:
        backup_audit.write_sidecar(target, head)
    if by:
        backup_audit.record_backup(db, target, by, head)
    return EncryptedBackup(target, resources, revision, head, now_us)


def _encrypt_sqlite(source: Path, partial: Path, key: backup_crypto.BackupKey, meta: dict, *,
                    db_url: str | None = None) -> int:
    from benhan.store import encryption
    # A database encrypted at rest (store/encryption.py, SQLCipher): its plain snapshot comes from
    # sqlcipher_export in one read transaction, so the backup depends on the backup key only.
    at_rest = db_url is not None and encryption.key_for(encryption.target(db_url)) is not None
    with scratch_dir(partial.parent) as tmp:
        snapshot = tmp / "snapshot.sqlite"
        create_private(snapshot).close()
        if at_rest:
            encryption.plain_snapshot(db_url, snapshot)
        src = None if at_rest else sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(snapshot)
        try:
            if src is not None:
                src.backup(dst, pages=-1)       # one step: one consistent read transaction
            dst.execute("PRAGMA journal_mode=DELETE")
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
            resources = dst.execute("SELECT count(*) FROM resource").fetchone()[0] if ok == "ok" else 0
        except sqlite3.Error as exc:
            damage = damaged_file_message(exc, f"sqlite:///{source}")
            raise (errors.DatabaseDamaged(damage) if damage
                   else errors.BackupFailed(f"SQLite backup of {source} failed: {exc}")) from None
        finally:
            dst.close()
            if src is not None:
                src.close()
        if ok != "ok":
            raise errors.DatabaseDamaged(f"the database {source} fails its integrity check ({ok}); "
                                         "restore it from the last good backup (docs/operations.md)")
        meta = dict(meta, resources=resources)
        with open(snapshot, "rb") as fin, create_private(partial) as fout:
            enc = backup_crypto.Encryptor(fout, key, backup_crypto.KIND_SQLITE, meta)
            while block := fin.read(backup_crypto.CHUNK):
                enc.write(block)
            enc.close()
    return resources


def _encrypt_pg(db: Database, partial: Path, key: backup_crypto.BackupKey, meta: dict) -> int:
    if not shutil.which("pg_dump"):
        raise errors.BackupFailed("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    from sqlalchemy import text
    args, env = _pg_args(db.url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            resources = conn.execute(text("SELECT count(*) FROM resource")).scalar()
            meta = dict(meta, resources=resources)
            with subprocess.Popen(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}", *args],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
                try:
                    with create_private(partial) as fout:
                        enc = backup_crypto.Encryptor(fout, key, backup_crypto.KIND_PG, meta)
                        while block := proc.stdout.read(backup_crypto.CHUNK):
                            enc.write(block)
                        enc.close()
                    stderr = proc.stderr.read().decode(errors="replace")
                    proc.wait()
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
            if proc.returncode != 0:
                raise errors.BackupFailed(f"pg_dump failed: {_last_line(stderr, proc.returncode)}")
    return resources


def _keep_pg_encrypted(db_url: str, directory: Path, key: backup_crypto.BackupKey) -> None:
    db = Database(db_url)
    try:
        encrypted_backup(db, directory, key, "before-restore")
    finally:
        db.dispose()


def encrypt_at_rest_like(db_url: str | None, staged: Path) -> None:
    """A node whose database is encrypted at rest (a key file beside it) gets the restored copy
    encrypted with that same key, so it opens as before (the plain staged copy is then removed)."""
    from benhan.store import encryption
    if db_url is None or not encryption.available():
        return
    t = encryption.target(db_url)
    if t.key_file is None or not t.key_file.exists():
        return
    db_key = encryption.read_key_file(t.key_file)
    sealed = staged.with_name(staged.name + ".sealed")
    try:
        encryption.encrypt_copy(staged, db_key, sealed)
        staged.unlink()
        sealed.rename(staged)
    except BaseException:
        sealed.unlink(missing_ok=True)
        raise
