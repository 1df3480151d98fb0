"""Consent: "do not share outside this facility" recorded with its evidence, honoured by the
question the sharing paths ask, lifted by a later permit or by ending it. SQLite and PostgreSQL."""
from __future__ import annotations

from benhan.auth import consent
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from tests.factories import patient


def test_a_refusal_to_share_is_kept_with_its_evidence_and_honoured(store):
    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient()).res_id
    doctor = repo.create("Practitioner", {"resourceType": "Practitioner", "name": [{"family": "Lê"}]}).res_id
    assert consent.may_leave_facility(store, p)
    form = {"contentType": "application/pdf", "title": "Phiếu từ chối chia sẻ thông tin", "creation": "2026-11-25"}
    cid = consent.record_do_not_share(repo, p, method="written", verified_by=doctor, form=form)
    assert not consent.may_leave_facility(store, p)
    stored = repo.read("Consent", cid).json()
    assert stored["dateTime"] and stored["verification"][0]["verifiedWith"]["reference"] == f"Practitioner/{doctor}"
    assert stored["extension"] == [{"url": consent.METHOD_URL, "valueCode": "written"}]
    assert stored["sourceAttachment"]["title"] == "Phiếu từ chối chia sẻ thông tin"
    # Another patient is not affected.
    assert consent.may_leave_facility(store, repo.create("Patient", patient()).res_id)
    # The patient changes their mind: the refusal is ended (a new version, the old one kept).
    repo.update("Consent", cid, dict(stored, status="inactive"))
    assert consent.may_leave_facility(store, p)
    assert len(repo.history("Consent", cid).entries) == 2


def test_a_later_permit_lifts_an_earlier_refusal(store):
    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient()).res_id
    consent.record_do_not_share(repo, p, method="verbal", when=__import__("datetime").datetime(2026, 1, 5))
    permit = consent.do_not_share(p, method="electronic")
    permit["provision"]["type"] = "permit"
    repo.create("Consent", permit)
    assert consent.may_leave_facility(store, p)


def test_an_unknown_method_is_refused(store):
    import pytest

    from benhan import errors
    with pytest.raises(errors.InvalidUserSetting):
        consent.do_not_share("p1", method="telepathy")
