"""The pharmacist's stock journey in a real browser: a doctor prescribes, the pharmacist receives
three lots (one already expired), hands the prescription over — the stock falls by lot, earliest
unexpired expiry first, the expired lot untouched — is refused (translated, naming the drug) when a
second prescription asks for more than is usable, and corrects a lot by a count with its reason,
which the audit trail keeps."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from benhan import errors
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical.common import now
from benhan.pharmacy import stock
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from tests.ui.conftest import PASSWORD, Journey
from tests.ui.test_journeys import api, scan_and_open_visit

QR_1 = "001090004321||ĐỖ VĂN KHOA|15031990|Nam|Số 8, Phường Hoàn Kiếm, Thành phố Hà Nội|01022024"
QR_2 = "001192004322||MAI THỊ LỤA|20071992|Nữ|Số 9, Phường Hoàn Kiếm, Thành phố Hà Nội|01022024"


def _prescribe(j, qr: str, medication_id: str, per_day: str, days: str) -> str:  # noqa: ANN001
    encounter = scan_and_open_visit(j, qr, "kham-benh", "Phòng khám đa khoa", "Đau khớp")
    j.page.select_option("#f-rx_drug", medication_id)
    j.page.fill("#f-rx_per_day", per_day)
    j.page.fill("#f-rx_days", days)
    j.page.click("#rx-form button")
    j.page.wait_for_url(re.compile(r".*saved=prescriptions.*"))
    return encounter


def _lots(page) -> dict[str, str]:  # noqa: ANN001
    """Lot number → the balance shown, for the drug's lots in the main store."""
    rows = page.locator("#on-hand tr.lot[data-store=main]")
    return {rows.nth(i).get_attribute("data-lot"): rows.nth(i).locator(".balance").inner_text().split()[0]
            for i in range(rows.count()) if rows.nth(i).get_attribute("data-lot").startswith("J-")}


def test_prescription_dispensed_against_stock_by_lot_expiry_respected_and_a_count_audited(journey, world, browser):  # noqa: ANN001
    try:
        users.create_user(world["store"], "duocsi2", "Vũ Thị Dược", ["pharmacist"], password=PASSWORD)
    except errors.UserExists:
        pass
    # A drug no other journey dispenses, so its lots here are this test's alone.
    gofen = next(i for i in stock.items(Repository(world["store"], Actor.system())) if i.name.startswith("Gofen"))
    j = journey
    j.login("bacsi")
    first = _prescribe(j, QR_1, gofen.medication_id, "1", "10")
    _prescribe(j, QR_2, gofen.medication_id, "4", "30")
    today = now(world["store"].config.timezone).date()

    page = browser.new_context(locale="vi-VN").new_page()
    try:
        ph = Journey(page, world["url"], "pharmacy-stock")
        ph.login("duocsi2", lands="/ui/pharmacy")
        ph.go("/ui/pharmacy/stock")
        for lot, expiry, qty in (("J-EXPIRED", today - timedelta(days=1), "50"),
                                 ("J-LATE", today + timedelta(days=400), "100"),
                                 ("J-SOON", today + timedelta(days=30), "4")):
            form = ph.page.locator("#receipt-form")
            form.locator("#f-item").select_option(gofen.code)
            form.locator("#f-supplier").fill("Công ty CP Dược Hậu Giang")
            form.locator("#f-invoice").fill("0001234")
            form.locator("#f-lot").fill(lot)
            form.locator("#f-expiry").fill(expiry.isoformat())
            form.locator("#f-quantity").fill(qty)
            form.locator("#f-price").fill("3200")
            form.locator("button").click()
            ph.page.wait_for_url(re.compile(r".*/ui/pharmacy/stock\?done=receipt$"))
        ph.shot("received")
        assert _lots(ph.page) == {"J-EXPIRED": "50", "J-LATE": "100", "J-SOON": "4"}
        assert "đã hết hạn" in ph.page.locator("tr.lot[data-lot=J-EXPIRED]").inner_text()

        ph.go("/ui/pharmacy")
        ph.page.locator(".order", has_text="Đỗ Văn Khoa").locator("button").click()
        ph.page.wait_for_url(re.compile(r".*/ui/pharmacy\?done=.*"))
        ph.shot("dispensed")
        ph.page.locator(".order", has_text="Mai Thị Lụa").locator("button").click()    # 120 > 94 usable
        refusal = ph.page.locator("p.error[role=alert]").inner_text()
        ph.shot("refused-short")
        assert "Không đủ thuốc Gofen" in refusal and "cần 120" in refusal and "còn dùng được 94" in refusal
        assert ph.page.locator(".order", has_text="Mai Thị Lụa").count() == 1           # still waiting

        ph.go("/ui/pharmacy/stock")
        assert _lots(ph.page) == {"J-EXPIRED": "50", "J-LATE": "94"}      # SOON emptied first, expired kept
        row = ph.page.locator("tr.lot[data-lot=J-LATE][data-store=main]")
        row.locator("input[name=counted]").fill("90")
        row.locator("input[name=reason]").fill("Vỡ vỉ 4 viên khi kiểm kê")
        row.locator("button").click()
        ph.page.wait_for_url(re.compile(r".*done=count$"))
        ph.shot("counted")
        assert _lots(ph.page)["J-LATE"] == "90"
        # The import–export–stock report for this month so far: 154 in, 10 out, −4 by the count.
        ph.go(f"/ui/pharmacy/report?from={today.replace(day=1).isoformat()}&to={today.isoformat()}&store=main")
        ph.shot("report")
        cells = ph.page.locator("#iex tr", has_text="Gofen").inner_text().split("\t")
        assert [c.strip() for c in cells[3:]] == ["0", "154", "10", "-4", "140"]
        csv = ph.fetch(f"/ui/pharmacy/report?from={today.isoformat()}&to={today.isoformat()}&format=csv")
        assert f"main,{gofen.code},Gofen" in csv.decode("utf-8-sig") and ",0,154,10,-4,140" in csv.decode("utf-8-sig")
    finally:
        page.context.close()

    patient = api(world, f"Encounter/{first}")["subject"]["reference"]
    given = api(world, "MedicationDispense", subject=patient)["entry"][0]["resource"]
    assert given["quantity"]["value"] == 10
    lots = [{e["url"]: e.get("valueString") or e.get("valueQuantity", {}).get("value") for e in x["extension"]}
            for x in given["extension"] if x["url"].endswith("dispensed-lot")]
    assert [(x["lotNumber"], x["quantity"]) for x in lots] == [("J-SOON", 4), ("J-LATE", 6)]
    with world["store"].db.read() as conn:
        counted = conn.execute(select(audit_event.c.agent, audit_event.c.detail).where(
            audit_event.c.subtype == "stock-count")).all()
    assert any(agent == "duocsi2" and "Vỡ vỉ 4 viên" in detail and '"recorded": 94' in detail
               for agent, detail in counted)
