"""06/BV2 Phiếu phẫu thuật/thủ thuật, drawn by the layout engine from the Procedure recorded on the
visit page's function (clinical.procedures.add, with the diagnoses before and after, the class and the
narrative): every value in its own box, by position (pdfplumber); the drawing box, drains and stitches
(not recorded) as dotted lines; "surgery:<id>" picks one of several; the form definition holds no
literal clinical value. On SQLite and PostgreSQL; PDF and PNG kept in .artifacts/forms."""
from __future__ import annotations

from pathlib import Path

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import procedures
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import printing
from benhan.store.repository import Repository
from tests.forms import seed, surgical_seed
from tests.forms.conftest import keep, text_in
from tests.forms.test_golden import A4, check_every_page, check_values, no_page_of_signatures_only, squash
from tests.forms.test_rules import FORBIDDEN, ICD, _strings

V, S = seed.V, surgical_seed.S
FORMS_DIR = Path(__file__).resolve().parents[2] / "benhan" / "documents" / "forms"


@pytest.fixture
def surgical(store):  # noqa: ANN001, ANN201
    return store, surgical_seed.build(store)


def render(world, key: str, signed: dict | None = None) -> printing.Printed:  # noqa: ANN001
    store, ids = world
    repo = Repository(store, Actor.system())
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    return printing.print_form(repo, ctx, key, seed.DOCTOR, seed.PRINTED, "http://benhan.test", None, signed)


def dotted(p, key: str) -> bool:  # noqa: ANN001
    return set(text_in(p.pdf, p.rendered.regions[key]).replace(" ", "")) == {"."}


def test_06bv2_every_value_of_the_procedure_in_its_box(surgical):  # noqa: ANN001
    p = render(surgical, "surgery")
    keep("06-BV2-surgery", p.pdf)
    check_every_page(p.pdf, A4, "MS: 06/BV2")
    check_values(p, {
        "record-number": V["ma-lk"], "name": V["name"].upper(), "age": "39", "gender": "Nữ",
        "department": V["department"], "arrived": "07:35 14/12/2026", "when": "08:15 15/12/2026",
        "dx-before": S["dx-before"], "dx-after": S["dx-after"], "method": S["procedure"], "class": "Loại I",
        "anaesthesia": "Gây mê nội khí quản", "surgeon-name": S["surgeon"], "anaesthetist-name": S["anaesthetist"],
        "complications": S["complication"], "description": S["description"],
        "date-line": "Ngày 15 tháng 12 năm 2026", "surgeon": S["surgeon"],
        "surgeon.title": "Phẫu thuật viên/Người làm thủ thuật"},
        digits={}, ticks={"kind": "phau-thuat"})
    assert "Biến chứng" in text_in(p.pdf, p.rendered.regions["complications"])
    for blank in ("drawing", "drain", "wick", "removed", "stitches-out", "other", "room", "bed"):
        assert dotted(p, blank), blank                   # not recorded: the paper's dotted line, never a default
    assert "CỘNG HOÀ" not in text_in(p.pdf, p.rendered.regions["record-number"])
    no_page_of_signatures_only(p)


def test_one_of_several_procedures_is_printed_by_its_id(surgical):  # noqa: ANN001
    store, ids = surgical
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    later = procedures.add(repo, seed.DOCTOR, encounter, {
        "proc_name": "Khâu vết thương phần mềm", "proc_kind": "thu-thuat", "proc_when": "10:05 17/12/2026",
        "proc_performer": ids["anaesthetist"], "proc_anaesthesia": "te-tai-cho"}, clock=surgical_seed.CLOCK)
    latest = render(surgical, "surgery")
    assert "Khâu vết thương phần mềm" in text_in(latest.pdf, latest.rendered.regions["method"])
    assert dotted(latest, "dx-before") and dotted(latest, "complications")
    first = render(surgical, f"surgery:{ids['procedure']}")
    assert S["procedure"] in squash(text_in(first.pdf, first.rendered.regions["method"]))
    assert later != ids["procedure"]


def test_the_procedure_form_refuses_a_made_up_class(surgical):  # noqa: ANN001
    from benhan.clinical.common import FormInvalid
    store, ids = surgical
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    with pytest.raises(FormInvalid) as exc:
        procedures.add(repo, seed.DOCTOR, encounter, {
            "proc_name": "Chọc dò màng bụng", "proc_kind": "thu-thuat", "proc_when": "10:05 17/12/2026",
            "proc_performer": ids["surgeon"], "proc_class": "loai-9"}, clock=surgical_seed.CLOCK)
    assert exc.value.errors["proc_class"][0] == "ui.err.choose"


@pytest.mark.parametrize("module", ["consent", "surgery_sheet", "record_summary"])
def test_the_surgical_forms_hold_no_literal_clinical_or_administrative_value(module):
    found = []
    for line, text in _strings(FORMS_DIR / f"{module}.py"):
        found += [(line, text) for word in FORBIDDEN if text.strip() == word]
        found += [(line, text) for _ in ICD.findall(text)]
    assert found == []
