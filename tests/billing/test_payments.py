"""The cashier's money on both databases: a bill paid in two parts turns its Invoice balanced, more
than is owed is refused, a refund is a new receipt with its reason, an inpatient's advance settles
the bill, receipt numbers run per facility and year, and a closed shift takes no more entries."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from benhan.auth.actor import Actor
from benhan.billing import accounts, payments
from benhan.billing.lines import Bill, ChargeLine
from benhan.billing.payments import Refused
from benhan.store.repository import Repository

ICT = timezone(timedelta(hours=7))
NOON = datetime(2026, 12, 6, 12, 0, tzinfo=ICT)
CASHIER = Actor(name="thungan", display="Vũ Thị Thu")
OTHER = Actor(name="thungan2", display="Đỗ Văn Bình")


def _line(amount: str, copay: str, self_pay: str = "0") -> ChargeLine:
    a, c, s = Decimal(amount), Decimal(copay), Decimal(self_pay)
    return ChargeLine(encounter_id="e1", kind="service", code="X", name="Xét nghiệm", unit="lần",
                      quantity=Decimal(1), unit_price=a, amount=a, insured_amount=a - s, bhyt_paid=a - c - s,
                      patient_copay=c, patient_self=s)


def make_world(store) -> tuple[Repository, dict]:  # noqa: ANN001
    repo = Repository(store, Actor.system())
    repo.create("Organization", {"resourceType": "Organization", "name": "Trung tâm Y tế Ba Vì",
                                 "identifier": [{"system": "https://benhan.vn/sid/ma-cskcb", "value": "01820"}]})
    patient = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Nguyễn Văn An"}]}).res_id
    account = repo.create("Account", {"resourceType": "Account", "status": "active", "name": "Nội trú — Nguyễn Văn An",
                                      "subject": [{"reference": f"Patient/{patient}"}]}).res_id
    return repo, {"patient": patient, "account": account}


def make_bill(repo: Repository, ids: dict, number: str, lines: list[ChargeLine]) -> Bill:
    invoice = repo.create("Invoice", {"resourceType": "Invoice", "status": "issued",
                                      "identifier": [{"system": accounts.BILL_SYSTEM, "value": number}],
                                      "subject": {"reference": f"Patient/{ids['patient']}"},
                                      "account": {"reference": f"Account/{ids['account']}"}}).res_id
    return Bill(number=number, encounter_id="e1", patient_id=ids["patient"], patient_name="Nguyễn Văn An",
                issued=NOON, lines=tuple(lines), invoice_id=invoice)


def status(repo: Repository, bill: Bill) -> str:
    return repo.read("Invoice", bill.invoice_id).json()["status"]


def test_a_bill_paid_in_two_parts_is_balanced_and_more_is_refused(store):  # noqa: ANN001
    repo, ids = make_world(store)
    # 20 % co-payment of 250,000 and 100,000 the fund never pays: the patient owes 150,000.
    bill = make_bill(repo, ids, "HD0001", [_line("250000", "50000"), _line("100000", "0", "100000")])
    assert bill.patient_due == Decimal("150000")
    first = payments.record_payment(repo, CASHIER, bill, "100.000", payments.CASH, now=NOON)
    assert first.amount == Decimal(100000) and first.number == "PT01820-2026-000001"
    assert status(repo, bill) == "issued" and payments.due(repo, bill) == Decimal(50000)
    with pytest.raises(Refused) as over:
        payments.record_payment(repo, CASHIER, bill, "50001", payments.VIETQR, now=NOON + timedelta(minutes=1))
    assert over.value.key == "billing.err.over" and over.value.values["left"] == Decimal(50000)
    second = payments.record_payment(repo, CASHIER, bill, Decimal(50000), payments.VIETQR,
                                     now=NOON + timedelta(minutes=2), reference="FT26340123456")
    assert second.number == "PT01820-2026-000002" and second.reference == "FT26340123456"
    assert payments.paid_for(repo, bill.invoice_id) == Decimal(150000)
    assert status(repo, bill) == "balanced"
    with pytest.raises(Refused) as paid:
        payments.record_payment(repo, CASHIER, bill, "1000", payments.CASH, now=NOON + timedelta(minutes=3))
    assert paid.value.key == "billing.err.paid"
    stored = repo.read("PaymentReconciliation", second.id).json()
    assert stored["detail"][0]["request"]["reference"] == f"Invoice/{bill.invoice_id}"
    assert stored["paymentIdentifier"]["value"] == "FT26340123456"


@pytest.mark.parametrize("amount", ["-5000", "0", "12.5", "abc", "1e20", "99999999999999", "", "NaN", "Infinity"])
def test_an_amount_that_is_not_a_positive_whole_number_of_dong_is_refused(store, amount):  # noqa: ANN001
    repo, ids = make_world(store)
    bill = make_bill(repo, ids, "HD0002", [_line("100000", "20000")])
    with pytest.raises(Refused) as e:
        payments.record_payment(repo, CASHIER, bill, amount, payments.CASH, now=NOON)
    assert e.value.key == "billing.err.amount" and e.value.code == "BENHAN-8050"
    assert payments.paid_for(repo, bill.invoice_id) == 0


def test_a_share_with_cents_is_collected_in_whole_dong():
    assert payments.whole(Decimal("12345.50")) == Decimal(12346)
    assert payments.whole(Decimal("12345.49")) == Decimal(12345)


def test_a_refund_is_a_new_receipt_with_its_reason_and_the_original_stays(store):  # noqa: ANN001
    repo, ids = make_world(store)
    bill = make_bill(repo, ids, "HD0003", [_line("100000", "20000", "30000")])
    paid = payments.record_payment(repo, CASHIER, bill, "50000", payments.CASH, now=NOON)
    assert status(repo, bill) == "balanced"
    with pytest.raises(Refused) as no_reason:
        payments.refund(repo, CASHIER, paid.id, "30000", "", now=NOON + timedelta(minutes=1), bill=bill)
    assert no_reason.value.key == "billing.err.reason"
    back = payments.refund(repo, CASHIER, paid.id, "30000", "Không làm xét nghiệm", now=NOON + timedelta(minutes=1),
                           bill=bill)
    assert back.amount == Decimal(-30000) and back.refunds == paid.number and back.reason == "Không làm xét nghiệm"
    assert payments.paid_for(repo, bill.invoice_id) == Decimal(20000) and status(repo, bill) == "issued"
    assert repo.read("PaymentReconciliation", paid.id).json()["paymentAmount"]["value"] == 50000   # unchanged
    with pytest.raises(Refused) as too_much:
        payments.refund(repo, CASHIER, paid.id, "20001", "Trả lại", now=NOON + timedelta(minutes=2), bill=bill)
    assert too_much.value.key == "billing.err.over-refund"
    with pytest.raises(Refused):
        payments.refund(repo, CASHIER, back.id, "1000", "Hoàn của hoàn", now=NOON + timedelta(minutes=2))


def test_an_inpatient_advance_settles_the_bill_and_the_rest_is_paid_back(store):  # noqa: ANN001
    repo, ids = make_world(store)
    advance = payments.record_advance(repo, CASHIER, ids["account"], "2.000.000", payments.CASH, now=NOON)
    assert advance.kind == payments.ADVANCE and payments.advance_balance(repo, ids["account"]) == Decimal(2000000)
    bill = make_bill(repo, ids, "HD0004", [_line("5000000", "1200000", "300000")])      # owes 1,500,000
    applied = payments.apply_advance(repo, CASHIER, bill, ids["account"], now=NOON + timedelta(days=3))
    assert applied is not None and applied.amount == 0        # no money changed hands
    assert payments.paid_for(repo, bill.invoice_id) == Decimal(1500000) and status(repo, bill) == "balanced"
    assert payments.advance_balance(repo, ids["account"]) == Decimal(500000)
    assert payments.apply_advance(repo, CASHIER, bill, ids["account"], now=NOON + timedelta(days=3)) is None
    payments.refund(repo, CASHIER, advance.id, "500000", "Trả lại tạm ứng còn dư", now=NOON + timedelta(days=3))
    assert payments.advance_balance(repo, ids["account"]) == 0


def test_receipt_numbers_never_repeat_when_cashiers_save_at_the_same_moment(store):  # noqa: ANN001
    repo, ids = make_world(store)
    bills = [make_bill(repo, ids, f"HD1{i:03d}", [_line("100000", "20000")]) for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda b: payments.record_payment(repo, CASHIER, b, "20000", payments.CASH, now=NOON),
                             bills))
    assert sorted(r.number for r in done) == [f"PT01820-2026-{n:06d}" for n in range(1, 9)]
    next_year = payments.record_advance(repo, CASHIER, ids["account"], "1000", payments.CASH,
                                        now=datetime(2027, 1, 1, 0, 5, tzinfo=ICT))
    assert next_year.number == "PT01820-2027-000001"


def test_two_clicks_on_one_bill_take_the_money_once(store):  # noqa: ANN001
    repo, ids = make_world(store)
    bill = make_bill(repo, ids, "HD0005", [_line("100000", "20000")])

    def pay(_: int) -> str:
        try:
            return payments.record_payment(repo, CASHIER, bill, "20000", payments.CASH, now=NOON).number
        except Refused as e:
            return e.key
    outcomes = sorted(ThreadPoolExecutor(4).map(pay, range(4)))
    assert outcomes.count("billing.err.paid") == 3 and payments.paid_for(repo, bill.invoice_id) == Decimal(20000)


def test_the_closing_totals_per_cashier_and_method_and_locks_the_shift(store):  # noqa: ANN001
    repo, ids = make_world(store)
    b1 = make_bill(repo, ids, "HD0006", [_line("100000", "20000")])
    b2 = make_bill(repo, ids, "HD0007", [_line("300000", "60000")])
    b3 = make_bill(repo, ids, "HD0008", [_line("50000", "0", "50000")])
    payments.record_payment(repo, CASHIER, b1, "20000", payments.CASH, now=NOON)
    r2 = payments.record_payment(repo, CASHIER, b2, "60000", payments.VIETQR, now=NOON + timedelta(minutes=5))
    payments.record_payment(repo, OTHER, b3, "50000", payments.CASH, now=NOON + timedelta(minutes=6))
    payments.refund(repo, CASHIER, r2.id, "10000", "Thu thừa", now=NOON + timedelta(minutes=7), bill=b2)
    closing = payments.close_shift(repo, CASHIER, now=NOON + timedelta(hours=1))
    assert closing.totals == {"cash": Decimal(20000), "vietqr": Decimal(50000)} and len(closing.receipts) == 3
    day = payments.totals(payments.day_receipts(repo, NOON.date(), ICT))
    assert day == {("thungan", "cash"): Decimal(20000), ("thungan", "vietqr"): Decimal(50000),
                   ("thungan2", "cash"): Decimal(50000)}
    # Locked: nothing may be dated inside the closed shift; the other cashier's shift is still open.
    with pytest.raises(Refused) as late:
        payments.refund(repo, CASHIER, r2.id, "1000", "Sửa sai", now=NOON + timedelta(minutes=30), bill=b2)
    assert late.value.key == "billing.err.closed"
    payments.refund(repo, OTHER, r2.id, "1000", "Sửa sai sau kết ca", now=NOON + timedelta(minutes=30), bill=b2)
    # The correction after closing is a new entry of the next shift; the closed totals do not move.
    later = payments.refund(repo, CASHIER, r2.id, "1000", "Sửa sai", now=NOON + timedelta(hours=2), bill=b2)
    second = payments.close_shift(repo, CASHIER, now=NOON + timedelta(hours=3))
    assert second.receipts == (later.id,) and second.totals == {"vietqr": Decimal(-1000)}
    assert payments.closings(repo)[0].totals == closing.totals
