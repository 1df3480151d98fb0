"""Money: charges from the record, who pays what (BHYT rules as dated data), the cashier, receipts,
VietQR, bank statements, e-invoices."""
