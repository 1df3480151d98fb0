"""BHYT claims: the QĐ 4750/3176 XML tables, the GIAMDINHHS envelope signed by the facility,
validation before sending, the card check, and the gateway client with its local stand-in."""
