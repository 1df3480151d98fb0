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


def test_a_refusal_is_honoured_behind_many_later_consents_to_treatment(store):
    """A patient treated often signs many consents to procedures after refusing to share: the
    refusal is what decides, not the first page of whatever consents are newest."""
    from datetime import datetime, timedelta, timezone

    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient()).res_id
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    consent.record_do_not_share(repo, p, method="written", when=start)
    for i in range(60):
        repo.create("Consent", {
            "resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{p}"},
            "dateTime": (start + timedelta(days=i + 1)).isoformat(timespec="seconds"),
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
            "provision": {"type": "permit"}})
    assert not consent.may_leave_facility(store, p)
