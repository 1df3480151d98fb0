"""The FHIR resources a catalogue row becomes.

- The item: a drug is a Medication, a service an ActivityDefinition (what can be ordered and done),
  a supply a DeviceDefinition. Its id is derived from the kind and key, so an import finds the item
  it made before without a search, and a changed name is a new version of the same resource.
- Its price: one ChargeItemDefinition per (item, validity period), url = the item's price url,
  version = the start date (yyyymmdd), effectivePeriod = TU_NGAY…DEN_NGAY, the amount in VND as
  the base price component. A price valid on a date is the definition whose period holds it.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

from benhan.clinical.catalogue.layouts import DRUG, SERVICE, SUPPLY, Row

BASE = "https://benhan.vn/fhir"
SID = "https://benhan.vn/sid"
CODE_SYSTEM = {DRUG: f"{SID}/ma-thuoc", SERVICE: f"{SID}/ma-dich-vu", SUPPLY: f"{SID}/ma-vat-tu"}
ITEM_SYSTEM = {DRUG: f"{SID}/catalogue-drug", SERVICE: f"{SID}/catalogue-service", SUPPLY: f"{SID}/catalogue-supply"}
REGISTRATION = f"{SID}/so-dang-ky"
ITEM_TYPE = {DRUG: "Medication", SERVICE: "ActivityDefinition", SUPPLY: "DeviceDefinition"}


def _safe_id(text: str) -> str:
    """A FHIR id (A-Z a-z 0-9 - ., ≤ 64) from any text; a short hash keeps distinct keys distinct."""
    slug = re.sub(r"[^A-Za-z0-9.\-]+", "-", text).strip("-.")[:44] or "x"
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def item_id(kind: str, key: str) -> str:
    return f"{kind}-{_safe_id(key)}"


def price_url(kind: str, key: str) -> str:
    return f"{BASE}/ChargeItemDefinition/{item_id(kind, key)}"


def price_id(kind: str, key: str, start: date) -> str:
    return f"{item_id(kind, key)}-{start:%Y%m%d}"


def money(amount: Decimal) -> int | float:
    """JSON has no decimal type: whole đồng (nearly every price) stay exact integers; a fraction is
    written with its shortest decimal form."""
    return int(amount) if amount == amount.to_integral_value() else float(str(amount))


def item(row: Row) -> dict:
    kind, rid = row.kind, item_id(row.kind, row.key)
    coding = {"system": CODE_SYSTEM[kind], "code": row.code, "display": row.name}
    ident = [{"system": ITEM_SYSTEM[kind], "value": row.key}]
    if kind == DRUG:
        body = {"resourceType": "Medication", "id": rid, "identifier": ident, "status": "active",
                "code": {"coding": [coding], "text": " ".join(filter(None, (row.name, row.extra.get("HAM_LUONG"))))},
                "form": {"text": row.unit}}
        if row.extra.get("SO_DANG_KY"):
            body["identifier"].append({"system": REGISTRATION, "value": row.extra["SO_DANG_KY"]})
        if row.extra.get("HAM_LUONG"):
            body["ingredient"] = [{"itemCodeableConcept": {"text": row.name}, "isActive": True}]
        if row.extra.get("DUONG_DUNG"):
            body["extension"] = [{"url": f"{BASE}/StructureDefinition/route-text",
                                  "valueString": row.extra["DUONG_DUNG"]}]
        return body
    if kind == SERVICE:
        return {"resourceType": "ActivityDefinition", "id": rid, "url": f"{BASE}/ActivityDefinition/{rid}",
                "identifier": ident, "name": re.sub(r"[^A-Za-z0-9]", "_", row.code)[:40] or "service",
                "title": row.name, "status": "active", "kind": "ServiceRequest", "code": {"coding": [coding]}}
    return {"resourceType": "DeviceDefinition", "id": rid, "identifier": ident,
            "deviceName": [{"name": row.name, "type": "user-friendly-name"}],
            "type": {"coding": [coding]},
            **({"note": [{"text": "Quy cách: " + row.extra["QUY_CACH"]}]} if row.extra.get("QUY_CACH") else {})}


def price(row: Row, end: date | None) -> dict:
    """The price of `row`'s item from its TU_NGAY to `end` (None: open)."""
    kind = row.kind
    assert row.start is not None and row.price is not None
    period = {"start": row.start.isoformat(), **({"end": end.isoformat()} if end else {})}
    return {
        "resourceType": "ChargeItemDefinition", "id": price_id(kind, row.key, row.start),
        "url": price_url(kind, row.key), "version": f"{row.start:%Y%m%d}",
        "title": f"{row.name} — giá từ {row.start:%d/%m/%Y}", "status": "active",
        "code": {"coding": [{"system": CODE_SYSTEM[kind], "code": row.code, "display": row.name}]},
        "instance": [{"reference": f"{ITEM_TYPE[kind]}/{item_id(kind, row.key)}"}],
        "effectivePeriod": period,
        "propertyGroup": [{"priceComponent": [{"type": "base", "code": {"text": f"Đơn giá / {row.unit}"},
                                               "amount": {"value": money(row.price), "currency": "VND"}}]}],
    }
