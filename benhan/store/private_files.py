"""The database, its WAL, the backups and the data folder are readable by their owner only.

Medical records on a shared PC must not be world-readable (issue 11 item 18): files are created
0600 and folders 0700 (POSIX; Windows has its own ACLs and these calls change nothing there).
SQLite gives -wal, -shm and -journal the permissions of the database file, so creating that file
0600 before SQLite opens it is enough for all of them. Files made by an older version are
tightened at every start (`tighten`), each with a log line.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Make the folder (and missing parents) owner-only; an existing one is left as it is here
    (`tighten` reports and fixes it at start)."""
    path = Path(path)
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)        # mkdir's mode is filtered by the umask
    return path


def create_private(path: Path, mode: str = "wb") -> IO:
    """Open a new file for writing, created owner-only from the first byte (truncated if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.chmod(path, FILE_MODE)           # an existing file keeps its mode through O_CREAT
    return os.fdopen(fd, mode)


def make_private(path: Path) -> None:
    """chmod a file made by another program (pg_dump) to owner-only."""
    os.chmod(path, FILE_MODE)


def prepare_sqlite(database: Path) -> None:
    """Create the SQLite file owner-only before SQLite does (it would use 0644; its companions
    copy the database's mode)."""
    database = Path(database)
    if database.parent.exists() and not database.exists():
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, FILE_MODE))


def tighten(folders: list[Path], database: Path | None) -> list[str]:
    """At start: make the data and backup folders, the database and its companions and every
    backup owner-only; returns (and logs) one line per thing changed."""
    changed = []

    def fix(path: Path, mode: int) -> None:
        try:
            current = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:
            return
        if path.is_symlink() or current & 0o077 == 0:
            return
        os.chmod(path, mode)
        changed.append(f"{path}: {current:04o} -> {mode:04o}")

    if os.name != "posix":
        return changed
    for folder in folders:
        if folder.is_dir():
            fix(folder, DIR_MODE)
            for child in folder.iterdir():
                if child.name.startswith("benhan") and child.is_file():
                    fix(child, FILE_MODE)
    if database is not None:
        for suffix in _SQLITE_COMPANIONS:
            fix(Path(str(database) + suffix), FILE_MODE)
    for line in changed:
        log.warning("made readable by its owner only (was readable by others): %s", line)
    return changed
