"""What the facility's service catalogue offers on a date: the services (ActivityDefinition) that
have a price period (ChargeItemDefinition) holding that date, found by Vietnamese name with or
without accents, or by the start of their code (docs/catalogues.md).

A service without a price valid on the date is not offered — the insurer pays a service at the
price of the day it was given, so an order for a service the facility no longer lists (or does not
list yet) could not be claimed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from benhan import errors
from benhan.clinical.catalogue import resources
from benhan.fhir.text import fold
from benhan.store.repository import Repository

_CODE_LIKE = re.compile(r"^[0-9][0-9.]*$")
_CHUNK = 80          # price urls asked in one search (an OR of values)


@dataclass(frozen=True)
class Service:
    id: str             # the ActivityDefinition's id
    url: str            # its canonical url (ServiceRequest.instantiatesCanonical)
    system: str
    code: str
    name: str
    group: str          # MA_NHOM, '' when unknown
    price: float | int  # VND, the period valid on the date
    unit: str
    price_canonical: str  # the ChargeItemDefinition's url|version of that period

    @property
    def label(self) -> str:
        return f"{self.name} [{self.code}]"


def _group(body: dict, code: str) -> str:
    for topic in body.get("topic", []):
        for c in topic.get("coding", []):
            if c.get("system") == resources.COST_GROUP and c.get("code"):
                return c["code"]
    return resources.cost_group(code)        # imported before the cost group was kept


def _holds(period: dict, on: date) -> bool:
    start, end = period.get("start", ""), period.get("end", "")
    return bool(start) and start[:10] <= on.isoformat() and (not end or end[:10] >= on.isoformat())


def _prices(repo: Repository, urls: list[str], on: date) -> dict[str, dict]:
    """price url → the ChargeItemDefinition valid on `on` (active, its period holding the date)."""
    out: dict[str, dict] = {}
    for i in range(0, len(urls), _CHUNK):
        chunk = urls[i:i + _CHUNK]
        for m in repo.search_all("ChargeItemDefinition", [("url", ",".join(chunk))]):
            body = m.json()
            if body.get("status") == "active" and _holds(body.get("effectivePeriod") or {}, on):
                out[body.get("url", "")] = body
    return out


def _matches(query: str, name: str, code: str) -> bool:
    words = fold(query).replace(",", " ").split()
    folded = fold(name)
    return all(w in folded or code.startswith(w) for w in words)


def _coding(body: dict) -> dict | None:
    if body.get("kind", "ServiceRequest") != "ServiceRequest":
        return None
    return next((c for c in body.get("code", {}).get("coding", [])
                 if c.get("system") == resources.CODE_SYSTEM["service"] and c.get("code")), None)


def _price_url(body: dict) -> str:
    return f"{resources.BASE}/ChargeItemDefinition/{body['id']}"


def _service(body: dict, coding: dict, price: dict) -> Service:
    component = ((price.get("propertyGroup") or [{}])[0].get("priceComponent") or [{}])[0]
    unit = component.get("code", {}).get("text", "").removeprefix("Đơn giá / ") or "lần"
    return Service(body["id"], body.get("url", ""), coding["system"], coding["code"],
                   body.get("title") or coding.get("display") or coding["code"], _group(body, coding["code"]),
                   component.get("amount", {}).get("value", 0), unit, f"{price.get('url')}|{price.get('version')}")


def services_on(repo: Repository, on: date, query: str = "", groups: frozenset[str] | None = None,
                limit: int = 200) -> list[Service]:
    """The services valid on `on` whose name holds every typed word (accents and case ignored) or
    whose code starts with the query; only those of the cost `groups` when given; by name, the
    first `limit`. The catalogue is read in name order (`_sort=title`: the folded title, the order
    of `fold(name)`; the importer titles every service) page after page until `limit` priced ones
    are found — a provincial hospital's ten thousand services are not all read to show 150, and
    none is skipped because it fell outside one page."""
    query = query.strip()
    params = [("status", "active"), ("_sort", "title")]
    if query and _CODE_LIKE.match(query):
        params.append(("name", query.replace(".", "_")))       # the name is the code with '_'
    elif query:
        params.append(("title:contains", max(fold(query).split(), key=len)))
    out: list[Service] = []
    for page in repo.search_pages("ActivityDefinition", params):
        candidates = []
        for m in page.matches:
            body = m.json()
            coding = _coding(body)
            if coding is None:
                continue
            name = body.get("title") or coding.get("display") or coding["code"]
            if groups is not None and _group(body, coding["code"]) not in groups:
                continue
            if query and not _matches(query, name, coding["code"]):
                continue
            candidates.append((fold(name), body, coding))
        candidates.sort(key=lambda c: c[0])
        for i in range(0, len(candidates), _CHUNK):       # prices asked only for as many as are shown
            chunk = candidates[i:i + _CHUNK]
            prices = _prices(repo, [_price_url(c[1]) for c in chunk], on)
            for _, body, coding in chunk:
                price = prices.get(_price_url(body))
                if price is not None:
                    out.append(_service(body, coding, price))
                if len(out) >= limit:
                    return out
    return out


def service_on(repo: Repository, service_id: str, on: date) -> Service | None:
    """The service `service_id` if it is in the catalogue and priced on `on`; None otherwise."""
    try:
        body = repo.read("ActivityDefinition", service_id).json()
    except errors.BenhanError:          # unknown, deleted: not offered
        return None
    coding = _coding(body)
    if coding is None or body.get("status") != "active":
        return None
    price = _prices(repo, [_price_url(body)], on).get(_price_url(body))
    return _service(body, coding, price) if price else None
