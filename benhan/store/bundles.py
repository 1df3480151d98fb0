"""Batch and transaction Bundles (http://hl7.org/fhir/R4/http.html#transaction).

A transaction is all-or-nothing: every entry is resolved, validated and index-extracted first
(no lock held), then all writes go to the database in ONE transaction (one statement per table),
then the GET entries are answered. Entries are processed in the spec's order (DELETE, POST,
PUT/PATCH, GET) and the response lists them in the request's order. `urn:uuid:` fullUrls and
conditional references (`Patient?identifier=…`) are resolved everywhere in the bundle.

A batch runs each entry on its own, through the ordinary interactions, each with its outcome.
"""
from __future__ import annotations

import uuid
from functools import lru_cache
from dataclasses import dataclass, field
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from benhan import errors
from benhan.errors import Detail
from benhan.fhir import patch as fhir_patch
from benhan.fhir.datetimes import format_instant, from_us
from benhan.fhir.outcome import from_error
from benhan.fhir.references import ID_RE, walk_references
from benhan.fhir.resource_json import loads
from benhan.store.bulk_gc import fewer_collections
from benhan.store.repository import Repository
from benhan.store.writer import PendingWrite, Stored

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class Entry:
    index: int
    method: str
    url: str
    res_type: str
    res_id: str | None
    query: str
    resource: Any
    full_url: str | None
    if_match: int | None
    if_none_exist: str | None
    target_id: str | None = None          # the id this entry writes, once resolved
    matched: Stored | None = None         # conditional create that found its match
    same_as: "Entry | None" = None        # conditional create whose criteria an earlier entry already creates
    pending: PendingWrite | None = None
    extra: dict = field(default_factory=dict)
    operation: str | None = None          # "$lookup" …: an operation entry, answered like a read
    patch_kind: str = fhir_patch.JSON_PATCH


# Runs a named operation (type, id or None, "$name", query items, Parameters body or None) → the
# resource it returns: the web layer hands in the handlers its REST routes use (terminology).
Operation = Callable[[Repository, str, "str | None", str, list, "dict | None"], dict]


def _entry_error(i: int, message: str) -> errors.BenhanError:
    return errors.InvalidBundle(message, expression=f"Bundle.entry[{i}]")


def status_line(code: int) -> str:
    """Bundle.entry.response.status: the code and its reason phrase ("404 Not Found"), always."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _local_url(i: int, url: str, base: str) -> str:
    """request.url relative to this server: an absolute URL of this server's base loses the base;
    another server's is refused (a transaction only writes here)."""
    if not url.startswith(("http://", "https://")):
        return url
    prefix = base.rstrip("/") + "/"
    if url.startswith(prefix):
        return url[len(prefix):]
    raise errors.InvalidBundle(f"entry {i}: request.url {url!r} is not on this server; use a url relative to "
                               f"{base} (Patient/123) or one that starts with it", expression=f"Bundle.entry[{i}].request.url")


def _parse_entries(bundle: dict, repo: Repository, base: str = "") -> list[Entry]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise errors.InvalidBundle("Bundle.entry must be an array", expression="Bundle.entry")
    out = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("request"), dict):
            raise _entry_error(i, f"entry {i} has no request")
        req = e["request"]
        method = str(req.get("method", "")).upper()
        url = req.get("url")
        if method not in ORDER or not isinstance(url, str) or not url:
            raise _entry_error(i, f"entry {i}: request needs a method (GET, POST, PUT, PATCH, DELETE) and a url")
        parts = urlsplit(_local_url(i, url, base))
        path = parts.path.strip("/")
        segments = path.split("/") if path else []
        if not segments:
            raise _entry_error(i, f"entry {i}: url {url!r} names no resource type")
        operation = next((s for s in segments if s.startswith("$")), None)
        if operation is not None:
            out.append(_operation_entry(i, method, url, segments, parts.query, e))
            continue
        res_type = segments[0]
        res_id = segments[1] if len(segments) > 1 else None
        if_match = None
        if req.get("ifMatch"):
            # ASCII digits only: int() raised ValueError on '²' (isdigit() is True for it): a 500.
            digits = "".join(ch for ch in str(req["ifMatch"]) if ch in "0123456789")
            if not digits:
                raise _entry_error(i, f"entry {i}: ifMatch {req['ifMatch']!r} is not an ETag of this server")
            if_match = int(digits)
        resource = e.get("resource")
        if method in ("POST", "PUT"):
            if not isinstance(resource, dict):
                raise _entry_error(i, f"entry {i}: {method} needs a resource")
            if resource.get("resourceType") != res_type:
                raise errors.ResourceTypeMismatch(
                    f"entry {i}: resource is {resource.get('resourceType')!r}, url says {res_type}",
                    expression=f"Bundle.entry[{i}].resource")
        patch_kind = fhir_patch.JSON_PATCH
        if method == "PATCH":
            patch_kind, resource = _patch_body(i, resource)
        out.append(Entry(i, method, url, res_type, res_id, parts.query, resource, e.get("fullUrl"), if_match,
                         req.get("ifNoneExist"), patch_kind=patch_kind))
    return out


def _operation_entry(i: int, method: str, url: str, segments: list[str], query: str, e: dict) -> Entry:
    """`POST ValueSet/$expand` with a Parameters resource, `GET CodeSystem/$lookup?…`: Type/$op or
    Type/id/$op, run by the same handlers as the REST routes."""
    if method not in ("GET", "POST") or not 2 <= len(segments) <= 3 or not segments[-1].startswith("$"):
        raise _entry_error(i, f"entry {i}: {method} {url!r} is not an operation this server runs "
                              "(GET or POST Type/$operation or Type/id/$operation)")
    body = e.get("resource")
    if method == "POST" and body is not None and (not isinstance(body, dict) or body.get("resourceType") != "Parameters"):
        raise _entry_error(i, f"entry {i}: an operation's resource is a Parameters resource")
    return Entry(i, method, url, segments[0], segments[1] if len(segments) == 3 else None, query,
                 body if method == "POST" else None, e.get("fullUrl"), None, None, operation=segments[-1])


def _patch_body(i: int, resource: Any) -> tuple[str, Any]:
    # R4 carries a patch in a Binary (base64) entry, whose contentType says JSON Patch or JSON Merge
    # Patch; the bare operations (an array) are taken too.
    if isinstance(resource, dict) and resource.get("resourceType") == "Binary":
        import base64
        kind = str(resource.get("contentType") or fhir_patch.JSON_PATCH).split(";")[0].strip().lower()
        if kind not in fhir_patch.FORMATS:
            raise _entry_error(i, f"entry {i}: a PATCH Binary's contentType is {' or '.join(fhir_patch.FORMATS)}")
        try:
            return kind, loads(base64.b64decode(resource.get("data", "")))
        except ValueError:
            raise _entry_error(i, f"entry {i}: the Binary does not hold a JSON patch") from None
    if isinstance(resource, list):
        return fhir_patch.JSON_PATCH, resource
    raise _entry_error(i, f"entry {i}: PATCH needs a Binary holding a JSON Patch or JSON Merge Patch")


def process_bundle(repo: Repository, bundle: Any, base: str, operation: Operation | None = None) -> dict:
    """`operation` runs operation entries (`POST ValueSet/$expand`); without it they are refused."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise errors.InvalidBundle("POST to the base needs a Bundle of type batch or transaction")
    kind = bundle.get("type")
    if kind == "transaction":
        return transaction(repo, bundle, base, operation)
    if kind == "batch":
        return batch(repo, bundle, base, operation)
    raise errors.InvalidBundle(f"Bundle.type must be batch or transaction, not {kind!r}", expression="Bundle.type")


# --- transaction -------------------------------------------------------------------------------

# A transaction of this many entries or more runs with fewer garbage collections (store.bulk_gc).
BULK_ENTRIES = 100


def transaction(repo: Repository, bundle: dict, base: str, operation: Operation | None = None) -> dict:
    raw = bundle.get("entry")
    with fewer_collections(isinstance(raw, list) and len(raw) >= BULK_ENTRIES):
        return _transaction(repo, bundle, base, operation)


def _transaction(repo: Repository, bundle: dict, base: str, operation: Operation | None) -> dict:
    entries = _parse_entries(bundle, repo, base)
    for e in entries:
        if e.res_type not in repo.store.resource_types:
            raise errors.UnknownResourceType(f"entry {e.index}: {e.res_type!r} is not a resource type",
                                             expression=f"Bundle.entry[{e.index}].request.url")
    ordered = sorted(entries, key=lambda e: (ORDER["GET"] if _is_read(e) else ORDER[e.method], e.index))
    mapping: dict[str, str] = {}       # fullUrl (urn:uuid:…) → Type/id
    _resolve_targets(repo, ordered, mapping, base)
    _rewrite_references(repo, entries, mapping, base, _conditional_creates(ordered))
    seen: set[tuple[str, str]] = set()
    pending: list[PendingWrite] = []
    writers: list[Entry] = []
    for e in ordered:
        if _is_read(e) or e.matched is not None or e.same_as is not None or e.target_id is None:
            continue
        key = (e.res_type, e.target_id)
        if key in seen:
            raise errors.InvalidBundle(f"{e.res_type}/{e.target_id} appears more than once in the transaction",
                                       expression=f"Bundle.entry[{e.index}]")
        seen.add(key)
        try:
            e.pending = _prepare(repo, e)
        except errors.BenhanError as err:
            raise _located(err, e) from None
        pending.append(e.pending)
        writers.append(e)
    results = repo.commit(pending, "transaction") if pending else []
    by_entry = {w.index: r for w, r in zip(writers, results)}
    responses: dict[int, dict] = {}
    for e in entries:
        if _is_read(e):
            continue
        if e.matched is not None:
            responses[e.index] = _response_for(e.matched, base, "200 OK")
        elif e.same_as is not None:
            responses[e.index] = _response_for(by_entry[e.same_as.index], base, "200 OK")
        elif e.index in by_entry:
            r = by_entry[e.index]
            status = "204 No Content" if r.deleted else ("201 Created" if r.created else "200 OK")
            responses[e.index] = _response_for(r, base, status)
        else:   # conditional delete with no match
            responses[e.index] = {"response": {"status": "204 No Content"}}
    for e in entries:
        if _is_read(e):
            responses[e.index] = _read_entry(repo, e, base, operation)
    return {"resourceType": "Bundle", "type": "transaction-response",
            "entry": [responses[e.index] for e in entries]}


def _is_read(e: Entry) -> bool:
    """GET/HEAD, or an operation (the terminology operations read): answered after the writes."""
    return e.method in ("GET", "HEAD") or e.operation is not None


def _read_entry(repo: Repository, e: Entry, base: str, operation: Operation | None) -> dict:
    if e.operation is None:
        return _get_entry(repo, e, base)
    try:
        if operation is None:
            raise errors.MethodNotAllowed(f"entry {e.index}: operations are not run in this Bundle")
        result = operation(repo, e.res_type, e.res_id, e.operation, parse_qsl(e.query, keep_blank_values=True),
                           e.resource)
    except errors.BenhanError as err:
        return {"response": {"status": status_line(err.status), "outcome": from_error(err)}}
    return {"resource": result, "response": {"status": status_line(200)}}


def _resolve_targets(repo: Repository, ordered: list[Entry], mapping: dict[str, str], base: str) -> None:
    creating: dict[tuple, Entry] = {}     # criteria → the entry of this Bundle that creates it
    for e in ordered:
        if e.operation is not None:
            continue
        if e.method == "POST":
            if e.if_none_exist:
                e.matched = repo.match(e.res_type, _own_query(e.res_type, e.if_none_exist))
                key = condition_key(e.res_type, e.if_none_exist) if e.matched is None else None
                if key is not None:
                    # Two conditional creates with the same criteria (one Practitioner named by
                    # several encounters): the second finds what the first makes, as it would had
                    # they been sent one after the other — one resource, not two.
                    e.same_as = creating.get(key)
                    creating.setdefault(key, e)
            e.target_id = (e.matched.res_id if e.matched else
                           e.same_as.target_id if e.same_as else str(uuid.uuid4()))
        elif e.method in ("PUT", "PATCH", "DELETE"):
            if e.res_id:
                if not ID_RE.match(e.res_id):
                    raise errors.InvalidId(f"entry {e.index}: {e.res_id!r} is not a valid id",
                                           expression=f"Bundle.entry[{e.index}].request.url")
                e.target_id = e.res_id
            elif e.query:
                found = repo.find(e.res_type, e.query)
                if len(found) > 1:
                    raise errors.MultipleMatches(f"entry {e.index}: {e.url} matches more than one resource",
                                                 expression=f"Bundle.entry[{e.index}].request.url")
                if found:
                    e.target_id = found[0].res_id
                elif e.method == "PUT":
                    e.target_id = (e.resource.get("id") if isinstance(e.resource, dict) and e.resource.get("id")
                                   else str(uuid.uuid4()))
                elif e.method == "PATCH":
                    raise errors.NotFound(f"entry {e.index}: {e.url} matches no resource")
            else:
                raise _entry_error(e.index, f"entry {e.index}: {e.method} needs an id or search criteria in its url")
        if e.full_url and e.target_id and e.method in ("POST", "PUT"):
            mapping[e.full_url] = f"{e.res_type}/{e.target_id}"


def condition_key(res_type: str, query: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """A conditional create's criteria or a conditional reference's, comparable: the type and the
    sorted (name, value) pairs. `Type?` before an ifNoneExist's query (HAPI's clients write it so;
    the spec has the query alone) is dropped."""
    head, sep, rest = query.partition("?")
    if sep and head == res_type:
        query = rest
    try:
        return res_type, tuple(sorted(parse_qsl(query, keep_blank_values=True, strict_parsing=True)))
    except ValueError:
        return None


def _conditional_creates(ordered: list[Entry]) -> dict[tuple, str]:
    """What each conditional create of the Bundle (POST with ifNoneExist) stands for, by its
    criteria: a conditional reference with the same criteria (Synthea's `Practitioner?identifier=…`
    beside the `ifNoneExist: identifier=…` that creates it) means that resource — found or made
    here — even when the database does not hold it yet (as HAPI resolves them)."""
    out: dict[tuple, str] = {}
    for e in ordered:
        if e.method == "POST" and e.if_none_exist and e.target_id and e.operation is None:
            key = condition_key(e.res_type, e.if_none_exist)
            if key is not None:
                out.setdefault(key, f"{e.res_type}/{e.target_id}")
    return out


def _own_query(res_type: str, query: str) -> str:
    """An ifNoneExist's query without a leading `Type?` of its own type."""
    head, sep, rest = query.partition("?")
    return rest if sep and head == res_type else query


def _rewrite_references(repo: Repository, entries: list[Entry], mapping: dict[str, str], base: str,
                        created: dict[tuple, str] | None = None) -> None:
    conditional_cache: dict[str, str] = {}

    def visit(ref: dict) -> None:
        text = ref["reference"]
        if text in mapping:
            ref["reference"] = mapping[text]
        elif text.startswith("urn:uuid:") or text.startswith("urn:oid:"):
            raise errors.ReferenceUnresolved(f"reference {text} matches no fullUrl in the transaction")
        elif "?" in text and not text.startswith(("http://", "https://")):
            if text not in conditional_cache:
                res_type, _, query = text.partition("?")
                here = created.get(condition_key(res_type, query)) if created else None
                if here is not None:
                    conditional_cache[text] = here
                    ref["reference"] = here
                    return
                found = repo.find(res_type, query)
                if len(found) != 1:
                    raise (errors.MultipleMatches if found else errors.ConditionalReferenceUnresolved)(
                        f"conditional reference {text} matches {len(found)} resources; it must match exactly one")
                conditional_cache[text] = f"{res_type}/{found[0].res_id}"
            ref["reference"] = conditional_cache[text]

    for e in entries:
        if e.method in ("POST", "PUT") and e.operation is None and isinstance(e.resource, dict):
            if e.resource.__class__ is dict:
                _walk_references(e.resource, visit)
            else:
                walk_references(e.resource, visit)


def _walk_references(node: dict, visit: Callable[[dict], None]) -> None:
    """fhir.references.walk_references(node, visit), the same calls in the same order, with a
    third less CPU: parsed JSON holds exact dicts and lists, tested by class (anything else that
    is a dict or list goes to the general walk)."""
    if isinstance(node.get("reference"), str):
        visit(node)
    for value in node.values():
        kind = value.__class__
        if kind is dict:
            _walk_references(value, visit)
        elif kind is list:
            for item in value:
                kind = item.__class__
                if kind is dict:
                    _walk_references(item, visit)
                elif kind is not str and isinstance(item, (dict, list)):
                    walk_references(item, visit)
        elif kind is not str and isinstance(value, (dict, list)):     # a subclass: the general walk
            walk_references(value, visit)


def _located(err: errors.BenhanError, e: Entry) -> errors.BenhanError:
    """The error with its expressions made relative to the Bundle (FHIRPath ofType for the resource)."""
    prefix = f"Bundle.entry[{e.index}].resource.ofType({e.res_type})"

    def where(expression: str | None) -> str | None:
        if not expression or expression.startswith("Bundle."):
            return expression
        head, _, rest = expression.partition(".")
        return f"{prefix}.{rest}" if head == e.res_type and rest else f"{prefix}.{expression}"

    err.message = f"entry {e.index}: {err.message}"
    err.expression = where(err.expression)
    err.details = [Detail(d.message, where(d.expression), d.severity, d.code) for d in err.details]
    return err


def _prepare(repo: Repository, e: Entry) -> PendingWrite:
    if e.method == "DELETE":
        repo._check_type(e.res_type)
        return PendingWrite("DELETE", e.res_type, e.target_id, None, None, None, if_match=e.if_match)
    if e.method == "PATCH":
        current = repo.read(e.res_type, e.target_id)
        patched = fhir_patch.apply(current.json(), e.resource, e.patch_kind)
        return repo.prepare("PATCH", e.res_type, e.target_id, patched,
                            if_match=e.if_match if e.if_match is not None else current.version)
    body = dict(e.resource)
    if e.method == "PUT" and "id" in body and body["id"] != e.target_id:
        raise errors.IdMismatch(f"the resource's id {body['id']!r} is not the url's {e.target_id!r}", expression="id")
    return repo.prepare(e.method, e.res_type, e.target_id, body, if_match=e.if_match,
                        create_only=e.method == "POST")


def _response_for(r: Stored, base: str, status: str) -> dict:
    if r.deleted and r.version == 0:     # deleting what never existed: nothing to version
        return {"response": {"status": status}}
    response = {"status": status, "etag": f'W/"{r.version}"', "lastModified": _instant(r.last_updated)}
    if not r.deleted:
        response["location"] = f"{r.res_type}/{r.res_id}/_history/{r.version}"
    return {"fullUrl": f"{base}/{r.res_type}/{r.res_id}", "response": response}


@lru_cache(maxsize=16)
def _instant(us: int) -> str:
    """lastModified of a response entry: every entry of a transaction has the same one, and the
    formatting (a timezone conversion and strftime) cost more than the rest of the entry."""
    return format_instant(from_us(us))


def _get_entry(repo: Repository, e: Entry, base: str) -> dict:
    try:
        if e.res_id and "/_history/" in e.url:
            vid = e.url.rstrip("/").rsplit("/", 1)[-1]
            # Repository.vread trusts isdigit(): '²' raised ValueError, a huge number overflowed the
            # driver; either was a 500 for the whole Bundle.
            if not (vid.isascii() and vid.isdigit()) or len(vid) > 9:
                raise errors.InvalidVersion(f"{vid!r} is not a version id of this server")
            v = repo.vread(e.res_type, e.res_id, vid)
        elif e.res_id:
            v = repo.read(e.res_type, e.res_id)
        else:
            result = repo.search_type(e.res_type, parse_qsl(e.query, keep_blank_values=True))
            entries = [{"fullUrl": f"{base}/{m.res_type}/{m.res_id}", "resource": m.json(),
                        "search": {"mode": "match"}} for m in result.matches]
            bundle = {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else \
                {"resourceType": "Bundle", "type": "searchset"}
            return {"resource": bundle, "response": {"status": "200 OK"}}
        return {"fullUrl": f"{base}/{e.res_type}/{v.res_id}", "resource": v.json(),
                "response": {"status": "200 OK", "etag": f'W/"{v.version}"'}}
    except errors.BenhanError as err:
        return {"response": {"status": status_line(err.status), "outcome": from_error(err)}}


# --- batch -------------------------------------------------------------------------------------

def batch(repo: Repository, bundle: dict, base: str, operation: Operation | None = None) -> dict:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise errors.InvalidBundle("Bundle.entry must be an array", expression="Bundle.entry")
    out = []
    for i, raw in enumerate(entries):
        try:
            e = _parse_entries({"entry": [raw]}, repo, base)[0]
            e.index = i
            out.append(_read_entry(repo, e, base, operation) if _is_read(e) else _batch_entry(repo, e, base))
        except errors.BenhanError as err:
            out.append({"response": {"status": status_line(err.status), "outcome": from_error(err)}})
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def _batch_entry(repo: Repository, e: Entry, base: str) -> dict:
    if e.method in ("GET", "HEAD"):
        return _get_entry(repo, e, base)
    if e.method == "POST":
        r = repo.create(e.res_type, e.resource, if_none_exist=e.if_none_exist)
        return _response_for(r, base, "200 OK" if r.extra.get("matched") else "201 Created")
    if e.method == "PUT":
        r = (repo.update(e.res_type, e.res_id, e.resource, if_match=e.if_match) if e.res_id
             else repo.conditional_update(e.res_type, e.query, e.resource, if_match=e.if_match))
        return _response_for(r, base, "201 Created" if r.created else "200 OK")
    if e.method == "PATCH":
        if not e.res_id:
            raise _entry_error(e.index, "conditional PATCH in a batch is not supported; use the id")
        r = repo.patch(e.res_type, e.res_id, e.resource, if_match=e.if_match, kind=e.patch_kind)
        return _response_for(r, base, "200 OK")
    r = repo.delete(e.res_type, e.res_id) if e.res_id else repo.conditional_delete(e.res_type, e.query)
    return {"response": {"status": "204 No Content"}} if r is None else _response_for(r, base, "204 No Content")
