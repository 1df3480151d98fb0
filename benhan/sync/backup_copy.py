"""A copy of each scheduled encrypted backup of a node, kept at the hub (docs/operations.md).

Node side: after a scheduled backup, `after_round` uploads the new file (PUT /sync/backup/{name})
with the node's authenticated sync client, streamed from disk; the outcome goes to the backup status
file (hub_copy_ok / hub_copy_error / hub_copy_at / hub_copy_file). A failed upload never fails the
backup, and is tried once per backup (the next backup is copied in its turn).

Hub side: `accept` checks and keeps a file the web handler streamed to a partial file, under
`<data_dir>/node-backups/<node id>/`, owner-only, the newest `hub_backup_keep` per node. Only files
in the encrypted backup format are taken: the hub holds no key, so it can neither read them nor
be handed a plain copy of a facility's records.
"""
from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

from benhan import errors
from benhan.store import backup_crypto, backup_status
from benhan.store.private_files import make_private, private_dir

log = logging.getLogger(__name__)

FOLDER = "node-backups"
CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_SAFE_NODE = re.compile(r"[^A-Za-z0-9._-]")


# --- the hub ------------------------------------------------------------------------------------

def check_name(name: str) -> str:
    if not _SAFE_NAME.match(name) or ".." in name or name.endswith(".part"):
        raise errors.InvalidHeader("a backup's file name: letters, digits, '.', '_', '-' (at most 200)")
    return name


def node_folder(data_dir: Path, node_id: str) -> Path:
    # node ids are chosen by the facility at enrolment: keep them to one safe path component.
    safe = _SAFE_NODE.sub("_", node_id).lstrip(".") or "_"
    return Path(data_dir) / FOLDER / safe


def partial_path(folder: Path, name: str) -> Path:
    private_dir(folder.parent)
    private_dir(folder)
    return folder / f".{name}.{os.getpid()}.{time.monotonic_ns()}.part"


def max_bytes(config) -> int:  # noqa: ANN001 - benhan.config.Config
    return int(config.hub_backup_max_mb) * 1024 * 1024


def _order(p: Path) -> tuple:
    from benhan.store.backup_schedule import taken
    when = taken(p.name)
    return (when.timestamp() if when else p.stat().st_mtime, p.name)


def accept(store, node, partial: Path, name: str, size: int) -> dict:  # noqa: ANN001
    """Keep the streamed `partial` file as `name` if it is an encrypted backup; prune; audit."""
    folder = partial.parent
    try:
        with open(partial, "rb") as f:
            backup_crypto.read_header(f, name)
    except Exception:  # noqa: BLE001 - whatever is wrong with it, it is not an encrypted backup
        partial.unlink(missing_ok=True)
        raise errors.UnsupportedMediaType("the hub keeps only encrypted benhan backups (a file that starts with the "
                                     "backup format's header); this one is not") from None
    target = folder / name
    partial.replace(target)
    make_private(target)
    keep = max(1, int(store.config.hub_backup_keep))
    files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")), key=_order)
    removed = []
    for old in files[:-keep]:
        old.unlink(missing_ok=True)
        removed.append(old.name)
    _audit(store, node.node_id, name, size, removed)
    return {"node": node.node_id, "file": name, "size": size, "kept": [p.name for p in files[-keep:]],
            "removed": removed}


def _audit(store, node_id: str, name: str, size: int, removed: list[str]) -> None:  # noqa: ANN001
    import json

    from benhan.store import audit_log
    record = audit_log.AuditRecord(recorded=time.time_ns() // 1000, interaction="hub-backup-copy",
                                   subtype="hub-backup-copy", agent=f"node:{node_id}",
                                   detail=json.dumps({"node": node_id, "file": name, "size": size,
                                                      "removed": removed}, ensure_ascii=False))
    audit_log.append(store.db, [record])


# --- the node -----------------------------------------------------------------------------------

def _stream(path: Path):  # noqa: ANN202
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def upload(store, file: Path, *, http=None, hub_url: str | None = None) -> dict:  # noqa: ANN001
    """PUT the file to the hub as this node; SyncFailed when the hub cannot be reached or refuses."""
    from benhan.sync.node import NodeSync
    client = NodeSync.from_settings(store, http=http).hub
    if hub_url:
        client.hub_url = hub_url.rstrip("/")
    try:
        response = client._authorised("PUT", f"/sync/backup/{file.name}", content=_stream(file),
                                      headers={"Content-Type": "application/octet-stream",
                                               "Content-Length": str(file.stat().st_size)})
        return response.json()
    finally:
        if http is None:
            client.close()


def enrolled(store) -> bool:  # noqa: ANN001
    from benhan.store import sync_tables as st
    if store.config.role != "node":
        return False
    with store.db.read() as conn:
        return bool(st.get_setting(conn, "sync.client_id"))


def after_round(store, *, http=None, hub_url: str | None = None, now_us: int | None = None) -> str:  # noqa: ANN001
    """Copy the newest scheduled backup to the hub if it has not been tried yet; the outcome goes to
    the status file. '' when there was nothing to do."""
    from benhan.store import backup_schedule
    backup_dir = store.config.backups
    data = backup_status.read_raw(backup_dir)
    name = data.get("last_backup_file")
    if not name or not data.get("last_ok") or data.get("hub_copy_tried") == name or not enrolled(store):
        return ""
    file = Path(backup_dir) / name
    ok, why = True, None
    try:
        upload(store, file, http=http, hub_url=hub_url)
    except Exception as exc:  # noqa: BLE001 - the backup stands; the status says the copy failed
        ok, why = False, (str(getattr(exc, "message", "") or exc).splitlines() or [type(exc).__name__])[0][:500]
        log.warning("backup copy to the hub failed: %s", why)
    with backup_schedule.schedule_lock(backup_dir) as mine:
        if not mine:
            return ""
        data = backup_status.read_raw(backup_dir)      # another worker may have written meanwhile
        data.update(hub_copy_tried=name, hub_copy_file=name if ok else data.get("hub_copy_file"),
                    hub_copy_ok=ok, hub_copy_error=why,
                    hub_copy_at=now_us if now_us is not None else time.time_ns() // 1000)
        backup_schedule.write_status(backup_dir, data)
    return f"hub copy {'ok' if ok else 'failed'}: {name}"
