"""Which e-invoices are made, when, numbered how, and queued in the one outbox (kind ``einvoice``).

- ``for_payment``: the invoice of a receipt (the patient's money: a payment or an advance ⚠ §6.1),
  unless the facility uses the day's summary invoice (einvoice_daily_summary; NĐ 254 Đ9 k4 m).
- ``daily_summary``: one invoice for the day's receipts not invoiced one by one, a line per receipt.
- ``correction_for_refund``: a refund never cancels: an adjusting invoice (TCHDon 2) with the
  negative amount, referencing the invoice that covered the refunded receipt (TT 91 Đ10).
- ``for_settlement``: the invoice to BHXH for the BHYT share when BHXH settles; a later settlement
  that differs adds an adjusting invoice for the difference (NĐ 254 Đ9 k4 m para. 2).

Numbers run from 1 per symbol (the symbol carries the year) without gaps: the number is taken, the
XML built and signed, and the message queued in ONE transaction, so a crash leaves neither a number
without an invoice nor two invoices for one receipt (the idempotency key is checked first, in the
same transaction). The provider receives them in number order (it answers 409 to a gap, which the
outbox retries)."""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from decimal import Decimal

from benhan import errors
from benhan.billing import payments
from benhan.billing.einvoice import validation, xml
from benhan.billing.einvoice.model import (ADJUSTING, CONSUMER, CORRECTION, DAILY, INSURER, PAYMENT, EInvoice, Line,
                                           Party, Related)
from benhan.billing.einvoice.provider import HttpProvider, Provider
from benhan.clinical.common import identifier, name_of
from benhan.outbox.queue import Outbox, Sender
from benhan.signing import xmldsig
from benhan.store import counters, outbox_tables
from benhan.store.outbox_tables import Item
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM

KIND = "einvoice"
_QUEUEING = threading.Lock()


@dataclass(frozen=True)
class Settings:
    seller: Party
    series: str                # KHHDon without the year: "CTBV"
    template: str
    vat: str
    provider_tax_code: str
    daily: bool
    bhxh: Party

    def symbol(self, on: date) -> str:
        return f"{self.series[:1]}{on.year % 100:02d}{self.series[1:]}"


def settings_from(cfg, seller_name: str) -> Settings | None:  # noqa: ANN001 - a benhan.config.Config
    """The facility's e-invoicing, or None when it is not configured (no provider, tax code or series)."""
    if not (cfg.einvoice_provider_url and cfg.einvoice_seller_tax_code and cfg.einvoice_series):
        return None
    return Settings(seller=Party(seller_name, tax_code=cfg.einvoice_seller_tax_code, address=cfg.einvoice_seller_address),
                    series=cfg.einvoice_series.strip().upper(), template=cfg.einvoice_template, vat=cfg.einvoice_vat,
                    provider_tax_code=cfg.einvoice_provider_tax_code, daily=bool(cfg.einvoice_daily_summary),
                    bhxh=Party(cfg.einvoice_bhxh_name, tax_code=cfg.einvoice_bhxh_tax_code))


def payment_key(receipt_number: str) -> str:
    return f"{KIND}:{PAYMENT}:{receipt_number}"


def correction_key(refund_number: str) -> str:
    return f"{KIND}:{CORRECTION}:{refund_number}"


def daily_key(day: date) -> str:
    return f"{KIND}:{DAILY}:{day.isoformat()}"


# --- making and queueing one invoice -------------------------------------------------------------

def _by_key(outbox: Outbox, key: str) -> Item | None:
    return outbox.by_key(key)


def queue(outbox: Outbox, settings: Settings, seal: xmldsig.XmlKey, key: str, draft: EInvoice) -> Item:
    """Number, build, check, sign and queue ``draft`` (its number is ignored) under ``key``; the
    invoice already queued under that key when there is one. EInvoiceInvalid (nothing queued, no
    number used) when the report has errors."""
    report = validation.validate(xml.build(replace(draft, number=1)))
    if not report.ok:
        raise errors.EInvoiceInvalid(report.text())
    counter = f"einvoice.{draft.symbol}"
    with _QUEUEING:
        with outbox.db.write() as conn:
            found = outbox_tables.by_key(conn, key)
            known = found.pk if found is not None else None
            if known is None:
                number = counters.next_in(conn, counter)
                signed = xml.sign(xml.build(replace(draft, number=number)), seal)
                now = int(outbox.clock().timestamp() * 1_000_000)
                known, _ = outbox_tables.add(conn, kind=KIND, idem_key=key, subject=f"{draft.symbol}/{number}",
                                             patient=draft.buyer.name, payload=signed, now=now, due=None)
    return outbox.get(known)


def _draft(settings: Settings, purpose: str, on: date, buyer: Party, lines: list[Line], *,
           related: Related | None = None) -> EInvoice:
    return EInvoice(purpose=purpose, template=settings.template, symbol=settings.symbol(on), number=0, issued=on,
                    seller=settings.seller, buyer=buyer, lines=tuple(lines), vat=settings.vat,
                    provider_tax_code=settings.provider_tax_code, relation=ADJUSTING if related else "0",
                    related=related)


def _related(item: Item, note: str) -> Related:
    facts = xml.facts(item.payload)
    return Related(facts["template"], facts["symbol"], facts["number"], facts["issued"], note)


# --- the patient's money -----------------------------------------------------------------------

def patient_party(repo: Repository, patient_id: str) -> Party:
    """The patient as buyer: name, CCCD (the 12-digit personal ID NMua takes), address."""
    try:
        patient = repo.read("Patient", patient_id).json()
    except errors.BenhanError:
        return Party(CONSUMER)
    address = next((a.get("text") or ", ".join([*a.get("line", []), a.get("district", ""), a.get("city", "")])
                    for a in patient.get("address", [])), "")
    name = name_of(patient) or CONSUMER
    return Party(name, personal_id=identifier(patient, CCCD_SYSTEM) or "", address=address.strip(", "),
                 person=name if name != CONSUMER else "")


def _line_of(r: payments.Receipt) -> Line:
    what = "Tạm ứng viện phí" if r.kind == payments.ADVANCE else "Viện phí"
    return Line(f"{what} theo bảng kê {r.bill_number}, phiếu thu {r.number}", r.amount, code=r.bill_number)


def for_payment(repo: Repository, outbox: Outbox, settings: Settings, seal: xmldsig.XmlKey, r: payments.Receipt,
                patient_id: str) -> Item | None:
    """The invoice of one payment or advance; None when the day's summary will cover it."""
    if r.amount <= 0 or settings.daily:
        return None
    on = r.created.date()
    return queue(outbox, settings, seal, payment_key(r.number),
                 _draft(settings, PAYMENT, on, patient_party(repo, patient_id), [_line_of(r)]))


def invoice_of_receipt(outbox: Outbox, r: payments.Receipt) -> Item | None:
    """The invoice that covers a receipt: its own, or the summary of its day."""
    return _by_key(outbox, payment_key(r.number)) or _by_key(outbox, daily_key(r.created.date()))


def correction_for_refund(repo: Repository, outbox: Outbox, settings: Settings, seal: xmldsig.XmlKey,
                          refund: payments.Receipt, patient_id: str) -> Item | None:
    """The adjusting invoice of a refund; None when the refunded receipt was never invoiced (then
    nothing is corrected: a same-day refund nets in the day's summary)."""
    original = next((x for x in payments.receipts_for(repo, refund.target) if x.number == refund.refunds), None)
    covering = invoice_of_receipt(outbox, original) if original else None
    if covering is None:
        return None
    related = _related(covering, f"Điều chỉnh giảm do hoàn trả tiền phiếu thu {refund.refunds}: {refund.reason}")
    line = Line(f"Điều chỉnh giảm: hoàn trả phiếu thu {refund.refunds} (phiếu chi {refund.number})", refund.amount,
                code=refund.bill_number)
    buyer = xml.parse(covering.payload).find("DLHDon/NDHDon/NMua")
    party = Party(buyer.findtext("Ten", ""), tax_code=buyer.findtext("MST", ""),
                  personal_id=buyer.findtext("CCCDan", ""), address=buyer.findtext("DChi", ""),
                  person=buyer.findtext("HVTNMHang", "")) if buyer is not None else patient_party(repo, patient_id)
    return queue(outbox, settings, seal, correction_key(refund.number),
                 _draft(settings, CORRECTION, refund.created.date(), party, [line], related=related))


def daily_summary(repo: Repository, outbox: Outbox, settings: Settings, seal: xmldsig.XmlKey, day: date,
                  zone) -> Item | None:  # noqa: ANN001
    """The day's summary invoice (buyer: the consumer) for its receipts not invoiced one by one, with
    a line per receipt; a refund of one of them is a negative line. None when nothing is left."""
    receipts = payments.day_receipts(repo, day, zone)
    own = {r.number for r in receipts if _by_key(outbox, payment_key(r.number))}
    day_numbers = {r.number for r in receipts}
    lines = [_line_of(r) for r in receipts if r.kind != payments.REFUND and r.amount > 0 and r.number not in own]
    lines += [Line(f"Hoàn trả phiếu thu {r.refunds} (phiếu chi {r.number})", r.amount, code=r.bill_number)
              for r in receipts if r.kind == payments.REFUND and r.refunds in day_numbers and r.refunds not in own]
    if not lines or sum((x.amount for x in lines), Decimal(0)) <= 0:
        return None
    return queue(outbox, settings, seal, daily_key(day), _draft(settings, DAILY, day, Party(CONSUMER), lines))


# --- the BHYT share at settlement ----------------------------------------------------------------

def for_settlement(outbox: Outbox, settings: Settings, seal: xmldsig.XmlKey, bill_number: str, settled: Decimal,
                   on: date) -> Item | None:
    """The invoice to BHXH when it settles the bill's BHYT share at ``settled`` (whole đồng); a later
    settlement at another amount adds an adjusting invoice for the difference (negative for a
    decrease) referencing the first. None when nothing changed."""
    settled = payments.whole(Decimal(settled))
    earlier = []
    while (item := _by_key(outbox, f"{KIND}:{INSURER}:{bill_number}:{len(earlier) + 1}")) is not None:
        earlier.append(item)
    invoiced = sum((xml.facts(i.payload)["total"] for i in earlier), Decimal(0))
    difference = settled - invoiced
    if difference == 0:
        return None
    key = f"{KIND}:{INSURER}:{bill_number}:{len(earlier) + 1}"
    name = f"Chi phí khám bệnh, chữa bệnh BHYT quỹ thanh toán theo bảng kê {bill_number}"
    if not earlier:
        return queue(outbox, settings, seal, key, _draft(settings, INSURER, on, settings.bhxh,
                                                         [Line(name, difference, code=bill_number)]))
    related = _related(earlier[0], f"Điều chỉnh theo quyết toán của BHXH: {settled} đồng")
    return queue(outbox, settings, seal, key, _draft(settings, INSURER, on, settings.bhxh,
                                                     [Line(f"Điều chỉnh {name}", difference, code=bill_number)],
                                                     related=related))


PASSWORD_ENV = "BENHAN_EINVOICE_PASSWORD"


def provider_from_config(cfg) -> HttpProvider:  # noqa: ANN001
    """The configured provider; EInvoiceNotPossible when there is none."""
    if not cfg.einvoice_provider_url:
        raise errors.EInvoiceNotPossible("chưa cấu hình nhà cung cấp hóa đơn điện tử (einvoice_provider_url) | "
                                         "the e-invoice provider is not configured")
    password = os.environ.get(PASSWORD_ENV, "")
    path = Path(str(cfg.einvoice_password_file))
    if not password and str(path) not in ("", "."):
        try:
            password = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise errors.ConfigError(f"không đọc được {path.name} | the e-invoice password file {path} cannot be "
                                     f"read: {exc.strerror}") from None
    return HttpProvider(cfg.einvoice_provider_url, cfg.einvoice_username, password)


# --- sending and reading -----------------------------------------------------------------------

def senders(provider: Provider) -> dict[str, Sender]:
    return {KIND: lambda item: provider.issue(item.payload, item.idem_key)}


def send_due(outbox: Outbox, provider: Provider, limit: int = 100) -> int:
    return outbox.run_once(senders(provider), limit=limit)


@dataclass(frozen=True)
class Status:
    symbol: str
    number: int
    state: str                 # the outbox's: pending, sending, sent, rejected, given-up
    code: str                  # mã CQT once issued
    error: str
    total: Decimal
    adjusting: bool


def status_of(item: Item) -> Status:
    facts = xml.facts(item.payload)
    answer = json.loads(item.receipt) if item.receipt else {}
    root = xml.parse(item.payload)
    return Status(facts["symbol"], facts["number"], item.state, str((answer or {}).get("mccqt") or ""),
                  item.last_error or "", facts["total"], root.find("DLHDon/TTChung/TTHDLQuan") is not None)


def status_for_receipt(outbox: Outbox, r: payments.Receipt) -> Status | None:
    item = (_by_key(outbox, correction_key(r.number)) if r.kind == payments.REFUND
            else invoice_of_receipt(outbox, r))
    return status_of(item) if item is not None else None
