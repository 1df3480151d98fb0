"""Bundle builders: searchset, history and the responses to batch and transaction."""
from __future__ import annotations

from urllib.parse import urlencode

from benhan.fhir.datetimes import format_instant, from_us


def link(relation: str, url: str) -> dict:
    return {"relation": relation, "url": url}


def url_with(base: str, path: str, query: list[tuple[str, str]]) -> str:
    q = urlencode(query, safe=":|,/$")
    return (f"{base}/{path}" if path else base) + (f"?{q}" if q else "")


def _bundle(kind: str, entries: list[dict], links: list[dict], total: int | None) -> dict:
    bundle: dict = {"resourceType": "Bundle", "type": kind}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def searchset(entries: list[dict], links: list[dict], total: int | None) -> dict:
    return _bundle("searchset", entries, links, total)


def history_entry(base: str, res_type: str, res_id: str, version: int, last_updated_us: int,
                  method: str, deleted: bool, resource: dict | None) -> dict:
    full = f"{base}/{res_type}/{res_id}"
    entry: dict = {"fullUrl": full}
    if resource is not None:
        entry["resource"] = resource
    http_method = "DELETE" if deleted else ("POST" if version == 1 and method == "POST" else "PUT")
    entry["request"] = {"method": http_method,
                        "url": f"{res_type}/{res_id}" if http_method != "POST" else res_type}
    status = "204 No Content" if deleted else ("201 Created" if version == 1 else "200 OK")
    entry["response"] = {"status": status, "etag": f'W/"{version}"',
                         "lastModified": format_instant(from_us(last_updated_us))}
    return entry


def history(entries: list[dict], links: list[dict], total: int | None) -> dict:
    return _bundle("history", entries, links, total)
