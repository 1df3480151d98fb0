"""The cashier's desk (role cashier, demo user thungan): the open bills, one bill with its lines and
who pays what, cash or a VietQR code for the exact amount owed, the printable receipt, refunds,
inpatient advances, the shift closing and the bank statement import. docs/cashier.md.

Every form answers a mistake (an amount that is not a whole number of đồng, more than is owed, a
closed shift, an unreadable bank file) with a translated message on the same page, never an error
page; an unknown bill is the translated 404 page."""
from __future__ import annotations

from decimal import Decimal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan import errors
from benhan.auth import sessions
from benhan.auth.actor import Actor
from benhan.billing import accounts, bank_statement, payments, qr_image
from benhan.web.lazy import lazy_module
from benhan.clinical.common import now, ref_id
from benhan.clinical.visits import facility
from benhan.store.repository import Repository
from benhan.vn.identifiers import MA_LK_SYSTEM
from benhan.vn.vietqr import VietQrProblem
from benhan.web import authn
from benhan.web.ui.base import back, form, page, repo, require, t, today, tz
from benhan.web.ui import cashier_einvoice

# The PDF stack at first use (web/lazy.py):
cost_statement = lazy_module("benhan.billing.cost_statement")
receipt_mod = lazy_module("benhan.billing.receipt")

HOME = "/ui/cashier"


def _gate(r: Repository) -> None:
    """The desk is for who records receipts and reads the bills (the cashier; not a facility admin, who
    may write PaymentReconciliation as reference data but reads no patient's bill)."""
    require(r, ("c", "PaymentReconciliation"))
    require(r, ("r", "Invoice"))
_FORM = ["GET", "POST"]


def _now(request: Request):  # noqa: ANN202
    return now(tz(request))


def _zone(request: Request):  # noqa: ANN202
    return _now(request).tzinfo


def _message(request: Request, refused: payments.Refused) -> str:
    values = {k: receipt_mod.vnd(v) if isinstance(v, Decimal) else
              (f"{v.astimezone(_zone(request)):%H:%M %d/%m/%Y}" if hasattr(v, "astimezone") else v)
              for k, v in refused.values.items()}
    return t(request, refused.key, **values)


# --- the open bills ----------------------------------------------------------------------------

def _home(request: Request, r: Repository, status: int = 200, **extra) -> Response:  # noqa: ANN001
    bills = accounts.open_bills(r, on=today(request))
    rows = [(b, payments.due(r, b)) for b in bills]
    return page(request, "ui/cashier.html", status, rows=rows, vnd=receipt_mod.vnd, **extra)


async def home(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        _gate(r)
        return _home(request, r)
    return await run_in_threadpool(work)


def _billing_repo(request: Request, r: Repository) -> Repository:
    # Charging a visit reads its orders, drugs and bed-days (billing.charges), which the cashier's role
    # may not read one by one; the computation runs as the system on the cashier's behalf (audited as
    # "billing:<user>") and hands back only the bill's money lines, which the cashier sees anyway.
    return Repository(request.app.state.store, Actor(name=f"billing:{r.actor.name}", kind="system",
                                                     source_address=r.actor.source_address))


async def bill_visit(request: Request) -> Response:
    """The bill of a visit found by its episode key (MA_LK, printed on the patient's slip)."""
    r = repo(request)
    await run_in_threadpool(_gate, r)
    if request.method == "GET":
        return back(HOME)
    values = await form(request)

    def work() -> Response:
        key = "".join((values.get("ma_lk") or "").split()).upper()
        found = r.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|{key}"), ("_count", "2")]) \
            if key and len(key) <= 64 and key.isalnum() else None
        if not found or len(found.matches) != 1:
            return _home(request, r, 400, v=values, errors={"ma_lk": t(request, "cashier.err.no-visit")})
        bill = accounts.bill_for_encounter(_billing_repo(request, r), found.matches[0].res_id, now=_now(request))
        return back(f"{HOME}/bills/{bill.invoice_id}")
    return await run_in_threadpool(work)


# --- one bill ----------------------------------------------------------------------------------

def _bill(r: Repository, invoice_id: str):  # noqa: ANN202
    invoice = r.read("Invoice", invoice_id).json()
    return invoice, accounts.bill_of(r, invoice)


def _inpatient(r: Repository, encounter_id: str) -> bool:
    if not encounter_id:
        return False
    try:
        return (r.read("Encounter", encounter_id).json().get("class") or {}).get("code") == "IMP"
    except errors.BenhanError:
        return False


def _bill_page(request: Request, r: Repository, invoice_id: str, status: int = 200, **extra) -> Response:  # noqa: ANN001
    invoice, bill = _bill(r, invoice_id)
    account_id = ref_id(invoice.get("account")) or ""
    receipts = payments.receipts_for(r, f"Invoice/{invoice_id}")
    paid = sum((x.amount for x in receipts), Decimal(0))
    due = payments.due(r, bill)
    bank = receipt_mod.BankAccount.from_config(request.app.state.store.config)
    qr_svg, qr_problem = "", ""
    if bank is not None and due > 0:
        try:
            qr_svg = qr_image.svg(receipt_mod.bill_payload(bank, bill.number, due))
        except VietQrProblem as problem:
            qr_problem = problem.reason
    advances = payments.receipts_for(r, f"Account/{account_id}") if account_id else []
    extra.setdefault("failed", "")
    return page(request, "ui/cashier_bill.html", status, bill=bill, invoice=invoice, receipts=receipts, paid=paid,
                due=due, bank=bank, qr_svg=qr_svg, qr_problem=qr_problem, vnd=receipt_mod.vnd,
                qty=receipt_mod.quantity, inpatient=_inpatient(r, bill.encounter_id), advances=advances,
                held=sum((x.amount for x in advances), Decimal(0)), purpose=receipt_mod.purpose(bill.number),
                done=request.query_params.get("done", ""),
                einvoices=cashier_einvoice.statuses(request.app.state.store, receipts + advances), **extra)


async def bill_page(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        _gate(r)
        return _bill_page(request, r, request.path_params["id"])
    return await run_in_threadpool(work)


async def _post(request: Request, action) -> Response:  # noqa: ANN001
    """A form on the bill page: the action's receipt → back to the bill; a refusal → the page again."""
    r = repo(request)
    await run_in_threadpool(_gate, r)
    invoice_id = request.path_params["id"]
    if request.method == "GET":
        return back(f"{HOME}/bills/{invoice_id}")
    values = await form(request)

    def work() -> Response:
        invoice, bill = _bill(r, invoice_id)
        try:
            done = action(r, invoice, bill, values)
        except payments.Refused as refused:
            field = values.get("_form", "form")
            return _bill_page(request, r, invoice_id, 400, v=values, failed=field,
                              errors={field: _message(request, refused)})
        cashier_einvoice.after_receipt(request.app.state.store, r, done, bill)   # never undoes the receipt
        return back(f"{HOME}/bills/{invoice_id}?done={done.number if done else ''}")
    return await run_in_threadpool(work)


async def pay(request: Request) -> Response:
    def action(r, invoice, bill, v):  # noqa: ANN001, ANN202
        method = v.get("method", "")
        return payments.record_payment(r, r.actor, bill, v.get("amount", ""), method, now=_now(request),
                                       reference=" ".join((v.get("reference") or "").split())[:64])
    return await _post(request, action)


async def advance(request: Request) -> Response:
    def action(r, invoice, bill, v):  # noqa: ANN001, ANN202
        account_id = ref_id(invoice.get("account")) or ""
        if not account_id:
            raise payments.Refused("billing.err.no-invoice", "the bill has no Account")
        return payments.record_advance(r, r.actor, account_id, v.get("amount", ""), v.get("method", ""),
                                       now=_now(request), label=bill.number)
    return await _post(request, action)


async def apply_advance(request: Request) -> Response:
    def action(r, invoice, bill, v):  # noqa: ANN001, ANN202
        return payments.apply_advance(r, r.actor, bill, ref_id(invoice.get("account")) or "", now=_now(request))
    return await _post(request, action)


async def refund(request: Request) -> Response:
    def action(r, invoice, bill, v):  # noqa: ANN001, ANN202
        rid = v.get("receipt", "")
        target = payments.receipt(r, rid).target
        if target not in (f"Invoice/{invoice['id']}", invoice.get("account", {}).get("reference")):
            raise errors.NotFound(f"receipt {rid} is not one of this bill's")
        return payments.refund(r, r.actor, rid, v.get("amount", ""), v.get("reason", ""), now=_now(request),
                               bill=bill)
    return await _post(request, action)


async def receipt_pdf(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        _gate(r)
        invoice_id = request.path_params["id"]
        _, bill = _bill(r, invoice_id)
        receipts = payments.receipts_for(r, f"Invoice/{invoice_id}")
        wanted = request.query_params.get("receipt", "")
        single = next((x for x in receipts if x.id == wanted), None)
        if wanted and single is None:
            raise errors.NotFound(f"receipt {wanted!r} is not one of this bill's")
        store = request.app.state.store
        fac = facility(r, store.config.values.get("facility_name"))
        body = receipt_mod.render(receipt_mod.ReceiptPrint(
            facility=fac.name, bill=bill, receipts=tuple(receipts), paid=sum((x.amount for x in receipts), Decimal(0)),
            due=payments.due(r, bill), printed=_now(request), printed_by=r.actor.display or r.actor.name,
            bank=receipt_mod.BankAccount.from_config(store.config), single=single))
        return Response(body, media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="phieu-thu-{bill.number}.pdf"'})
    return await run_in_threadpool(work)


async def cost_statement_pdf(request: Request) -> Response:
    """The cost statement (bảng kê 01/KBCB) the patient signs at the desk (billing/cost_statement.py)."""
    def work() -> Response:
        r = repo(request)
        _gate(r)
        _, bill = _bill(r, request.path_params["id"])
        # Its administrative part names the diagnosis, which the cashier's role does not read itself.
        body = cost_statement.render(_billing_repo(request, r), bill, now=_now(request))
        return Response(body, media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="bang-ke-{bill.number}.pdf"'})
    return await run_in_threadpool(work)


# --- the shift closing -------------------------------------------------------------------------

def _closing_page(request: Request, r: Repository, status: int = 200, **extra) -> Response:  # noqa: ANN001
    day = today(request)
    zone = _zone(request)
    receipts = payments.day_receipts(r, day, zone)
    totals = sorted(payments.totals(receipts).items())
    closings = payments.closings(r, day, zone)
    last = payments.last_closing(r, r.actor.name)
    mine_open = [x for x in receipts if x.cashier == r.actor.name and (last is None or x.created > last.end)]
    return page(request, "ui/cashier_closing.html", status, day=day, receipts=receipts, totals=totals,
                closings=closings, mine_open=mine_open, vnd=receipt_mod.vnd, zone=zone,
                open_total=sum((x.amount for x in mine_open), Decimal(0)),
                done=request.query_params.get("done", ""), **extra)


async def closing(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(_gate, r)
    values = await form(request) if request.method == "POST" else None

    def work() -> Response:
        if values is None:
            return _closing_page(request, r)
        try:
            done = payments.close_shift(r, r.actor, now=_now(request))
        except payments.Refused as refused:
            return _closing_page(request, r, 400, errors={"form": _message(request, refused)})
        return back(f"{HOME}/closing?done={done.number}")
    return await run_in_threadpool(work)


# --- the bank statement ------------------------------------------------------------------------

async def bank(request: Request) -> Response:
    r = repo(request)
    await run_in_threadpool(_gate, r)
    if request.method == "GET":
        return await run_in_threadpool(lambda: page(request, "ui/cashier_bank.html", report=None,
                                                    vnd=receipt_mod.vnd))
    async with request.form(max_files=1, max_fields=10) as data:     # the upload's temporary file closed after
        csrf = data.get("csrf")
        if not sessions.check_csrf(authn.session(request), csrf if isinstance(csrf, str) else None):
            raise errors.CsrfRejected()
        upload = data.get("statement")
        content = await upload.read(bank_statement.MAX_BYTES + 1) \
            if upload is not None and not isinstance(upload, str) else b""

    def work() -> Response:
        if not content:
            return page(request, "ui/cashier_bank.html", 400, report=None, vnd=receipt_mod.vnd,
                        errors={"statement": t(request, "bank.err.no-file")})
        try:
            report = bank_statement.import_statement(r, r.actor, content, now=_now(request))
        except bank_statement.Unreadable as bad:
            return page(request, "ui/cashier_bank.html", 400, report=None, vnd=receipt_mod.vnd,
                        errors={"statement": t(request, bad.key)})
        return page(request, "ui/cashier_bank.html", report=report, vnd=receipt_mod.vnd)
    return await run_in_threadpool(work)


routes = [
    Route(HOME, home),
    Route(f"{HOME}/visit", bill_visit, methods=_FORM),
    Route(f"{HOME}/bills/{{id}}", bill_page),
    Route(f"{HOME}/bills/{{id}}/pay", pay, methods=_FORM),
    Route(f"{HOME}/bills/{{id}}/advance", advance, methods=_FORM),
    Route(f"{HOME}/bills/{{id}}/apply-advance", apply_advance, methods=_FORM),
    Route(f"{HOME}/bills/{{id}}/refund", refund, methods=_FORM),
    Route(f"{HOME}/bills/{{id}}/receipt.pdf", receipt_pdf),
    Route(f"{HOME}/bills/{{id}}/cost-statement.pdf", cost_statement_pdf),
    Route(f"{HOME}/closing", closing, methods=_FORM),
    Route(f"{HOME}/bank", bank, methods=_FORM),
]
