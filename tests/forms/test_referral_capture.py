"""The BHYT transfer recorded on the visit page's referral card (clinical.referral) and printed on the
referral slip of TT 01/2025 PL VI, through the real app: every value typed lands in its own item of the
slip — the HTML print view by item, the PDF by position — the reason and "valid one year" ticked; bad
input (no reason, a facility code that is not 5 digits, a departure before the visit) is refused beside
its field and nothing is written; the transfer is not listed as an order awaiting results; a nurse may
not record one (the role matrix of tests/ui/test_role_pages.py, FORM_POSTS)."""
from __future__ import annotations

from datetime import datetime, timedelta

import lxml.html

from benhan.auth.actor import Actor
from benhan.clinical import referral
from benhan.clinical.common import zone
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import printing, sources
from benhan.store.repository import Repository
from tests.forms.conftest import text_in
from tests.forms.test_html_view import value_of
from tests.ui.test_role_pages import fresh_visit, world  # noqa: F401 - the roles' world fixture

TYPED = {"ref_to": "Bệnh viện Trung ương Huế", "ref_to_code": "46001", "ref_number": "CT-2026-0417",
         "ref_reason": "1a", "ref_condition": "Tỉnh, mạch 96 lần/phút, đau hố chậu phải tăng",
         "ref_direction": "Phẫu thuật nội soi cắt ruột thừa", "ref_transport": "Xe cứu thương 115",
         "ref_escort": "Nguyễn Thị Hạnh Dung", "ref_escort_title": "Điều dưỡng viên", "ref_one_year": "yes"}


def test_the_transfer_typed_on_the_visit_page_lands_in_its_items_of_the_slip(world):  # noqa: ANN001, F811
    assert {f"{referral.SD}/referral-{n}" for n in (*referral.TEXTS.values(), referral.ONE_YEAR)} == set(
        sources.REFERRAL_EXT.values()) and referral.REASON_SYSTEM == sources.REFERRAL_REASON
    doctor = world["clients"]["doctor"]
    eid = fresh_visit(world, "in-progress")
    start = datetime.fromisoformat(world["repo"].read("Encounter", eid).json()["period"]["start"])
    leaves = (start + timedelta(hours=3)).astimezone(zone(world["store"].config.timezone))
    page = doctor.http.get(f"/ui/encounters/{eid}")
    assert 'action="/ui/encounters/' + eid + '/referral"' in page.text

    bad = doctor.post(f"/ui/encounters/{eid}/referral", {**TYPED, "ref_reason": "", "ref_to_code": "4600",
                                                         "ref_when": (start - timedelta(days=1)).strftime("%d/%m/%Y %H:%M")})
    assert bad.status_code == 400
    for name in ("ref_reason", "ref_to_code", "ref_when"):
        assert f'id="e-{name}"' in bad.text, name
    assert TYPED["ref_condition"] in bad.text                          # what was typed is kept
    assert referral.of_visit(world["repo"], eid) == []

    r = doctor.post(f"/ui/encounters/{eid}/referral", {**TYPED, "ref_when": leaves.strftime("%d/%m/%Y %H:%M")})
    assert r.status_code == 303, r.text[:500]
    [sr] = referral.of_visit(world["repo"], eid)
    assert sr["performer"][0]["identifier"]["value"] == "46001" and sr["reasonCode"][0]["coding"][0]["code"] == "1a"
    # Not an order awaiting results: no result form for it on the visit page.
    visit = doctor.http.get(f"/ui/encounters/{eid}").text
    assert f'name="order" value="{sr["id"]}"' not in visit and TYPED["ref_to"] in visit

    expected = {"to": TYPED["ref_to"], "to-code": "46001", "number": TYPED["ref_number"],
                "condition": TYPED["ref_condition"], "direction": TYPED["ref_direction"],
                "transport": TYPED["ref_transport"], "escort": TYPED["ref_escort"],
                "escort-title": TYPED["ref_escort_title"], "when": leaves.strftime("%H:%M %d/%m/%Y")}
    view = doctor.http.get(f"/ui/encounters/{eid}/print", params={"form": "referral"})
    assert view.status_code == 200
    doc = lxml.html.fromstring(view.text)
    assert {k: value_of(doc, k) for k in expected} == expected
    assert value_of(doc, "reason") == "1a" and value_of(doc, "one-year") == "co"
    # The PDF: each value inside its own item's box.
    repo = Repository(world["store"], Actor.system())
    ctx = printouts.gather(repo, eid, leaves.date())
    p = printing.print_form(repo, ctx, "referral", Actor(name="bs"), leaves, "http://benhan.test")
    wrong = {k: text_in(p.pdf, p.rendered.regions[k]) for k, v in expected.items()
             if " ".join(v.split()) not in " ".join(text_in(p.pdf, p.rendered.regions[k]).split())}
    assert wrong == {}
    assert "X" in text_in(p.pdf, p.rendered.regions["reason=1a"]).split()
    assert "X" not in text_in(p.pdf, p.rendered.regions["reason=1b"]).split()
