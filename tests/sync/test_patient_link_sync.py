"""The same CCCD registered at two facilities, reviewed at the hub as the same person: the hub links
the newer registration into the older one (the clinician app's linking code), and after the next
pull both facilities see one linked person."""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from benhan import errors
from benhan.auth import users
from benhan.clinical import patient_link
from benhan.store import sync_tables as st
from benhan.sync import review
from benhan.web.app import create_app
from tests import factories
from tests.sync.test_review_page import PASSWORD, _login

CCCD = "038090001234"


def _visit(node, patient_id: str) -> str:  # noqa: ANN001
    return node.repo.create("Encounter", {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": {"start": "2026-11-20T08:00:00+07:00", "end": "2026-11-20T09:00:00+07:00"}}).res_id


def _visits(node, patient_id: str) -> set[str]:  # noqa: ANN001
    found = node.repo.search_type("Encounter", [("subject", f"Patient/{patient_id}"), ("_count", "50")])
    return {m.res_id for m in found.matches}


def _registered_twice(hub, make_node):  # noqa: ANN001, ANN202
    a, b = make_node("tyt-a"), make_node("tyt-b")
    pa = a.repo.create("Patient", factories.patient(cccd=CCCD)).res_id
    ea = _visit(a, pa)
    pb = b.repo.create("Patient", factories.patient(cccd=CCCD, given=("Văn", "Ân"))).res_id
    eb = _visit(b, pb)
    a.round()
    b.round()
    with hub.store.db.read() as conn:
        [d] = st.duplicates(conn)
    return a, b, pa, pb, ea, eb, d


def test_reviewed_as_the_same_person_both_facilities_see_one_linked_person(hub, make_node):  # noqa: ANN001
    a, b, pa, pb, ea, eb, d = _registered_twice(hub, make_node)
    assert review.review_duplicate(hub.store, d.pk, "same", by="so-y-te", link=patient_link.link) == pa

    # At the hub: one chart holds both visits; the newer record is replaced by the older.
    assert _visits(hub, pa) == {ea, eb}
    assert patient_link.replaced_by(hub.repo.read("Patient", pb).json()) == pa
    with hub.store.db.read() as conn:
        assert st.duplicates(conn) == []

    a.round()
    b.round()
    for node in (a, b):
        kept, replaced = node.repo.read("Patient", pa).json(), node.repo.read("Patient", pb).json()
        assert patient_link.replaces(kept) == [pb], node.name
        assert patient_link.replaced_by(replaced) == pa and replaced["active"] is False, node.name
        assert _visits(node, pb) == set(), node.name
    assert _visits(a, pa) == {ea, eb}       # the kept record's facility sees both visits
    assert eb in _visits(b, pa)             # the other sees its own visit under the kept record
    # Nothing lost at either end: the visit's first version still names the record it was made in.
    assert b.repo.vread("Encounter", eb, "1").json()["subject"]["reference"] == f"Patient/{pb}"


def test_the_reviewer_may_keep_the_newer_record_and_different_people_link_nothing(hub, make_node):  # noqa: ANN001
    a, b, pa, pb, ea, eb, d = _registered_twice(hub, make_node)
    with pytest.raises(errors.InvalidUserSetting):
        review.review_duplicate(hub.store, d.pk, "same", by="so-y-te")      # linking code not given
    with pytest.raises(errors.InvalidUserSetting):
        review.review_duplicate(hub.store, d.pk, "same", by="so-y-te", link=patient_link.link, keep="someone-else")
    assert review.review_duplicate(hub.store, d.pk, "same", by="so-y-te", link=patient_link.link, keep=pb) == pb
    assert _visits(hub, pb) == {ea, eb}
    assert patient_link.replaced_by(hub.repo.read("Patient", pa).json()) == pb


def test_different_people_are_only_recorded(hub, make_node):  # noqa: ANN001
    a, b, pa, pb, ea, eb, d = _registered_twice(hub, make_node)
    assert review.review_duplicate(hub.store, d.pk, "different", by="so-y-te", link=patient_link.link) is None
    assert hub.repo.read("Patient", pa).version == 1 and hub.repo.read("Patient", pb).version == 1
    assert _visits(hub, pa) == {ea} and _visits(hub, pb) == {eb}


def test_a_doctor_at_the_hub_sees_both_records_and_keeps_the_one_chosen(hub, make_node):  # noqa: ANN001
    a, b, pa, pb, ea, eb, d = _registered_twice(hub, make_node)
    users.create_user(hub.store, "bs.so", "Bác sĩ Sở", ["doctor"], password=PASSWORD)
    with TestClient(create_app(hub.store.config, hub.store)) as browser:
        csrf = _login(browser, "bs.so")
        page = browser.get("/admin/sync").text
        assert "Nguyễn Văn An" in page and "Nguyễn Văn Ân" in page and 'name="keep"' in page
        r = browser.post(f"/admin/sync/duplicate/{d.pk}", data={"csrf": csrf, "decision": "same", "keep": pb},
                         follow_redirects=False)
        assert r.status_code == 303
    assert patient_link.replaced_by(hub.repo.read("Patient", pa).json()) == pb
    assert _visits(hub, pb) == {ea, eb}


def test_a_facility_admin_may_review_sync_but_not_link_a_clinical_record(hub, make_node):  # noqa: ANN001
    a, b, pa, pb, ea, eb, d = _registered_twice(hub, make_node)
    from benhan.auth import mfa
    secret = mfa.new_secret()
    users.create_user(hub.store, "quantri", "Quản trị", ["facility_admin"], password=PASSWORD, mfa_secret=secret)
    with TestClient(create_app(hub.store.config, hub.store), raise_server_exceptions=False) as browser:
        page = browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        step = browser.post("/login", data={"username": "quantri", "password": PASSWORD, "csrf": csrf},
                            follow_redirects=False).headers["location"]
        page = browser.get(step)
        browser.post("/login/mfa", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page.text).group(1),
                                         "code": mfa.current_code(secret)})
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/admin/sync").text).group(1)
        page = browser.get("/admin/sync").text
        assert "Nguyễn Văn An" not in page                  # patients are outside the admin's role
        r = browser.post(f"/admin/sync/duplicate/{d.pk}", data={"csrf": csrf, "decision": "same"},
                         follow_redirects=False)
        assert r.status_code == 403
    assert hub.repo.read("Patient", pa).version == 1 and hub.repo.read("Patient", pb).version == 1
    assert _visits(hub, pa) == {ea} and _visits(hub, pb) == {eb}
