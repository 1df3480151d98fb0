"""The bill of an encounter, stored as FHIR: one ChargeItem per charge line, the patient's Account
for the encounter, and an Invoice for what the patient owes — written in one transaction, with ids
derived from the encounter and the line, so that billing again writes only what changed (a new
order is a new ChargeItem; an unchanged line is a no-op update, which makes no version; a line the
record no longer holds — an order revoked — is marked entered-in-error).

The ChargeItem keeps the whole split of the line (extension CHARGE_SPLIT), so the cashier, the cost
statement and the claim read the money as it was billed, without recomputing it.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from benhan.billing import charges as charges_mod
from benhan.billing.coverage import ZERO
from benhan.billing.lines import Bill, ChargeLine
from benhan.clinical.catalogue import resources
from benhan.clinical.common import BENHAN, identifier, name_of, ref, ref_id
from benhan.fhir.resource_json import JsonDecimal, content_hash
from benhan.store.repository import Repository
from benhan.vn.identifiers import MA_LK_SYSTEM

BILL_SYSTEM = "https://benhan.vn/sid/so-hoa-don"
CHARGE_SPLIT = f"{BENHAN}/StructureDefinition/charge-split"
# The encounter an Invoice bills (Invoice has no element for it).
INVOICE_ENCOUNTER = f"{BENHAN}/StructureDefinition/invoice-encounter"
NAMESPACE = charges_mod.NAMESPACE
_MONEY = ("amount", "insured_amount", "bhyt_paid", "patient_copay", "patient_self", "other_sources",
          "benefit_rate", "service_rate", "insurance_rate", "insured_unit_price", "ceiling")
_TEXT = ("kind", "unit", "cost_group", "department", "practitioner", "source_ref")
_CODE_SYSTEM = {"drug": resources.CODE_SYSTEM["drug"], "supply": resources.CODE_SYSTEM["supply"]}


def _num(d: Decimal) -> JsonDecimal | int:
    """A JSON number with the Decimal's exact text (2 decimals stay 2 decimals)."""
    return JsonDecimal(str(d))


def account_id(encounter_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"account|{encounter_id}"))


def invoice_id(encounter_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"invoice|{encounter_id}"))


def bill_number(encounter: dict) -> str:
    """Stable for the encounter: HD + its MA_LK episode key (≤ 25 characters, fits the VietQR bill
    number field), or HD + a digest of the encounter id for an encounter without one."""
    ma_lk = identifier(encounter, MA_LK_SYSTEM)
    if ma_lk:
        return f"HD{ma_lk}"[:25]
    return "HD" + uuid.uuid5(NAMESPACE, f"bill|{encounter['id']}").hex[:16].upper()


def _charge_item(line: ChargeLine, patient_id: str, account: str) -> dict:
    split = [{"url": name, "valueDecimal": _num(getattr(line, name))}
             for name in _MONEY if getattr(line, name) is not None]
    split += [{"url": name, "valueString": getattr(line, name)} for name in _TEXT if getattr(line, name)]
    split += [{"url": f"extra-{k}", "valueString": str(v)} for k, v in sorted(line.extra.items())
              if isinstance(v, (str, bool)) and v != ""]
    system = _CODE_SYSTEM.get(line.kind, resources.CODE_SYSTEM["service"])
    body: dict = {
        "resourceType": "ChargeItem", "status": "billable",
        "extension": [{"url": CHARGE_SPLIT, "extension": split}],
        "code": {"coding": [{"system": system, "code": line.code, "display": line.name}], "text": line.name},
        "subject": ref("Patient", patient_id), "context": ref("Encounter", line.encounter_id),
        "quantity": {"value": _num(line.quantity), "unit": line.unit},
        "priceOverride": {"value": _num(line.unit_price), "currency": "VND"},
        "account": [ref("Account", account)],
    }
    if line.service_time:
        body["occurrenceDateTime"] = line.service_time.isoformat()
    canonical = line.extra.get("price_canonical")
    if canonical:
        body["definitionCanonical"] = [canonical]
    if line.kind == "drug" and line.extra.get("medication"):
        body["productReference"] = {"reference": line.extra["medication"]}
    if line.source_ref:
        body["supportingInformation"] = [{"reference": line.source_ref}]
    return body


def line_of(item: dict) -> ChargeLine:
    """The ChargeLine a stored ChargeItem holds."""
    split = next((e.get("extension", []) for e in item.get("extension", []) if e.get("url") == CHARGE_SPLIT), [])
    values: dict = {}
    extra: dict = {}
    for e in split:
        url = e.get("url", "")
        if "valueDecimal" in e:
            values[url] = Decimal(str(e["valueDecimal"]))
        elif url.startswith("extra-"):
            v = e.get("valueString", "")
            extra[url[6:]] = True if v == "True" else v
        else:
            values[url] = e.get("valueString", "")
    coding = (item.get("code", {}).get("coding") or [{}])[0]
    when = item.get("occurrenceDateTime")
    return ChargeLine(
        encounter_id=ref_id(item.get("context")) or "", kind=values.get("kind", "service"),
        code=coding.get("code", ""), name=coding.get("display", "") or item.get("code", {}).get("text", ""),
        unit=values.get("unit", ""), quantity=Decimal(str(item.get("quantity", {}).get("value", 0))),
        unit_price=Decimal(str(item.get("priceOverride", {}).get("value", 0))),
        amount=values.get("amount", ZERO), insured_amount=values.get("insured_amount", ZERO),
        bhyt_paid=values.get("bhyt_paid", ZERO), patient_copay=values.get("patient_copay", ZERO),
        patient_self=values.get("patient_self", ZERO), other_sources=values.get("other_sources", ZERO),
        service_time=datetime.fromisoformat(when) if when else None,
        benefit_rate=values.get("benefit_rate", Decimal(0)), service_rate=values.get("service_rate", Decimal(100)),
        insurance_rate=values.get("insurance_rate", Decimal(100)),
        insured_unit_price=values.get("insured_unit_price"), ceiling=values.get("ceiling"),
        cost_group=values.get("cost_group", ""), department=values.get("department", ""),
        practitioner=values.get("practitioner", ""), source_ref=values.get("source_ref", ""),
        charge_item_id=item.get("id", ""), extra=extra)


def _read(repo: Repository, res_type: str, res_id: str) -> dict | None:
    found = repo.search_type(res_type, [("_id", res_id)])
    return found.matches[0].json() if found.matches else None


def _put(repo: Repository, prepared: list, res_type: str, rid: str, body: dict, stored: dict | None) -> None:
    """Prepare the write unless the stored version already says the same (billing again validates
    and writes only what changed)."""
    if stored is not None and content_hash({**body, "id": rid}) == content_hash(stored):
        return
    prepared.append(repo.prepare("PUT", res_type, rid, body))


def _money(d: Decimal) -> dict:
    return {"value": _num(d), "currency": "VND"}


def bill_for_encounter(repo: Repository, encounter_id: str, *, now: datetime) -> Bill:
    """Charge the encounter: ChargeItems, the Account and the Invoice written (or brought up to date)
    in one transaction; the Bill with every current line."""
    c = charges_mod.compute(repo, encounter_id, on=now.date())
    encounter, patient = c.encounter, c.patient
    pid = patient.get("id", "")
    aid, iid = account_id(encounter_id), invoice_id(encounter_id)
    number = bill_number(encounter)
    existing = {m.res_id: m.json() for m in repo.search_all("ChargeItem", [("context", f"Encounter/{encounter_id}")])}
    prepared = []
    current = {ln.charge_item_id for ln in c.lines}
    for line in c.lines:
        _put(repo, prepared, "ChargeItem", line.charge_item_id, _charge_item(line, pid, aid),
             existing.get(line.charge_item_id))
    for cid, body in existing.items():     # no longer in the record: kept, marked, never billed
        if cid not in current and body.get("status") != "entered-in-error":
            prepared.append(repo.prepare("PUT", "ChargeItem", cid, {**body, "status": "entered-in-error"}))
    period = {k: v for k, v in (encounter.get("period") or {}).items() if k in ("start", "end")}
    account: dict = {"resourceType": "Account", "status": "active",
                     "identifier": [{"system": BILL_SYSTEM, "value": number}],
                     "name": f"{name_of(patient)} — {number}" if pid else number,
                     "subject": [ref("Patient", pid)] if pid else [],
                     **({"servicePeriod": period} if period else {}),
                     "extension": [{"url": f"{BENHAN}/StructureDefinition/ma-doituong-kcb",
                                    "valueString": c.entitlement.object_code}]}
    if c.entitlement.card is not None and c.entitlement.card.coverage_id:
        account["coverage"] = [{"coverage": ref("Coverage", c.entitlement.card.coverage_id), "priority": 1}]
    if not account["subject"]:
        del account["subject"]
    _put(repo, prepared, "Account", aid, account, _read(repo, "Account", aid))
    old = _read(repo, "Invoice", iid)
    total = sum((ln.amount for ln in c.lines), ZERO)
    due = sum((ln.patient_copay + ln.patient_self for ln in c.lines), ZERO)
    issued = (old or {}).get("date") or now.isoformat()
    status = (old or {}).get("status", "issued")
    if status == "balanced" and old is not None and Decimal(str(old.get("totalNet", {}).get("value", 0))) != due:
        status = "issued"          # paid, then charged more: open again for the difference
    invoice = {
        "resourceType": "Invoice", "status": status,
        "extension": [{"url": INVOICE_ENCOUNTER, "valueReference": ref("Encounter", encounter_id)}],
        "identifier": [{"system": BILL_SYSTEM, "value": number}],
        "type": {"text": "Phần người bệnh chi trả"},
        **({"subject": ref("Patient", pid, name_of(patient))} if pid else {}),
        "date": issued, "account": ref("Account", aid),
        "lineItem": [{"sequence": i + 1, "chargeItemReference": ref("ChargeItem", ln.charge_item_id),
                      "priceComponent": [{"type": "base", "amount": _money(ln.amount)},
                                         *([{"type": "deduction", "code": {"text": "BHYT"},
                                             "amount": _money(ln.bhyt_paid)}] if ln.bhyt_paid else []),
                                         *([{"type": "deduction", "code": {"text": "Nguồn khác"},
                                             "amount": _money(ln.other_sources)}] if ln.other_sources else [])]}
                     for i, ln in enumerate(c.lines)],
        "totalGross": _money(total), "totalNet": _money(due),
    }
    if not invoice["lineItem"]:
        del invoice["lineItem"]
    _put(repo, prepared, "Invoice", iid, invoice, old)
    if prepared:
        repo.commit(prepared, "transaction")
    return Bill(number, encounter_id, pid, name_of(patient) if pid else "",
                datetime.fromisoformat(issued), tuple(c.lines), iid)


def _items_by_account(repo: Repository, account_ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {a: [] for a in account_ids}
    for i in range(0, len(account_ids), 20):
        chunk = ",".join(f"Account/{a}" for a in account_ids[i:i + 20])
        for m in repo.search_all("ChargeItem", [("account", chunk)]):
            item = m.json()
            for a in item.get("account", []):
                if ref_id(a) in out:
                    out[ref_id(a) or ""].append(item)
    return out


def bill_of(repo: Repository, invoice: dict, items: list[dict] | None = None) -> Bill:
    """The Bill an Invoice stands for, its lines read from the stored ChargeItems (`items`: the
    account's ChargeItems when the caller has them)."""
    aid = ref_id(invoice.get("account")) or ""
    if items is None:
        items = _items_by_account(repo, [aid])[aid]
    lines = [line_of(i) for i in items if i.get("status") != "entered-in-error"]
    order = {ref_id(li.get("chargeItemReference")): li.get("sequence", 0) for li in invoice.get("lineItem", [])}
    lines.sort(key=lambda ln: order.get(ln.charge_item_id, 10**6))
    eid = next((ref_id(e.get("valueReference")) or "" for e in invoice.get("extension", [])
                if e.get("url") == INVOICE_ENCOUNTER), "") or next((ref_id(i.get("context")) or "" for i in items), "")
    subject = invoice.get("subject") or {}
    number = next((i.get("value", "") for i in invoice.get("identifier", []) if i.get("system") == BILL_SYSTEM), "")
    return Bill(number, eid, ref_id(subject) or "", subject.get("display", ""),
                datetime.fromisoformat(invoice["date"]), tuple(lines), invoice.get("id", ""))


def paid_for(repo: Repository, invoice_id: str) -> Decimal:
    """What the patient has paid on a bill: the cashier's receipts (billing.payments), refunds off."""
    from benhan.billing import payments     # the cashier builds on this module: imported when asked
    return payments.paid_for(repo, invoice_id)


def open_bills(repo: Repository, *, on: date) -> list[Bill]:
    """The bills issued up to `on` with something still due from the patient, oldest first."""
    owing = []
    for m in repo.search_all("Invoice", [("status", "issued"), ("date", f"le{on.isoformat()}"), ("_sort", "date")]):
        invoice = m.json()
        # The cashier collects whole đồng (half up), as the printed statement shows them.
        due = Decimal(str((invoice.get("totalNet") or {}).get("value", 0))).quantize(Decimal(1), ROUND_HALF_UP)
        if due - paid_for(repo, invoice["id"]) > 0:
            owing.append(invoice)
    items = _items_by_account(repo, [ref_id(i.get("account")) or "" for i in owing])
    return [bill_of(repo, i, items.get(ref_id(i.get("account")) or "", [])) for i in owing]
