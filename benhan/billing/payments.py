"""The cashier's money: payments against a bill, refunds, inpatient advances (tạm ứng), receipt
numbers, and the shift closing (kết ca). docs/cashier.md.

FHIR shape: every movement of money at the desk is one **PaymentReconciliation** — the receipt
(phiếu thu / phiếu chi). R4's PaymentNotice cannot stand alone (its ``payment`` must point at a
PaymentReconciliation, and it needs a recipient Organization), while a PaymentReconciliation
carries everything a receipt says: its number (``identifier``), when (``created``, ``paymentDate``),
how much (``paymentAmount``), what it pays (``detail.request`` → the Invoice, or the encounter's
Account for an advance) and of which kind (``detail.type``: payment, advance, adjustment = refund),
the bank's transaction reference for a transfer (``paymentIdentifier``), the refund's reason
(``disposition``) and the receipt it refunds (``detail.predecessor``). R4 has no payment method
(R5 adds ``method``) and no cashier field: two extensions carry them. R4 has no search parameter on
``detail.request`` either, so the receipt also carries an identifier ``receipt-for`` = "Invoice/<id>"
to find a bill's receipts with an ordinary token search.

Rules: amounts are whole đồng (there is no smaller coin; a bill's share with cents is collected
rounded half up); nothing is ever deleted or changed — a refund is a new receipt with a negative
amount; more than is owed is refused, never taken silently; the Invoice turns ``balanced`` when the
bill is paid in full (and back to ``issued`` after a refund). A cashier's closing (also a
PaymentReconciliation, identifier ``cashier-closing``) lists the receipts it closes; no receipt may
then be dated inside a closed shift, so a later correction is a new entry in the next one.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from benhan import errors
from benhan.auth.actor import Actor
from benhan.billing.lines import Bill
from benhan.clinical.common import BENHAN, recorded_by, ref_id, who
from benhan.clinical.visits import facility
from benhan.store.counters import next_number
from benhan.store.repository import Repository

RECEIPT = "https://benhan.vn/sid/receipt"                 # the receipt number, per facility and year
RECEIPT_FOR = "https://benhan.vn/sid/receipt-for"         # "Invoice/<id>" / "Account/<id>": the search key
BANK_TRANSACTION = "https://benhan.vn/sid/bank-transaction"   # the bank's reference of a transfer
CLOSING = "https://benhan.vn/sid/cashier-closing"
CLOSING_BY = "https://benhan.vn/sid/cashier-closing-by"  # the cashier's user name: her last closing in one search
CLOSING_TOTAL_EXT = f"{BENHAN}/StructureDefinition/closing-total"     # method + amount, one per method
METHOD_EXT = f"{BENHAN}/StructureDefinition/payment-method"
CASHIER_EXT = f"{BENHAN}/StructureDefinition/cashier"
METHOD_SYSTEM = f"{BENHAN}/CodeSystem/payment-method"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"

CASH, VIETQR = "cash", "vietqr"
METHODS = {CASH: "Tiền mặt", VIETQR: "Chuyển khoản VietQR"}
PAYMENT, ADVANCE, REFUND = "payment", "advance", "adjustment"
ZERO = Decimal(0)
LARGEST = Decimal("9999999999999")      # 13 digits, what a VietQR amount can carry

# Check-then-write (the amount still owed, the shift still open) under one lock, so two clicks on
# "Thu tiền" or two imports of one statement at the same moment cannot both pass the check. The
# cashier works on the facility's node (one process); numbers are atomic across processes anyway.
_MONEY = threading.Lock()


class Refused(errors.PaymentRefused):
    """Nothing was recorded; `key` is the UI's message key (billing.err.*), `values` its placeholders."""

    def __init__(self, key: str, message: str, **values: object):
        super().__init__(message)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Receipt:
    id: str
    number: str
    kind: str                 # payment, advance, adjustment (a refund)
    method: str               # cash, vietqr
    amount: Decimal           # negative for a refund
    created: datetime
    cashier: str              # the user name
    cashier_name: str
    target: str               # "Invoice/<id>" or "Account/<id>"
    bill_number: str = ""
    reference: str = ""       # the bank's transaction reference
    reason: str = ""          # a refund's reason
    refunds: str = ""         # the receipt number a refund pays back


@dataclass(frozen=True)
class Closing:
    id: str
    number: str
    cashier: str
    start: datetime | None
    end: datetime
    receipts: tuple[str, ...]        # receipt ids
    totals: dict                     # method → net amount

    @property
    def total(self) -> Decimal:
        return sum(self.totals.values(), ZERO)


# --- amounts -----------------------------------------------------------------------------------

def whole(amount: Decimal) -> Decimal:
    """What the cashier collects of a share: whole đồng, half up."""
    return Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def parse_amount(text: str | Decimal | int) -> Decimal:
    """An amount typed at the desk ("350000", "350.000", "350,000 đ") as whole đồng; Refused otherwise."""
    raw = str(text).strip().lower().replace("đ", "").replace("vnd", "").replace(" ", "")
    raw = raw.replace(".", "").replace(",", "") if raw.count(".") + raw.count(",") and _grouped(raw) else raw
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Refused("billing.err.amount", f"{text!r} is not an amount in đồng") from None
    if not value.is_finite() or value <= 0 or value != value.to_integral_value() or value > LARGEST:
        raise Refused("billing.err.amount", f"{text!r} is not a positive whole number of đồng")
    return value.quantize(Decimal(1))


def _grouped(raw: str) -> bool:
    # Thousands separators ("1.234.567", "350,000"): every group after the first has 3 digits.
    parts = raw.replace(",", ".").split(".")
    return parts[0].isdigit() and all(len(p) == 3 and p.isdigit() for p in parts[1:])


def _money(amount: Decimal) -> dict:
    return {"value": int(amount), "currency": "VND"}


def _amount(money: dict | None) -> Decimal:
    value = (money or {}).get("value", 0)
    return Decimal(getattr(value, "text", None) or str(value))


# --- reading -----------------------------------------------------------------------------------

def _all(repo: Repository, items: list[tuple[str, str]]) -> list[dict]:
    return [m.json() for m in repo.search_all("PaymentReconciliation", items)]


def _ident(body: dict, system: str) -> str:
    return next((i.get("value", "") for i in body.get("identifier", []) if i.get("system") == system), "")


def _ext(body: dict, url: str) -> str:
    for e in body.get("extension", []):
        if e.get("url") == url:
            return e.get("valueString") or (e.get("valueCoding") or {}).get("code", "")
    return ""


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def receipt_of(body: dict, target: str = "") -> Receipt:
    """The receipt; with `target` ("Invoice/<id>"), its amount is what it moves for that target (an
    applied advance moves money from the Account to the Invoice in one receipt)."""
    detail = (body.get("detail") or [{}])[0]
    kind = next((c.get("code", "") for c in (detail.get("type") or {}).get("coding", [])), PAYMENT)
    return Receipt(id=body["id"], number=_ident(body, RECEIPT), kind=kind, method=_ext(body, METHOD_EXT),
                   amount=_applied(body, target) if target else _amount(body.get("paymentAmount")),
                   created=_when(body["created"]),
                   cashier=_ext(body, CASHIER_EXT), cashier_name=(body.get("requestor") or {}).get("display", ""),
                   target=(detail.get("request") or {}).get("reference", ""),
                   bill_number=(detail.get("request") or {}).get("display", ""),
                   reference=(body.get("paymentIdentifier") or {}).get("value", ""),
                   reason=body.get("disposition", "") if kind == REFUND else "",
                   refunds=(detail.get("predecessor") or {}).get("value", ""))


def receipts_for(repo: Repository, target: str) -> list[Receipt]:
    """The receipts of an Invoice or an Account ("Invoice/<id>"), oldest first."""
    found = _all(repo, [("identifier", f"{RECEIPT_FOR}|{target}")])
    return sorted((receipt_of(b, target) for b in found if _ident(b, RECEIPT)), key=lambda r: (r.created, r.number))


def paid_for(repo: Repository, invoice_id: str) -> Decimal:
    """What the patient has paid on this Invoice so far, refunds taken off."""
    return sum((r.amount for r in receipts_for(repo, f"Invoice/{invoice_id}")), ZERO)


def advance_balance(repo: Repository, account_id: str) -> Decimal:
    """The advances held on an inpatient's Account, net of what was refunded or applied."""
    return sum((r.amount for r in receipts_for(repo, f"Account/{account_id}")), ZERO)


def receipt(repo: Repository, receipt_id: str) -> Receipt:
    body = repo.read("PaymentReconciliation", receipt_id).json()
    if not _ident(body, RECEIPT):
        raise errors.NotFound(f"PaymentReconciliation/{receipt_id} is not a receipt")
    return receipt_of(body)


def find_by_bank_reference(repo: Repository, reference: str) -> Receipt | None:
    found = _all(repo, [("identifier", f"{BANK_TRANSACTION}|{reference}")])
    return receipt_of(found[0]) if found else None


def due(repo: Repository, bill: Bill) -> Decimal:
    """What the patient still owes on the bill (whole đồng; 0 once paid)."""
    return max(ZERO, whole(bill.patient_due) - paid_for(repo, bill.invoice_id))


# --- writing -----------------------------------------------------------------------------------

def _number(repo: Repository, on: datetime) -> str:
    code = facility(repo).code or "CS"
    seq = next_number(repo.store.db, f"billing.receipt.{code}.{on.year}")
    return f"PT{code}-{on.year}-{seq:06d}"


def _body(repo: Repository, actor: Actor, *, kind: str, method: str, amount: Decimal, target: str,
          display: str, now: datetime, reference: str = "", reason: str = "", refunds: str = "") -> dict:
    detail: dict = {"type": {"coding": [{"system": PAYMENT_TYPE, "code": kind}]},
                    "request": {"reference": target, "display": display} if display else {"reference": target},
                    "date": now.date().isoformat(), "amount": _money(amount)}
    if refunds:
        detail["predecessor"] = {"system": RECEIPT, "value": refunds}
    body: dict = {
        "resourceType": "PaymentReconciliation", "status": "active",
        "identifier": [{"system": RECEIPT, "value": _number(repo, now)}, {"system": RECEIPT_FOR, "value": target}],
        "created": now.isoformat(), "paymentDate": now.date().isoformat(), "paymentAmount": _money(amount),
        "outcome": "complete", "requestor": {"display": who(actor)}, "detail": [detail],
        "extension": [{"url": METHOD_EXT, "valueCoding": {"system": METHOD_SYSTEM, "code": method,
                                                          "display": METHODS[method]}},
                      {"url": CASHIER_EXT, "valueString": actor.name}, recorded_by(actor)],
    }
    if reference:
        body["identifier"].append({"system": BANK_TRANSACTION, "value": reference})
        body["paymentIdentifier"] = {"system": BANK_TRANSACTION, "value": reference}
    if reason:
        body["disposition"] = reason
    return body


def _check_open(repo: Repository, actor: Actor, now: datetime) -> None:
    last = last_closing(repo, actor.name)
    if last is not None and now <= last.end:
        raise Refused("billing.err.closed", f"the shift of {actor.name} was closed at {last.end.isoformat()}",
                      at=last.end)


def _write(repo: Repository, body: dict) -> Receipt:
    stored = repo.create("PaymentReconciliation", body)
    return receipt_of({**body, "id": stored.res_id})


def _set_invoice_status(repo: Repository, invoice_id: str, owed: Decimal, paid: Decimal) -> None:
    invoice = repo.read("Invoice", invoice_id).json()
    status = "balanced" if paid >= owed else "issued"
    if invoice.get("status") in ("cancelled", "entered-in-error") or invoice.get("status") == status:
        return
    if invoice.get("status") == "draft" and status == "issued":
        return
    invoice["status"] = status
    repo.update("Invoice", invoice_id, invoice)


def record_payment(repo: Repository, actor: Actor, bill: Bill, amount: Decimal | str, method: str, *,
                   now: datetime, reference: str = "") -> Receipt:
    """Take `amount` for the bill by cash or VietQR transfer; refused (Refused) when it is more than
    is still owed, when the bill is paid, or when the cashier's shift is closed."""
    if method not in METHODS:
        raise Refused("billing.err.method", f"unknown payment method {method!r}")
    value = parse_amount(amount)
    if not bill.invoice_id:
        raise Refused("billing.err.no-invoice", f"the bill {bill.number} has no Invoice yet")
    with _MONEY:
        _check_open(repo, actor, now)
        if reference and find_by_bank_reference(repo, reference):
            raise Refused("billing.err.duplicate", f"the bank transaction {reference} is already recorded",
                          reference=reference)
        owed = whole(bill.patient_due)
        paid = paid_for(repo, bill.invoice_id)
        left = max(ZERO, owed - paid)
        if left == 0:
            raise Refused("billing.err.paid", f"the bill {bill.number} is already paid", bill=bill.number)
        if value > left:
            raise Refused("billing.err.over", f"{value} is more than the {left} still owed on {bill.number}",
                          amount=value, left=left)
        done = _write(repo, _body(repo, actor, kind=PAYMENT, method=method, amount=value,
                                  target=f"Invoice/{bill.invoice_id}", display=bill.number, now=now,
                                  reference=reference))
        _set_invoice_status(repo, bill.invoice_id, owed, paid + value)
        return done


def refund(repo: Repository, actor: Actor, receipt_id: str, amount: Decimal | str, reason: str, *,
           now: datetime, bill: Bill | None = None) -> Receipt:
    """Pay back part or all of a receipt (a new receipt with a negative amount and the reason); the
    original stays as it was. `bill` (the receipt's bill) lets the Invoice go back to issued."""
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise Refused("billing.err.reason", "a refund needs its reason")
    value = parse_amount(amount)
    original = receipt(repo, receipt_id)
    if original.kind == REFUND or original.amount <= 0:
        raise Refused("billing.err.not-refundable", f"receipt {original.number} is itself a refund")
    with _MONEY:
        _check_open(repo, actor, now)
        earlier = sum((-r.amount for r in receipts_for(repo, original.target) if r.refunds == original.number), ZERO)
        left = original.amount - earlier
        if value > left:
            raise Refused("billing.err.over-refund", f"{value} is more than the {left} left to refund on "
                          f"{original.number}", amount=value, left=left)
        done = _write(repo, _body(repo, actor, kind=REFUND, method=original.method, amount=-value,
                                  target=original.target, display=original.bill_number, now=now, reason=reason,
                                  refunds=original.number))
        if bill is not None and original.target == f"Invoice/{bill.invoice_id}":
            _set_invoice_status(repo, bill.invoice_id, whole(bill.patient_due), paid_for(repo, bill.invoice_id))
        return done


def record_advance(repo: Repository, actor: Actor, account_id: str, amount: Decimal | str, method: str, *,
                   now: datetime, label: str = "", reference: str = "") -> Receipt:
    """An inpatient's advance (tạm ứng) on the encounter's Account: held until the bill is settled
    (apply_advance) or paid back (refund)."""
    if method not in METHODS:
        raise Refused("billing.err.method", f"unknown payment method {method!r}")
    value = parse_amount(amount)
    account = repo.read("Account", account_id).json()      # NotFound for an unknown account
    with _MONEY:
        _check_open(repo, actor, now)
        return _write(repo, _body(repo, actor, kind=ADVANCE, method=method, amount=value,
                                  target=f"Account/{account_id}", display=label or account.get("name", ""),
                                  now=now, reference=reference))


def apply_advance(repo: Repository, actor: Actor, bill: Bill, account_id: str, *, now: datetime) -> Receipt | None:
    """Settle the bill from the advance held on its Account: one receipt with two details, the advance
    taken off the Account and the same amount paid on the Invoice (no money changes hands). None when
    there is nothing to apply. What is left of the advance is paid back with a refund."""
    with _MONEY:
        _check_open(repo, actor, now)
        owed = whole(bill.patient_due)
        paid = paid_for(repo, bill.invoice_id)
        held = advance_balance(repo, account_id)
        value = min(held, max(ZERO, owed - paid))
        if value <= 0:
            return None
        body = _body(repo, actor, kind=PAYMENT, method=CASH, amount=value, target=f"Invoice/{bill.invoice_id}",
                     display=bill.number, now=now)
        body["identifier"].append({"system": RECEIPT_FOR, "value": f"Account/{account_id}"})
        body["detail"].append({"type": {"coding": [{"system": PAYMENT_TYPE, "code": ADVANCE}]},
                               "request": {"reference": f"Account/{account_id}"}, "date": now.date().isoformat(),
                               "amount": _money(-value)})
        body["paymentAmount"] = _money(ZERO)
        body["extension"][0]["valueCoding"] = {"system": METHOD_SYSTEM, "code": "advance",
                                               "display": "Trừ tạm ứng"}
        stored = repo.create("PaymentReconciliation", body)
        _set_invoice_status(repo, bill.invoice_id, owed, paid + value)
        return receipt_of({**body, "id": stored.res_id})


def _applied(body: dict, target: str) -> Decimal:
    """What a receipt moves for one target (an applied advance has a detail per target)."""
    return sum((_amount(d.get("amount")) for d in body.get("detail", [])
                if (d.get("request") or {}).get("reference") == target), ZERO)


# --- the shift closing (kết ca) ----------------------------------------------------------------

def _sub(ext: dict, url: str) -> dict:
    return next((e for e in ext.get("extension", []) if e.get("url") == url), {})


def last_closing(repo: Repository, cashier: str) -> Closing | None:
    found = repo.search_type("PaymentReconciliation", [("identifier", f"{CLOSING_BY}|{cashier}"),
                                                       ("_sort", "-created"), ("_count", "1")])
    return _closing(found.matches[0].json()) if found.matches else None


def _closing(b: dict) -> Closing:
    period = b.get("period") or {}
    return Closing(id=b["id"], number=_ident(b, CLOSING), cashier=_ext(b, CASHIER_EXT),
                   start=_when(period["start"]) if period.get("start") else None, end=_when(period["end"]),
                   receipts=tuple(ref_id(d.get("request")) or "" for d in b.get("detail", [])),
                   totals={_sub(e, "method").get("valueCode", ""): _amount(_sub(e, "amount").get("valueMoney"))
                           for e in b.get("extension", []) if e.get("url") == CLOSING_TOTAL_EXT})


def closings(repo: Repository, day: date | None = None, zone=None) -> list[Closing]:  # noqa: ANN001
    """The closings (of the local day, when given), oldest first."""
    items = [("identifier", f"{CLOSING}|")]
    if day is not None:
        start = datetime.combine(day, time(0), zone)
        items += [("created", f"ge{start.isoformat()}"), ("created", f"lt{(start + timedelta(days=1)).isoformat()}")]
    return sorted((_closing(b) for b in _all(repo, items)), key=lambda c: c.end)


def day_receipts(repo: Repository, day: date, zone) -> list[Receipt]:  # noqa: ANN001
    """Every receipt dated on the local day, oldest first."""
    start = datetime.combine(day, time(0), zone)
    end = start + timedelta(days=1)
    found = _all(repo, [("identifier", f"{RECEIPT}|"), ("created", f"ge{start.isoformat()}"),
                        ("created", f"lt{end.isoformat()}")])
    return sorted((receipt_of(b) for b in found), key=lambda r: (r.created, r.number))


def totals(receipts: list[Receipt]) -> dict[tuple[str, str], Decimal]:
    """(cashier, method) → net amount taken (refunds off)."""
    out: dict[tuple[str, str], Decimal] = {}
    for r in receipts:
        out[(r.cashier, r.method)] = out.get((r.cashier, r.method), ZERO) + r.amount
    return out


def close_shift(repo: Repository, actor: Actor, *, now: datetime) -> Closing:
    """Close the cashier's shift: every receipt of theirs since the last closing, with the totals per
    method; from now on nothing can be dated inside it."""
    with _MONEY:
        last = last_closing(repo, actor.name)
        since = last.end if last else None
        if since is not None and now <= since:
            raise Refused("billing.err.closed", "the shift is already closed", at=since)
        earliest = since or (now - timedelta(days=31))
        found = _all(repo, [("identifier", f"{RECEIPT}|"), ("created", f"gt{earliest.isoformat()}"),
                            ("created", f"le{now.isoformat()}")])
        mine = sorted((receipt_of(b) for b in found if _ext(b, CASHIER_EXT) == actor.name),
                      key=lambda r: (r.created, r.number))
        by_method: dict[str, Decimal] = {}
        for r in mine:
            by_method[r.method] = by_method.get(r.method, ZERO) + r.amount
        number = f"KC-{actor.name}-{now:%Y%m%d%H%M%S}"
        body = {"resourceType": "PaymentReconciliation", "status": "active",
                "identifier": [{"system": CLOSING, "value": number}, {"system": CLOSING_BY, "value": actor.name}],
                "period": {**({"start": since.isoformat()} if since else {}), "end": now.isoformat()},
                "created": now.isoformat(), "paymentDate": now.date().isoformat(),
                "paymentAmount": _money(sum(by_method.values(), ZERO)), "outcome": "complete",
                "disposition": f"Kết ca {who(actor)}", "requestor": {"display": who(actor)},
                "detail": [{"type": {"coding": [{"system": PAYMENT_TYPE, "code": r.kind}]},
                            "request": {"reference": f"PaymentReconciliation/{r.id}", "display": r.number},
                            "amount": _money(r.amount)} for r in mine],
                "extension": [{"url": CASHIER_EXT, "valueString": actor.name}, recorded_by(actor)]
                + [{"url": CLOSING_TOTAL_EXT, "extension": [{"url": "method", "valueCode": m},
                                                             {"url": "amount", "valueMoney": _money(v)}]}
                   for m, v in sorted(by_method.items())]}
        stored = repo.create("PaymentReconciliation", body)
        return Closing(stored.res_id, number, actor.name, since, now, tuple(r.id for r in mine), by_method)
