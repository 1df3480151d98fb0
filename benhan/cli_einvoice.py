"""`benhan einvoice …`: send the e-invoices waiting in the outbox, list them with their state and the
tax authority's code, make the day's summary invoice, and run the stand-in provider (docs/einvoice.md)."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store, serve_in_foreground

einvoice_app = typer.Typer(help="E-invoices (NĐ 254/2026): send, status, the day's summary, the stand-in provider.",
                           no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"benhan: {message}", err=True)
    raise typer.Exit(1)


@einvoice_app.command("send")
def send(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Send the e-invoices due in the outbox to the provider, once (in number order; a failure is retried later)."""
    from benhan.billing.einvoice import service
    from benhan.outbox.queue import Outbox
    store = open_store(data_dir, database_url)
    try:
        outbox = Outbox(store.db)
        attempted = service.send_due(outbox, service.provider_from_config(store.config), limit=10_000)
        counts = {state: n for (kind, state), n in outbox.counts().items() if kind == service.KIND}
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    typer.echo(f"{attempted} attempted; " + (", ".join(f"{s}: {n}" for s, n in sorted(counts.items())) or "none queued"))


@einvoice_app.command("status")
def status(state: Optional[str] = typer.Option(None, help="pending, sending, sent, rejected, given-up."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Each e-invoice: symbol and number, buyer, total, state, the tax authority's code or the last error."""
    from benhan.billing.einvoice import service
    from benhan.outbox.queue import Outbox
    store = open_store(data_dir, database_url)
    try:
        items = Outbox(store.db).items(kind=service.KIND, state=state)
    finally:
        store.close()
    for item in sorted(items, key=lambda i: i.pk):
        s = service.status_of(item)
        tail = s.code or s.error
        typer.echo(f"{s.symbol} {s.number:>8} {'ĐC ' if s.adjusting else ''}{item.patient or ''} | {s.total} đ | "
                   f"{s.state}{' | ' + tail if tail else ''}")
    if not items:
        typer.echo("no e-invoices")


@einvoice_app.command("daily")
def daily(day: str = typer.Argument(..., help="The day (yyyy-mm-dd) whose receipts the summary covers."),
          data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Make and queue the day's summary invoice (einvoice_daily_summary) for the receipts not invoiced one by one."""
    from benhan.auth.actor import Actor
    from benhan.billing.einvoice import service
    from benhan.claims.service import seal_key
    from benhan.clinical.visits import facility
    from benhan.fhir.datetimes import parse_zone
    from benhan.outbox.queue import Outbox
    from benhan.store.repository import Repository
    try:
        on = date.fromisoformat(day)
    except ValueError:
        _fail(f"{day!r} is not a date (yyyy-mm-dd)")
    store = open_store(data_dir, database_url)
    try:
        repo = Repository(store, Actor.system("cli-einvoice"))
        settings = service.settings_from(store.config, facility(repo, store.config.values.get("facility_name")).name)
        if settings is None:
            raise errors.EInvoiceNotPossible("chưa cấu hình hóa đơn điện tử (einvoice_provider_url, "
                                             "einvoice_seller_tax_code, einvoice_series)")
        item = service.daily_summary(repo, Outbox(store.db), settings, seal_key(store.config), on,
                                     parse_zone(store.config.timezone))
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    typer.echo(f"{item.subject} queued" if item else "nothing to invoice for that day")


@einvoice_app.command("settle")
def settle(bill: str = typer.Argument(..., help="The bill number (số hóa đơn viện phí) BHXH settled."),
           amount: str = typer.Argument(..., help="What BHXH settled for the bill's BHYT share, in đồng."),
           on: Optional[str] = typer.Option(None, "--date", help="The settlement date (yyyy-mm-dd); default today."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Invoice BHXH for the BHYT share it settled (a later, different settlement: an adjusting invoice for the
    difference against the first)."""
    from decimal import Decimal, InvalidOperation

    from benhan.auth.actor import Actor
    from benhan.billing import accounts
    from benhan.billing.einvoice import service
    from benhan.claims.service import seal_key
    from benhan.clinical.visits import facility
    from benhan.outbox.queue import Outbox
    from benhan.store.repository import Repository
    try:
        settled = Decimal(amount.replace(".", "").replace(",", ""))
        when = date.fromisoformat(on) if on else date.today()
    except (InvalidOperation, ValueError):
        _fail(f"{amount!r} is not an amount in đồng or {on!r} is not a date (yyyy-mm-dd)")
    if not settled.is_finite() or settled < 0 or settled != settled.to_integral_value():
        _fail(f"{amount!r} is not a whole, non-negative amount in đồng")
    store = open_store(data_dir, database_url)
    try:
        repo = Repository(store, Actor.system("cli-einvoice"))
        if not repo.search_type("Invoice", [("identifier", f"{accounts.BILL_SYSTEM}|{bill}"), ("_count", "1")]).matches:
            raise errors.EInvoiceNotPossible(f"không có hóa đơn viện phí số {bill} | no bill {bill}")
        settings = service.settings_from(store.config, facility(repo, store.config.values.get("facility_name")).name)
        if settings is None:
            raise errors.EInvoiceNotPossible("chưa cấu hình hóa đơn điện tử (einvoice_provider_url, "
                                             "einvoice_seller_tax_code, einvoice_series)")
        item = service.for_settlement(Outbox(store.db), settings, seal_key(store.config), bill, settled, when)
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    typer.echo(f"{item.subject} queued" if item else "already invoiced at that amount")


@einvoice_app.command("standin")
def standin(port: int = typer.Option(8791, "--port"), host: str = typer.Option("127.0.0.1", "--host"),
            tax_code: str = typer.Option(..., "--tax-code", help="The seller's tax code the account belongs to."),
            username: str = typer.Option(..., "--username"),
            password: str = typer.Option(..., "--password", envvar="BENHAN_EINVOICE_PASSWORD"),
            cert: Optional[Path] = typer.Option(None, "--cert", help="PEM of the facility's seal certificate; "
                                                "without it the certificate in the signature is used.")) -> None:
    """Run the stand-in e-invoice provider in the foreground (demo, tests); Ctrl-C stops it."""
    from benhan.billing.einvoice.standin import StandIn, State
    try:
        server = StandIn(State(username, password, tax_code, cert_pem=cert.read_bytes() if cert else None), port, host)
    except (OSError, ValueError) as exc:
        _fail(f"stand-in cannot start: {exc}")
    serve_in_foreground(server, f"e-invoice stand-in provider (seller {tax_code})")
