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

from benhan.clinical.atc import ATC, atc_of
from benhan.clinical.catalogue.layouts import DRUG, SERVICE, SUPPLY, Row

BASE = "https://benhan.vn/fhir"
SID = "https://benhan.vn/sid"
CODE_SYSTEM = {DRUG: f"{SID}/ma-thuoc", SERVICE: f"{SID}/ma-dich-vu", SUPPLY: f"{SID}/ma-vat-tu"}
ITEM_SYSTEM = {DRUG: f"{SID}/catalogue-drug", SERVICE: f"{SID}/catalogue-service", SUPPLY: f"{SID}/catalogue-supply"}
REGISTRATION = f"{SID}/so-dang-ky"
# The BHYT cost group of a service (MA_NHOM of the claim's XML 3): 1 laboratory, 2 imaging,
# 3 functional exploration (ECG …), 8 procedures and surgery, 13 examination …
COST_GROUP = f"{BASE}/CodeSystem/ma-nhom"
COST_GROUP_NAMES = {"1": "Xét nghiệm", "2": "Chẩn đoán hình ảnh", "3": "Thăm dò chức năng",
                    "8": "Thủ thuật, phẫu thuật", "13": "Khám bệnh"}
_TECHNIQUE = re.compile(r"^(\d{2})\.\d{4}\.\d{4}$")
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


def cost_group(code: str, given: str = "") -> str:
    """MA_NHOM as the file gives it; otherwise worked out from a technique code CC.KKKK.GGGG by its
    chapter (18 imaging → 2, 21 functional exploration → 3, 22–25 laboratory → 1, any other
    technique → 8). Only a guess: an ECG is coded in chapter 02 yet billed in group 3, so a file
    that has MA_NHOM should give it. '' for codes that are not techniques (examinations, beds)."""
    if given.strip():
        return given.strip().lstrip("0") or "0"
    m = _TECHNIQUE.match(code.strip())
    if not m:
        return ""
    chapter = m.group(1)
    return {"18": "2", "21": "3", "22": "1", "23": "1", "24": "1", "25": "1"}.get(chapter, "8")


def ingredients(text: str) -> list[dict]:
    """Medication.ingredient from HOAT_CHAT: several are separated by '+' or ';' (as on the
    label: 'Amoxicilin + Acid clavulanic'); each carries its WHO ATC code when the curated table
    (benhan.clinical.atc) knows it."""
    out = []
    for part in re.split(r"[+;]", text):
        name = part.strip()
        if not name:
            continue
        concept: dict = {"text": name}
        codes = atc_of(name)
        if codes:
            concept["coding"] = [{"system": ATC, "code": codes[0], "display": name}]
        out.append({"itemCodeableConcept": concept, "isActive": True})
    return out


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
        # Without HOAT_CHAT the active ingredient is not known (the product name is no ingredient:
        # "Gofen 400" is ibuprofen); the prescription checks then fall back to the name.
        if row.extra.get("HOAT_CHAT"):
            body["ingredient"] = ingredients(row.extra["HOAT_CHAT"])
        if row.extra.get("DUONG_DUNG"):
            body["extension"] = [{"url": f"{BASE}/StructureDefinition/route-text",
                                  "valueString": row.extra["DUONG_DUNG"]}]
        return body
    if kind == SERVICE:
        body = {"resourceType": "ActivityDefinition", "id": rid, "url": f"{BASE}/ActivityDefinition/{rid}",
                "identifier": ident, "name": re.sub(r"[^A-Za-z0-9]", "_", row.code)[:40] or "service",
                "title": row.name, "status": "active", "kind": "ServiceRequest", "code": {"coding": [coding]}}
        group = cost_group(row.code, row.extra.get("MA_NHOM", ""))
        if group:
            body["topic"] = [{"coding": [{"system": COST_GROUP, "code": group,
                                          **({"display": COST_GROUP_NAMES[group]} if group in COST_GROUP_NAMES else {})}]}]
        return body
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
