"""`benhan export --all DIR`: everything a facility needs to leave benhan (CV 365 III.1.1k), in open
formats, written into a new folder:

    manifest.json            what is there: each file's kind, type, line count, size and SHA-256
    data-dictionary.md       the SQL tables and columns, the FHIR types present and their search parameters
    resources/<Type>.ndjson  every resource's current version (FHIR R4 NDJSON; deleted ones are not there)
    history/<Type>.history.ndjson  with --versions: every version that has content, oldest first,
                                   each with its meta.versionId and meta.lastUpdated
    history/deletions.csv    with --versions: the versions that are deletions (type, id, version, time)
    audit/AuditEvent.ndjson  the audit trail as FHIR AuditEvents
    audit/audit_event.ndjson the trail's own rows with their hash chain (chain_pos, hash), so that the
                             chain can be checked again outside benhan
    code-lists/CodeSystem.ndjson, ValueSet.ndjson  the code lists as stored (ICD-10, administrative
                             units, ethnic groups, catalogues …; also among resources/)
    code-lists/packaged/…    the reference files benhan ships and loads them from, as they are

The resources go through the same one-pass writer as the Bulk Data $export (store.bulk_export), so
memory stays flat whatever the size of the database. The audit trail is rendered by a function the
caller passes (audit.fhir_view.render: the store does not depend on the audit package).
"""
from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import and_, false, select, tuple_

from benhan import errors
from benhan.store import bulk_export, data_dictionary, migrate
from benhan.store.ndjson import NdjsonFile, NdjsonWriter, sha256_of
from benhan.store.schema import audit_event, resource, resource_version
from benhan.store.writer import decode_body

PAGE = 2000
PACKAGE = Path(__file__).resolve().parent.parent
# The reference data benhan ships (loaded into CodeSystems/ValueSets, or read as they are).
PACKAGED = ("terminology/data", "billing/data", "clinical/data")


@dataclass
class FileEntry:
    path: str               # relative to the export folder, with "/"
    kind: str               # resources, history, deletions, audit, audit-rows, code-list, packaged, dictionary
    count: int | None
    size: int
    sha256: str
    res_type: str | None = None

    def json(self) -> dict:
        out = {"path": self.path, "kind": self.kind, "bytes": self.size, "sha256": self.sha256}
        if self.res_type:
            out["type"] = self.res_type
        if self.count is not None:
            out["count"] = self.count
        return out


@dataclass
class Exported:
    folder: Path
    files: list[FileEntry] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)        # current resources per type
    versions: int | None = None
    audit_events: int = 0

    def summary(self) -> str:
        total = sum(self.counts.values())
        parts = [f"{total} resources of {len(self.counts)} types", f"{self.audit_events} audit events"]
        if self.versions is not None:
            parts.insert(1, f"{self.versions} versions")
        return f"{self.folder}: " + ", ".join(parts) + f", {len(self.files) + 1} files (manifest.json)"


def check_target(folder: Path) -> None:
    """The folder must be new or empty, and writable (BENHAN-8805 otherwise)."""
    if folder.exists():
        if not folder.is_dir():
            raise errors.ExportTargetUnusable(f"{folder} exists and is not a folder")
        if any(folder.iterdir()):
            raise errors.ExportTargetUnusable(f"{folder} is not empty; give a new or empty folder")
    else:
        try:
            folder.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise errors.ExportTargetUnusable(f"{folder}: cannot create it ({exc.strerror or exc})") from None
    probe = folder / ".benhan-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise errors.ExportTargetUnusable(f"{folder}: cannot write there ({exc.strerror or exc})") from None


def _entry(folder: Path, f: NdjsonFile, kind: str) -> FileEntry:
    return FileEntry(f.path.relative_to(folder).as_posix(), kind, f.count, f.size, f.sha256, f.res_type)


def _plain(folder: Path, path: Path, kind: str, count: int | None = None) -> FileEntry:
    return FileEntry(path.relative_to(folder).as_posix(), kind, count, path.stat().st_size, sha256_of(path))


def export_all(store: Any, folder: Path, *, versions: bool = False,  # noqa: ANN401
               render_audit: Callable[[Any], dict] | None = None,
               progress: Callable[[str], None] | None = None) -> Exported:
    folder = Path(folder)
    check_target(folder)
    say = progress or (lambda _m: None)
    done = Exported(folder)

    say("resources")
    written = bulk_export.export_rows(store, bulk_export.ExportRequest("system", None), folder / "resources")
    for f in written.files:
        done.files.append(_entry(folder, f, "resources"))
        done.counts[f.res_type] = done.counts.get(f.res_type, 0) + f.count

    if versions:
        say("history")
        done.versions = _history(store, folder, done)

    say("audit trail")
    done.audit_events = _audit(store, folder, done, render_audit)

    say("code lists")
    _code_lists(store, folder, done)

    dictionary = folder / "data-dictionary.md"
    dictionary.write_text(data_dictionary.render(done.counts), encoding="utf-8")
    done.files.append(_plain(folder, dictionary, "dictionary"))

    manifest = {
        "exportedAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": "benhan export --all" + (" --versions" if versions else ""),
        "node": store.node_id,
        "database": "sqlite" if store.db.is_sqlite else "postgresql",
        "schemaRevision": migrate.current_revision(store.db),
        "resources": dict(sorted(done.counts.items())),
        "versions": done.versions,
        "auditEvents": done.audit_events,
        "files": [e.json() for e in done.files],
    }
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return done


def _history(store: Any, folder: Path, done: Exported) -> int:  # noqa: ANN401
    """Every version, a type's versions in one file set (split like the resources), oldest first per
    resource; deletions (no content) listed in deletions.csv."""
    out = folder / "history"
    out.mkdir(mode=0o700)
    r, v = resource, resource_version
    q = (select(v.c.resource_pk, v.c.version, v.c.last_updated, v.c.deleted, v.c.encoding, v.c.body,
                r.c.res_type, r.c.res_id)
         .select_from(v.join(r, r.c.pk == v.c.resource_pk))
         .where(tuple_(v.c.resource_pk, v.c.version) > tuple_(_param("a"), _param("b")))
         .order_by(v.c.resource_pk, v.c.version).limit(PAGE))
    writers: dict[str, NdjsonWriter] = {}
    deletions_path = out / "deletions.csv"
    n, n_deleted = 0, 0
    with open(deletions_path, "w", newline="", encoding="utf-8") as deletions:
        table = csv.writer(deletions)
        table.writerow(["resource_type", "id", "version", "last_updated"])
        after = (0, 0)
        while True:
            with store.db.read() as conn:
                rows = conn.execute(q, {"a": after[0], "b": after[1]}).all()
            for row in rows:
                if row.deleted:
                    table.writerow([row.res_type, row.res_id, row.version, _instant(row.last_updated)])
                    n_deleted += 1
                    continue
                w = writers.get(row.res_type)
                if w is None:
                    w = writers[row.res_type] = NdjsonWriter(out, row.res_type, suffix="history",
                                                             buffer_size=64 * 1024)
                w.write(decode_body(row.encoding, row.body))
                n += 1
            if len(rows) < PAGE:
                break
            after = (rows[-1].resource_pk, rows[-1].version)
    for t in sorted(writers):
        done.files += [_entry(folder, f, "history") for f in writers[t].close()]
    done.files.append(_plain(folder, deletions_path, "deletions", n_deleted))
    return n + n_deleted


def _param(name: str):  # noqa: ANN202
    from sqlalchemy import bindparam
    return bindparam(name)


def _instant(us: int) -> str:
    from benhan.fhir.datetimes import format_instant, from_us
    return format_instant(from_us(us))


def _audit_rows(store: Any) -> Iterator[Any]:  # noqa: ANN401
    after = 0
    while True:
        with store.db.read() as conn:
            rows = conn.execute(select(audit_event).where(audit_event.c.seq > after)
                                .order_by(audit_event.c.seq).limit(PAGE)).all()
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1].seq


def _audit(store: Any, folder: Path, done: Exported, render: Callable[[Any], dict] | None) -> int:  # noqa: ANN401
    out = folder / "audit"
    out.mkdir(mode=0o700)
    fhir = NdjsonWriter(out, "AuditEvent") if render is not None else None
    rows_path = out / "audit_event.ndjson"
    n = 0
    fd = os.open(rows_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb", buffering=1024 * 1024) as raw:
        for row in _audit_rows(store):
            # (str(): the keys are SQLAlchemy quoted_name, a str subclass orjson refuses as a key)
            raw.write(orjson.dumps({str(k): v for k, v in row._mapping.items()}) + b"\n")
            if fhir is not None:
                fhir.write(render(row))
            n += 1
    if fhir is not None:
        done.files += [_entry(folder, f, "audit") for f in fhir.close()]
    done.files.append(_plain(folder, rows_path, "audit-rows", n))
    return n


def _code_lists(store: Any, folder: Path, done: Exported) -> None:  # noqa: ANN401
    out = folder / "code-lists"
    out.mkdir(mode=0o700)
    for res_type in ("CodeSystem", "ValueSet"):
        w = bulk_export.export_rows(store, bulk_export.ExportRequest("system", (res_type,)), out)
        done.files += [_entry(folder, f, "code-list") for f in w.files]
    packaged = out / "packaged"
    for rel in PACKAGED:
        source = PACKAGE / rel
        if not source.is_dir():
            continue
        target = packaged / rel.split("/")[0]
        for path in sorted(source.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                target.mkdir(parents=True, exist_ok=True)
                copied = Path(shutil.copyfile(path, target / path.name))
                done.files.append(_plain(folder, copied, "packaged"))


def current_count(store: Any) -> dict[str, int]:  # noqa: ANN401
    from sqlalchemy import func
    with store.db.read() as conn:
        return dict(conn.execute(select(resource.c.res_type, func.count()).where(
            and_(resource.c.deleted == false())).group_by(resource.c.res_type)).all())
