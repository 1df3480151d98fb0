"""The sync wire format (docs/sync.md "Wire format"): zstd-compressed NDJSON.

Line 1 is a header object. Then, per version, a metadata line followed — unless the version is a
deletion — by the resource's stored JSON exactly as its origin stamped it (meta.versionId and
lastUpdated included), so that both ends hold byte-identical versions. A push may end with audit
lines ({"e": seq, ...}). Short keys: the payload crosses 2G/3G links, and every byte is paid for.

Why not a FHIR Bundle: a version here needs its origin's sequence number, base version, origin node,
author and "resolves" flag, which a Bundle would carry as extensions on every entry; the resources
themselves are still plain FHIR R4 JSON.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson
import zstandard

from benhan import errors

MEDIA_TYPE = "application/zstd"     # a zstd frame holding NDJSON (no Content-Encoding: see transport)
LEVEL = 12              # measured: ~10 % smaller than gzip -9 on a day's resources, fast enough on a node PC
MAX_DECOMPRESSED = 64 * 1024 * 1024
BATCH_RAW_BYTES = 1_500_000        # ≈ 200–250 KB compressed: one push batch's JSON at most


@dataclass
class Version:
    """One version on the wire."""
    seq: int                         # the sender's sequence number (its change-log seq)
    res_type: str
    res_id: str
    version: int
    base: int | None                 # the version it was edited from
    deleted: bool
    method: str
    last_updated: int                # µs since the epoch, UTC, as stored at the origin
    body: bytes | None               # the stored JSON; None for a deletion
    origin: str = ""                 # the node that made it (pull, fetch)
    agent: str | None = None         # who made it (push)
    resolves: bool = False           # written to resolve a conflict
    base_own: bool = False           # push: the base is a version the node made itself (see sync.md)

    def meta(self) -> dict:
        out: dict = {"c": self.seq, "t": self.res_type, "i": self.res_id, "v": self.version, "u": self.last_updated}
        if self.base is not None:
            out["b"] = self.base
        if self.deleted:
            out["d"] = 1
        if self.method != "PUT":
            out["m"] = self.method
        if self.origin:
            out["o"] = self.origin
        if self.agent:
            out["a"] = self.agent
        if self.resolves:
            out["r"] = 1
        if self.base_own:
            out["bo"] = 1
        return out


@dataclass
class Message:
    header: dict
    versions: list[Version] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)


def encode(message: Message) -> bytes:
    return zstandard.ZstdCompressor(level=LEVEL).compress(b"".join(_lines(message)))


def _lines(message: Message) -> Iterator[bytes]:
    yield orjson.dumps(message.header) + b"\n"
    for v in message.versions:
        yield orjson.dumps(v.meta()) + b"\n"
        if not v.deleted:
            assert v.body is not None and b"\n" not in v.body
            yield v.body + b"\n"
    for row in message.audit:
        yield orjson.dumps(row) + b"\n"


def decode(data: bytes) -> Message:
    try:
        raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=MAX_DECOMPRESSED) if data else b""
    except zstandard.ZstdError as exc:
        raise errors.InvalidHeader(f"the sync body is not zstd: {exc}") from None
    lines = iter(raw.split(b"\n"))
    try:
        header = orjson.loads(next(lines))
        message = Message(header)
        for line in lines:
            if not line:
                continue
            item = orjson.loads(line)
            if "e" in item:
                message.audit.append(item)
                continue
            deleted = bool(item.get("d"))
            body = None if deleted else next(lines)
            message.versions.append(Version(
                int(item["c"]), str(item["t"]), str(item["i"]), int(item["v"]),
                int(item["b"]) if item.get("b") is not None else None, deleted, str(item.get("m", "PUT")),
                int(item["u"]), bytes(body) if body is not None else None, str(item.get("o", "")),
                item.get("a"), bool(item.get("r")), bool(item.get("bo"))))
    except (StopIteration, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise errors.InvalidHeader(f"the sync body is malformed: {exc}") from None
    if not isinstance(message.header, dict):
        raise errors.InvalidHeader("the sync body's first line must be an object")
    return message


def content_digest(message: Message) -> str:
    """What a batch holds (its versions and audit lines, not its header), as 32 hex digits. The hub
    knows a batch by its id and this digest: a reused id with other content is another batch."""
    return hashlib.sha256(b"".join(_lines(Message({}, message.versions, message.audit)))).hexdigest()[:32]


def batch_id(node_id: str, first: int, last: int) -> str:
    return f"{node_id}:{first}-{last}"


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def within_batch_size(changes: list) -> list:
    """The leading changes whose bodies fit in one batch (BATCH_RAW_BYTES, ~100 bytes of header
    each); always at least one, so a single large resource still goes."""
    size = 0
    for i, c in enumerate(changes):
        size += len(c.body or b"") + 100
        if size > BATCH_RAW_BYTES and i > 0:
            return changes[:i]
    return changes
