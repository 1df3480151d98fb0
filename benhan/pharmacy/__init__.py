"""The pharmacy: stock in stores and ward cabinets (receipts, transfers, counts, reorder levels),
dispensing against stock by first expiry first out, and the registers the pharmacy keeps
(docs/pharmacy.md). The ledger itself is store.stock_ledger; prescriptions are clinical's."""
