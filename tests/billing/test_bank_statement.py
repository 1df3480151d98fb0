"""The bank statement import on both databases: the variants of Vietnamese banks' CSV exports are
read, each credit is matched to its bill by the bill number in the description and by the amount,
recorded as a VietQR payment; unmatched, partial and over amounts are reported; a second import of
the same file records nothing."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from benhan.billing import bank_statement as bs, payments
from tests.billing.test_payments import CASHIER, NOON, _line, make_bill, make_world

# A Vietcombank-like export: account lines first, semicolons, Vietnamese headers, 1.234.567 amounts.
SEMICOLON = """Sao kê tài khoản;0011004123456
Từ ngày;01/12/2026;Đến ngày;06/12/2026
STT;Ngày giao dịch;Số tham chiếu;Ghi nợ;Ghi có;Nội dung
1;06/12/2026 09:15:02;FT26340000001;;150.000;VP HD0182026120600000001 NGUYEN VAN AN chuyen tien
2;06/12/2026 09:20:00;FT26340000002;2.000.000;;Rut tien mat
3;06/12/2026 10:01:44;FT26340000003;;50.000;TT HD0182026120600000002
4;06/12/2026 10:30:00;FT26340000004;;900.000;VP HD0182026120600000003
5;06/12/2026 11:00:00;FT26340000005;;120.000;ung ho lu lut
;;;;;
Tổng cộng;;;2.000.000;1.220.000;
"""

# An English export with commas, one signed amount column, 1,234,567.00 amounts and no reference.
COMMA = """Transaction date,Amount,Description
2026-12-06,"150,000.00",IBFT VP HD0182026120600000001
2026-12-06,"-30,000.00",Fee
2026-12-06,"150,000.00",IBFT VP HD0182026120600000001
"""


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    repo, ids = make_world(store)
    bills = [make_bill(repo, ids, "HD0182026120600000001", [_line("750000", "150000")]),      # owes 150,000
             make_bill(repo, ids, "HD0182026120600000002", [_line("500000", "100000")]),      # owes 100,000
             make_bill(repo, ids, "HD0182026120600000003", [_line("500000", "100000")])]      # owes 100,000
    return repo, bills


def test_the_credits_of_a_semicolon_export_with_vietnamese_headers_are_read():
    credits, debits = bs.read_statement(SEMICOLON.encode("utf-8-sig"))
    assert debits == 1
    assert [(c.row, c.when, c.amount, c.reference) for c in credits] == [
        (4, date(2026, 12, 6), Decimal(150000), "FT26340000001"), (6, date(2026, 12, 6), Decimal(50000), "FT26340000003"),
        (7, date(2026, 12, 6), Decimal(900000), "FT26340000004"), (8, date(2026, 12, 6), Decimal(120000), "FT26340000005")]


def test_a_windows_1258_file_with_headers_without_diacritics_is_read():
    text = "Ngay GD\tSo tien\tDien giai\tMa GD\n06-12-2026\t+1.234.567\tVP HD1\tX1\n07-12-2026\t(500.000)\tPhi\tX2\n"
    credits, debits = bs.read_statement(text.encode("cp1258"))
    assert [(c.when, c.amount, c.reference) for c in credits] == [(date(2026, 12, 6), Decimal(1234567), "X1")]
    assert debits == 1


@pytest.mark.parametrize("raw, value", [("1.234.567", 1234567), ("1,234,567", 1234567), ("1.234.567,00", 1234567),
                                        ("1,234,567.50", Decimal("1234567.50")), ("500000 VND", 500000),
                                        ("(500.000)", -500000), ("-30,000.00", -30000), ("", None)])
def test_the_amount_forms_of_vietnamese_banks(raw, value):
    assert bs.parse_amount(raw) == (Decimal(value) if value is not None else None)


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02", b"a,b,c\n1,2,3\n", "Ngày;Số tiền;Nội dung\n06/12/2026;abc;x\n".encode()])
def test_a_file_that_is_not_a_statement_is_refused_with_a_reason(data):
    with pytest.raises(bs.Unreadable) as e:
        bs.read_statement(data)
    assert e.value.code == "BENHAN-8051" and e.value.key.startswith("bank.err.")


def test_credits_are_matched_recorded_and_reported_and_a_second_import_records_nothing(world):  # noqa: ANN001
    repo, bills = world
    report = bs.import_statement(repo, CASHIER, SEMICOLON.encode(), now=NOON, bills=bills)
    got = [(o.credit.reference, o.status, o.bill_number) for o in report.outcomes]
    assert got == [("FT26340000001", bs.PAID, bills[0].number), ("FT26340000003", bs.PARTIAL, bills[1].number),
                   ("FT26340000004", bs.OVER, bills[2].number), ("FT26340000005", bs.UNMATCHED, "")]
    assert report.debits == 1 and report.recorded == Decimal(200000)
    assert report.outcomes[2].owed == Decimal(100000)          # shown: 900,000 came for 100,000 owed
    assert payments.paid_for(repo, bills[0].invoice_id) == Decimal(150000)
    assert repo.read("Invoice", bills[0].invoice_id).json()["status"] == "balanced"
    assert payments.due(repo, bills[1]) == Decimal(50000)
    receipt = payments.find_by_bank_reference(repo, "FT26340000001")
    assert receipt.method == payments.VIETQR and receipt.amount == Decimal(150000)

    again = bs.import_statement(repo, CASHIER, SEMICOLON.encode(), now=NOON, bills=bills)
    assert [o.status for o in again.outcomes] == [bs.ALREADY, bs.ALREADY, bs.OVER, bs.UNMATCHED]
    assert payments.paid_for(repo, bills[0].invoice_id) == Decimal(150000)
    assert payments.paid_for(repo, bills[1].invoice_id) == Decimal(50000)


def test_without_references_two_identical_transfers_are_two_lines_yet_a_reimport_is_a_no_op(world):  # noqa: ANN001
    repo, bills = world
    report = bs.import_statement(repo, CASHIER, COMMA.encode(), now=NOON, bills=bills)
    # The first pays the bill; the identical second one finds nothing left: over, not recorded.
    assert [o.status for o in report.outcomes] == [bs.PAID, bs.OVER] and report.debits == 1
    again = bs.import_statement(repo, CASHIER, COMMA.encode(), now=NOON, bills=bills)
    assert [o.status for o in again.outcomes] == [bs.ALREADY, bs.OVER]
    assert payments.paid_for(repo, bills[0].invoice_id) == Decimal(150000)


def test_a_transfer_for_a_bill_already_paid_at_the_desk_is_shown_as_over(world):  # noqa: ANN001
    repo, bills = world
    payments.record_payment(repo, CASHIER, bills[0], "150000", payments.CASH, now=NOON)
    report = bs.import_statement(repo, CASHIER, COMMA.encode(), now=NOON, bills=bills[1:])
    assert [(o.status, o.bill_number, o.owed) for o in report.outcomes] == [
        (bs.OVER, bills[0].number, Decimal(0)), (bs.OVER, bills[0].number, Decimal(0))]
