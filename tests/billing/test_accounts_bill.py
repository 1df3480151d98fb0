"""The stored bill of an encounter (ChargeItem per line, the Account, the Invoice for the patient's
share): one transaction, idempotent, new lines only when the record grows, what the record no longer
holds marked, the money read back exactly as billed, and the open bills the cashier lists. Both
databases."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from benhan.billing import accounts
from benhan.billing.accounts import bill_for_encounter, open_bills
from benhan.clinical.catalogue.layouts import SERVICE
from tests.billing.charges_world import AUGMENTIN, CT, XRAY, at, make_world

D = Decimal
DAY = date(2026, 11, 20)


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    return make_world(store)


def _versions(repo, res_type: str, ids) -> dict:  # noqa: ANN001
    return {i: repo.read(res_type, i).version for i in ids}


def test_the_bill_is_stored_as_chargeitems_an_account_and_an_invoice(world):  # noqa: ANN001
    pid = world.patient("001090123421", "Nguyễn Văn An", bhyt="DN4790123456721")
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 9))
    world.prescribe(eid, AUGMENTIN, 10, at(DAY, 10))
    bill = bill_for_encounter(world.repo, eid, now=at(DAY, 11))
    # 50,600 + 536,000 + 145,000 = 731,600 at 80%: the patient 146,320, the fund 585,280.
    assert (bill.total, bill.patient_due, bill.bhyt_due) == (D("731600.00"), D("146320.00"), D("585280.00"))
    encounter = world.repo.read("Encounter", eid).json()
    ma_lk = next(i["value"] for i in encounter["identifier"] if i["system"].endswith("/ma-lk"))
    assert bill.number == f"HD{ma_lk}" and len(bill.number) <= 25
    invoice = world.repo.read("Invoice", bill.invoice_id).json()
    assert invoice["identifier"][0]["value"] == bill.number
    assert invoice["status"] == "issued"
    assert str(invoice["totalNet"]["value"]) == "146320.00" and str(invoice["totalGross"]["value"]) == "731600.00"
    assert [li["chargeItemReference"]["reference"] for li in invoice["lineItem"]] == [
        f"ChargeItem/{ln.charge_item_id}" for ln in bill.lines]
    account = world.repo.read("Account", accounts.account_id(eid)).json()
    assert account["subject"][0]["reference"] == f"Patient/{pid}"
    assert account["coverage"][0]["coverage"]["reference"].startswith("Coverage/")
    item = world.repo.read("ChargeItem", bill.lines[1].charge_item_id).json()
    assert item["context"]["reference"] == f"Encounter/{eid}"
    assert item["account"] == [{"reference": f"Account/{accounts.account_id(eid)}"}]
    # Read back from the store, the lines are exactly what was billed (money to the last decimal).
    stored = accounts.bill_of(world.repo, invoice)
    assert stored.lines == bill.lines
    assert stored.patient_due == D("146320.00")


def test_billing_again_changes_nothing_and_adds_new_lines_only(world):  # noqa: ANN001
    pid = world.patient("001090123422", "Trần Văn Bình", bhyt="DN4790123456722")
    eid = world.visit(pid, at(DAY))
    world.order(eid, CT, at(DAY, 9))
    first = bill_for_encounter(world.repo, eid, now=at(DAY, 11))
    ids = [ln.charge_item_id for ln in first.lines]
    before = _versions(world.repo, "ChargeItem", ids)
    invoice_v = world.repo.read("Invoice", first.invoice_id).version
    again = bill_for_encounter(world.repo, eid, now=at(DAY, 12))
    assert again == first                          # the same number, issue time, lines
    assert _versions(world.repo, "ChargeItem", ids) == before
    assert world.repo.read("Invoice", first.invoice_id).version == invoice_v
    # A new order: one more ChargeItem, the others untouched (the visit was over the small-visit line).
    world.order(eid, XRAY, at(DAY, 13))
    third = bill_for_encounter(world.repo, eid, now=at(DAY, 14))
    assert len(third.lines) == len(first.lines) + 1
    assert _versions(world.repo, "ChargeItem", ids) == before
    assert third.number == first.number and third.issued == first.issued
    # 50,600 + 536,000 + 65,400 = 652,000; the patient's 20% = 130,400.
    assert third.patient_due == D("130400.00")
    items = world.repo.search_type("ChargeItem", [("context", f"Encounter/{eid}")]).matches
    assert len(items) == 3


def test_an_order_revoked_after_billing_is_marked_not_billed(world):  # noqa: ANN001
    pid = world.patient("001090123423", "Lê Thị Cúc")
    eid = world.visit(pid, at(DAY))
    order = world.order(eid, CT, at(DAY, 9))
    bill = bill_for_encounter(world.repo, eid, now=at(DAY, 10))
    assert bill.patient_due == D("586600.00")          # 50,600 + 536,000, no card
    body = world.repo.read("ServiceRequest", order).json()
    body["status"] = "revoked"
    world.repo.update("ServiceRequest", order, body)
    after = bill_for_encounter(world.repo, eid, now=at(DAY, 11))
    assert after.patient_due == D("50600.00")
    ct_item = next(ln.charge_item_id for ln in bill.lines if ln.code == CT)
    assert world.repo.read("ChargeItem", ct_item).json()["status"] == "entered-in-error"
    invoice = world.repo.read("Invoice", after.invoice_id).json()
    assert accounts.bill_of(world.repo, invoice).patient_due == D("50600.00")


def test_a_price_change_after_billing_does_not_change_the_billed_line(world):  # noqa: ANN001
    pid = world.patient("001090123424", "Phạm Văn Dũng")
    eid = world.visit(pid, at(DAY))
    world.order(eid, XRAY, at(DAY, 9))
    bill = bill_for_encounter(world.repo, eid, now=at(DAY, 10))
    xray = next(ln for ln in bill.lines if ln.code == XRAY)
    version = world.repo.read("ChargeItem", xray.charge_item_id).version
    world.reprice(SERVICE, XRAY, "Chụp X-quang ngực thẳng [số hóa 1 phim]", 70000, date(2026, 12, 1), "2")
    later = bill_for_encounter(world.repo, eid, now=at(date(2026, 12, 3), 10))
    assert next(ln for ln in later.lines if ln.code == XRAY).unit_price == D(65400)
    assert world.repo.read("ChargeItem", xray.charge_item_id).version == version


def test_open_bills_lists_what_is_still_due(world):  # noqa: ANN001
    a = world.patient("001090123425", "Hoàng Văn Em")
    b = world.patient("001090123426", "Vũ Thị Giang", bhyt="CC1790123456726")      # 100%: nothing due
    ea = world.visit(a, at(DAY))
    eb = world.visit(b, at(DAY))
    world.order(eb, CT, at(DAY, 9))
    bill_a = bill_for_encounter(world.repo, ea, now=at(DAY, 9))
    bill_b = bill_for_encounter(world.repo, eb, now=at(DAY, 9))
    assert bill_b.patient_due == D("0.00")
    listed = open_bills(world.repo, on=DAY)
    assert [x.number for x in listed] == [bill_a.number]
    assert listed[0].patient_due == D("50600.00")
    assert open_bills(world.repo, on=date(2026, 11, 19)) == []      # issued later than that day
    # Once the cashier marks it paid (Invoice balanced), it is no longer open.
    invoice = world.repo.read("Invoice", bill_a.invoice_id).json()
    invoice["status"] = "balanced"
    world.repo.update("Invoice", bill_a.invoice_id, invoice)
    assert open_bills(world.repo, on=DAY) == []


def test_payments_reduce_what_is_due_and_a_later_charge_reopens_the_bill(world):  # noqa: ANN001
    from benhan.billing import payments
    pid = world.patient("001090123427", "Đào Văn Hưng")
    eid = world.visit(pid, at(DAY))
    bill = bill_for_encounter(world.repo, eid, now=at(DAY, 9))            # the exam: 50,600, no card
    payments.record_payment(world.system, world.repo.actor, bill, "20000", payments.CASH, now=at(DAY, 9, 5))
    listed = open_bills(world.repo, on=DAY)
    assert [x.number for x in listed] == [bill.number]                    # 30,600 still due
    assert accounts.paid_for(world.repo, bill.invoice_id) == D(20000)
    payments.record_payment(world.system, world.repo.actor, bill, "30600", payments.CASH, now=at(DAY, 9, 10))
    assert open_bills(world.repo, on=DAY) == []
    assert world.repo.read("Invoice", bill.invoice_id).json()["status"] == "balanced"
    # An X-ray ordered after the bill was paid: billing again opens it for the 65,400 more.
    world.order(eid, XRAY, at(DAY, 10))
    again = bill_for_encounter(world.repo, eid, now=at(DAY, 10, 30))
    assert again.patient_due == D("116000.00")                            # 50,600 + 65,400
    assert world.repo.read("Invoice", bill.invoice_id).json()["status"] == "issued"
    assert [x.number for x in open_bills(world.repo, on=DAY)] == [bill.number]
