"""E-invoices for hospital fees under NĐ 254/2026 + TT 91/2026 (docs/einvoice.md;
shared/vietnam-billing.md §6): the invoice per payment (or the day's summary invoice), the invoice to
BHXH for the BHYT share at settlement, adjusting invoices instead of cancellations, the tax
authority's XML (HDon/DLHDon) signed by the facility, sent to the facility's provider through the
one outbox (kind ``einvoice``)."""
