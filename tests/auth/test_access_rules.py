"""Access rules through the FHIR API, on SQLite and PostgreSQL: roles × types × interactions,
department and care-relationship scope in reads, searches, counts, includes, histories and
compartments; break-the-glass and its expiry; writes outside the scope; SMART scope forms."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from benhan.auth import break_glass
from benhan.store.schema import break_glass as break_glass_table
from tests.auth import ward as ward_mod
from tests.factories import FHIR_JSON, issue_codes, observation
from tests.auth_helpers import time_passes


@pytest.fixture
def ward(store):  # noqa: ANN001, ANN201
    return ward_mod.build(store)


def ids(bundle: dict, res_type: str | None = None, mode: str | None = None) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])
            if (res_type is None or e["resource"]["resourceType"] == res_type)
            and (mode is None or e.get("search", {}).get("mode") == mode)}


def names(w: ward_mod.Ward, *keys: str) -> set[str]:
    return {w.ids[k] for k in keys}


def refused_without_detail(r, code: str, w: ward_mod.Ward) -> None:  # noqa: ANN001
    assert r.status_code == 403, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert issue_codes(outcome) == [code]
    # Nothing of the record: no family name, no observation value.
    for secret in ("Lê", "Phạm", "Trần", "72", "73"):
        assert secret not in r.text


# --- department and care relationship ------------------------------------------------------------

def test_a_nurse_finds_her_wards_patients_and_those_she_cares_for_and_no_others(client, ward):
    nurse = ward.headers("lan")
    found = client.get("/fhir/Observation", params={"_total": "accurate"}, headers=nurse).json()
    assert ids(found) == names(ward, "o1", "o3")
    assert found["total"] == 2
    assert client.get("/fhir/Observation", params={"_summary": "count"}, headers=nurse).json()["total"] == 2
    assert ids(client.get("/fhir/Patient", headers=nurse).json()) == names(ward, "p1", "p3")
    # A search naming an invisible patient finds nothing, and says nothing about them.
    by_p2 = client.get("/fhir/Observation", params={"subject": f"Patient/{ward.ids['p2']}", "_total": "accurate"},
                       headers=nurse).json()
    assert (ids(by_p2), by_p2["total"]) == (set(), 0)


def test_includes_and_revincludes_never_bring_in_what_the_user_may_not_see(client, ward):
    nurse = ward.headers("lan")
    with_performer = client.get("/fhir/Observation", params={"_include": "Observation:performer"}, headers=nurse).json()
    assert ids(with_performer, "Patient") == set()          # o1's performer is p2, outside her scope
    with_obs = client.get("/fhir/Patient", params={"_revinclude": "Observation:subject"}, headers=nurse).json()
    assert ids(with_obs, "Observation") == names(ward, "o1", "o3")
    # The system (backend with system/*.cruds) sees the include.
    assert ids(client.get("/fhir/Observation", params={"_include": "Observation:performer"}).json(),
               "Patient") == names(ward, "p2")


def test_reading_a_patient_outside_the_scope_is_refused_and_reveals_nothing(client, ward):
    nurse = ward.headers("lan")
    assert client.get(f"/fhir/Patient/{ward.ids['p1']}", headers=nurse).status_code == 200
    for url in (f"/fhir/Patient/{ward.ids['p2']}", f"/fhir/Observation/{ward.ids['o2']}",
                f"/fhir/Observation/{ward.ids['o2']}/_history/1", f"/fhir/Observation/{ward.ids['o2']}/_history",
                f"/fhir/Patient/{ward.ids['p2']}/Observation", f"/fhir/Patient/{ward.ids['p2']}/$everything"):
        refused_without_detail(client.get(url, headers=nurse), "BENHAN-5003", ward)


def test_history_of_a_type_lists_only_visible_resources(client, ward):
    nurse = ward.headers("lan")
    history = client.get("/fhir/Observation/_history", headers=nurse).json()
    assert ids(history) == names(ward, "o1", "o3")
    system_history = client.get("/fhir/_history", headers=nurse).json()
    assert not {ward.ids["p2"], ward.ids["o2"], ward.ids["e2"]} & ids(system_history)


def test_writes_about_a_patient_outside_the_scope_are_refused_and_change_nothing(client, ward):
    nurse = ward.headers("lan")
    ok = client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p1']}"), headers={**nurse, **FHIR_JSON})
    assert ok.status_code == 201, ok.text
    refused = client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p2']}"),
                          headers={**nurse, **FHIR_JSON})
    refused_without_detail(refused, "BENHAN-5003", ward)
    o2 = client.get(f"/fhir/Observation/{ward.ids['o2']}").json()
    changed = dict(o2, status="amended")
    refused_without_detail(client.put(f"/fhir/Observation/{ward.ids['o2']}", json=changed,
                                      headers={**nurse, **FHIR_JSON}), "BENHAN-5003", ward)
    assert client.get(f"/fhir/Observation/{ward.ids['o2']}").json()["meta"]["versionId"] == "1"


def test_a_doctor_may_register_a_patient_and_write_about_them_in_the_same_transaction(client, ward):
    doctor = ward.headers("hung")
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f1c1f52-5d0f-4a47-9d0c-1c6a3b8f0001",
         "resource": {"resourceType": "Patient", "name": [{"family": "Vô danh"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": ward_mod.encounter("placeholder", ward.ids["surgery"]) | {
            "subject": {"reference": "urn:uuid:6f1c1f52-5d0f-4a47-9d0c-1c6a3b8f0001"}},
         "request": {"method": "POST", "url": "Encounter"}}]}
    r = client.post("/fhir", json=bundle, headers={**doctor, **FHIR_JSON})
    assert r.status_code == 200, r.text
    new_patient = r.json()["entry"][0]["response"]["location"].split("/")[1]
    assert client.get(f"/fhir/Patient/{new_patient}", headers=doctor).status_code == 200


# --- roles ---------------------------------------------------------------------------------------

def test_a_role_without_the_permission_gets_403_for_each_interaction(client, ward):
    registrar, cashier, auditor = ward.headers("tiepdon"), ward.headers("thungan"), ward.headers("kiemtra")
    o1 = f"/fhir/Observation/{ward.ids['o1']}"
    refused_without_detail(client.get(o1, headers=registrar), "BENHAN-5002", ward)
    refused_without_detail(client.get("/fhir/Observation", headers=cashier), "BENHAN-5002", ward)
    refused_without_detail(client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p1']}"),
                                       headers={**registrar, **FHIR_JSON}), "BENHAN-5002", ward)
    refused_without_detail(client.delete(o1, headers=ward.headers("hung")), "BENHAN-5002", ward)
    refused_without_detail(client.get("/fhir/Observation", headers=auditor), "BENHAN-5002", ward)
    # What their roles do allow, facility-wide.
    assert client.get(f"/fhir/Patient/{ward.ids['p2']}", headers=registrar).status_code == 200
    assert ids(client.get("/fhir/Patient", headers=cashier).json()) == names(ward, "p1", "p2", "p3")


def test_everything_shows_only_the_types_the_role_may_read(client, ward):
    page = client.get(f"/fhir/Patient/{ward.ids['p1']}/$everything", headers=ward.headers("tiepdon")).json()
    assert {e["resource"]["resourceType"] for e in page["entry"]} == {"Patient", "Encounter", "Organization"}


# --- break-the-glass -----------------------------------------------------------------------------

def test_break_the_glass_opens_one_patient_for_a_limited_time_and_is_audited(client, ward, store):
    nurse = ward.accounts["lan"]
    p2 = ward.ids["p2"]
    assert client.get(f"/fhir/Patient/{p2}", headers=ward.headers("lan")).status_code == 403
    grant = break_glass.open_grant(store, nurse, p2, "Cấp cứu: người bệnh ngừng thở tại hành lang")
    headers = ward.headers("lan")
    assert client.get(f"/fhir/Patient/{p2}", headers=headers).status_code == 200
    assert ids(client.get("/fhir/Observation", headers=headers).json()) == names(ward, "o1", "o2", "o3")
    assert ids(client.get("/fhir/Patient", headers=headers).json()) == names(ward, "p1", "p2", "p3")
    with store.db.write() as conn:     # two hours later
        conn.execute(update(break_glass_table).where(break_glass_table.c.pk == grant)
                     .values(expires=break_glass_table.c.started - 1))
    time_passes(client, 7200)
    assert client.get(f"/fhir/Patient/{p2}", headers=headers).status_code == 403
    review = break_glass.review_list(store, ward.accounts["kiemtra"], unreviewed_only=True)
    assert [(g.username, g.patient_id) for g in review] == [("lan", p2)]


def test_break_the_glass_needs_a_reason_and_a_role_that_may_use_it(store, ward):
    from benhan import errors
    with pytest.raises(errors.InvalidUserSetting):
        break_glass.open_grant(store, ward.accounts["lan"], ward.ids["p2"], "vì")
    with pytest.raises(errors.Forbidden):
        break_glass.open_grant(store, ward.accounts["thungan"], ward.ids["p2"], "muốn xem thử hồ sơ này")


def test_break_the_glass_opens_only_a_patient_on_record(store, ward):
    """Any well-formed id that no live Patient has — never stored, another type's id, a deleted
    patient's — is refused as not found, and no grant is left behind."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from sqlalchemy import func, select

    from benhan import errors
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    gone = ward.create(__import__("tests.factories", fromlist=["patient"]).patient(family="Đã Xóa"), "gone")
    Repository(store, Actor.system("test-setup")).delete("Patient", gone)
    nurse = ward.accounts["lan"]
    on_record = {ward.ids[k] for k in ("p1", "p2", "p3")}

    def refused(patient_id: str) -> None:
        with pytest.raises(errors.NotFound) as caught:
            break_glass.open_grant(store, nurse, patient_id, "Cấp cứu: người bệnh ngừng thở tại hành lang")
        assert caught.value.status == 404 and patient_id in caught.value.message

    for patient_id in (gone, ward.ids["o1"], ward.ids["e2"], ward.ids["medicine"]):
        refused(patient_id)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True).filter(lambda i: i not in on_record))
    def any_other_id(patient_id: str) -> None:
        refused(patient_id)
    any_other_id()
    with store.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(break_glass_table)).scalar() == 0
    assert break_glass.open_grant(store, nurse, ward.ids["p2"], "Cấp cứu: người bệnh ngừng thở tại hành lang")


# --- SMART scopes narrow what the role allows ----------------------------------------------------

def test_user_scopes_narrow_the_role(client, ward):
    only_obs = ward.headers("hung", "user/Observation.rs")
    # o1 is in p2's compartment too (p2 is its performer), so surgery sees it.
    assert ids(client.get("/fhir/Observation", headers=only_obs).json()) == names(ward, "o1", "o2", "o3")
    refused_without_detail(client.get(f"/fhir/Patient/{ward.ids['p2']}", headers=only_obs), "BENHAN-5002", ward)
    refused_without_detail(client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p2']}"),
                                       headers={**only_obs, **FHIR_JSON}), "BENHAN-5002", ward)
    v1_read = ward.headers("hung", "user/*.read")
    assert client.get(f"/fhir/Patient/{ward.ids['p2']}", headers=v1_read).status_code == 200
    refused_without_detail(client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p2']}"),
                                       headers={**v1_read, **FHIR_JSON}), "BENHAN-5002", ward)
    v1_write = ward.headers("hung", "user/*.write")
    assert client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p2']}"),
                       headers={**v1_write, **FHIR_JSON}).status_code == 201
    refused_without_detail(client.get("/fhir/Observation", headers=v1_write), "BENHAN-5002", ward)


def test_a_patient_scope_limits_the_token_to_that_one_patient(client, ward):
    p3_app = ward.headers("hung", "launch/patient patient/*.rs", patient=ward.ids["p3"])
    assert ids(client.get("/fhir/Observation", headers=p3_app).json()) == names(ward, "o3")
    assert ids(client.get("/fhir/Patient", headers=p3_app).json()) == names(ward, "p3")
    refused_without_detail(client.get(f"/fhir/Patient/{ward.ids['p2']}", headers=p3_app), "BENHAN-5003", ward)
    # Not even for a patient outside the user's own scope: the nurse's app in p2's context sees nothing.
    p2_nurse = ward.headers("lan", "patient/*.rs", patient=ward.ids["p2"])
    refused_without_detail(client.get(f"/fhir/Patient/{ward.ids['p2']}", headers=p2_nurse), "BENHAN-5002", ward)


def test_system_scopes_for_a_backend_client(client, ward, store):
    from tests.auth_helpers import token_for
    read_only = token_for(store, "system/*.rs")
    assert len(ids(client.get("/fhir/Observation", headers=read_only).json())) == 3
    refused_without_detail(client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p1']}"),
                                       headers={**read_only, **FHIR_JSON}), "BENHAN-5002", ward)
    v1_all = token_for(store, "system/*.*")
    assert client.post("/fhir/Observation", json=observation(f"Patient/{ward.ids['p1']}"),
                       headers={**v1_all, **FHIR_JSON}).status_code == 201
    obs_only = token_for(store, "system/Observation.cruds")
    refused_without_detail(client.get("/fhir/Patient", headers=obs_only), "BENHAN-5002", ward)


def test_a_department_may_be_a_ward_location_instead_of_an_organization(client, ward, store):
    from benhan.auth import users
    from tests.auth_helpers import token_for
    ward_a = ward.create({"resourceType": "Location", "name": "Buồng 3 - Khoa Nội"}, "ward_a")
    p4 = ward.create({"resourceType": "Patient", "name": [{"family": "Đinh"}]}, "p4")
    enc = ward_mod.encounter(p4, ward.ids["medicine"])
    enc.pop("serviceProvider")
    enc["location"] = [{"location": {"reference": f"Location/{ward_a}"}}]
    ward.create(enc, "e4")
    hoa = users.create_user(store, "dd.hoa", "Hoa", ["nurse"], departments=[ward_a], password=ward_mod.PASSWORD)[0]
    found = client.get("/fhir/Patient", headers=token_for(store, "user/*.rs", user_pk=hoa.pk)).json()
    assert ids(found) == {p4}
