"""The HTML print view of 15/BV1, 01/BV1, the prescription and the discharge paper is the layout
engine's (benhan.documents.layout.html): each seeded value is found, by parsing the HTML, in the
item labelled for it (the same item and the same value as the PDF); empty items are the paper's
dotted lines; digits in their boxes, the ticked option ticked; the page CSS is the form's paper (A4 or
A5) with the patient on every page; a hostile patient name is text, never markup. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re

import lxml.html
import pytest

from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import FORMS, printing
from benhan.documents.layout import model as m
from benhan.store.repository import Repository
from tests.clinical.test_inpatient_record import DOCTOR, ward  # noqa: F401 - the ward fixture
from tests.forms import seed, stay_seed

V, S = seed.V, stay_seed.S


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def both(repo: Repository, ctx: printouts.Context, key: str, actor: Actor, when) -> tuple:  # noqa: ANN001
    pdf = printing.print_form(repo, ctx, key, actor, when, "http://benhan.test")
    page = printing.print_html(repo, ctx, key, actor, when, "http://benhan.test")
    return pdf, page, lxml.html.fragment_fromstring(page.rendered.html)


def item(doc, key: str):  # noqa: ANN001, ANN201
    found = doc.xpath(f'//*[@data-key="{key}"]')
    assert len(found) == 1, (key, len(found))
    return found[0]


def value_of(doc, key: str) -> str:  # noqa: ANN001
    el = item(doc, key)
    if "digits" in el.get("class", ""):
        return "".join("".join(d.itertext()).strip() for d in el.xpath('.//*[@class="digit"]'))
    if "ticks" in el.get("class", ""):
        return ";".join(o.get("data-code") for o in el.xpath('.//*[contains(@class, "option")]')
                        if o.xpath('.//*[contains(@class, "ticked")]'))
    values = el.xpath('.//*[contains(concat(" ", @class, " "), " value ")]')
    if values:
        return squash(" ".join("".join(v.itertext()) for v in values))
    return squash("".join(el.itertext()))


def label_of(doc, key: str) -> str:  # noqa: ANN001
    return squash("".join(item(doc, key).xpath('./*[@class="label"]')[0].itertext()))


def same_as_pdf(form_key: str, pdf, doc, page) -> None:  # noqa: ANN001
    """Every item of the form is in the HTML, under its own label, with the PDF's value."""
    assert page.rendered.values == pdf.rendered.values
    for f in FORMS[form_key].fields():
        assert f"{f.number} {f.label}".strip() + ":" == label_of(doc, f.name), f.name
        printed = pdf.rendered.values[f.name]
        if isinstance(f, m.Field):
            el = item(doc, f.name)
            if printed:
                assert value_of(doc, f.name) == squash(printed), f.name
            else:      # the paper's dotted line, as many lines as the paper leaves
                assert len(el.xpath('./*[contains(@class, "blank")]/*[@class="dots"]')) == max(1, f.lines), f.name
        elif isinstance(f, m.Digits):
            assert value_of(doc, f.name) == printed[:f.count], f.name
            assert len(item(doc, f.name).xpath('.//*[@class="digit"]')) == f.count


def check(doc, expected: dict[str, str], digits: dict[str, str], ticks: dict[str, str]) -> None:  # noqa: ANN001
    wrong = {}
    for key, value in expected.items():
        if squash(value) not in value_of(doc, key):
            wrong[key] = (value, value_of(doc, key))
    for key, value in {**digits, **ticks}.items():
        if value_of(doc, key) != value:
            wrong[key] = (value, value_of(doc, key))
    assert wrong == {}


def paper(page, size: str, name: str, record: str = "") -> None:  # noqa: ANN001
    css = page.rendered.css
    assert f"size: {size};" in css and "counter(page)" in css and "counter(pages)" in css
    assert f"Người bệnh: {name}" + (f" — {record}" if record else "") in css
    assert "NĐ 137/2024/NĐ-CP Điều 5" in css
    # No style attribute anywhere (the page's CSP allows none): every size is a class of the page's CSS.
    assert " style=" not in page.rendered.html


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    return store, seed.build(store)


def _seeded(world, key: str) -> tuple:  # noqa: ANN001
    store, ids = world
    repo = Repository(store, Actor.system())
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    return both(repo, ctx, key, seed.DOCTOR, seed.PRINTED)


def test_15bv1_html_view_every_value_in_its_labelled_item(world):  # noqa: ANN001
    pdf, page, doc = _seeded(world, "outpatient")
    same_as_pdf("outpatient", pdf, doc, page)
    paper(page, "A4", V["name"], V["ma-lk"])
    head = doc.xpath('//header[contains(@class, "form-head")]')[0]
    left, right = head.xpath('./div[@class="left"]')[0], head.xpath('./div[@class="right"]')[0]
    assert V["facility"].upper() in squash("".join(left.itertext())) and V["facility-code"] in "".join(left.itertext())
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in "".join(right.itertext())
    assert "MS: 15/BV1" in "".join(right.itertext())
    check(doc, {
        "name": V["name"].upper(), "age": "39", "occupation": V["occupation"], "ethnicity": V["ethnicity"],
        "address": V["address"], "workplace": V["workplace"], "next-of-kin": V["next-of-kin"],
        "arrived": "07:35 14/12/2026", "referring-facility": V["referring-facility"], "reason": V["reason"],
        "history": V["history"], "family-history": V["family-history"], "pulse": "84", "temperature": "37,2",
        "blood-pressure": "128/82", "organs": V["organ"], "initial-diagnosis": V["dx-ad"][1],
        "discharge-diagnosis": V["dx-dd"][1], "follow-up": "05/01/2027", "record-number": V["ma-lk"],
        "date-line": "Ngày 14 tháng 12 năm 2026", "doctor": V["doctor"], "doctor.title": "Bác sĩ khám bệnh",
        "head.title": V["head-title"], "course": V["course"], "final-main": V["dx-dd"][1]},
        digits={"birth": "23041987", "bhyt": V["bhyt"], "cccd": V["cccd"], "discharge-icd": V["dx-dd"][0]},
        ticks={"gender": "female", "payer": "bhyt", "referred-by": "y-te"})
    # The record summary is the form's second sheet: a page break before it.
    body = lxml.html.tostring(doc, encoding="unicode")
    assert body.index('class="page-break"') < body.index('data-key="course"')


def test_prescription_html_view_on_a5(world):  # noqa: ANN001
    pdf, page, doc = _seeded(world, "prescription")
    same_as_pdf("prescription", pdf, doc, page)
    paper(page, "A5", V["name"], V["ma-lk"])
    assert "CỘNG HOÀ" not in squash("".join(doc.itertext()))          # PL I has no national heading
    check(doc, {"prescription-code": V["rx-code"], "name": V["name"].upper(), "address": V["address"],
                "diagnosis": f"{V['dx-dd'][1]} ({V['dx-dd'][0]})", "advice": V["advice"],
                "follow-up": "05/01/2027", "prescriber": V["prescriber"],
                "prescriber.title": "Bác sĩ/Y sĩ khám bệnh"}, digits={"cccd": V["cccd"], "bhyt": V["bhyt"]}, ticks={})
    table = item(doc, "drugs")
    cells = [squash("".join(td.itertext())) for td in table.xpath(".//tbody/tr[1]/td")]
    assert V["drug"] in cells[1] and V["drug-usage"] in " ".join(cells)
    assert [squash("".join(th.itertext())) for th in table.xpath(".//thead//th")] == [
        c.title for t in FORMS["prescription"].body if isinstance(t, m.Table) and t.key == "drugs" for c in t.columns]


def _stay(ward, key: str) -> tuple:  # noqa: ANN001, F811
    eid = stay_seed.stay(ward)
    repo = Repository(ward["repo"].store, Actor.system())
    return both(repo, stay_seed.context(ward, eid), key, DOCTOR, stay_seed.PRINTED)


def test_01bv1_html_view_every_value_in_its_labelled_item(ward):  # noqa: ANN001, F811
    pdf, page, doc = _stay(ward, "inpatient")
    same_as_pdf("inpatient", pdf, doc, page)
    paper(page, "A4", S["name"])
    check(doc, {"name": S["name"].upper(), "arrived": "07:40 01/03/2025", "department": "Khoa Nội tổng hợp",
                "referral-dx": S["referral-dx"][1], "kkb-dx": S["kkb-dx"][1], "reason": S["reason"],
                "history": S["history"], "personal-history": S["personal"], "exam-tuan-hoan": S["cardio"],
                "differential": S["differential"], "plan": S["plan"], "course": S["course"], "method": S["method"],
                "treating": "Lê Văn Hùng", "treating.title": "Bác sĩ điều trị",
                "accidents": S["accident"], "complications": S["complication"]},
          digits={"cccd": S["cccd"], "days": "10", "main-dx-icd": "K35.2"},
          ticks={"gender": "male", "route": "cap-cuu", "disposition": "home", "result": "2"})
    moves = squash(" ".join(item(doc, "transfers").itertext()))
    assert f"{S['icu']} 11:20 05/03/2025 2" in moves
    # What did not happen stays the paper's dotted line.
    for key in ("transfer-to", "death-time", "death-cause"):
        assert item(doc, key).xpath('./*[contains(@class, "blank")]'), key


def test_discharge_paper_html_view_on_a5(ward):  # noqa: ANN001, F811
    pdf, page, doc = _stay(ward, "discharge")
    same_as_pdf("discharge", pdf, doc, page)
    paper(page, "A5", S["name"])
    check(doc, {"name": S["name"].upper(), "cccd": S["cccd"], "arrived": "07:40 01/03/2025",
                "ended": "15:00 10/03/2025", "diagnosis": "(K35.2)", "icd": "K35.2; E78.0", "method": S["method"],
                "note": S["onward"], "doctor": "Lê Văn Hùng", "head.title": stay_seed.HEAD}, digits={}, ticks={})
    # Signature blocks: title, the hint, room to sign, the full name.
    block = item(doc, "doctor.block")
    assert "(Ký, ghi rõ họ tên)" in "".join(block.itertext()) and block.xpath('./*[@class="sign-room"]')
    assert value_of(doc, "doctor") == "Lê Văn Hùng"


def test_a_hostile_name_is_text_not_markup(world):  # noqa: ANN001
    store, ids = world
    repo = Repository(store, Actor.system())
    hostile = '<script>alert("x")</script>"; } @page { x'
    patient = json.loads(repo.read("Patient", ids["patient"]).body)
    patient["name"] = [{"text": hostile, "family": hostile}]
    repo.update("Patient", ids["patient"], patient)
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    for key in ("outpatient", "prescription"):
        page = printing.print_html(repo, ctx, key, seed.DOCTOR, seed.PRINTED, "http://benhan.test")
        assert "<script" not in page.rendered.html and "<script" not in page.rendered.css
        doc = lxml.html.fragment_fromstring(page.rendered.html)
        assert not doc.xpath("//script")
        assert value_of(doc, "name") == squash(hostile.upper())
        # In the page CSS the name is one CSS string: no quote or "<" of it ends the string or the style.
        assert "\\\"; } @page { x" in page.rendered.css and "\\3C script" in page.rendered.css
