"""The FHIR REST endpoints at /fhir (http://hl7.org/fhir/R4/http.html)."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

import orjson
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from benhan import errors
from benhan.fhir import bundle as fhir_bundle
from benhan.fhir.capability import capability_statement
from benhan.fhir.datetimes import parse_range
from benhan.fhir.outcome import information, issue
from benhan.store.bundles import process_bundle
from benhan.store.includes import MAX_INCLUDED
from benhan.store.repository import Repository, VersionBody
from benhan.store.writer import Stored
from benhan.web import authn, compartment_api, http, terminology_api
from benhan.web.shaping import shape
from benhan.web import audit_api
from benhan.web import hosobenhan_api

MAX_VERSION = 2**31 - 1     # resource_version.version is a 32-bit INTEGER on PostgreSQL
STARTED = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
# A create of a body up to this size is validated on the event loop (SQLite; see type_endpoint).
INLINE_CREATE_BYTES = 32 * 1024


def _repo(request: Request) -> Repository:
    return Repository(request.app.state.store, authn.actor(request))


async def _read(store, repo: Repository, res_type: str, res_id: str) -> VersionBody:  # noqa: ANN001
    """A read by id, answered on the event loop rather than on a worker thread where it can be.
    On SQLite it is ~25 µs in the library, less than the hop to a worker thread and back costs
    (queue, wake-up, GIL hand-over; dearer the more requests are in flight), and it does not wait:
    WAL readers take no lock a writer holds, the pool has more connections than the worker threads
    use (store/database.py) and the read audit only appends to its buffer. On PostgreSQL the read
    is a network round trip, which must not block the loop: it is awaited on an async connection
    (store.database.LoopReads, one statement); a read that needs a transaction (an actor limited to
    the patients in their scope) goes to a worker thread."""
    if store.db.is_sqlite:
        return repo.read(res_type, res_id)
    if store.db.loop_reads is not None and store.db.loop_reads.usable():
        v = await repo.read_on_loop(res_type, res_id)
        if v is not None:
            return v
    return await run_in_threadpool(repo.read, res_type, res_id)


def _base(request: Request) -> str:
    return http.base_url(request, request.app.state.store.config.base_url)


def _max_body(request: Request) -> int:
    return request.app.state.store.config.max_body_bytes


def _query_items(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def _resource_response(request: Request, v: VersionBody) -> Response:
    body = v.body
    summary, elements = request.query_params.get("_summary"), request.query_params.get("_elements")
    if summary or elements:
        body = shape(v.json(), summary, elements)
    return http.json_response(body, 200, http.version_headers(v.version, v.last_updated), indent=http.pretty(request))


def _write_response(request: Request, s: Stored, created_status: int = 201) -> Response:
    base = _base(request)
    headers = http.version_headers(s.version, s.last_updated)
    headers["Location"] = f"{base}/{s.res_type}/{s.res_id}/_history/{s.version}"
    status = created_status if s.created else 200
    wanted = http.prefer(request, "return") or "representation"
    if wanted == "minimal":
        return Response(status_code=status, headers=headers)
    if wanted == "operationoutcome":
        note = "no change: the content equals the current version" if s.noop else \
            f"{s.res_type}/{s.res_id} version {s.version} stored"
        return http.json_response(information(note), status, headers)
    body = s.body
    if body is None:
        v = _repo(request).read(s.res_type, s.res_id)
        body = v.body
    return http.json_response(body, status, headers, indent=http.pretty(request))


# --- endpoints ---------------------------------------------------------------------------------

async def metadata(request: Request) -> Response:
    http.check_format(request)
    store = request.app.state.store
    return http.json_response(_capabilities(_base(request), store.resource_types), indent=http.pretty(request))


@lru_cache(maxsize=8)
def _capabilities(base: str, resource_types: frozenset[str]) -> bytes:
    # ~750 KB of JSON that only changes with the software: built once per base URL.
    return orjson.dumps(capability_statement(base, resource_types, STARTED))


async def type_endpoint(request: Request) -> Response:
    http.check_format(request)
    res_type = request.path_params["type"]
    repo = _repo(request)
    query = request.url.query
    if request.method == "GET":
        return await _search(request, repo, res_type, _query_items(request))
    if request.method == "POST":
        criteria = [k for k, _ in request.query_params.multi_items() if k not in ("_format", "_pretty")]
        if criteria:
            # Some clients send conditional create as POST /Patient?identifier=…; creating
            # regardless would make the duplicate the client meant to avoid.
            raise errors.InvalidSearchParameter(
                f"POST /{res_type} takes no search parameters ({', '.join(criteria)}); "
                "send a conditional create's criteria in the If-None-Exist header", expression=criteria[0])
        body, size = await http.read_body_sized(request, _max_body(request))
        if_none_exist = request.headers.get("if-none-exist")
        if if_none_exist is None and size <= INLINE_CREATE_BYTES and request.app.state.store.db.is_sqlite:
            # On the event loop: validation is CPU under the same GIL in a worker thread too, and the
            # transaction goes straight to SQLite's group-commit thread (store.group_commit.run_async).
            # A conditional create searches first, and a large resource takes long to validate:
            # those stay on a worker thread, which lets the loop in every switch interval.
            stored = await repo.create_on_loop(res_type, body)
        else:
            stored = await run_in_threadpool(repo.create, res_type, body, if_none_exist=if_none_exist)
        if stored.extra.get("matched"):
            return _write_response(request, stored, 200)
        return _write_response(request, stored)
    if not query:
        raise errors.MethodNotAllowed(f"{request.method} on /{res_type} needs search criteria (a conditional "
                                      f"{request.method.lower()}) or an id in the URL")
    if request.method == "PUT":
        body = await http.read_body(request, _max_body(request))
        stored = await run_in_threadpool(repo.conditional_update, res_type, query, body,
                                         if_match=http.if_match(request))
        return _write_response(request, stored)
    if request.method == "DELETE":
        stored = await run_in_threadpool(repo.conditional_delete, res_type, query)
        return _delete_response(stored)
    if request.method == "PATCH":
        ops = await http.read_body(request, _max_body(request), http.PATCH_TYPES)
        repo.permit("u", res_type, "patch")      # 403 before the search says whether anything matches
        found = await run_in_threadpool(repo.find, res_type, query)
        if len(found) != 1:
            if found:
                raise errors.MultipleMatches(f"{res_type}?{query} matches more than one resource")
            raise errors.NotFound(f"{res_type}?{query} matches no resource")
        stored = await run_in_threadpool(repo.patch, res_type, found[0].res_id, ops, if_match=http.if_match(request),
                                         kind=http.content_type(request))
        return _write_response(request, stored)
    raise errors.MethodNotAllowed(f"{request.method} is not allowed on /{res_type}")


async def search_post(request: Request) -> Response:
    http.check_format(request)
    if http.content_type(request) != "application/x-www-form-urlencoded":
        raise errors.UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters")
    # Read within the body limit (request.form() has none), and honour a _format sent in the body
    # as one sent in the URL: the two forms of a search must answer alike.
    raw = await http.read_bytes(request, _max_body(request))
    form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    for key, value in form:
        if key == "_format":
            http.check_format_value(value)
    items = _query_items(request) + form
    return await _search(request, _repo(request), request.path_params["type"], items)


async def _search(request: Request, repo: Repository, res_type: str, items: list[tuple[str, str]],
                  *, path: str | None = None, run=None) -> Response:  # noqa: ANN001
    """A searchset Bundle for a type search (or a system search when res_type is empty); `run`
    replaces the repository call (a compartment search), `path` the links' path."""
    lenient = http.prefer(request, "handling") == "lenient"
    items = _own_references_relative(items, _base(request))
    if run is not None:
        result = await run_in_threadpool(run, items, lenient)
    elif res_type:
        result = await run_in_threadpool(repo.search_type, res_type, items, lenient=lenient)
    else:
        result = await run_in_threadpool(repo.search_system, items, lenient=lenient)
    req = result.request
    base = _base(request)
    path = res_type if path is None else path
    applied = req.applied_query()
    here = _offset(req.offset) + ([("_cursor", items_value(items, "_cursor"))] if req.cursor else [])
    links = [fhir_bundle.link("self", fhir_bundle.url_with(base, path, applied + here))]
    if result.next_cursor:
        # Keyset paging: the next page starts after this page's last row, so writes between
        # pages neither skip nor repeat the rows that were there all along.
        links.append(fhir_bundle.link("next", fhir_bundle.url_with(
            base, path, applied + _offset(req.offset) + [("_cursor", result.next_cursor)])))
    elements = ",".join(req.elements) if req.elements else None
    entries = []
    for m in result.matches:
        resource = shape(m.json(), req.summary, elements)
        entries.append({"fullUrl": f"{base}/{m.res_type}/{m.res_id}", "resource": resource,
                        "search": {"mode": "match"}})
    for m in result.included:
        entries.append({"fullUrl": f"{base}/{m.res_type}/{m.res_id}", "resource": shape(m.json(), req.summary, None),
                        "search": {"mode": "include"}})
    bundle = fhir_bundle.searchset(entries, links, result.total)
    if req.ignored:
        bundle.setdefault("entry", []).append({"resource": information(
            "ignored search parameters: " + ", ".join(req.ignored), "not-supported"),
            "search": {"mode": "outcome"}})
    if result.included_cut:
        # The page brought in as many as a page may: there may be more, and the client must know.
        bundle.setdefault("entry", []).append({"resource": {"resourceType": "OperationOutcome", "issue": [issue(
            "warning", "too-costly", f"_include/_revinclude brought in the most a page may ({MAX_INCLUDED}); "
            "there may be more: search them directly, or ask for fewer matches per page (_count)")]},
            "search": {"mode": "outcome"}})
    return http.json_response(bundle, indent=http.pretty(request))


def _own_references_relative(items: list[tuple[str, str]], base: str) -> list[tuple[str, str]]:
    """subject=http://this-server/fhir/Patient/p1 means the local Patient/p1: the index keeps
    local references relative and other servers' absolute, so our own base is taken off here."""
    prefix = base + "/"
    return [(k, ",".join(v2[len(prefix):] if v2.startswith(prefix) else v2 for v2 in v.split(",")))
            if prefix in v and not k.startswith("_") else (k, v) for k, v in items]


def items_value(items: list[tuple[str, str]], key: str) -> str:
    return next((v for k, v in items if k == key), "")


def _offset(offset: int) -> list[tuple[str, str]]:
    return [("_offset", str(offset))] if offset else []


async def instance_endpoint(request: Request) -> Response:
    http.check_format(request)
    res_type, res_id = request.path_params["type"], request.path_params["id"]
    repo = _repo(request)
    if request.method == "GET":
        v = await _read(request.app.state.store, repo, res_type, res_id)
        return _resource_response(request, v)
    if request.method == "PUT":
        body = await http.read_body(request, _max_body(request))
        stored = await run_in_threadpool(repo.update, res_type, res_id, body, if_match=http.if_match(request))
        return _write_response(request, stored)
    if request.method == "PATCH":
        ops = await http.read_body(request, _max_body(request), http.PATCH_TYPES)
        stored = await run_in_threadpool(repo.patch, res_type, res_id, ops, if_match=http.if_match(request),
                                         kind=http.content_type(request))
        return _write_response(request, stored)
    if request.method == "DELETE":
        stored = await run_in_threadpool(repo.delete, res_type, res_id)
        return _delete_response(stored)
    raise errors.MethodNotAllowed(f"{request.method} is not allowed on /{res_type}/{res_id}")


_FHIR_JSON_UTF8 = f"{http.FHIR_JSON}; charset=utf-8".encode()


class InstanceRoute:
    """The ASGI app of /{type}/{id}. A plain read by id (GET, no query string: the API's most
    frequent request) is answered here straight from the ASGI scope: no Request object, no
    query parsing, no Response object — per read those cost as much as SQLite's part. Anything
    else (a query, another method) goes to instance_endpoint as before. Errors are raised as
    they are there: the exception handlers answer both alike."""

    def __init__(self) -> None:
        self.endpoint = request_response(instance_endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET" or scope["query_string"]:
            await self.endpoint(scope, receive, send)
            return
        http.check_accept(authn.header(scope, b"accept") or "")
        params = scope["path_params"]
        res_type, res_id = params["type"], params["id"]
        actor = scope["state"].get("actor")
        if actor is None:
            raise errors.Unauthenticated("log in, or send an OAuth access token")
        store = scope["app"].state.store
        repo = Repository(store, actor)
        v = await _read(store, repo, res_type, res_id)
        body = v.body
        if not isinstance(body, bytes):
            await _resource_response(Request(scope, receive), v)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"etag", b'W/"%d"' % v.version), (b"last-modified", http.http_date(v.last_updated).encode()),
            (b"content-length", b"%d" % len(body)), (b"content-type", _FHIR_JSON_UTF8)]})
        await send({"type": "http.response.body", "body": body})


def _delete_response(stored: Stored | None) -> Response:
    if stored is None or stored.noop:
        return http.json_response(information("nothing to delete"), 200)
    return Response(status_code=204, headers={"ETag": f'W/"{stored.version}"'})


async def vread(request: Request) -> Response:
    http.check_format(request)
    p = request.path_params
    vid = p["vid"]
    # Repository.vread trusts str.isdigit(): '²' raised ValueError, '١' read version 1, and a
    # number past the version column's range overflowed the driver — all 500s or wrong answers.
    if not (vid.isascii() and vid.isdigit()) or len(vid) > 10 or int(vid) > MAX_VERSION:
        raise errors.InvalidVersion(f"{vid!r} is not a version id of this server")
    v = await run_in_threadpool(_repo(request).vread, p["type"], p["id"], vid)
    return _resource_response(request, v)


async def history(request: Request) -> Response:
    http.check_format(request)
    res_type = request.path_params.get("type")
    res_id = request.path_params.get("id")
    q = request.query_params
    since = None
    if "_since" in q:
        r = parse_range(q["_since"])
        if r is None:
            raise errors.InvalidSearchParameter(f"_since={q['_since']}: not an instant", expression="_since")
        since = r[0]
    count = _int_param(q, "_count")
    cursor = _int_param(q, "_cursor")
    result = await run_in_threadpool(_repo(request).history, res_type, res_id, since=since, count=count,
                                     cursor=cursor, total=q.get("_total") == "accurate")
    base = _base(request)
    path = "/".join(x for x in (res_type, res_id, "_history") if x)
    keep = [(k, v) for k, v in q.multi_items() if k in ("_since", "_count", "_total")]
    links = [fhir_bundle.link("self", fhir_bundle.url_with(base, path, keep + ([("_cursor", str(cursor))] if cursor else [])))]
    if result.next_cursor is not None:
        links.append(fhir_bundle.link("next", fhir_bundle.url_with(base, path, keep + [("_cursor", str(result.next_cursor))])))
    entries = [fhir_bundle.history_entry(base, e.res_type, e.res_id, e.version, e.last_updated, e.method,
                                         e.deleted, e.json() if e.body else None) for e in result.entries]
    return http.json_response(fhir_bundle.history(entries, links, result.total), indent=http.pretty(request))


def _int_param(q, name: str) -> int | None:  # noqa: ANN001
    if name not in q:
        return None
    value = q[name]
    # str.isdigit() also accepts '²' (int() then raised ValueError: a 500) and other scripts' digits;
    # and a _cursor past 64 bits overflowed SQLite's INTEGER (a 500 too).
    if not (value.isascii() and value.isdigit()):
        raise errors.InvalidSearchParameter(f"{name} must be a whole number, not {value!r}", expression=name)
    if len(value) > 18:
        raise errors.InvalidSearchParameter(f"{name}={value} is out of range", expression=name)
    return int(value)


async def system_endpoint(request: Request) -> Response:
    http.check_format(request)
    if request.method == "POST":
        body = await http.read_body(request, _max_body(request))
        repo = _repo(request)
        result = await run_in_threadpool(process_bundle, repo, body, _base(request), terminology_api.run_operation)
        return http.json_response(result, indent=http.pretty(request))
    # GET [base]?_type=Patient,Observation&_lastUpdated=ge… : system-level search.
    return await _search(request, _repo(request), "", _query_items(request))


routes = [
    *audit_api.routes,     # the audit trail: before /{type}, served from the trail, read-only
    Route("/metadata", metadata, methods=["GET"]),
    Route("/_history", history, methods=["GET"]),
    Route("/", system_endpoint, methods=["POST", "GET"]),
    *hosobenhan_api.routes,    # CV 365 HoSoBenhAn: before /{type} and /Patient/{id}/{type}
    Route("/{type}", type_endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    Route("/{type}/_search", search_post, methods=["POST"]),
    Route("/{type}/_history", history, methods=["GET"]),
    Route("/Patient/{id}/$everything", compartment_api.everything, methods=["GET"]),
    *terminology_api.routes,    # before /{type}/{id}, which would read "$expand" as an id
    Route("/{type}/{id}", InstanceRoute(), methods=["GET", "PUT", "PATCH", "DELETE"], name="instance_endpoint"),
    Route("/{type}/{id}/_history", history, methods=["GET"]),
    # After /{type}/{id}/_history, which would otherwise read as a search of type "_history".
    Route("/Patient/{id}/{type}", compartment_api.compartment_search, methods=["GET"]),
    Route("/{type}/{id}/_history/{vid}", vread, methods=["GET"]),
]
