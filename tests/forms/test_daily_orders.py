"""The care level and the diet the doctor orders with the day's progress note (TT 31/2021 Đ9), through the
real app: written on the visit page's note form, stored on the ClinicalImpression (two extensions, its
author and time, audited), shown in the visit's notes, and printed in that day's row of the treatment
sheet (tờ điều trị), in the Y LỆNH column — on the PDF by position, on the HTML print view by cell.
A nurse's care-sheet note may not carry them; an unknown level is refused beside its field."""
from __future__ import annotations

import lxml.html
import sqlalchemy as sa

from benhan.clinical import notes
from benhan.documents.forms.treatment_sheet import COLUMNS
from benhan.store.schema import audit_event
from tests.forms.sheet_checks import column_of, one
from tests.ui.test_role_pages import fresh_visit, world  # noqa: F401 - the roles' world fixture

COURSE = "Ngày thứ ba: hết sốt, còn ho khạc đờm trắng"
ORDERS = "Tiếp tục kháng sinh, khí dung ngày hai lần"
DIET = "Cháo thịt băm, ăn nhạt, mã BT05"


def _notes(world, eid: str) -> list[dict]:  # noqa: ANN001, F811
    return [m.json() for m in world["repo"].search_type("ClinicalImpression", [("encounter", f"Encounter/{eid}")]).matches]


def test_care_level_and_diet_land_in_the_days_orders_on_the_treatment_sheet(world):  # noqa: ANN001, F811
    doctor = world["clients"]["doctor"]
    eid = fresh_visit(world, "in-progress")
    r = doctor.post(f"/ui/encounters/{eid}/notes", {"note_kind": "progress", "note_course": COURSE,
                                                    "note_orders": ORDERS, "note_care_level": "2", "note_diet": DIET})
    assert r.status_code == 303, r.text[:400]
    [note] = _notes(world, eid)
    assert notes.care_level(note) == "Chăm sóc cấp II" and notes.diet(note) == DIET
    assert {notes.CARE_LEVEL_EXT, notes.DIET_EXT} <= {x["url"] for x in note["extension"]}
    with world["store"].db.engine.connect() as conn:
        created = conn.execute(sa.select(audit_event.c.agent).where(
            (audit_event.c.res_type == "ClinicalImpression") & (audit_event.c.res_id == note["id"])
            & (audit_event.c.interaction == "create"))).all()
    assert len(created) == 1 and created[0][0] != "system"
    # The visit page shows them with the note's orders.
    visit = lxml.html.fromstring(doctor.http.get(f"/ui/encounters/{eid}").text)
    row = next(tr for tr in visit.xpath('//section[@id="notes"]//tbody/tr') if COURSE in "".join(tr.itertext()))
    assert "Chăm sóc cấp II" in "".join(row.itertext()) and DIET in "".join(row.itertext())

    day = note["effectiveDateTime"][:10]
    # The HTML print view of the day: the row of the note, the orders cell holds both, the course cell neither.
    page = doctor.http.get(f"/ui/encounters/{eid}/print", params={"form": f"treatment-day:{day}"})
    assert page.status_code == 200
    doc = lxml.html.fromstring(page.text)
    [tr] = [tr for tr in doc.xpath('//table[@data-key="entries"]/tbody/tr') if COURSE in "".join(tr.itertext())]
    cells = ["".join(td.itertext()) for td in tr.xpath("./td")]
    assert ORDERS in cells[2] and "Chăm sóc cấp II" in cells[2] and f"Chế độ ăn: {DIET}" in cells[2]
    assert "Chăm sóc" not in cells[1] and DIET not in cells[1]
    # The PDF of the day: each in the Y LỆNH column, on the note's row, under its orders.
    pdf = doctor.http.get(f"/ui/encounters/{eid}/print.pdf", params={"form": f"treatment-day:{day}"}).content
    cpage, _, ctop = one(pdf, COURSE[:30])
    for phrase in (ORDERS[:30], "Chăm sóc cấp II", f"Chế độ ăn: {DIET}"[:30]):
        page_no, x, top = one(pdf, phrase)
        assert (page_no, column_of(COLUMNS, x)) == (cpage, 2) and top >= ctop - 2, phrase
    assert one(pdf, "Chăm sóc cấp II")[2] > one(pdf, ORDERS[:30])[2]


def test_a_nurse_may_not_order_them_and_an_unknown_level_is_refused(world):  # noqa: ANN001, F811
    eid = fresh_visit(world, "in-progress")
    r = world["clients"]["nurse"].post(f"/ui/encounters/{eid}/notes", {
        "note_kind": "nursing", "note_course": "Đã vỗ rung lồng ngực", "note_care_level": "1", "note_diet": "Sữa"})
    # The nurse's form does not offer them; a post that carries them anyway writes nothing.
    assert r.status_code == 400 and _notes(world, eid) == []
    r = world["clients"]["doctor"].post(f"/ui/encounters/{eid}/notes", {
        "note_kind": "progress", "note_course": COURSE, "note_care_level": "7", "note_diet": "x" * 501})
    assert r.status_code == 400 and 'id="e-note_care_level"' in r.text and 'id="e-note_diet"' in r.text
    assert _notes(world, eid) == []
    assert "x" * 501 in r.text and COURSE in r.text                  # what was typed is kept
