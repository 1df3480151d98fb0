"""The cashier desk's e-invoices (docs/einvoice.md): after a receipt is recorded, its invoice (or the
refund's adjusting invoice) is queued in the outbox and sent once right away; the bill page shows each
receipt's invoice, its state and the tax authority's code.

Queueing happens after the receipt is stored and never undoes it: e-invoicing not configured, the seal
missing, the provider down — the payment stands, the reason is logged, and the outbox (or `benhan
einvoice send`) sends what waits."""
from __future__ import annotations

import logging
import threading

from benhan import errors
from benhan.auth.actor import Actor
from benhan.billing import payments
from benhan.web.lazy import lazy_module
from benhan.billing.lines import Bill
from benhan.claims.service import seal_key
from benhan.clinical.visits import facility
from benhan.outbox.queue import Outbox
from benhan.store.repository import Repository

service = lazy_module("benhan.billing.einvoice.service")   # the PDF stack at first use (web/lazy.py)

log = logging.getLogger(__name__)
WAIT_SECONDS = 3.0          # the page waits this long for the code; a slow provider does not hold the cashier
_SENDING = threading.Lock()


def after_receipt(store, r: Repository, done: payments.Receipt | None, bill: Bill) -> None:  # noqa: ANN001
    if done is None:
        return
    try:
        settings = service.settings_from(store.config, facility(r, store.config.values.get("facility_name")).name)
        if settings is None:
            return
        outbox, seal = Outbox(store.db), seal_key(store.config)
        # The buyer's CCCD and address, which the cashier's role need not read: read as the system on
        # the cashier's behalf (audited as "einvoice:<user>"), like the bill's charges.
        r = Repository(store, Actor(name=f"einvoice:{r.actor.name}", kind="system",
                                    source_address=r.actor.source_address))
        if done.kind == payments.REFUND:
            item = service.correction_for_refund(r, outbox, settings, seal, done, bill.patient_id)
        else:
            item = service.for_payment(r, outbox, settings, seal, done, bill.patient_id)
        if item is not None:
            _send_soon(store, outbox)
    except Exception as exc:  # noqa: BLE001 - the payment is recorded; the invoice must never undo it
        log.warning("einvoice: receipt %s was not invoiced: %s", done.number,
                    exc.message if isinstance(exc, errors.BenhanError) else f"{type(exc).__name__}: {exc}")


def _send_soon(store, outbox: Outbox) -> None:  # noqa: ANN001
    def work() -> None:
        if not _SENDING.acquire(blocking=False):
            return                       # another send is under way; it or the next one takes this too
        try:
            provider = service.provider_from_config(store.config)
            provider.timeout = 10.0
            service.send_due(outbox, provider, limit=10)
        except Exception as exc:  # noqa: BLE001 - the outbox keeps the invoice for the next round
            log.warning("einvoice: sending failed: %s", exc)
        finally:
            _SENDING.release()
    thread = threading.Thread(target=work, name="einvoice-send", daemon=True)
    thread.start()
    thread.join(WAIT_SECONDS)


def statuses(store, receipts: list[payments.Receipt]) -> dict[str, service.Status]:  # noqa: ANN001
    """Receipt number → its invoice's status, for the receipts that have one."""
    outbox = Outbox(store.db)
    out = {}
    for x in receipts:
        try:
            found = service.status_for_receipt(outbox, x)
        except Exception as exc:  # noqa: BLE001 - the bill page shows without it
            log.warning("einvoice: status of %s unreadable: %s", x.number, exc)
            continue
        if found is not None:
            out[x.number] = found
    return out
