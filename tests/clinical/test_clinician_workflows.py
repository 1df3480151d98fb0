"""The clinician workflows without a browser: the registration checks and address reading, vital
signs checks and BMI, the allergy check, corrections as new versions with a Provenance."""
from __future__ import annotations

from datetime import date

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import allergies, corrections, notes, registration, visits, vitals
from benhan.clinical.common import FormInvalid
from benhan.clinical.demo import facility_bundle
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository
from benhan.vn.cccd_qr import parse_cccd_qr

TODAY = date(2026, 11, 26)
DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")


def form(**values: str) -> registration.PatientForm:
    base = {"cccd": "001090123456", "name": "Nguyễn Văn An", "birth_date": "01/01/1990", "gender": "male"}
    return registration.PatientForm.from_mapping({**base, **values})


def keys(f: registration.PatientForm) -> dict[str, str]:
    return {k: v[0] for k, v in registration.check(f, TODAY)[0].errors.items()}


def test_a_good_form_has_no_problems_and_each_bad_field_is_named():
    assert keys(form()) == {}
    assert keys(form(cccd="001190123456")) == {"cccd": "ui.err.cccd_sex"}
    assert keys(form(cccd="001085123456")) == {"cccd": "ui.err.cccd_birth"}
    assert keys(form(bhyt="ZZ4790123456789", bhyt_to="31/12/2027"))["bhyt"] == "ui.err.bhyt_group"
    assert keys(form(bhyt="HT4790123456789")) == {"bhyt_to": "ui.err.required"}
    assert keys(form(phone="012")) == {"phone": "ui.err.phone"}
    assert keys(form(birth_date="31/02/1990"))["birth_date"] == "ui.err.date"
    assert keys(form(province="01", commune="26734")) == {"commune": "ui.err.commune"}


def test_a_patient_without_id_needs_a_reason_and_a_description():
    assert keys(form(cccd="")) == {"cccd": "ui.err.cccd_or_reason"}
    assert keys(form(cccd="", no_id_reason="newborn")) == {"no_id_note": "ui.err.no_id_note"}
    assert keys(form(cccd="", no_id_reason="newborn", no_id_note="Con của sản phụ Trần Thị B")) == {}


def test_the_card_address_becomes_the_2025_units():
    card = parse_cccd_qr("001090123456||NGUYỄN VĂN AN|01011990|Nam|Số 5, ngõ 12, Phường Ba Đình, Thành phố Hà Nội|15042021")
    f = registration.PatientForm.from_card(card)
    assert (f["province"], f["commune"], f["address_line"]) == ("01", "00004", "Số 5, ngõ 12")


def test_vital_signs_are_checked_for_typing_errors_not_for_illness():
    assert vitals.check({"temperature": "40,5", "pulse": "140"}) == {"temperature": 40.5, "pulse": 140}
    with pytest.raises(FormInvalid) as err:
        vitals.check({"temperature": "405", "systolic": "120"})
    assert set(err.value.errors) == {"temperature", "diastolic"}
    assert vitals.bmi(60, 165) == 22.0


def test_a_penicillin_allergy_warns_for_amoxicillin_not_for_paracetamol():
    allergy = [{"code": {"text": "Penicillin"}, "clinicalStatus": {"coding": [{"code": "active"}]}}]
    assert allergies.conflicts(allergy, "Amoxicilin 500mg") == [allergies.Hit("Penicillin", coded=False)]
    assert allergies.conflicts(allergy, "Paracetamol 500mg") == []


def test_registration_refuses_the_same_cccd_and_a_correction_keeps_the_old_version(store):  # noqa: ANN001
    repo = Repository(store, DOCTOR)
    process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
    fac = visits.facility(repo)
    pid = registration.register(repo, form(), DOCTOR, TODAY, fac.organization_id).patient_id
    with pytest.raises(FormInvalid) as err:
        registration.register(repo, form(), DOCTOR, TODAY, fac.organization_id)
    assert err.value.errors["cccd"] == ("ui.err.duplicate_cccd", {"patient": pid})
    with pytest.raises(FormInvalid) as err:
        registration.register(repo, form(cccd="001090654321"), DOCTOR, TODAY, fac.organization_id)
    assert "confirm_new" in err.value.errors                      # same name and birth date
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", visits.locations(repo)[0][0], "Sốt", fac)
    nid = notes.add(repo, DOCTOR, repo.read("Encounter", eid).json(), "progress", "Sốt 38 độ", "Theo dõi")
    with pytest.raises(FormInvalid):
        corrections.change(repo, DOCTOR, "ClinicalImpression", nid, {"summary": "Sốt 38,5 độ"}, "")
    assert corrections.change(repo, DOCTOR, "ClinicalImpression", nid, {"summary": "Sốt 38,5 độ"}, "ghi nhầm") == 2
    assert corrections.change(repo, DOCTOR, "ClinicalImpression", nid, None, "nhập nhầm bệnh nhân") == 3
    versions = corrections.history(repo, "ClinicalImpression", nid)
    assert [(v.version, v.reason, v.cancelled) for v in versions] == [
        (3, "nhập nhầm bệnh nhân", True), (2, "ghi nhầm", False), (1, "", False)]
    assert versions[2].body["summary"] == "Sốt 38 độ"
    provenance = repo.search_type("Provenance", [("_count", "10")]).matches
    assert sorted(p.json()["target"][0]["reference"] for p in provenance) == [
        f"ClinicalImpression/{nid}/_history/2", f"ClinicalImpression/{nid}/_history/3"]


def test_a_nurse_corrects_her_nursing_note_in_her_ward_and_nowhere_else(store):  # noqa: ANN001
    from benhan import errors
    from benhan.auth.policy import actor_for_user
    from tests.auth import ward as ward_mod
    w = ward_mod.build(store)
    nurse = actor_for_user(store, w.accounts["lan"])
    repo = Repository(store, nurse)
    mine = repo.read("Encounter", w.ids["e1"]).json()              # p1, her ward
    nid = notes.add(repo, nurse, mine, "nursing", "Mạch 90, sốt 38 độ", "")
    assert corrections.change(repo, nurse, "ClinicalImpression", nid, {"summary": "Mạch 90, sốt 38,5 độ"},
                              "đo lại nhiệt độ") == 2
    assert [v.reason for v in corrections.history(repo, "ClinicalImpression", nid)] == ["đo lại nhiệt độ", ""]
    assert repo.read("ClinicalImpression", nid).json()["summary"] == "Mạch 90, sốt 38,5 độ"
    # A note on a patient of another ward she does not care for: she can neither see nor correct it.
    other = Repository(store, Actor.system("test")).read("Encounter", w.ids["e2"]).json()
    theirs = notes.add(Repository(store, Actor.system("test")), DOCTOR, other, "progress", "Ổn định", "")
    with pytest.raises(errors.OutsideCareScope):
        corrections.change(repo, nurse, "ClinicalImpression", theirs, {"summary": "sửa"}, "thử sửa")
    assert Repository(store, Actor.system("test")).read("ClinicalImpression", theirs).version == 1


def test_a_visit_in_a_departments_room_is_seen_by_that_departments_staff_only(store):  # noqa: ANN001
    from benhan import errors
    from benhan.auth import users
    from benhan.auth.policy import actor_for_user
    system = Repository(store, Actor.system("test"))
    hospital = system.create("Organization", {"resourceType": "Organization", "name": "Bệnh viện huyện"}).res_id
    khoa = {name: system.create("Organization", {"resourceType": "Organization", "name": name,
                                                 "partOf": {"reference": f"Organization/{hospital}"}}).res_id
            for name in ("Khoa Nội", "Khoa Ngoại")}
    room = system.create("Location", {"resourceType": "Location", "status": "active", "name": "Phòng khám Nội 1",
                                      "managingOrganization": {"reference": f"Organization/{khoa['Khoa Nội']}"}}).res_id
    lobby = system.create("Location", {"resourceType": "Location", "status": "active", "name": "Sảnh chờ"}).res_id
    fac = visits.Facility(hospital, "Bệnh viện huyện", "38002")
    pid = registration.register(system, form(), DOCTOR, TODAY, hospital).patient_id
    eid = visits.open_visit(system, DOCTOR, pid, "kham-benh", room, "Đau bụng", fac)
    assert system.read("Encounter", eid).json()["serviceProvider"]["reference"] == f"Organization/{khoa['Khoa Nội']}"
    # A room with no managing department: the visit belongs to the facility.
    other = visits.open_visit(system, DOCTOR, pid, "kham-benh", lobby, "Ho", fac)
    assert system.read("Encounter", other).json()["serviceProvider"]["reference"] == f"Organization/{hospital}"

    def nurse(username: str, department: str) -> Repository:
        u, _ = users.create_user(store, username, username, ["nurse"], departments=[khoa[department]],
                                 password="mật khẩu rất dài 2026!")
        return Repository(store, actor_for_user(store, u))
    assert nurse("mai", "Khoa Nội").read("Encounter", eid).json()["id"] == eid
    with pytest.raises(errors.OutsideCareScope):
        nurse("hoa", "Khoa Ngoại").read("Encounter", eid)
