"""Writing and reading FHIR NDJSON (http://hl7.org/fhir/R4/nd-json.html): one resource per line,
UTF-8, lines ended by "\\n", no blank lines.

Used by the Bulk Data $export (store.bulk_export), `benhan export --all` (store.full_export) and,
the other way round, by an import of NDJSON: what one writes the other reads back.

`NdjsonWriter` writes the resources of ONE type into a directory, a file after another: a type
larger than `max_lines` resources or `max_bytes` bytes goes on in `Type.2.ndjson`, `Type.3.ndjson` …
(the Bulk Data IG lets a server split a type into several files; smaller files download and load
in parallel and a broken download costs less). Each line is written as it comes, so memory stays
flat whatever the size of the type; the SHA-256 and the count of each file are computed while
writing (the manifests give them, so a reader can check what it received).

A resource may be given as a dict or as the JSON bytes the store keeps (compact, one line: they
are written as they are, without being parsed again — this is what makes an export fast).
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from benhan.fhir.resource_json import dumps, loads

__all__ = ["MEDIA_TYPE", "NDJSON_FORMATS", "NdjsonFile", "NdjsonWriter", "as_line", "dumps", "file_name", "loads",
           "read", "read_lines", "sha256_of", "write_file"]

MEDIA_TYPE = "application/fhir+ndjson"
# Bulk Data IG: _outputFormat values a server must accept as meaning NDJSON.
NDJSON_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
DEFAULT_MAX_LINES = 100_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


@dataclass(frozen=True)
class NdjsonFile:
    """One file written: its path, the resource type, how many lines, its size and SHA-256 (hex)."""
    path: Path
    res_type: str
    count: int
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def file_name(res_type: str, part: int, suffix: str = "") -> str:
    """Patient.ndjson, Patient.2.ndjson …; `suffix` distinguishes other sets (Patient.history.ndjson)."""
    middle = f".{suffix}" if suffix else ""
    return f"{res_type}{middle}.ndjson" if part == 1 else f"{res_type}{middle}.{part}.ndjson"


def as_line(resource: dict | bytes | bytearray | memoryview) -> bytes:
    """The resource as one NDJSON line (with its "\\n")."""
    if isinstance(resource, (bytes, bytearray, memoryview)):
        raw = bytes(resource)
        # The store's bodies are compact JSON (a newline inside a string is written as \\n), so
        # this holds; a body from elsewhere that spans lines is written again on one.
        if b"\n" in raw or b"\r" in raw:
            raw = dumps(loads(raw))
        return raw + b"\n"
    return dumps(resource) + b"\n"


class NdjsonWriter:
    """Writes one resource type into `directory`; `close()` (or leaving the `with`) returns the files."""

    def __init__(self, directory: Path, res_type: str, *, max_lines: int = DEFAULT_MAX_LINES,
                 max_bytes: int = DEFAULT_MAX_BYTES, suffix: str = "", buffer_size: int = 1024 * 1024):
        if not _TYPE.match(res_type):
            raise ValueError(f"{res_type!r} is not a resource type name")
        if max_lines < 1 or max_bytes < 1:
            raise ValueError("max_lines and max_bytes must be positive")
        self.directory = Path(directory)
        self.res_type = res_type
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.suffix = suffix
        self.buffer_size = buffer_size      # smaller when many types are written at once
        self.files: list[NdjsonFile] = []
        self._part = 0
        self._out: BinaryIO | None = None
        self._path: Path | None = None
        self._hash = hashlib.sha256()
        self._count = 0
        self._size = 0

    @property
    def count(self) -> int:
        """Lines written so far, all files together."""
        return sum(f.count for f in self.files) + self._count

    def _open_next(self) -> None:
        self._part += 1
        self._path = self.directory / file_name(self.res_type, self._part, self.suffix)
        # Owner-only: the files hold patients' records.
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._out = os.fdopen(fd, "wb", buffering=self.buffer_size)
        self._hash = hashlib.sha256()
        self._count = 0
        self._size = 0

    def _finish_file(self) -> None:
        if self._out is None:
            return
        self._out.close()
        assert self._path is not None
        self.files.append(NdjsonFile(self._path, self.res_type, self._count, self._size, self._hash.hexdigest()))
        self._out = None

    def write(self, resource: dict | bytes) -> None:
        line = as_line(resource)
        if self._out is not None and (self._count >= self.max_lines or self._size + len(line) > self.max_bytes):
            self._finish_file()
        if self._out is None:
            self._open_next()
        assert self._out is not None
        self._out.write(line)
        self._hash.update(line)
        self._count += 1
        self._size += len(line)

    def write_all(self, resources: Any) -> None:
        for r in resources:
            self.write(r)

    def close(self) -> list[NdjsonFile]:
        """Finish the last file and return every file written (none when nothing was written)."""
        self._finish_file()
        return list(self.files)

    def abort(self) -> None:
        """Close and remove what was written (a cancelled or failed export)."""
        self._finish_file()
        for f in self.files:
            f.path.unlink(missing_ok=True)
        self.files = []

    def __enter__(self) -> "NdjsonWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_file(path: Path, resources: Any) -> NdjsonFile:
    """Write every resource into one file at `path` (no splitting); its count and SHA-256."""
    path = Path(path)
    digest, count, size = hashlib.sha256(), 0, 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    res_type = ""
    with os.fdopen(fd, "wb", buffering=1024 * 1024) as out:
        for r in resources:
            line = as_line(r)
            out.write(line)
            digest.update(line)
            count += 1
            size += len(line)
            if not res_type and isinstance(r, dict):
                res_type = str(r.get("resourceType", ""))
    return NdjsonFile(path, res_type, count, size, digest.hexdigest())


def read_lines(source: Path | BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, raw line without its end) of every non-empty line, read as a stream."""
    own = not hasattr(source, "read")
    stream = open(source, "rb") if own else source  # noqa: SIM115
    try:
        for number, line in enumerate(stream, 1):
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield number, line
    finally:
        if own:
            stream.close()


def read(source: Path | BinaryIO) -> Iterator[dict]:
    """Every resource of an NDJSON file, parsed (decimals kept exactly as written), as a stream.
    A line that is not JSON raises ValueError naming its line number."""
    for number, line in read_lines(source):
        try:
            yield loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number}: not JSON ({exc})") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
