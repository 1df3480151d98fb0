"""A doctor orders a chest X-ray from the facility's service catalogue and prescribes a brand-name
drug to a patient with a coded penicillin allergy, in a real browser; then checked through the API."""
from __future__ import annotations

import re

from tests.ui.test_journeys import api, scan_and_open_visit

QR_D = "001085012345||PHẠM VĂN BÌNH|15031985|Nam|Số 1, Phường Ba Đình, Thành phố Hà Nội|01012022"


def test_an_x_ray_from_the_catalogue_and_a_penicillin_allergy_warning_for_augmentin(journey, world):  # noqa: ANN001
    j = journey
    j.login("bacsi")
    encounter_id = scan_and_open_visit(j, QR_D, "kham-benh", "Phòng khám đa khoa", "Ho kéo dài")

    # The allergy typed as "penicilin" is coded to the penicillin class.
    j.page.fill("#f-allergy_substance", "penicilin")
    j.page.click("#allergies button")
    j.page.wait_for_url(re.compile(r".*saved=allergies.*"))
    assert "Nhóm penicilin (đã mã hóa)" in j.page.inner_text("#allergies")

    # The order list offers the services priced today only: the analogue X-ray ended in 2025.
    assert j.page.locator("#f-order_service option", has_text="18.0119.0001").count() == 0
    j.page.select_option("#f-order_kind", "imaging")
    j.page.fill("#f-order_query", "chup mri")
    j.page.click("#orders button[name=action][value=find]")
    j.page.wait_for_selector("#orders [role=status]")
    assert "Không có dịch vụ nào có giá hôm nay khớp với “chup mri”" in j.page.inner_text("#orders")
    j.page.fill("#f-order_query", "x quang nguc thang")
    j.page.click("#orders button[name=action][value=order]")        # a name typed, nothing chosen: the matches
    j.page.wait_for_selector("#orders [role=status]")
    j.shot("order-matches")
    assert "1 dịch vụ khớp" in j.page.inner_text("#orders")
    j.page.select_option("#f-order_service", label="Chụp X-quang ngực thẳng [số hóa 1 phim] [18.0119.0028]")
    j.page.click("#orders button[name=action][value=order]")
    j.page.wait_for_url(re.compile(r".*saved=orders.*"))
    j.shot("ordered")
    assert "Chụp X-quang ngực thẳng [số hóa 1 phim] [18.0119.0028]" in j.page.inner_text("#orders")

    # Augmentin's name says nothing of penicillin; its ingredient amoxicillin does.
    j.page.select_option("#f-rx_drug", label="Augmentin 500mg + 125mg (Amoxicilin, Acid clavulanic; viên)")
    j.page.fill("#f-rx_per_day", "2")
    j.page.fill("#f-rx_days", "7")
    j.page.click("#rx-form button")
    j.page.wait_for_selector("#prescriptions .notice")
    j.shot("allergy-warning")
    warning = j.page.inner_text("#prescriptions .notice")
    assert "Nhóm penicilin" in warning and "Augmentin" in warning and "so theo mã" in warning
    j.page.check("input[name=confirm_warnings]")
    j.page.fill("#f-override_reason", "đã hỏi lại: chỉ nổi mẩn nhẹ")    # an override needs a reason
    j.page.click("#rx-form button")
    j.page.wait_for_url(re.compile(r".*saved=prescriptions.*"))

    order = api(world, "ServiceRequest", encounter=f"Encounter/{encounter_id}")["entry"][0]["resource"]
    assert order["code"]["coding"][0]["code"] == "18.0119.0028"
    assert order["instantiatesCanonical"][0].startswith("https://benhan.vn/fhir/ActivityDefinition/service-18.0119.0028")
