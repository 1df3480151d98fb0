"""What a workflow needs whole is read whole, page after page: a stay's drug orders and doses, its
procedures, its critical flags, a bill's charge items. Each used to be one search page with a large
_count, silently cut at the server's page-size cap (1,000) or at its own number (500 drug orders,
100 reports …): a long stay's doses past the cut showed as not given. Here the cap is 7 and each
list holds more. Both databases."""
from __future__ import annotations

import pytest

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.clinical import administration, infusion
from benhan.lab import critical, validation
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests.forms import seed

CAP = 7


@pytest.fixture
def small_pages(db_config: config_mod.Config):  # noqa: ANN201
    s = Store.open(config_mod.Config({**db_config.values, "max_page_size": CAP}))
    yield s
    s.close()


def _drug_order(patient: str, encounter: str, i: int) -> dict:
    return {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": f"Thuốc {i}"},
            "subject": {"reference": f"Patient/{patient}"}, "encounter": {"reference": f"Encounter/{encounter}"}}


def test_every_page_of_a_search_is_read(small_pages):  # noqa: ANN001
    ids = seed.build(small_pages)
    repo = Repository(small_pages, Actor.system())
    made = {repo.create("MedicationRequest", _drug_order(ids["patient"], ids["encounter"], i)).res_id
            for i in range(3 * CAP + 2)}
    assert len(repo.search_type("MedicationRequest", [("encounter", f"Encounter/{ids['encounter']}"),
                                                      ("_count", "500")]).matches) == CAP   # one page: cut
    assert {o["id"] for o in administration.orders_of(repo, ids["encounter"])} >= made
    got = repo.search_all("MedicationRequest", [("encounter", f"Encounter/{ids['encounter']}"), ("_sort", "-_id"),
                                                ("_count", "3")])
    assert [m.res_id for m in got] == sorted({m.res_id for m in got}, reverse=True) and {m.res_id for m in got} >= made


def test_a_long_stays_infusions_and_critical_flags_are_all_listed(small_pages):  # noqa: ANN001
    ids = seed.build(small_pages)
    repo = Repository(small_pages, Actor.system())
    enc = {"reference": f"Encounter/{ids['encounter']}"}
    pat = {"reference": f"Patient/{ids['patient']}"}
    for i in range(CAP + 3):
        repo.create("MedicationAdministration", {
            "resourceType": "MedicationAdministration", "status": "in-progress", "subject": pat, "context": enc,
            "contained": [{"resourceType": "Medication", "id": "fluid", "code": {"text": f"NaCl 0,9% {i}"}}],
            "medicationReference": {"reference": "#fluid"},
            "effectivePeriod": {"start": f"2026-12-14T{i:02d}:00:00+07:00"}})
    assert len(infusion.of_visit(repo, ids["encounter"])) == CAP + 3
    for i in range(CAP + 2):
        flag = critical.flag_for({"code": {"text": "Kali"}, "valueQuantity": {"value": 7 + i / 10, "unit": "mmol/L"}},
                                 f"o{i}", {"subject": pat, "encounter": enc, "requester": {"display": "BS"}},
                                 f"2026-12-14T{i:02d}:30:00+07:00")
        repo.create("Flag", flag)
    assert len(validation.open_flags(repo, ids["encounter"])) == CAP + 2
    assert len(validation.flags_for(repo, Actor(name="bs", display="BS"))) == CAP + 2


def test_the_days_queue_lists_every_open_visit_with_its_patients_name(small_pages):  # noqa: ANN001
    from datetime import date

    from benhan.clinical import visits
    repo = Repository(small_pages, Actor.system())
    made = set()
    for i in range(2 * CAP + 1):
        pid = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": f"Bệnh nhân {i:02d}"}]}).res_id
        made.add(repo.create("Encounter", {
            "resourceType": "Encounter", "status": "arrived",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": f"2026-12-14T07:{i:02d}:00+07:00"}}).res_id)
    queue = visits.queue(repo, None, date(2026, 12, 14))
    assert {q.encounter_id for q in queue} == made
    assert sorted(q.patient_name for q in queue) == [f"Bệnh nhân {i:02d}" for i in range(2 * CAP + 1)]
    assert [q.start for q in queue] == sorted(q.start for q in queue)


def test_the_service_list_is_the_first_by_name_of_the_whole_catalogue(small_pages):  # noqa: ANN001
    """More services than a page: the browse list is the first ones by name (accents ignored, so
    "Điện tim" among the D's) of all of them, and a typed word finds every match."""
    from datetime import date
    from decimal import Decimal

    from benhan.clinical.catalogue.importer import import_rows
    from benhan.clinical.catalogue.layouts import SERVICE, Row
    from benhan.clinical.catalogue.lookup import services_on
    from benhan.fhir.text import fold
    names = [f"Xét nghiệm số {i:02d}" for i in range(3 * CAP)] + ["Điện tim thường", "Chụp X-quang ngực",
                                                                   "Đo chức năng hô hấp", "Siêu âm ổ bụng"]
    rows = [Row(line=2 + i, kind=SERVICE, code=f"01.{i:04d}.0001", name=name, unit="lần", price=Decimal(10_000 + i),
                start=date(2026, 1, 1), end=None, extra={"MA_NHOM": "2"})
            for i, name in enumerate(reversed(names))]
    import_rows(small_pages, rows)
    repo = Repository(small_pages, Actor.system())
    on = date(2026, 12, 14)
    by_name = sorted(names, key=fold)
    assert [s.name for s in services_on(repo, on, limit=5)] == by_name[:5]
    assert [s.name for s in services_on(repo, on, limit=100)] == by_name
    assert [s.name for s in services_on(repo, on, "xet nghiem", limit=100)] == by_name[by_name.index(names[0]):][:3 * CAP]
    assert [s.name for s in services_on(repo, on, "dien tim")] == ["Điện tim thường"]


def test_the_whole_formulary_is_offered_and_known_to_the_checks(small_pages):  # noqa: ANN001
    from benhan.clinical import prescriptions
    repo = Repository(small_pages, Actor.system())
    for i in range(2 * CAP + 3):
        repo.create("Medication", {"resourceType": "Medication", "status": "active",
                                   "code": {"text": f"Thuốc {i:02d}"},
                                   "ingredient": [{"itemCodeableConcept": {"text": f"Hoạt chất {i:02d}"}}]})
    drugs = prescriptions.catalogue(repo)
    assert [d.name for d in drugs] == [f"Thuốc {i:02d}" for i in range(2 * CAP + 3)]
    assert len(prescriptions.ingredient_names(drugs)) == 2 * CAP + 3


def test_the_dispensing_queue_is_not_emptied_by_lines_already_dispensed(small_pages):  # noqa: ANN001
    """A dispensed line stays active (its order goes on): more of them than a page, oldest first,
    had left the queue empty and the next prescription impossible to hand over."""
    from datetime import date

    from benhan.clinical import dispensing
    ids = seed.build(small_pages)
    repo = Repository(small_pages, Actor.system())
    today = date(2026, 12, 14)

    def line(i: int, day: int) -> str:
        body = _drug_order(ids["patient"], ids["encounter"], i)
        body |= {"groupIdentifier": {"value": f"DON-{i:02d}"}, "authoredOn": f"2026-12-{day:02d}T08:{i:02d}:00+07:00"}
        return repo.create("MedicationRequest", body).res_id

    for i in range(2 * CAP):
        rid = line(i, 13)
        repo.create("MedicationDispense", {"resourceType": "MedicationDispense", "status": "completed",
                                           "medicationCodeableConcept": {"text": f"Thuốc {i}"},
                                           "subject": {"reference": f"Patient/{ids['patient']}"},
                                           "authorizingPrescription": [{"reference": f"MedicationRequest/{rid}"}]})
    waiting = line(50, 14)
    line(51, 1)                                 # written two weeks ago: past the 5 days it may be collected
    queue = dispensing.to_dispense(repo, today=today)
    assert [(p.number, [x["id"] for x in p.lines]) for p in queue if p.number.startswith("DON-")] == [("DON-50", [waiting])]
    assert [p.number for p in dispensing.to_dispense(repo, today=today, number="DON-50")] == ["DON-50"]
    assert dispensing.to_dispense(repo, today=today, number="DON-51") == []


def test_a_long_stays_record_holds_every_entry_past_what_one_search_brings_in(store, client):  # noqa: ANN001
    """Hourly vital signs for weeks: more entries than one search's _revinclude brings in (5,000).
    Over the FHIR API, such a page says that there may be more."""
    from benhan.clinical import chart
    from benhan.store import bundles
    from benhan.store.includes import MAX_INCLUDED
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    before = len(chart.visit(repo, repo.read("Encounter", ids["encounter"]).json(),
                             repo.read("Patient", ids["patient"]).json()).observations)
    extra = MAX_INCLUDED + 10
    for start in range(0, extra, 1000):
        bundles.process_bundle(repo, {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Observation", "status": "final",
                          "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                                    "code": "vital-signs"}]}],
                          "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                          "subject": {"reference": f"Patient/{ids['patient']}"},
                          "encounter": {"reference": f"Encounter/{ids['encounter']}"},
                          "effectiveDateTime": f"2026-12-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00+07:00",
                          "valueQuantity": {"value": 60 + i % 40, "unit": "/min"}},
             "request": {"method": "POST", "url": "Observation"}} for i in range(start, min(extra, start + 1000))]},
            "http://localhost/fhir")
    record = chart.visit(repo, repo.read("Encounter", ids["encounter"]).json(), repo.read("Patient", ids["patient"]).json())
    assert len(record.observations) == before + extra
    assert record.conditions and record.prescriptions          # the other kinds are all there too

    def outcomes(query: str) -> list[dict]:
        r = client.get(f"/fhir/Encounter?_id={ids['encounter']}&{query}")
        assert r.status_code == 200, r.text
        return [e["resource"] for e in r.json().get("entry", []) if e["search"]["mode"] == "outcome"]
    (said,) = outcomes("_revinclude=Observation:encounter")
    assert said["issue"][0]["severity"] == "warning" and "5000" in said["issue"][0]["details"]["text"]
    assert outcomes("_revinclude=Condition:encounter") == []


def test_the_bill_is_made_from_every_order_of_a_long_stay(store):  # noqa: ANN001
    """A stay with more orders than one search brings in: the record the charges are computed
    from (billing.charges) holds every one, and the patient and their coverage."""
    from benhan.billing import charges
    from benhan.store import bundles
    from benhan.store.includes import MAX_INCLUDED
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    before = charges._records(repo, [ids["encounter"]])[ids["encounter"]]
    extra = MAX_INCLUDED + 5
    for start in range(0, extra, 1000):
        bundles.process_bundle(repo, {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": _drug_order(ids["patient"], ids["encounter"], i), "request": {"method": "POST", "url": "MedicationRequest"}}
            for i in range(start, min(extra, start + 1000))]}, "http://localhost/fhir")
    record = charges._records(repo, [ids["encounter"]])[ids["encounter"]]
    assert len(record["MedicationRequest"]) == len(before.get("MedicationRequest", [])) + extra
    assert record["Patient"] == before["Patient"] and len(record.get("Coverage", [])) == len(before.get("Coverage", []))
    assert len(record.get("ServiceRequest", [])) == len(before.get("ServiceRequest", []))


def _open_stays(repo: Repository, n: int, department: str | None = None) -> dict[str, str]:
    """n patients each in an open inpatient stay since the day before (one transaction): {encounter: patient}."""
    from benhan.store import bundles
    entries = []
    for i in range(n):
        p, e = f"urn:uuid:00000000-0000-4000-8000-{2 * i:012d}", f"urn:uuid:00000000-0000-4000-8000-{2 * i + 1:012d}"
        entries.append({"fullUrl": p, "resource": {"resourceType": "Patient", "name": [{"text": f"Nội trú {i:03d}"}]},
                        "request": {"method": "POST", "url": "Patient"}})
        stay = {"resourceType": "Encounter", "status": "in-progress",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "subject": {"reference": p}, "period": {"start": "2026-12-13T08:00:00+07:00"}}
        if department:
            stay["location"] = [{"location": {"reference": f"Location/{department}"}, "status": "active"}]
        entries.append({"fullUrl": e, "resource": stay, "request": {"method": "POST", "url": "Encounter"}})
    out = bundles.process_bundle(repo, {"resourceType": "Bundle", "type": "transaction", "entry": entries},
                                 "http://localhost/fhir")
    made = [x["response"]["location"].split("/")[1] for x in out["entry"]]
    return dict(zip(made[1::2], made[0::2]))


# More open stays than one search takes values (fhir.search.MAX_VALUES, 200) and than a page (CAP): the
# rounds, the doses and the ward board of a whole hospital had been refused ("more than 200 search
# values") or cut at the first page of stays.
MANY_STAYS = 205


def test_the_rounds_and_doses_of_every_open_stay_are_listed(small_pages):  # noqa: ANN001
    from datetime import datetime

    from benhan.clinical import rounds
    from benhan.clinical.common import zone
    repo = Repository(small_pages, Actor.system())
    stays = _open_stays(repo, MANY_STAYS)
    last = sorted(stays)[-1]
    repo.create("MedicationRequest", {
        **_drug_order(stays[last], last, 1), "authoredOn": "2026-12-13T08:00:00+07:00",
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                               "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "viên"}}]}]})
    clock = datetime(2026, 12, 14, 20, 0, tzinfo=zone("+07:00"))
    due = rounds.due_rounds(repo, clock)
    assert {r.encounter_id for r in due} == set(stays)
    assert {r.patient for r in due} == {f"Nội trú {i:03d}" for i in range(MANY_STAYS)}
    doses = administration.pending(repo, clock, "+07:00")
    assert doses and {d.encounter_id for d in doses} == {last}
    assert {d.patient for d in doses} == {repo.read("Patient", stays[last]).json()["name"][0]["text"]}


def test_the_ward_board_lists_every_open_stay_of_the_department(small_pages):  # noqa: ANN001
    from datetime import datetime

    from benhan.clinical import ward_board
    from benhan.clinical.common import zone
    repo = Repository(small_pages, Actor.system())
    dept = repo.create("Location", {"resourceType": "Location", "name": "Khoa Nội", "status": "active"}).res_id
    stays = _open_stays(repo, MANY_STAYS, dept)
    allergic = stays[sorted(stays)[-1]]
    repo.create("AllergyIntolerance", {"resourceType": "AllergyIntolerance", "code": {"text": "Penicilin"},
                                       "patient": {"reference": f"Patient/{allergic}"}})
    board = ward_board.board(repo, dept, datetime(2026, 12, 14, 20, 0, tzinfo=zone("+07:00")))
    assert {r.encounter_id for r in board.rows} == set(stays)
    assert [r.patient_id for r in board.rows if r.allergy] == [allergic]
    assert all(r.vitals_overdue for r in board.rows)


def test_the_pharmacist_sees_every_allergy_of_the_patient_at_the_window(small_pages):  # noqa: ANN001
    from datetime import date

    from benhan.clinical import dispensing
    ids = seed.build(small_pages)
    repo = Repository(small_pages, Actor.system())
    before = {a.get("code", {}).get("text") for a in (m.json() for m in repo.search_all(
        "AllergyIntolerance", [("patient", f"Patient/{ids['patient']}")]))}
    for i in range(CAP + 2):
        repo.create("AllergyIntolerance", {"resourceType": "AllergyIntolerance", "code": {"text": f"Dị ứng {i:02d}"},
                                           "patient": {"reference": f"Patient/{ids['patient']}"}})
    repo.create("MedicationRequest", {**_drug_order(ids["patient"], ids["encounter"], 1),
                                      "groupIdentifier": {"value": "DON-ALLERGY"},
                                      "authoredOn": "2026-12-14T08:00:00+07:00"})
    (rx,) = dispensing.to_dispense(repo, today=date(2026, 12, 14), number="DON-ALLERGY")
    assert set(rx.allergies) == {f"Dị ứng {i:02d}" for i in range(CAP + 2)} | (before - {None})


def test_a_chronic_patients_sick_leave_of_this_visit_is_found_among_many(small_pages):  # noqa: ANN001
    """A patient off work month after month: this visit's certificate comes after more of the earlier
    visits' than a page holds, and the visit page and the printed form still find it."""
    from datetime import datetime
    from types import SimpleNamespace

    from benhan.clinical import sick_leave
    from benhan.clinical.common import zone
    from benhan.documents.forms import data as form_data
    ids = seed.build(small_pages)
    repo = Repository(small_pages, Actor.system())
    doctor = Actor(name="bs", display="BS")
    subject = {"reference": f"Patient/{ids['patient']}"}
    for i in range(CAP + 3):
        sick_leave.record(repo, doctor, {"id": f"earlier-{i}", "subject": subject,
                                         "period": {"start": f"2025-{1 + i % 12:02d}-01"}},
                          {"leave_from": f"2025-{1 + i % 12:02d}-02", "leave_to": f"2025-{1 + i % 12:02d}-05"})
    encounter = repo.read("Encounter", ids["encounter"]).json()
    start = encounter["period"]["start"][:10]
    seeded = [b["id"] for b in sick_leave.of_visit(repo, encounter)]        # the seed's own certificate
    mine = sick_leave.record(repo, doctor, encounter, {"leave_from": start, "leave_to": start},
                             clock=datetime(2026, 12, 21, 9, 0, tzinfo=zone("+07:00")))
    assert [b["id"] for b in sick_leave.of_visit(repo, encounter)] == [mine, *seeded]
    ctx = SimpleNamespace(patient=repo.read("Patient", ids["patient"]).json(), encounter=encounter)
    assert (form_data.sick_leave_of(repo, ctx) or {}).get("id") == mine
