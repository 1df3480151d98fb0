"""Importing FHIR NDJSON (one resource per line, any types): a Bulk Data export from another FHIR
server, or benhan's own, brought into benhan (docs/operations.md "Coming into benhan").

Each line is read, validated and written like a PUT: the resource keeps its id, so a second run
of the same files writes nothing new (same content hash → no new version), and references
between the imported resources resolve because their ids are the ones the references name.
A bad line (not JSON, not a resource, no id, invalid by the validator, refused by a write rule)
is reported with its file, line number and reason and the others go on.

Memory stays flat: files are read line by line (gzip too), and at most `batch` prepared writes
wait for their transaction. Each batch is one transaction holding the resources' versions,
indexes, change-log rows and one audit event per resource (naming its patient, as every write
does); a batch the database refuses as a whole (two patients with one CCCD…) is written again
one resource at a time, so only the resource at fault fails. The run itself leaves one
`import` audit event with its counts.
"""
from __future__ import annotations

import gzip
import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

from sqlalchemy import and_, exists, func, select

from benhan import errors
from benhan.fhir.resource_json import content_hash, loads
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository, now_us
from benhan.store.schema import change_log, idx_reference, resource
from benhan.store.writer import PendingWrite, load_current

SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
MAX_LINE = 64 * 1024 * 1024          # one resource; a longer line is refused, not read into memory whole
FAILURES_KEPT = 1000                 # reasons listed in the report (all are counted)
EXAMPLES_KEPT = 20


@dataclass
class Failure:
    source: str
    line: int
    res_type: str | None
    res_id: str | None
    reason: str

    def as_json(self) -> dict:
        return {"file": self.source, "line": self.line, "resourceType": self.res_type, "id": self.res_id,
                "reason": self.reason}


@dataclass
class ImportReport:
    """What an import did: per resource type, created/updated/unchanged/failed, and why each failed."""
    files: list[str] = field(default_factory=list)
    lines: int = 0
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    failed: int = 0
    unresolved_references: int = 0
    unresolved_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, res_type: str | None, outcome: str) -> None:
        counts = self.by_type.setdefault(res_type or "?", {"created": 0, "updated": 0, "unchanged": 0, "failed": 0})
        counts[outcome] += 1

    def fail(self, source: str, line: int, res_type: str | None, res_id: str | None, reason: str) -> None:
        self.failed += 1
        self.count(res_type, "failed")
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append(Failure(source, line, res_type, res_id, reason))

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.by_type.values())

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_json(self) -> dict:
        return {"files": self.files, "lines": self.lines,
                "totals": {k: self.total(k) for k in ("created", "updated", "unchanged", "failed")},
                "byType": {t: self.by_type[t] for t in sorted(self.by_type)},
                "failures": [f.as_json() for f in self.failures],
                "failuresNotListed": self.failed - len(self.failures),
                "unresolvedReferences": self.unresolved_references,
                "unresolvedExamples": self.unresolved_examples, "seconds": round(self.seconds, 3)}

    def text(self) -> str:
        out = [f"{'loại | type':<28}{'mới | new':>12}{'sửa | updated':>15}{'không đổi | same':>18}{'lỗi | failed':>14}"]
        for t in sorted(self.by_type):
            c = self.by_type[t]
            out.append(f"{t:<28}{c['created']:>12}{c['updated']:>15}{c['unchanged']:>18}{c['failed']:>14}")
        out.append(f"{'tổng | total':<28}{self.total('created'):>12}{self.total('updated'):>15}"
                   f"{self.total('unchanged'):>18}{self.total('failed'):>14}")
        for f in self.failures[:50]:
            what = f"{f.res_type}/{f.res_id}" if f.res_type else "?"
            out.append(f"lỗi | failed: {f.source}:{f.line} {what}: {f.reason}")
        if self.failed > 50:
            out.append(f"… {self.failed - 50} lỗi nữa trong báo cáo JSON | more failures in the JSON report")
        if self.unresolved_references:
            out.append(f"tham chiếu không tới đâu | references to nothing: {self.unresolved_references} "
                       f"(ví dụ | e.g. {', '.join(self.unresolved_examples[:5])})")
        out.append(f"{self.lines} dòng | lines, {self.seconds:.1f} s")
        return "\n".join(out)


# --- reading -----------------------------------------------------------------------------------
def ndjson_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the NDJSON files inside the folders named (sorted by name)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.is_file() and f.name.endswith(SUFFIXES))
        elif p.is_file():
            found.append(p)
        else:
            raise errors.ImportUnreadable(f"{p}: không có tệp hay thư mục này | no such file or folder")
    if not found:
        raise errors.ImportUnreadable("không có tệp NDJSON nào | no NDJSON file (*.ndjson, *.ndjson.gz) found")
    return found


def file_lines(path: Path) -> Iterator[bytes]:
    """The lines of a file, one at a time (gzip when it is gzip, whatever its name)."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as f:
            first = True
            while True:
                line = f.readline(MAX_LINE + 1)
                if not line:
                    return
                if first:
                    # A UTF-8 byte order mark (Notepad, Excel on Windows) is not part of the first resource.
                    line, first = line.removeprefix(b"\xef\xbb\xbf"), False
                if len(line) > MAX_LINE and not line.endswith(b"\n"):
                    # Too long to be read whole: the rest of it is skipped, not taken for the next
                    # line (which would shift every line number after it); add_line reports it.
                    while (rest := f.readline(1024 * 1024)) and not rest.endswith(b"\n"):
                        pass
                yield line
    except (OSError, EOFError) as exc:      # a truncated gzip, a read error: the rest of this file is lost
        raise errors.ImportUnreadable(f"{path.name}: {exc}") from None


def reason(exc: errors.BenhanError) -> str:
    """The error's code and message, and where in the resource (the validator's FHIRPath)."""
    where = f" [{exc.expression}]" if exc.expression else ""
    return f"{exc.code}: {exc.message}{where}"


def relative_references(value: Any, bases: tuple[str, ...]) -> Any:
    """The resource with every `reference` that starts with one of the old server's bases
    (`http://old/fhir/`) made relative (`Patient/1`): the ids are kept, so it then resolves here."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                out[k] = next((v[len(b):] for b in bases if v.startswith(b)), v)
            else:
                out[k] = relative_references(v, bases)
        return out
    if isinstance(value, list):
        return [relative_references(v, bases) for v in value]
    return value


# --- importing ---------------------------------------------------------------------------------
class Importer:
    """Reads lines, prepares (validates) each resource and commits them in batches."""

    def __init__(self, repo: Repository, report: ImportReport, *, batch: int = 500, bases: tuple[str, ...] = ()):
        self.repo = repo
        self.bases = tuple(b.rstrip("/") + "/" for b in bases if b)
        self.report = report
        self.batch_size = batch
        self._parsed: list[tuple[dict, str, int]] = []          # read, not yet validated
        self._keys: set[tuple[str, str]] = set()
        self._batch: list[tuple[PendingWrite, str, int]] = []   # validated, to be written
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ndjson-import")
        self._inflight: tuple[list, Future] | None = None

    def add_line(self, source: str, number: int, line: bytes) -> None:
        report = self.report
        report.lines += 1
        if len(line) > MAX_LINE:
            report.fail(source, number, None, None, f"dòng dài quá {MAX_LINE} byte | line longer than {MAX_LINE} bytes")
            return
        if not line.strip():
            report.lines -= 1            # blank lines (a trailing newline) are not resources
            return
        try:
            body = loads(line)          # decimals keep their text (1.50 stays 1.50): the hash is the source's
        except (ValueError, RecursionError) as exc:
            report.fail(source, number, None, None, f"không phải JSON | not JSON: {exc}")
            return
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            report.fail(source, number, None, None,
                        "không phải tài nguyên FHIR | not a FHIR resource (no resourceType)")
            return
        if self.bases:
            body = relative_references(body, self.bases)
        res_type, res_id = body["resourceType"], body.get("id")
        if not isinstance(res_id, str) or not res_id:
            report.fail(source, number, res_type, None, "thiếu id: nhập giữ nguyên id | no id: an import keeps ids")
            return
        if res_type not in self.repo.store.resource_types:
            report.fail(source, number, res_type, res_id, f"{res_type!r} is not a FHIR R4 resource type")
            return
        if (res_type, res_id) in self._keys:       # the same resource twice in one batch: keep the order
            self.stage()
        self._keys.add((res_type, res_id))
        self._parsed.append((body, source, number))
        if len(self._parsed) >= self.batch_size:
            self.stage()

    def stage(self) -> None:
        """Prepare the parsed lines and hand them to the writer. A line equal to the stored resource
        (same content hash: it was validated when stored) is counted unchanged without being
        validated or written again, so a second run costs little more than reading the files."""
        parsed, self._parsed, self._keys = self._parsed, [], set()
        if parsed:
            # Read without waiting for the batch being written: a resource in it is not taken as unchanged.
            busy = {(p.res_type, p.res_id) for p, _, _ in self._inflight[0]} if self._inflight else set()
            with self.repo.store.db.read() as conn:
                current = load_current(conn, [(b["resourceType"], b["id"]) for b, _, _ in parsed], lock=False)
        for body, source, number in parsed:
            key = (body["resourceType"], body["id"])
            cur = current.get(key)
            if (cur is not None and not cur.deleted and key not in busy
                    and cur.content_hash == content_hash(body)):
                self.report.count(key[0], "unchanged")
                continue
            try:
                pending = self.repo.prepare("PUT", key[0], key[1], body)
            except errors.BenhanError as exc:
                self.report.fail(source, number, key[0], key[1], reason(exc))
                continue
            self._batch.append((pending, source, number))
        self.flush()

    def flush(self, *, wait: bool = False) -> None:
        """Hand the batch to the writer thread and go on reading: the commit of one batch (mostly
        the database's work, outside the GIL) overlaps the validation of the next. The batch before
        is finished first, so two versions of one resource are written in order."""
        batch, self._batch = self._batch, []
        self._finish()
        if batch:
            self._inflight = (batch, self._writer.submit(self.repo.commit, [p for p, _, _ in batch], "update"))
        if wait:
            self._finish()

    def close(self) -> None:
        """End the writer thread (after a failure too: the batch it was given is finished first)."""
        self._writer.shutdown(wait=True)

    def _finish(self) -> None:
        if self._inflight is None:
            return
        batch, future = self._inflight
        self._inflight = None
        try:
            results = future.result()
        except errors.BenhanError:
            # One resource spoils the transaction (a CCCD another patient has, a signed version):
            # write them one by one so that only it fails, with its own reason.
            for one in batch:
                self._commit_one(*one)
            return
        for (p, _, _), stored in zip(batch, results):
            self._count(p.res_type, stored)

    def _commit_one(self, pending: PendingWrite, source: str, number: int) -> None:
        try:
            stored, = self.repo.commit([pending], "update")
        except errors.BenhanError as exc:
            self.report.fail(source, number, pending.res_type, pending.res_id, reason(exc))
            return
        self._count(pending.res_type, stored)

    def _count(self, res_type: str, stored) -> None:  # noqa: ANN001
        self.report.count(res_type, "unchanged" if stored.noop else "created" if stored.created else "updated")


def import_lines(repo: Repository, sources: Iterable[tuple[str, Iterable[bytes]]], *, batch: int = 500,
                 progress: Callable[[ImportReport], None] | None = None, query: str | None = None,
                 bases: tuple[str, ...] = ()) -> ImportReport:
    """Import the lines of each (name, lines) source; returns the report. One audit event for the run."""
    report = ImportReport()
    started = time.perf_counter()
    first_seq = _last_seq(repo)
    importer = Importer(repo, report, batch=batch, bases=bases)
    try:
        for name, lines in sources:
            report.files.append(name)
            try:
                for number, line in enumerate(lines, start=1):
                    importer.add_line(name, number, line)
                    if progress is not None and report.lines % 10000 == 0:
                        progress(report)
            except errors.ImportUnreadable as exc:
                report.fail(name, report.lines, None, None, f"{exc.code}: {exc.message}")
        importer.stage()
        importer.flush(wait=True)
    finally:
        importer.close()
    _check_references(repo, report, first_seq)
    report.seconds = time.perf_counter() - started
    _audit_run(repo, report, query)
    return report


def import_files(repo: Repository, paths: Iterable[Path], **kw) -> ImportReport:  # noqa: ANN003
    files = ndjson_files(paths)
    return import_lines(repo, ((str(f), file_lines(f)) for f in files), **kw)


def _last_seq(repo: Repository) -> int:
    with repo.store.db.read() as conn:
        return conn.execute(select(func.coalesce(func.max(change_log.c.seq), 0))).scalar_one()


def _check_references(repo: Repository, report: ImportReport, first_seq: int) -> None:
    """Count the references (those a search parameter indexes) of the resources this run wrote
    whose target is not in the database: what a partial export left behind."""
    r, c, t = idx_reference, change_log, resource
    target = (select(t.c.pk).where(and_(t.c.res_type == r.c.target_type, t.c.res_id == r.c.target_id,
                                        t.c.deleted.is_(False))))
    written = select(c.c.resource_pk).where(c.c.seq > first_seq)
    missing = (select(r.c.target_type, r.c.target_id).distinct()
               .where(and_(r.c.resource_pk.in_(written), r.c.target_type.is_not(None),
                           r.c.target_id.is_not(None), ~exists(target))))
    with repo.store.db.read() as conn:
        report.unresolved_references = conn.execute(
            select(func.count()).select_from(missing.subquery())).scalar_one()
        if report.unresolved_references:
            report.unresolved_examples = [f"{row.target_type}/{row.target_id}" for row in
                                          conn.execute(missing.order_by(r.c.target_type, r.c.target_id)
                                                       .limit(EXAMPLES_KEPT))]


def _audit_run(repo: Repository, report: ImportReport, query: str | None) -> None:
    actor = repo.actor
    totals = {k: report.total(k) for k in ("created", "updated", "unchanged", "failed")}
    detail = {"files": [Path(f).name for f in report.files][:50], "lines": report.lines, **totals,
              "byType": report.by_type}
    audit_log.append(repo.store.db, [AuditRecord(
        recorded=now_us(), interaction="import", subtype="import", agent=actor.name,
        source_address=actor.source_address, role=" ".join(actor.roles) or None, client_id=actor.client_id,
        outcome="0" if report.ok else "4", query=query or "$import",
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True))])
