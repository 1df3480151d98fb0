"""The pharmacist's stock pages: what is on hand per store (lots, expiry, below reorder level), and
the forms that move stock — a receipt from a supplier, a transfer to a ward cabinet, a count of a lot,
a reorder level, a new ward cabinet — and the reports (import–export–stock, the controlled-drug
registers) on screen, printable, and as CSV. The work is benhan.pharmacy's; these are its forms."""
from __future__ import annotations

from datetime import date, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benhan.clinical.common import FormInvalid
from benhan.pharmacy import reports, stock
from benhan.web.ui.base import back, form, messages, page, repo, require, today, tz

HOME = "/ui/pharmacy/stock"
_FORM = ["GET", "POST"]
NEED = ("c", "MedicationDispense")


def _stock_page(request: Request, r, status: int = 200, **extra) -> Response:  # noqa: ANN001
    day = today(request)
    stock.setup_stores(r)
    rows = stock.on_hand(r, day)
    extra.setdefault("failed", "")
    return page(request, "ui/pharmacy_stock.html", status, rows=rows, below=[x for x in rows if x.below_reorder],
                stores=stock.stores(r), items=stock.items(r), today=day.isoformat(),
                done=request.query_params.get("done", ""), **extra)


async def stock_home(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, NEED)
        return _stock_page(request, r)
    return await run_in_threadpool(work)


def _poster(action):  # noqa: ANN001, ANN202
    """A POST route: the form checked and written by `action`, or the page again with the messages."""
    async def post(request: Request) -> Response:
        r = repo(request)
        await run_in_threadpool(require, r, NEED)
        if request.method == "GET":
            return back(HOME)
        values = await form(request)

        def work() -> Response:
            try:
                action(r, values, request)
            except FormInvalid as exc:
                return _stock_page(request, r, 400, v=values, failed=action.__name__,
                                   errors=messages(request, exc))
            return back(f"{HOME}?done={action.__name__}")
        return await run_in_threadpool(work)
    return post


def receipt(r, values, request) -> None:  # noqa: ANN001
    stock.receive(r, r.actor, values)


def transfer(r, values, request) -> None:  # noqa: ANN001
    stock.transfer(r, r.actor, values, today(request))


def count(r, values, request) -> None:  # noqa: ANN001
    stock.count(r, r.actor, values)


def reorder(r, values, request) -> None:  # noqa: ANN001
    stock.set_reorder_level(r, r.actor, values)


def cabinet(r, values, request) -> None:  # noqa: ANN001
    stock.add_ward_cabinet(r, r.actor, values)


def _period(request: Request) -> tuple[date, date]:
    """The period asked for (from, to); this month so far when absent or not a date."""
    day = today(request)
    try:
        start = date.fromisoformat(request.query_params.get("from", ""))
    except ValueError:
        start = day.replace(day=1)
    try:
        end = date.fromisoformat(request.query_params.get("to", ""))
    except ValueError:
        end = day
    if end < start:
        start, end = end, start
    return start, min(end, start + timedelta(days=3660))


def _csv(body: str, name: str) -> Response:
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def report(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, NEED)
        start, end = _period(request)
        store = request.query_params.get("store") or None
        lines = reports.import_export_stock(r, start, end, tz(request), store)
        if request.query_params.get("format") == "csv":
            return _csv(reports.iex_csv(lines), f"nhap-xuat-ton-{start}-{end}.csv")
        return page(request, "ui/pharmacy_report.html", lines=lines, start=start.isoformat(), end=end.isoformat(),
                    store=store or "", stores=stock.stores(r))
    return await run_in_threadpool(work)


async def register(request: Request) -> Response:
    def work() -> Response:
        r = repo(request)
        require(r, NEED)
        kind = request.query_params.get("kind", "")
        if kind not in stock.CONTROLLED:
            return back(HOME)
        start, end = _period(request)
        moves = reports.controlled_register(r, kind, start, end, tz(request))
        if request.query_params.get("format") == "csv":
            return _csv(reports.register_csv(moves), f"so-{kind}-{start}-{end}.csv")
        return page(request, "ui/pharmacy_register.html", moves=moves, kind=kind, start=start.isoformat(),
                    end=end.isoformat())
    return await run_in_threadpool(work)


routes = [
    Route(HOME, stock_home),
    Route("/ui/pharmacy/receipts", _poster(receipt), methods=_FORM),
    Route("/ui/pharmacy/transfers", _poster(transfer), methods=_FORM),
    Route("/ui/pharmacy/counts", _poster(count), methods=_FORM),
    Route("/ui/pharmacy/reorder", _poster(reorder), methods=_FORM),
    Route("/ui/pharmacy/stores", _poster(cabinet), methods=_FORM),
    Route("/ui/pharmacy/report", report),
    Route("/ui/pharmacy/register", register),
]
