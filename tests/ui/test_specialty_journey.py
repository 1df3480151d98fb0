"""The specialty record in the browser, as the doctor writes it on the stay's page: the card offers the
record forms with 01/BV1 chosen on an ordinary stay; the doctor chooses 05/BV1 Sản khoa and saves, the
card then shows the obstetric items; filled (texts, one-choice ticks, the newborn's sex), a change saved
without its reason is refused beside the reason's field with what was typed kept, then saved — the print
list offers 05/BV1 in place of 01/BV1 and its PDF prints each value. Vietnamese and English pages."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pdfplumber
import pytest

from benhan.auth.actor import Actor
from benhan.clinical import registration, specialty_record as sr, visits
from benhan.clinical.common import now
from benhan.store.repository import Repository

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng", roles=("doctor",))
TEXTS = {"sk-tim-thai": "Một trăm bốn mươi tám", "sk-chieu-cao-tc": "Ba mươi hai", "sk-ngoi": "Chỏm",
         "sk-do-lot": "Chặt", "sk-kinh-cuoi": "20/02/2026", "sk-apgar": "8 – 9 – 10"}
CHOSEN = {"sk-oi": "da-vo", "sk-tre-gioi": "female", "sk-cach-de": "giac-hut"}


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_doctor_chooses_the_obstetric_record_and_the_stay_prints_05bv1(journey, world, lang):  # noqa: ANN001
    repo = Repository(world["store"], DOCTOR)
    fac = visits.facility(repo)
    rooms = {name: lid for lid, name in visits.locations(repo)}
    cccd, name, born = {"vi": ("038196004455", "Lò Thị Mai", "02/09/1996"),
                        "en": ("038198004466", "Hà Thị Thu", "15/04/1998")}[lang]
    form = registration.PatientForm.from_mapping({"cccd": cccd, "name": name, "birth_date": born, "gender": "female"})
    pid = registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", rooms["Phòng lưu bệnh"], "Đau bụng chuyển dạ", fac,
                            when=now() - timedelta(hours=3))

    j = journey
    j.login("bacsi", lang)
    j.go(f"/ui/encounters/{eid}")
    # An ordinary stay: 01/BV1 chosen, no specialty item, the print list offers 01/BV1.
    assert j.page.input_value("#f-sp_form") == "noi-khoa"
    assert j.page.locator(f"#f-{sr.BY_CODE['sk-tim-thai'].field}").count() == 0
    assert j.page.locator("#print a[href$='form=inpatient']").count() == 2
    j.page.select_option("#f-sp_form", "san-khoa")
    j.page.click("#specialty button")
    j.page.wait_for_url(f"**/ui/encounters/{eid}?saved=specialty#specialty")
    assert j.page.input_value("#f-sp_form") == "san-khoa"
    for code, text in TEXTS.items():
        j.page.fill(f"#f-{sr.BY_CODE[code].field}", text)
    for code, option in CHOSEN.items():
        j.page.select_option(f"#f-{sr.BY_CODE[code].field}", option)
    j.page.click("#specialty button")
    j.shot(f"specialty-refused-{lang}")
    assert j.page.inner_text("label[for='f-sp_reason'] .field-error")
    # Nothing typed is lost.
    assert j.page.input_value(f"#f-{sr.BY_CODE['sk-tim-thai'].field}") == TEXTS["sk-tim-thai"]
    assert j.page.input_value(f"#f-{sr.BY_CODE['sk-tre-gioi'].field}") == "female"
    j.page.fill("#f-sp_reason", "Khám lúc vào khoa sản")
    j.page.click("#specialty button")
    j.page.wait_for_url(f"**/ui/encounters/{eid}?saved=specialty#specialty")
    j.shot(f"specialty-saved-{lang}")
    assert j.page.input_value(f"#f-{sr.BY_CODE['sk-apgar'].field}") == TEXTS["sk-apgar"]
    assert j.page.locator("#print a[href$='form=inpatient-obstetric']").count() == 2
    assert j.page.locator("#print a[href$='form=inpatient']").count() == 0
    printed = text_of(j.fetch(f"/ui/encounters/{eid}/print.pdf?form=inpatient-obstetric"))
    assert "BỆNH ÁN SẢN KHOA" in printed and "MS: 05/BV1" in printed
    flat = " ".join(printed.split())
    for text in TEXTS.values():
        assert text in flat, text
