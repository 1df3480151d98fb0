"""The sick-leave certificate issued on the visit page's card (clinical.sick_leave) and printed as
TT 25/2025 Mẫu 07, through the real app: each value typed lands in its own item (HTML print view by
item, PDF by position), the number of days counted from the period; bad input (no days, an end before
the start, more than 30 days, a start before the visit, a BHXH number that is not 10 digits) is refused
beside its field and nothing is written; a nurse may not issue one (FORM_POSTS of test_role_pages)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import lxml.html

from benhan.auth.actor import Actor
from benhan.clinical import sick_leave
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import data, printing, sources
from benhan.store.repository import Repository
from tests.forms.conftest import text_in
from tests.forms.test_html_view import value_of
from tests.ui.test_role_pages import fresh_visit, world  # noqa: F401 - the roles' world fixture

TYPED = {"leave_number": "NV-2026-00731", "leave_bhxh": "0123456789",
         "leave_treatment": "Kháng sinh uống, nghỉ ngơi tại nhà", "leave_father": "Trần Văn Bảo",
         "leave_mother": "Lê Thị Cúc", "leave_note": "Tái khám khi sốt lại"}


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def test_the_certificate_typed_on_the_visit_page_lands_in_its_items(world):  # noqa: ANN001, F811
    assert {f"{sick_leave.SD}/sick-leave-{n}" for n in (*sick_leave.TEXTS.values(), "period")} == set(
        sources.SICK_LEAVE_EXT.values())
    assert (sick_leave.DOCUMENT_KIND, sick_leave.SICK_LEAVE, sick_leave.ENCOUNTER_EXT) == (
        data.DOCUMENT_KIND, data.SICK_LEAVE, data.ENCOUNTER_EXT)
    doctor = world["clients"]["doctor"]
    eid = fresh_visit(world, "in-progress")
    encounter = world["repo"].read("Encounter", eid).json()
    first = date.fromisoformat(encounter["period"]["start"][:10])
    assert f'action="/ui/encounters/{eid}/sick-leave"' in doctor.http.get(f"/ui/encounters/{eid}").text

    for bad, fields in (({"leave_from": "", "leave_to": ""}, ("leave_from", "leave_to")),
                        ({"leave_from": _d(first + timedelta(days=3)), "leave_to": _d(first)}, ("leave_to",)),
                        ({"leave_from": _d(first), "leave_to": _d(first + timedelta(days=30))}, ("leave_to",)),
                        ({"leave_from": _d(first - timedelta(days=1)), "leave_to": _d(first)}, ("leave_from",)),
                        ({"leave_from": "31/02/2026", "leave_to": _d(first), "leave_bhxh": "12345"},
                         ("leave_from", "leave_bhxh"))):
        r = doctor.post(f"/ui/encounters/{eid}/sick-leave", {**TYPED, **bad})
        assert r.status_code == 400, bad
        assert [f for f in fields if f'id="e-{f}"' not in r.text] == [], bad
        assert TYPED["leave_treatment"] in r.text                    # what was typed is kept
    assert sick_leave.of_visit(world["repo"], encounter) == []

    last = first + timedelta(days=4)
    r = doctor.post(f"/ui/encounters/{eid}/sick-leave", {**TYPED, "leave_from": _d(first), "leave_to": _d(last)})
    assert r.status_code == 303, r.text[:500]
    [basic] = sick_leave.of_visit(world["repo"], encounter)
    author = basic["author"]["display"]
    assert sick_leave.period_of(basic) == (first.isoformat(), last.isoformat())
    assert "Nghỉ từ ngày" in doctor.http.get(f"/ui/encounters/{eid}").text

    expected = {"number": TYPED["leave_number"], "bhxh": TYPED["leave_bhxh"], "treatment": TYPED["leave_treatment"],
                "father": TYPED["leave_father"], "mother": TYPED["leave_mother"], "note": TYPED["leave_note"],
                "from": _d(first), "to": _d(last), "days": "05", "doctor": author}
    view = doctor.http.get(f"/ui/encounters/{eid}/print", params={"form": "sickleave"})
    assert view.status_code == 200
    doc = lxml.html.fromstring(view.text)
    assert {k: value_of(doc, k) for k in expected} == expected
    repo = Repository(world["store"], Actor.system())
    ctx = printouts.gather(repo, eid, last)
    p = printing.print_form(repo, ctx, "sickleave", Actor(name="bs"),
                            datetime.fromisoformat(encounter["period"]["start"]), "http://benhan.test")
    wrong = {k: text_in(p.pdf, p.rendered.regions[k]) for k, v in expected.items()
             if v not in " ".join(text_in(p.pdf, p.rendered.regions[k]).split())}
    assert wrong == {}
