"""HTTP details of the FHIR API: content types, _format, Prefer, ETag/If-Match, body limits,
and turning resources and errors into responses."""
from __future__ import annotations

import re
import time
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from benhan import errors
from benhan.fhir.datetimes import from_us
from benhan.fhir.outcome import from_error
from benhan.fhir.search import check_query
from benhan.fhir.resource_json import dumps, loads
from benhan.store.bulk_gc import fewer_collections

FHIR_JSON = "application/fhir+json"
JSON_TYPES = {"application/fhir+json", "application/json", "application/json+fhir", "text/json"}
PATCH_TYPES = {"application/json-patch+json", "application/merge-patch+json"}   # fhir.patch
_FORMAT_JSON = {"json", "application/json", "application/fhir+json", "application/json+fhir", "text/json"}
_FORMAT_XML = {"xml", "application/xml", "application/fhir+xml", "text/xml", "application/xml+fhir"}
_ETAG = re.compile(r'^\s*(?:W/)?"?([^"\s]+)"?\s*$')
# A body this large (about a hundred Synthea-shaped entries) is parsed with fewer collections.
BULK_BODY_BYTES = 128 * 1024


def check_format(request: Request) -> None:
    """Refuse a response format we do not produce (XML, Turtle) with 406, and a query no index
    can answer (a NUL, an endless value) with 400: every FHIR handler starts here."""
    check_query(request.query_params.multi_items())
    fmt = request.query_params.get("_format")
    if fmt is not None:
        check_format_value(fmt)
        return
    check_accept(request.headers.get("accept", ""))


def check_accept(accept: str) -> None:
    """406 for an Accept header that asks only for formats we do not produce."""
    if accept:
        kinds = [a.split(";")[0].strip().lower() for a in accept.split(",")]
        if kinds and all(k in _FORMAT_XML or k == "text/turtle" for k in kinds):
            raise errors.NotAcceptable(f"Accept: {accept}: this server speaks FHIR JSON only")


def check_format_value(fmt: str) -> None:
    if fmt.split(";")[0].strip().lower() not in _FORMAT_JSON:
        raise errors.NotAcceptable(f"_format={fmt}: this server speaks FHIR JSON only")


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, max_bytes: int, allowed: set[str] = JSON_TYPES) -> Any:
    return (await read_body_sized(request, max_bytes, allowed))[0]


async def read_body_sized(request: Request, max_bytes: int, allowed: set[str] = JSON_TYPES) -> tuple[Any, int]:
    """read_body, and the body's size in bytes."""
    kind = content_type(request)
    if kind not in allowed:
        raise errors.UnsupportedMediaType(
            f"Content-Type {kind or '(none)'} is not accepted here; send {' or '.join(sorted(allowed))}")
    raw = await read_bytes(request, max_bytes)
    if not raw.strip():
        raise errors.MalformedJson("the body is empty")
    try:
        # A large body (a transaction Bundle) parses into one long-lived graph the collector can
        # only walk, not free: parsed with fewer collections (store.bulk_gc; ~23 µs/resource).
        with fewer_collections(len(raw) >= BULK_BODY_BYTES):
            return loads(raw), len(raw)      # decimals kept exactly as sent (R4 datatypes.html#decimal)
    except orjson.JSONDecodeError as exc:
        raise errors.MalformedJson(f"the body is not valid JSON: {exc}") from None


async def read_bytes(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it is over max_bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    # isascii(): isdigit() alone takes '²', on which int() raises (a 500); so does int() of 4300+ digits.
    if declared and declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > max_bytes):
        raise errors.PayloadTooLarge(f"the body is {declared} bytes; the limit is {max_bytes}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise errors.PayloadTooLarge(f"the body is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def if_match(request: Request) -> int | None:
    value = request.headers.get("if-match")
    if value is None:
        return None
    m = _ETAG.match(value)
    # Headers arrive latin-1 decoded, so b'W/"\xb2"' is 'W/"²"': isdigit() alone let it through
    # to int(), which raised ValueError (a 500).
    if not m or not (m.group(1).isascii() and m.group(1).isdigit()):
        raise errors.InvalidHeader(f"If-Match: {value!r} is not an ETag of this server (W/\"n\")",
                                   expression="If-Match")
    return int(m.group(1))


def prefer(request: Request, key: str) -> str | None:
    for part in request.headers.get("prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == key:
            return value.strip().strip('"').lower()
    return None


def pretty(request: Request) -> bool:
    return request.query_params.get("_pretty") == "true"


def json_response(content: Any, status: int = 200, headers: dict | None = None, *,
                  indent: bool = False) -> Response:
    if isinstance(content, (bytes, bytearray)):
        body = bytes(content) if not indent else dumps(loads(content), orjson.OPT_INDENT_2)
    else:
        body = dumps(content, orjson.OPT_INDENT_2 if indent else 0)
    return Response(body, status_code=status, headers=headers, media_type=f"{FHIR_JSON}; charset=utf-8")


def error_response(err: errors.BenhanError) -> Response:
    return json_response(from_error(err), err.status)


def version_headers(version: int, last_updated_us: int) -> dict[str, str]:
    return {"ETag": f'W/"{version}"', "Last-Modified": http_date(last_updated_us)}


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(us: int) -> str:
    """An HTTP-date (RFC 9110 IMF-fixdate) of µs since the epoch: what email.utils.format_datetime
    (usegmt) writes, without building a datetime — it was a tenth of a read's response."""
    if not _MIN_US <= us < _MAX_US:         # outside what time.gmtime takes everywhere
        return format_datetime(from_us(us), usegmt=True)
    t = time.gmtime(us // 1_000_000)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


_MIN_US, _MAX_US = 0, 253402300800 * 1_000_000     # 1970 … the end of year 9999


def base_url(request: Request, configured: str) -> str:
    if configured:
        return configured.rstrip("/")
    scope = request.scope
    host = None
    for key, value in scope["headers"]:
        if key == b"host":
            host = value
            break
    server = scope.get("server")
    return _base_url(scope.get("scheme", "http"), tuple(server) if server else None,
                     scope.get("app_root_path", scope.get("root_path", "")), host)


@lru_cache(maxsize=256)
def _base_url(scheme: str, server: tuple | None, root_path: str, host: bytes | None) -> str:
    """Starlette's request.base_url of what it is made of, remembered: building it (a scope copy,
    host parsing, urlunsplit) was a tenth of a create's CPU on the event loop, for the same few
    answers (one per Host a client uses)."""
    scope = {"type": "http", "scheme": scheme, "server": server, "root_path": root_path, "path": "/",
             "query_string": b"", "headers": [(b"host", host)] if host is not None else []}
    return str(Request(scope).base_url).rstrip("/") + "/fhir"
