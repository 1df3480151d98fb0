"""Commune stations use phones and small tablets: every page of the clinician app fits a 360 px
screen (nothing wider than the screen; a wide table scrolls in its own box), screenshots at 1280 and
360 px kept as artefacts; and Enter on the registration form saves it."""
from __future__ import annotations

import re

from tests.ui.test_journeys import scan

QR_SMALL = "036192000777||ĐẶNG THỊ THU HIỀN|20021992|Nữ|Số 7, ngõ 3, Phường Ba Đình, Thành phố Hà Nội|10102022"
WIDTHS = (1280, 360)


def overflow(page) -> int:  # noqa: ANN001
    """How many CSS pixels the page is wider than the screen (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_enter_on_the_registration_form_saves_the_patient(journey):  # noqa: ANN001
    j = journey
    j.login("tiepdon")
    scan(j, QR_SMALL)
    j.page.select_option("#f-visit_type", "kham-benh")
    j.page.select_option("#f-location", label="Phòng khám đa khoa")
    j.page.fill("#f-reason", "Đau đầu")
    commune = j.page.input_value("#f-commune")
    assert commune, "the commune was taken from the card"
    j.page.press("#f-reason", "Enter")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    j.shot("enter-saved")
    assert "Đặng Thị Thu Hiền" in j.page.inner_text(".pbanner")


def test_every_page_fits_a_360_px_screen(journey, world):  # noqa: ANN001
    j = journey
    j.login("bacsi")
    scan(j, "052088004321||PHAN VĂN LỘC|05051988|Nam|Số 9, Phường Ba Đình, Thành phố Hà Nội|01012023")
    j.page.select_option("#f-visit_type", "kham-benh")
    j.page.select_option("#f-location", label="Phòng khám đa khoa")
    j.page.fill("#f-reason", "Ho kéo dài, sốt nhẹ về chiều, sụt cân không rõ nguyên nhân")
    j.page.click("button[name=action][value=save]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    encounter = j.page.url.rsplit("/", 1)[1]
    patient = j.page.locator(".pbanner a[href^='/ui/patients/']").first.get_attribute("href")
    for name, value in (("pulse", "88"), ("temperature", "37,8"), ("systolic", "130"), ("diastolic", "85"),
                        ("respiratory_rate", "20"), ("spo2", "97"), ("weight", "52"), ("height", "160")):
        j.page.fill(f"#vitals #f-{name}", value)
    j.page.click("#vitals button")
    j.page.wait_for_url(re.compile(r".*saved=vitals.*"))

    pages = {"desk": "/", "register": "/ui/register", "patient": patient, "visit": f"/ui/encounters/{encounter}",
             **{f"print-{form}": f"/ui/encounters/{encounter}/print?form={form}"
                for form in ("outpatient", "prescription", "discharge", "inpatient")},
             "password": "/account/password"}
    too_wide = {}
    for width in WIDTHS:
        j.page.set_viewport_size({"width": width, "height": 800})
        for label, path in pages.items():
            j.go(path)
            j.page.wait_for_load_state()
            j.shot(f"{label}-{width}px")
            if overflow(j.page) > 0:
                too_wide[f"{label} at {width} px"] = overflow(j.page)
    assert too_wide == {}, f"pages wider than the screen (CSS px too wide): {too_wide}"


def test_each_role_s_home_page_fits_a_360_px_screen(browser, world):  # noqa: ANN001
    from tests.ui.conftest import Journey
    from tests.ui.test_lab_and_pharmacy import _staff
    _staff(world["store"], "xetnghiem", "Hoàng Thị Xuân", "lab_technician")
    _staff(world["store"], "duocsi", "Trần Văn Dược", "pharmacist")
    too_wide = {}
    for username, home in (("tiepdon", "/"), ("bacsi", "/"), ("dieuduong", "/"), ("xetnghiem", "/ui/lab"),
                           ("duocsi", "/ui/pharmacy")):
        context = browser.new_context(locale="vi-VN")
        try:
            j = Journey(context.new_page(), world["url"], f"home-{username}")
            j.login(username, lands=home)
            for width in WIDTHS:
                j.page.set_viewport_size({"width": width, "height": 800})
                j.go(home)
                j.page.wait_for_load_state()
                j.shot(f"home-{width}px")
                if overflow(j.page) > 0:
                    too_wide[f"{username} at {width} px"] = overflow(j.page)
        finally:
            context.close()
    assert too_wide == {}, f"home pages wider than the screen: {too_wide}"

