"""The traditional-medicine (YHCT) part in the browser, as the doctor records it on the visit page: folded
on an ordinary stay, opened and filled (tứ chẩn, bệnh danh with its ICD-10 code, bát cương and nguyên nhân
ticks, the formula's herbs), a bad herb line and an unknown code refused beside their fields with what was
typed kept, then saved — the stay is YHCT from then on: the card opens by itself, the print list offers
18/BV1 in place of 01/BV1, and the PDF prints each value."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pdfplumber
import pytest

from benhan.auth.actor import Actor
from benhan.clinical import registration, traditional_medicine as yhct, visits
from benhan.clinical.common import now
from benhan.store.repository import Repository

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng", roles=("doctor",))
TEXTS = {"yhct-vong-chan": "Rêu lưỡi vàng dày", "yhct-mach-phai": "Hoạt sác", "yhct-benh-danh": "Tý chứng",
         "yhct-phap-dieu-tri": "Thanh nhiệt trừ thấp", "yhct-phuong-thuoc": "Tứ diệu thang",
         "yhct-phuong-huyet": "Túc tam lý, Dương lăng tuyền", "yhct-du-hau": "Khá"}


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_doctor_writes_the_yhct_part_and_the_stay_prints_18bv1(journey, world, lang):  # noqa: ANN001
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(repo)
    rooms = {name: lid for lid, name in visits.locations(repo)}
    cccd, name, born = {"vi": ("038072004455", "Vi Văn Khải", "02/09/1972"),
                        "en": ("038074004466", "Hà Văn Tuấn", "15/04/1974")}[lang]
    form = registration.PatientForm.from_mapping({"cccd": cccd, "name": name, "birth_date": born, "gender": "male"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", rooms["Phòng lưu bệnh"], "Đau khớp gối", fac,
                            when=now() - timedelta(days=1))

    j = journey
    j.login("bacsi", lang)
    j.go(f"/ui/encounters/{eid}")
    # An ordinary stay: the YHCT card is folded, the print list offers 01/BV1.
    assert j.page.locator("#traditional details").get_attribute("open") is None
    assert j.page.locator("#print a[href$='form=inpatient']").count() == 2
    j.page.click("#traditional summary")
    for code, text in TEXTS.items():
        j.page.fill(f"#f-{yhct.field_name(code)}", text)
    j.page.fill(f"#f-{yhct.ICD_FIELD}", "Z99.999")
    j.page.check(f"input[name={yhct.tick_field('bat-cuong', 'nhiet')}]")
    j.page.check(f"input[name={yhct.tick_field('bat-cuong', 'thuc')}]")
    j.page.check(f"input[name={yhct.tick_field('nguyen-nhan', 'ngoai-nhan')}]")
    j.page.fill(f"#f-{yhct.HERBS_FIELD}", "Thương truật 12 g\nHoàng bá\nNgưu tất 10 g")
    j.page.click("#traditional button")
    j.shot(f"yhct-refused-{lang}")
    herb_error = j.page.inner_text(f"label[for='f-{yhct.HERBS_FIELD}'] .field-error")
    assert "Hoàng bá" in herb_error and ({"vi": "liều lượng", "en": "amount"}[lang] in herb_error)
    assert j.page.inner_text(f"label[for='f-{yhct.ICD_FIELD}'] .field-error")
    # Nothing typed is lost.
    assert j.page.input_value(f"#f-{yhct.field_name('yhct-benh-danh')}") == TEXTS["yhct-benh-danh"]
    assert j.page.is_checked(f"input[name={yhct.tick_field('bat-cuong', 'thuc')}]")
    j.page.fill(f"#f-{yhct.ICD_FIELD}", "M13.9")
    j.page.fill(f"#f-{yhct.HERBS_FIELD}", "Thương truật 12 g\nHoàng bá 10 g\nNgưu tất 10 g")
    j.page.click("#traditional button")
    j.page.wait_for_url(f"**/ui/encounters/{eid}?saved=traditional#traditional")
    j.shot(f"yhct-saved-{lang}")
    # A YHCT stay now: the card opens by itself and the print list offers 18/BV1 in place of 01/BV1.
    assert j.page.locator("#traditional details").get_attribute("open") is not None
    assert j.page.input_value(f"#f-{yhct.field_name('yhct-du-hau')}") == TEXTS["yhct-du-hau"]
    assert j.page.locator("#print a[href$='form=inpatient-traditional']").count() == 2
    assert j.page.locator("#print a[href$='form=inpatient']").count() == 0
    printed = text_of(j.fetch(f"/ui/encounters/{eid}/print.pdf?form=inpatient-traditional"))
    assert "BỆNH ÁN NỘI TRÚ Y HỌC CỔ TRUYỀN" in printed and "MS: 18/BV1" in printed
    flat = " ".join(printed.split())
    for text in (*TEXTS.values(), "Thương truật", "Hoàng bá", "Ngưu tất"):
        assert text in flat, text
    # A change after the first save needs its reason.
    j.page.fill(f"#f-{yhct.field_name('yhct-du-hau')}", "Tốt")
    j.page.click("#traditional button")
    assert j.page.inner_text("label[for='f-y_reason'] .field-error")
    j.page.fill("#f-y_reason", "Đánh giá lại sau một tuần")
    j.page.click("#traditional button")
    j.page.wait_for_url(f"**/ui/encounters/{eid}?saved=traditional#traditional")
    assert j.page.input_value(f"#f-{yhct.field_name('yhct-du-hau')}") == "Tốt"
