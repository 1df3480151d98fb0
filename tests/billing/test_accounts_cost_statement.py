"""The cost statement (bảng kê chi phí, Mẫu 01/KBCB of QĐ 697/2026) the patient signs: made from the
stored bill, the figures in whole đồng and in words, only the cost items that occurred with their
numbers kept. Read back from the PDF with pdfplumber; both databases."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pdfplumber
import pytest

from benhan.billing import cost_statement
from benhan.billing.accounts import bill_for_encounter
from tests.billing.charges_world import AUGMENTIN, CT, at, make_world

DAY = date(2026, 11, 20)


def _text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


@pytest.mark.parametrize("amount,words", [
    (146320, "Một trăm bốn mươi sáu nghìn ba trăm hai mươi đồng"),
    (1005, "Một nghìn không trăm linh năm đồng"),
    (21, "Hai mươi mốt đồng"),
    (15, "Mười lăm đồng"),
    (91080000, "Chín mươi mốt triệu không trăm tám mươi nghìn đồng"),
    (1234567891, "Một tỷ hai trăm ba mươi bốn triệu năm trăm sáu mươi bảy nghìn tám trăm chín mươi mốt đồng"),
    (0, "Không đồng"),
])
def test_amounts_in_words(amount, words):  # noqa: ANN001
    assert cost_statement.in_words(Decimal(amount)) == words


def test_printed_amounts_are_whole_dong_half_up():
    assert cost_statement.money(Decimal("12345.50")) == "12.346"
    assert cost_statement.money(Decimal("12345.49")) == "12.345"
    assert cost_statement.number(Decimal("1234.567")) == "1.234,567"


def test_the_statement_of_a_visit(store):  # noqa: ANN001
    world = make_world(store)
    pid = world.patient("001090123431", "Nguyễn Văn An", bhyt="DN4790123456731")
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 9))
    world.prescribe(eid, AUGMENTIN, 10, at(DAY, 10))
    world.end(eid, at(DAY, 11))
    bill_for_encounter(world.repo, eid, now=at(DAY, 11))
    pdf = cost_statement.for_encounter(world.repo, eid, now=at(DAY, 11, 30))
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert "BẢNG KÊ CHI PHÍ KHÁM BỆNH, CHỮA BỆNH" in text and "Mẫu số 01/KBCB" in text
    assert "Nguyễn Văn An" in text and "DN4790123456731" in text
    # Items that occurred, numbered as on the form: 1 exam, 4 imaging, 8 drugs; no 2 (bed-days).
    assert "1. Khám bệnh" in text and "4. Chẩn đoán hình ảnh" in text and "8. Thuốc, dịch truyền" in text
    assert "2. Ngày giường" not in text
    # 50,600 + 536,000 + 145,000 = 731,600; the fund 80% = 585,280; the patient 146,320.
    assert "731.600" in text and "585.280" in text and "146.320" in text
    assert "Một trăm bốn mươi sáu nghìn ba trăm hai mươi đồng" in text
    assert "Bảy trăm ba mươi mốt nghìn sáu trăm đồng" in text
    assert "XÁC NHẬN CỦA NGƯỜI BỆNH" in text


@pytest.mark.parametrize("start,end,printed,days", [
    ("2026-11", "2026-11", "11/2026 (12) Kết thúc / ra viện: 11/2026", "…"),
    ("2026-11-20", "2026-11-21", "20/11/2026 (12) Kết thúc / ra viện: 21/11/2026", "2"),
])
def test_the_statement_of_a_visit_dated_without_its_times(store, start, end, printed, days):  # noqa: ANN001
    """Another system's record may date a visit by its day or its month alone (valid FHIR). The bill is
    made and the statement prints the dates as given, the count of days when there are days, where
    the cashier's had answered 500 (a day without its time beside the orders' times stopped the
    bill; a month alone stopped the statement)."""
    world = make_world(store)
    pid = world.patient("001090123432", "Trần Thị Bích", bhyt="DN4790123456732")
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 9))
    world.end(eid, at(DAY, 11))
    enc = world.system.read("Encounter", eid).json()
    enc["period"] = {"start": start, "end": end}
    world.system.update("Encounter", eid, enc)
    bill = bill_for_encounter(world.repo, eid, now=at(DAY, 11))
    assert Decimal(536_000) in {line.amount for line in bill.lines}
    text = _text(cost_statement.for_encounter(world.repo, eid, now=at(DAY, 11, 30)))
    assert "Trần Thị Bích" in text and "536.000" in text
    assert f"(11) Đến khám / vào viện: {printed}" in text
    assert f"(13) Số ngày điều trị: {days}" in text
