"""Linking a patient registered without an identity document to the identified patient (the same
person): the source is replaced by the target, the source's record moves to the target's chart as
new versions with a Provenance each, and nothing is lost — every earlier version stays readable."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from benhan import errors
from benhan.auth import roles
from benhan.auth.actor import Actor
from benhan.clinical import chart, patient_link, registration, visits, vitals
from benhan.clinical.demo import facility_bundle
from benhan.store import compartments
from benhan.store.access import ALL, Access, PatientScope
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM

TODAY = date(2026, 11, 26)


def _staff(name: str, role: str, display: str | None = None) -> Actor:
    """A user of the whole facility ("*") with the role's rules, as auth.policy builds them."""
    return Actor(name=name, display=display, roles=(role,),
                 access=Access({k: ALL for k in roles.modes((role,))}, PatientScope()))


DOCTOR = _staff("bacsi", "doctor", "Lê Văn Hùng")
REGISTRAR = _staff("tiepdon", "registrar")


def _form(**values: str) -> registration.PatientForm:
    return registration.PatientForm.from_mapping({"name": "Nguyễn Văn An", "birth_date": "01/01/1990",
                                                  "gender": "male", **values})


@pytest.fixture
def desk(store):  # noqa: ANN001, ANN201
    """An identified patient with one visit, and the same man brought in unconscious the next day
    (registered without ID, with his BHYT card found later) with a visit and vital signs."""
    process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
    repo = Repository(store, DOCTOR)
    fac = visits.facility(repo)
    room = visits.locations(repo)[0][0]
    known = registration.register(repo, _form(cccd="001090123456"), DOCTOR, TODAY, fac.organization_id).patient_id
    first = visits.open_visit(repo, DOCTOR, known, "kham-benh", room, "Ho", fac)
    unknown = registration.register(repo, _form(name="Không rõ tên", cccd="", no_id_reason="unknown",
                                                no_id_note="Nam ~35 tuổi, bất tỉnh", birth_date="",
                                                bhyt="HT4790123456789", bhyt_to="31/12/2027", confirm_new="yes"),
                                    DOCTOR, TODAY, fac.organization_id).patient_id
    second = visits.open_visit(repo, DOCTOR, unknown, "cap-cuu", room, "Bất tỉnh", fac)
    obs = vitals.record(repo, DOCTOR, unknown, second, {"pulse": "110", "temperature": "37,2"}, "2026-11-26T08:00:00+07:00")
    return repo, known, unknown, first, second, obs


def _subjects(repo: Repository, patient_id: str) -> set[tuple[str, str]]:
    page = compartments.everything(repo, patient_id, count=500)
    return {(e.resource.res_type, e.resource.res_id) for e in page.entries if e.mode == "match"}


def test_linking_moves_the_record_to_the_identified_patient_and_loses_nothing(store, desk):  # noqa: ANN001
    repo, known, unknown, first, second, obs = desk
    before = {(t, i): v for t, i, v in _versions(repo, unknown)}
    done = patient_link.link(repo, unknown, known, "Người nhà mang CCCD đến")

    # One chart: the target's visits and its compartment hold both visits and the vital signs.
    assert {e["id"] for e in chart.visits(repo, known)} == {first, second}
    members = _subjects(repo, known)
    assert {("Encounter", first), ("Encounter", second), *(("Observation", o) for o in obs)} <= members
    assert ("Patient", unknown) in members           # the replaced patient, through its link
    assert [o["id"] for o in chart.patient_vitals(repo, known)] != []
    assert chart.visits(repo, unknown) == []

    # The links, both ways; the source is inactive; the BHYT number known only on the source is copied.
    src, tgt = repo.read("Patient", unknown).json(), repo.read("Patient", known).json()
    assert src["active"] is False and patient_link.replaced_by(src) == known
    assert patient_link.replaces(tgt) == [unknown]
    assert {(i["system"], i["value"]) for i in tgt["identifier"]} >= {(CCCD_SYSTEM, "001090123456"),
                                                                       (BHYT_SYSTEM, "HT4790123456789")}
    # The BHYT card (Coverage) moved too: the target's banner shows it.
    assert chart.banner(repo, tgt, TODAY).bhyt == "HT4790123456789"

    # Nothing lost: every earlier version is still readable and still says the source.
    for (t, i), v in before.items():
        old = repo.vread(t, i, str(v)).json()
        ref = old.get("subject") or old.get("beneficiary") or {}
        assert ref.get("reference") == f"Patient/{unknown}", (t, i)
        assert repo.read(t, i).version == v + 1
    # One Provenance per changed resource, naming the new version and the reason.
    provs = [p.json() for p in repo.search_type("Provenance", [("_count", "100")]).matches]
    targets = {p["target"][0]["reference"] for p in provs}
    assert {f"{t}/{i}/_history/{v + 1}" for (t, i), v in before.items()} <= targets
    assert f"Patient/{unknown}/_history/2" in targets and f"Patient/{known}/_history/2" in targets
    assert all(p["reason"][0]["text"] == "linked: same person: Người nhà mang CCCD đến" for p in provs)
    assert len(done.provenances) == len(before) + 2

    # Audited: the summary event and an update event per write.
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event).where(audit_event.c.subtype == "patient-link")).all()
        updates = conn.execute(select(audit_event.c.res_type, audit_event.c.res_id).where(
            audit_event.c.interaction == "update")).all()
    assert len(rows) == 1 and rows[0].agent == "bacsi" and unknown in rows[0].detail and known in rows[0].detail
    assert {(t, i) for t, i in before} <= {(r.res_type, r.res_id) for r in updates}

    # Registration no longer offers the replaced record.
    assert [p["id"] for p in registration.search(repo, "Không rõ tên")] == []


def _versions(repo: Repository, patient_id: str) -> list[tuple[str, str, int]]:
    page = compartments.everything(repo, patient_id, count=500)
    return [(e.resource.res_type, e.resource.res_id, e.resource.version) for e in page.entries
            if e.mode == "match" and e.resource.res_type not in ("Patient", "Provenance")]


def test_links_that_must_not_be_made_are_refused_and_write_nothing(store, desk):  # noqa: ANN001
    repo, known, unknown, *_ = desk
    fac = visits.facility(repo)
    other = registration.register(repo, _form(name="Trần Văn Bình", cccd="001090654321"), DOCTOR, TODAY,
                                  fac.organization_id).patient_id
    with pytest.raises(patient_link.LinkRefused) as err:
        patient_link.link(repo, known, known, "nhầm")
    assert err.value.key == "ui.link.err.self"
    with pytest.raises(patient_link.LinkRefused) as err:
        patient_link.link(repo, other, known, "cùng người")
    assert err.value.key == "ui.link.err.two_cccd"
    with pytest.raises(patient_link.LinkRefused) as err:
        patient_link.link(repo, unknown, known, "")
    assert err.value.key == "ui.link.err.reason"
    with pytest.raises(errors.Forbidden):
        patient_link.link(Repository(store, REGISTRAR), unknown, known, "cùng người")
    store.read_audit.flush()
    with store.db.read() as conn:
        refused = conn.execute(select(audit_event).where(audit_event.c.agent == "tiepdon")).all()
    assert [r.outcome for r in refused] == ["4"]            # the refusal is in the trail
    assert repo.read("Patient", unknown).version == 1 and repo.read("Patient", known).version == 1

    patient_link.link(repo, unknown, known, "cùng người")
    with pytest.raises(patient_link.LinkRefused) as err:
        patient_link.link(repo, unknown, other, "cùng người")
    assert err.value.key == "ui.link.err.source_replaced"
    fresh = registration.register(repo, _form(name="Bé sơ sinh", cccd="", no_id_reason="newborn",
                                              no_id_note="Con sản phụ A", birth_date="20/11/2026", confirm_new="yes"),
                                  DOCTOR, TODAY, fac.organization_id).patient_id
    with pytest.raises(patient_link.LinkRefused) as err:
        patient_link.link(repo, fresh, unknown, "cùng người")
    assert err.value.key == "ui.link.err.target_replaced"
    assert err.value.status == 409
