"""Golden tests of the forms drawn by the layout engine: each form rendered from a visit whose every
field has a distinct value (tests/forms/seed.py); each value is looked for, by position
(pdfplumber), inside its own field's box — a value printed in another box, or a box left with its
dotted line, fails. Vietnamese diacritics are compared exactly. On SQLite and PostgreSQL. The PDF
and a PNG per page are kept in .artifacts/forms."""
from __future__ import annotations

import re

import pytest

from tests.forms import seed
from tests.forms.conftest import keep, pages, render, text_in, words_in

V = seed.V
A4, A5 = (595.28, 841.89), (419.53, 595.28)


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def check_values(printed, expected: dict[str, str], digits: dict[str, str], ticks: dict[str, str]) -> None:  # noqa: ANN001
    pdf, regions = printed.pdf, printed.rendered.regions
    wrong = {}
    for key, value in expected.items():
        found = squash(text_in(pdf, regions[key]))
        if squash(value) not in found:
            wrong[key] = (value, found)
    for key, value in digits.items():
        found = "".join(text_in(pdf, regions[key]).split())
        if found != value:
            wrong[key] = (value, found)
    for key, code in ticks.items():
        ticked = [r for r in regions if r.startswith(f"{key}=") and "X" in text_in(pdf, regions[r]).split()]
        if ticked != [f"{key}={code}"]:
            wrong[key] = (code, ticked)
    assert wrong == {}


def check_every_page(pdf: bytes, size: tuple[float, float], code: str) -> None:
    texts = pages(pdf)
    for i, (w, h, text) in enumerate(texts, 1):
        assert (round(w, 1), round(h, 1)) == (round(size[0], 1), round(size[1], 1))
        assert f"Người bệnh: {V['name']} — {V['ma-lk']}" in text            # whose, on every page
        assert f"Trang {i}/{len(texts)}" in text
        assert "NĐ 137/2024/NĐ-CP Điều 5" in text and "Mã tra cứu" in text   # the paper-copy mark
    first = texts[0][2]
    assert V["authority"].upper() in first and V["facility"].upper() in first and V["facility-code"] in first
    assert code in first


def no_page_of_signatures_only(printed) -> None:  # noqa: ANN001
    closing = {"date-line"} | {k for k in printed.rendered.values if "." not in k}
    by_page: dict[int, set[str]] = {}
    for key, r in printed.rendered.regions.items():
        by_page.setdefault(r.page, set()).add(key.split("=")[0].split(".")[0])
    signature_keys = {k.split(".")[0] for k in printed.rendered.values if k.endswith(".title")}
    for page, keys in by_page.items():
        assert not keys <= signature_keys | {"date-line", "summary-date-line"}, (page, keys)
    assert closing


def test_15bv1_outpatient_record_every_value_in_its_box(world):  # noqa: ANN001
    p = render(world, "outpatient")
    keep("15-BV1-outpatient", p.pdf)
    check_every_page(p.pdf, A4, "MS: 15/BV1")
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in pages(p.pdf)[0][2]
    check_values(p, {
        "name": V["name"].upper(), "age": "39", "occupation": V["occupation"], "ethnicity": V["ethnicity"],
        "nationality": V["nationality"], "address": V["address"], "workplace": V["workplace"],
        "bhyt-valid-to": "30/06/2027", "next-of-kin": V["next-of-kin"], "next-of-kin-phone": V["next-of-kin-phone"],
        "arrived": "07:35 14/12/2026", "referring-facility": V["referring-facility"], "reason": V["reason"],
        "history": V["history"], "personal-history": V["personal-history"], "family-history": V["family-history"],
        "general": V["general"], "pulse": "84", "temperature": "37,2", "blood-pressure": "128/82",
        "respiratory-rate": "19", "weight": "52", "height": "158", "organs": V["organ"],
        "initial-diagnosis": V["dx-ad"][1], "initial-other": V["dx-ad2"][1], "treated": V["drug"],
        "discharge-diagnosis": V["dx-dd"][1], "from": "14/12/2026", "to": "18/12/2026",
        "follow-up": "05/01/2027", "record-number": V["ma-lk"], "date-line": "Ngày 14 tháng 12 năm 2026",
        "head.title": V["head-title"], "doctor": V["doctor"], "doctor.title": "Bác sĩ khám bệnh",
        "course": V["course"], "key-results": V["key-results"], "final-main": V["dx-dd"][1],
        "final-other": V["dx-dd2"][1], "method": V["method"], "status": V["status"], "onward": V["onward"],
        "treating": V["doctor"], "summary-date-line": "Ngày 18 tháng 12 năm 2026",
    }, digits={"birth": "23041987", "occupation-code": "07", "ethnicity-code": "02", "bhyt": V["bhyt"],
               "cccd": V["cccd"], "discharge-icd": V["dx-dd"][0]},
        ticks={"gender": "female", "payer": "bhyt", "referred-by": "y-te"})
    assert V["plan"] in text_in(p.pdf, p.rendered.regions["treated"])
    # What the record does not hold prints as the paper's dotted line, in its place.
    assert set(text_in(p.pdf, p.rendered.regions["results"]).replace(" ", "")) == {"."}
    assert p.rendered.regions["course"].page == 2                   # the summary is the second sheet
    no_page_of_signatures_only(p)


def test_prescription_tt26_on_a5_with_its_national_code(world):  # noqa: ANN001
    p = render(world, "prescription")
    keep("TT26-prescription", p.pdf)
    check_every_page(p.pdf, A5, "Thông tư 26/2025/TT-BYT")
    assert "CỘNG HOÀ" not in pages(p.pdf)[0][2]        # PL I has no national heading
    check_values(p, {
        "prescription-code": V["rx-code"], "name": V["name"].upper(), "birth": "23/04/1987", "age": "39",
        "gender": "Nữ", "weight": "52", "address": V["address"],
        "diagnosis": f"{V['dx-dd'][1]} ({V['dx-dd'][0]})", "advice": V["advice"],
        "follow-up": "05/01/2027", "prescribed-on": "15:30 18/12/2026", "phone": V["phone"],
        "date-line": "Ngày 18 tháng 12 năm 2026", "prescriber": V["prescriber"],
        "prescriber.title": "Bác sĩ/Y sĩ khám bệnh"}, digits={"cccd": V["cccd"], "bhyt": V["bhyt"]}, ticks={})
    drugs = text_in(p.pdf, p.rendered.regions["drugs"])
    assert V["drug"] in drugs and "07 viên" in drugs and V["drug-usage"] in squash(drugs)
    # An adult: the child lines stay dotted.
    assert set(text_in(p.pdf, p.rendered.regions["age-months"]).replace(" ", "")) == {"."}
    no_page_of_signatures_only(p)


def test_referral_slip_tt01_pl6_with_the_xml13_fields(world):  # noqa: ANN001
    p = render(world, "referral")
    keep("TT01-PL6-referral", p.pdf)
    check_every_page(p.pdf, A4, "Thông tư 01/2025/TT-BYT")
    check_values(p, {
        "number": V["referral-number"], "record-number": V["ma-lk"], "to": V["to"], "to-code": V["to-code"],
        "from": V["facility"], "name": V["name"].upper(), "gender": "Nữ", "birth": "23/04/1987",
        "ethnicity": V["ethnicity"], "nationality": V["nationality"], "occupation": V["occupation"],
        "address": V["address"], "bhyt": V["bhyt"], "bhyt-valid-to": "30/06/2027", "workplace": V["workplace"],
        "from-date": "14/12/2026", "to-date": "18/12/2026", "signs": V["general"],
        "diagnosis": V["dx-dd"][1], "treatment": V["drug"], "condition": V["condition"],
        "direction": V["direction"], "when": "16:30 18/12/2026", "transport": V["transport"],
        "escort": V["escort"], "escort-title": V["escort-title"], "date-line": "Ngày 18 tháng 12 năm 2026",
        "doctor": V["doctor"], "head.title": V["head-title"]},
        digits={}, ticks={"reason": "1b", "one-year": "co"})
    assert V["organ"] in text_in(p.pdf, p.rendered.regions["signs"])
    no_page_of_signatures_only(p)


def test_follow_up_slip_tt01_pl5_with_the_xml14_fields(world):  # noqa: ANN001
    p = render(world, "followup")
    keep("TT01-PL5-followup", p.pdf)
    check_every_page(p.pdf, A5, "Thông tư 01/2025/TT-BYT")
    check_values(p, {
        "number": V["followup-number"], "record-number": V["ma-lk"], "name": V["name"].upper(),
        "birth": "23/04/1987", "gender": "Nữ", "address": V["address"], "bhyt": V["bhyt"],
        "bhyt-valid-to": "30/06/2027", "arrived": "14/12/2026", "left": "18/12/2026",
        "department": V["department"], "diagnosis": V["dx-dd"][1], "follow-up-date": "05/01/2027",
        "follow-up-note": V["followup-note"], "date-line": "Ngày 18 tháng 12 năm 2026", "doctor": V["doctor"]},
        digits={}, ticks={})
    no_page_of_signatures_only(p)


def test_sick_leave_paper_tt25_mau07(world):  # noqa: ANN001
    p = render(world, "sickleave")
    keep("TT25-M07-sick-leave", p.pdf)
    check_every_page(p.pdf, A4, "Thông tư 25/2025/TT-BYT")
    check_values(p, {
        "number": V["leave-number"], "record-number": V["ma-lk"], "name": V["name"].upper(), "birth": "23/04/1987",
        "gender": "Nữ", "bhxh": V["bhxh"], "workplace": V["workplace"], "diagnosis": V["dx-dd"][1],
        "treatment": V["leave-treatment"], "days": "05", "from": "18/12/2026", "to": "22/12/2026",
        "father": V["father"], "mother": V["mother"], "note": V["leave-note"],
        "date-line": "Ngày 18 tháng 12 năm 2026", "doctor": V["doctor"], "head.title": V["head-title"],
        "doctor.title": "Người hành nghề khám bệnh, chữa bệnh"},
        digits={"bhyt": V["bhyt"], "cccd": V["cccd"]}, ticks={})
    no_page_of_signatures_only(p)


@pytest.mark.parametrize("key", ["outpatient", "prescription", "referral", "followup", "sickleave"])
def test_the_signing_mark_is_printed_in_the_authors_block(world, key):  # noqa: ANN001
    mark = ["Đã ký số bởi Đinh Công Tráng", "16:05:00 18/12/2026"]
    p = render(world, key, signed={"author": mark})
    author = next(k[:-len(".title")] for k in p.rendered.values if k.endswith(".title")
                  and k[:-len(".title")] in ("doctor", "prescriber"))
    assert "Đã ký số bởi Đinh Công Tráng" in squash(text_in(p.pdf, p.rendered.regions[f"{author}.mark"]))


def test_words_by_position_are_the_values_not_the_neighbours(world):  # noqa: ANN001
    # The check itself can fail: the name is not in the address box, nor the address in the name box.
    p = render(world, "outpatient")
    assert V["address"] not in squash(text_in(p.pdf, p.rendered.regions["name"]))
    assert V["name"].upper() not in squash(text_in(p.pdf, p.rendered.regions["address"]))
    assert words_in(p.pdf, p.rendered.regions["name"])
