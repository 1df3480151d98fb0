"""Every form's bad input, in a real browser, in Vietnamese and in English: the message sits beside
the field it is about, in the chosen language, and nothing typed is lost. And a session lost in
the middle of a note loses nothing: the draft comes back after logging in again."""
from __future__ import annotations

import re

import pytest

from tests.ui.conftest import PASSWORD

EXPECT = {  # message key → (vi, en) fragments the field's message must hold
    "cccd_birth": ("năm sinh", "year of birth"), "phone": ("điện thoại", "phone number"),
    "bhyt": ("Số thẻ BHYT", "BHYT number"), "choose": ("Hãy chọn", "Choose one"),
    "number": ("Không phải là số", "Not a number"), "range": ("Ngoài khoảng", "Outside the possible range"),
    "required": ("Bắt buộc", "Required"), "reason": ("lý do sửa", "reason for the change"),
    "dx": ("Chọn một mã ICD-10", "Choose an ICD-10 code"), "past": ("sau hôm nay", "after today"),
}


def message(j, name: str) -> str:  # noqa: ANN001
    return j.page.inner_text(f"label[for='f-{name}'] .field-error")


def check(j, name: str, key: str, lang: str) -> None:  # noqa: ANN001
    assert EXPECT[key][0 if lang == "vi" else 1].lower() in message(j, name).lower(), (name, message(j, name))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_form_refuses_bad_input_beside_the_field_and_keeps_what_was_typed(journey, lang):  # noqa: ANN001
    j = journey
    j.login("bacsi", lang)
    # Registration: a CCCD that says 1990 for someone born in 1985, a bad phone and BHYT number, no sex.
    j.go("/ui/register")
    j.page.fill("#f-cccd", "001090123499")
    j.page.fill("#f-name", "Phạm Thị Thu")
    j.page.fill("#f-birth_date", "02/03/1985")
    j.page.fill("#f-phone", "012345")
    j.page.fill("#f-bhyt", "ZZ9")
    j.page.fill("#f-address_line", "Thôn 2")
    j.page.click("button[name=action][value=save]")
    j.shot(f"register-refused-{lang}")
    check(j, "cccd", "cccd_birth", lang)
    check(j, "phone", "phone", lang)
    check(j, "bhyt", "bhyt", lang)
    check(j, "gender", "choose", lang)
    assert j.page.input_value("#f-name") == "Phạm Thị Thu" and j.page.input_value("#f-address_line") == "Thôn 2"
    assert j.page.input_value("#f-birth_date") == "02/03/1985" and j.page.input_value("#f-phone") == "012345"
    # Fixed: saved, with an emergency visit.
    j.page.fill("#f-cccd", {"vi": "001185123499", "en": "001185123477"}[lang])
    j.page.fill("#f-name", {"vi": "Phạm Thị Thu", "en": "Phạm Thị Hằng"}[lang])
    j.page.fill("#f-phone", "0987654321")
    j.page.fill("#f-bhyt", "")
    j.page.select_option("#f-gender", "female")
    j.page.select_option("#f-visit_type", "cap-cuu")
    j.page.click("button[name=action][value=save]")
    check(j, "location", "choose", lang)              # the visit needs a room
    assert j.page.input_value("#f-cccd") == {"vi": "001185123499", "en": "001185123477"}[lang]
    j.page.select_option("#f-location", label="Phòng khám đa khoa")
    j.page.click("button[name=action][value=save]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    enc = j.page.url

    j.page.fill("#vitals #f-pulse", "chín mươi")
    j.page.fill("#vitals #f-temperature", "83")
    j.page.click("#vitals button")
    check(j, "pulse", "number", lang)
    check(j, "temperature", "range", lang)
    assert j.page.input_value("#vitals #f-pulse") == "chín mươi"

    j.page.fill("#record #f-s_ly_do_vao_vien", "Đau bụng")
    j.page.click("#record button")
    j.page.fill("#record #f-s_ly_do_vao_vien", "Đau bụng vùng thượng vị")
    j.page.click("#record button")
    check(j, "reason", "reason", lang)
    assert j.page.input_value("#record #f-s_ly_do_vao_vien") == "Đau bụng vùng thượng vị"

    j.page.fill("#f-dx_query", "dau bung")
    j.page.click("button[name=action][value=add]")
    check(j, "dx_code", "dx", lang)

    j.page.fill("#f-allergy_reaction", "Nổi mề đay")
    j.page.click("#allergies button")
    check(j, "allergy_substance", "required", lang)
    assert j.page.input_value("#f-allergy_reaction") == "Nổi mề đay"

    j.page.fill("#f-order_note", "Làm gấp")
    j.page.click("#orders form:last-of-type button")
    check(j, "order_lab", "choose", lang)
    assert j.page.input_value("#f-order_note") == "Làm gấp"

    j.page.fill("#f-rx_days", "5")
    j.page.fill("#f-rx_instructions", "Sau ăn no")
    j.page.click("#rx-form button")
    check(j, "rx_drug", "choose", lang)
    check(j, "rx_per_day", "required", lang)
    assert j.page.input_value("#f-rx_instructions") == "Sau ăn no"

    j.page.fill("#f-note_orders", "Theo dõi mạch, huyết áp")
    j.page.click("#notes button")
    check(j, "note_course", "required", lang)
    assert j.page.input_value("#f-note_orders") == "Theo dõi mạch, huyết áp"

    j.page.fill("#f-followup_date", "01/01/2001")
    j.page.fill("#f-followup_note", "Khám lại")
    j.page.click("#discharge button")
    check(j, "followup_date", "past", lang)
    assert j.page.input_value("#f-followup_note") == "Khám lại"
    j.shot(f"visit-forms-refused-{lang}")

    j.page.goto(enc)
    j.page.fill("#f-note_course", "Đau giảm")
    j.page.click("#notes button")
    j.page.locator("#notes tbody tr").first.locator("a").first.click()
    j.page.fill("#f-summary", "Đau giảm nhiều")
    j.page.fill("#f-reason", "")
    j.page.click("button[name=action][value=correct]")
    check(j, "reason", "reason", lang)
    assert j.page.input_value("#f-summary") == "Đau giảm nhiều"
    j.shot(f"correction-refused-{lang}")


def test_a_lost_session_keeps_the_half_typed_note(journey, world):  # noqa: ANN001
    j = journey
    j.login("bacsi")
    j.go("/ui/register")
    j.page.fill("#f-cccd", "001090123488")
    j.page.fill("#f-name", "Vũ Văn Hải")
    j.page.fill("#f-birth_date", "05/05/1990")
    j.page.select_option("#f-gender", "male")
    j.page.select_option("#f-visit_type", "noi-tru")
    j.page.select_option("#f-location", label="Phòng lưu bệnh")
    j.page.click("button[name=action][value=save]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    enc = j.page.url
    j.page.fill("#f-note_course", "Bệnh nhân tỉnh, còn sốt nhẹ 37,8 độ, ho ít")
    j.page.fill("#f-note_orders", "Tiếp tục kháng sinh")
    j.page.context.clear_cookies()           # the session is gone (expired, logged out elsewhere …)
    j.page.click("#notes button")
    j.page.wait_for_url(re.compile(r".*/login.*"))
    j.shot("session-lost")
    j.page.fill("input[name=username]", "bacsi")
    j.page.fill("input[name=password]", PASSWORD)
    j.page.click("main button[type=submit]")
    j.page.wait_for_url(re.compile(re.escape(enc) + r".*"))
    j.shot("draft-restored")
    assert j.page.input_value("#f-note_course") == "Bệnh nhân tỉnh, còn sốt nhẹ 37,8 độ, ho ít"
    assert j.page.input_value("#f-note_orders") == "Tiếp tục kháng sinh"
    assert j.page.locator("#notes .draft-restored").count() == 1
    j.page.click("#notes button")
    j.page.wait_for_url(re.compile(r".*saved=notes.*"))
    assert "còn sốt nhẹ" in j.page.inner_text("#notes table")
    j.page.reload()
    assert j.page.input_value("#f-note_course") == ""           # saved: the draft is forgotten
