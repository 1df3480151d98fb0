"""What a backup and a restore leave in the audit trail, and the chain head each backup keeps beside it.

- `benhan backup` is an event (`backup`: who, which file, the chain head at that moment);
- `benhan restore` is an event written into the restored database (`restore`: who, from which file,
  the head it restored, and the head of the database it replaced — so the cut is visible);
- every backup gets `<file>.audit-head.json` beside it: the chain head (position and hash) read
  just before the snapshot, so certainly inside it. A trail wiped afterwards, head row included,
  no longer holds that position: `benhan audit verify` reads these files (audit/verify.py).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from benhan.store.database import Database
from benhan.store.private_files import create_private

log = logging.getLogger(__name__)
SIDECAR = ".audit-head.json"


@dataclass(frozen=True)
class Anchor:
    """A chain position and its hash, noted somewhere else, and when."""
    chain_pos: int
    hash: str
    taken_us: int
    source: str                 # where it was noted, for the message


def head_of(db: Database) -> tuple[int, str] | None:
    """The chain head of this database, or None (no events yet, or a schema without the chain)."""
    from benhan.store import audit_query
    try:
        with db.read() as conn:
            return audit_query.head(conn)
    except DBAPIError:
        return None


def _fmt(head: tuple[int, str] | None) -> str | None:
    return f"{head[0]}:{head[1]}" if head else None


def write_sidecar(backup: Path, head: tuple[int, str]) -> Path:
    path = backup.with_name(backup.name + SIDECAR)
    with create_private(path, "w") as f:
        json.dump({"backup": backup.name, "chain_pos": head[0], "hash": head[1],
                   "taken_us": time.time_ns() // 1000}, f)
    return path


def read_sidecars(directory: Path) -> list[Anchor]:
    """The heads noted beside the backups in `directory` (unreadable files are skipped, logged)."""
    found = []
    for path in sorted(Path(directory).glob(f"benhan-*{SIDECAR}")) if Path(directory).is_dir() else []:
        try:
            data = json.loads(path.read_text())
            found.append(Anchor(int(data["chain_pos"]), str(data["hash"]), int(data["taken_us"]),
                                f"the backup {data.get('backup', path.name)}"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s cannot be read (%s); not used as an anchor", path, exc)
    return found


def record_backup(db: Database, backup: Path, by: str, head: tuple[int, str] | None) -> None:
    _append(db, "backup", by, {"file": backup.name, "chain_head": _fmt(head)})


def record_restore(db_url: str, file: Path, by: str, replaced: tuple[int, str] | None) -> None:
    """The restore's event, in the restored database, after its own chain: so the chain stays
    verifiable, and the head it replaced is named."""
    db = Database(db_url)
    try:
        _append(db, "restore", by, {"file": Path(file).name, "restored_head": _fmt(head_of(db)),
                                    "replaced_head": _fmt(replaced)})
    finally:
        db.dispose()


def _append(db: Database, event: str, by: str, detail: dict) -> None:
    from benhan.store import audit_log
    record = audit_log.AuditRecord(recorded=time.time_ns() // 1000, interaction=event, subtype=event,
                                   agent=by, detail=json.dumps(detail, ensure_ascii=False))
    try:
        audit_log.append(db, [record])
    except DBAPIError as exc:   # a database of an older schema (the server migrates it at start)
        log.warning("the %s event could not be written to the audit trail: %s", event, exc.orig)
