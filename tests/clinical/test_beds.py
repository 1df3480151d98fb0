"""Beds of the wards (clinical.beds): a nurse admits to a bed of the department, moves bed, sends the
patient on leave (the bed kept) and back; a transfer frees the old bed and takes one in the new
department; discharge frees the bed. A bed holds one patient: two nurses taking the same free bed at
the same moment, on real threads against SQLite and PostgreSQL, end with exactly one in it. The ward
board counts days from the admission's calendar day in the facility's zone. Fixed past times."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical import beds, discharge, registration, transfers, visits, ward_board
from benhan.clinical.common import FormInvalid
from benhan.clinical.demo import facility_bundle
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository

ICT = timezone(timedelta(hours=7))
DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=ICT)


@pytest.fixture
def ward(store):  # noqa: ANN001, ANN201
    """The demo station with two departments, each with a room of beds, and a nurse of the facility."""
    from benhan.auth import users
    from benhan.auth.policy import actor_for_user
    system = Repository(store, Actor.system())
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    fac = visits.facility(system)
    deps = {}
    for name in ("Khoa Nội tổng hợp", "Khoa Ngoại chấn thương"):
        deps[name] = system.create("Location", {"resourceType": "Location", "status": "active", "name": name,
                                                "managingOrganization": {"reference": f"Organization/{fac.organization_id}"}}).res_id
    bed_ids = {}
    for name, did in deps.items():
        room = beds.define_room(system, DOCTOR, did, "Buồng 1")
        for n in (1, 2):
            bed_ids[(name, n)] = beds.define_bed(system, DOCTOR, room, f"Giường {n}")
    u, _ = users.create_user(store, "lan", "Nguyễn Thị Lan", ["nurse"], password="mật khẩu rất dài 2026!")
    nurse = Repository(store, actor_for_user(store, u))
    return {"repo": system, "nurse": nurse, "deps": deps, "beds": bed_ids, "fac": fac}


def admit(ward: dict, cccd: str, name: str, when: datetime, dept: str = "Khoa Nội tổng hợp") -> str:
    repo = ward["repo"]
    f = registration.PatientForm.from_mapping({"cccd": cccd, "name": name, "birth_date": "05/06/1960",
                                               "gender": "male"})
    pid = registration.register(repo, f, DOCTOR, date(2025, 3, 1), ward["fac"].organization_id).patient_id
    return visits.open_visit(repo, DOCTOR, pid, "noi-tru", ward["deps"][dept], "Đau bụng", ward["fac"], when=when)


def enc(ward: dict, eid: str) -> dict:
    return ward["repo"].read("Encounter", eid).json()


def bed(ward: dict, key: tuple[str, int]) -> dict:
    return ward["repo"].read("Location", ward["beds"][key]).json()


def errors_of(call) -> dict:  # noqa: ANN001
    with pytest.raises(FormInvalid) as e:
        call()
    return {k: v[0] for k, v in e.value.errors.items()}


def test_rooms_and_beds_are_locations_and_not_places_to_open_a_visit(ward: dict) -> None:
    b = bed(ward, ("Khoa Nội tổng hợp", 1))
    assert beds.physical_type(b) == "bd" and beds.operational(b) == "U"
    room = ward["repo"].read("Location", b["partOf"]["reference"].split("/")[1]).json()
    assert beds.physical_type(room) == "ro" and room["partOf"]["reference"] == f"Location/{ward['deps']['Khoa Nội tổng hợp']}"
    names = [n for _, n in visits.locations(ward["repo"])]
    assert "Khoa Nội tổng hợp" in names and "Giường 1" not in names and "Buồng 1" not in names
    assert [n for _, n in beds.departments_with_beds(ward["repo"])] == ["Khoa Ngoại chấn thương", "Khoa Nội tổng hợp"]
    assert errors_of(lambda: beds.define_bed(ward["repo"], DOCTOR, ward["deps"]["Khoa Nội tổng hợp"], "G9")) == {
        "bed_room": "ui.err.choose"}


def test_the_stay_bed_by_bed(ward: dict) -> None:
    nurse, fac = ward["nurse"], ward["fac"]
    eid = admit(ward, "038060001234", "Nguyễn Văn An", at(10, 8))
    beds.assign(nurse, nurse.actor, enc(ward, eid), ward["beds"][("Khoa Nội tổng hợp", 1)], when=at(10, 9))
    assert beds.occupant(bed(ward, ("Khoa Nội tổng hợp", 1))) == eid
    e = enc(ward, eid)
    assert e["status"] == "in-progress" and beds.current_bed(e)["location"]["display"] == "Giường 1"
    assert beds.current_room(e)["location"]["display"] == "Buồng 1"
    # The department stays are unchanged by the bed entries (01/BV1 items 15–16).
    assert [s.name for s in transfers.stays(e)] == ["Khoa Nội tổng hợp"]
    # Another department's bed is refused; moving bed frees the first.
    assert errors_of(lambda: beds.assign(nurse, nurse.actor, enc(ward, eid), ward["beds"][("Khoa Ngoại chấn thương", 1)],
                                         when=at(10, 10))) == {"bed": "ui.bed.err.other_department"}
    beds.assign(nurse, nurse.actor, enc(ward, eid), ward["beds"][("Khoa Nội tổng hợp", 2)], when=at(11, 7))
    assert beds.operational(bed(ward, ("Khoa Nội tổng hợp", 1))) == "U"
    assert beds.occupant(bed(ward, ("Khoa Nội tổng hợp", 2))) == eid
    assert [(s.name, s.start, s.end) for s in beds.bed_stays(enc(ward, eid))] == [
        ("Giường 1", at(10, 9).isoformat(), at(11, 7).isoformat()), ("Giường 2", at(11, 7).isoformat(), "")]
    # Leave of absence: onleave, the bed kept (nobody else may take it), then back.
    beds.start_leave(nurse, nurse.actor, enc(ward, eid), when=at(12, 14), until=at(13, 8))
    e = enc(ward, eid)
    assert e["status"] == "onleave" and beds.current_bed(e)["status"] == "reserved"
    assert e["statusHistory"][-1] == {"status": "onleave", "period": {"start": at(12, 14).isoformat(),
                                                                     "end": at(13, 8).isoformat()}}
    other = admit(ward, "038060005678", "Trần Văn Bình", at(12, 15))
    assert errors_of(lambda: beds.assign(nurse, nurse.actor, enc(ward, other), ward["beds"][("Khoa Nội tổng hợp", 2)],
                                         when=at(12, 16))) == {"bed": "ui.bed.err.occupied"}
    assert errors_of(lambda: beds.start_leave(nurse, nurse.actor, enc(ward, eid), when=at(12, 15))) == {
        "leave": "ui.bed.err.leave_status"}
    beds.end_leave(nurse, nurse.actor, enc(ward, eid), when=at(13, 7))
    e = enc(ward, eid)
    assert e["status"] == "in-progress" and beds.current_bed(e)["status"] == "active"
    assert e["statusHistory"][-1]["period"]["end"] == at(13, 7).isoformat()
    # Transfer with a bed in the new department: the old bed is free, the new one taken, one transaction.
    transfers.transfer(ward["repo"], DOCTOR, enc(ward, eid), ward["deps"]["Khoa Ngoại chấn thương"], fac,
                       when=at(14, 10), bed_id=ward["beds"][("Khoa Ngoại chấn thương", 1)])
    assert beds.operational(bed(ward, ("Khoa Nội tổng hợp", 2))) == "U"
    assert beds.occupant(bed(ward, ("Khoa Ngoại chấn thương", 1))) == eid
    e = enc(ward, eid)
    assert [(s.name, s.days) for s in transfers.stays(e)] == [("Khoa Nội tổng hợp", 4), ("Khoa Ngoại chấn thương", None)]
    # Discharge frees the bed.
    discharge.discharge(ward["repo"], DOCTOR, e, {"result": "2", "disposition": "home",
                                                  "pathology": "lanh-tinh", "d_tinh_trang_ra_vien": "Ổn định"}, when=at(16, 9))
    assert beds.operational(bed(ward, ("Khoa Ngoại chấn thương", 1))) == "U"
    assert beds.current_bed(enc(ward, eid)) is None


def test_a_bed_whose_stay_ended_elsewhere_is_free_on_the_board(ward: dict) -> None:
    nurse = ward["nurse"]
    eid = admit(ward, "038060001234", "Nguyễn Văn An", at(10, 8))
    beds.assign(nurse, nurse.actor, enc(ward, eid), ward["beds"][("Khoa Nội tổng hợp", 1)], when=at(10, 9))
    board = ward_board.board(nurse, ward["deps"]["Khoa Nội tổng hợp"], at(12, 10))
    row = next(r for r in board.rows if r.encounter_id)
    assert (row.bed.name, row.patient, row.day, row.vitals_overdue) == ("Giường 1", "Nguyễn Văn An", 3, True)
    assert (board.occupied, board.free) == (1, 1)
    # Finished through the API (no bed release): the board shows the bed free and it can be taken.
    body = {k: v for k, v in enc(ward, eid).items() if k != "meta"}
    body["status"] = "finished"
    ward["repo"].update("Encounter", eid, body)
    board = ward_board.board(nurse, ward["deps"]["Khoa Nội tổng hợp"], at(12, 10))
    assert (board.occupied, board.free) == (0, 2)
    other = admit(ward, "038060005678", "Trần Văn Bình", at(12, 15))
    beds.assign(nurse, nurse.actor, enc(ward, other), ward["beds"][("Khoa Nội tổng hợp", 1)], when=at(12, 16))
    assert beds.occupant(bed(ward, ("Khoa Nội tổng hợp", 1))) == other


def _observation(ward: dict, eid: str, category: str, when: datetime, flag: str = "N") -> None:
    from benhan.clinical.common import INTERPRETATION, LOINC, OBS_CATEGORY
    e = enc(ward, eid)
    ward["repo"].create("Observation", {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": "8867-4" if category == "vital-signs" else "2345-7"}]},
        "subject": e["subject"], "encounter": {"reference": f"Encounter/{eid}"},
        "effectiveDateTime": when.isoformat(), "valueQuantity": {"value": 80},
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": flag}]}]})


def test_the_board_flags_vitals_older_than_a_day_and_counts_only_the_last_days_critical_results(ward: dict) -> None:
    # Two stays searched together (one encounter=A,B search): the board must tell them apart.
    nurse = ward["nurse"]
    now = at(12, 10)
    stale = admit(ward, "038060001234", "Nguyễn Văn An", at(10, 8))
    fresh = admit(ward, "038060005678", "Trần Thị Bình", at(10, 9))
    beds.assign(nurse, nurse.actor, enc(ward, stale), ward["beds"][("Khoa Nội tổng hợp", 1)], when=at(10, 9))
    beds.assign(nurse, nurse.actor, enc(ward, fresh), ward["beds"][("Khoa Nội tổng hợp", 2)], when=at(10, 10))
    _observation(ward, stale, "vital-signs", now - timedelta(hours=25))
    _observation(ward, stale, "laboratory", now - timedelta(hours=25), "HH")    # a day old: not on the board
    _observation(ward, stale, "laboratory", now - timedelta(hours=2))            # recent, but no vital sign
    _observation(ward, fresh, "vital-signs", now - timedelta(hours=1))
    _observation(ward, fresh, "laboratory", now - timedelta(hours=3), "LL")
    rows = {r.encounter_id: r for r in ward_board.board(nurse, ward["deps"]["Khoa Nội tổng hợp"], now).rows}
    assert (rows[stale].vitals_overdue, rows[stale].critical, rows[stale].alerts) == (True, 0, ["vitals"])
    assert (rows[fresh].vitals_overdue, rows[fresh].critical, rows[fresh].alerts) == (False, 1, ["critical"])
    # Two hours later the 25-hour-old round is still overdue and the new one not yet.
    rows = {r.encounter_id: r for r in ward_board.board(nurse, ward["deps"]["Khoa Nội tổng hợp"],
                                                        now + timedelta(hours=2)).rows}
    assert (rows[stale].vitals_overdue, rows[fresh].vitals_overdue) == (True, False)


@pytest.mark.parametrize("zone_hours, day", [(7, 1), (-5, 2), (0, 2)])
def test_days_in_hospital_count_calendar_days_in_the_facility_zone(zone_hours: int, day: int) -> None:
    # Admitted 05:30 on 2 March in Hà Nội = 22:30 UTC and 17:30 in UTC−5 on 1 March (across midnight):
    # on 2 March it is day 1 for a facility in Hà Nội, day 2 for one on UTC or UTC−5.
    e = {"period": {"start": datetime(2025, 3, 2, 5, 30, tzinfo=ICT).isoformat()}}
    sign = "+" if zone_hours >= 0 else "-"
    tz = f"{sign}{abs(zone_hours):02d}:00"
    assert beds.days_in_hospital(e, date(2025, 3, 2), tz) == day


def test_two_nurses_taking_the_same_bed_at_once_one_succeeds(ward: dict) -> None:
    """Both read the bed as free, then write at the same moment (a barrier): exactly one commits."""
    from benhan.auth import users
    from benhan.auth.policy import actor_for_user
    store = ward["repo"].store
    u, _ = users.create_user(store, "hoa", "Lê Thị Hoa", ["nurse"], password="mật khẩu rất dài 2026!")
    nurses = [ward["nurse"], Repository(store, actor_for_user(store, u))]
    eids = [admit(ward, "038060001234", "Nguyễn Văn An", at(10, 8)),
            admit(ward, "038060005678", "Trần Văn Bình", at(10, 8))]
    target = ward["beds"][("Khoa Nội tổng hợp", 1)]
    barrier = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def take(i: int) -> None:
        repo = nurses[i]
        encounter = repo.read("Encounter", eids[i]).json()
        body = {k: v for k, v in encounter.items() if k != "meta"}
        writes = beds.claim_writes(repo, repo.actor, body, target, at(10, 9))
        version = int(encounter["meta"]["versionId"])
        pending = [repo.prepare("PUT", "Encounter", eids[i], body, if_match=version), *writes]
        barrier.wait(timeout=30)
        try:
            repo.commit(pending, "transaction")
            outcome[i] = "ok"
        except errors.VersionConflict:
            outcome[i] = "conflict"
    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcome.values()) == ["conflict", "ok"]
    winner = eids[next(i for i, o in outcome.items() if o == "ok")]
    loser = eids[next(i for i, o in outcome.items() if o == "conflict")]
    assert beds.occupant(bed(ward, ("Khoa Nội tổng hợp", 1))) == winner
    assert beds.current_bed(enc(ward, loser)) is None          # nothing of the loser's write remains
    # The loser's nurse, trying again, is told the bed is taken.
    assert errors_of(lambda: beds.assign(nurses[0], nurses[0].actor, enc(ward, loser), target, when=at(10, 10))) == {
        "bed": "ui.bed.err.occupied"}


def test_01bv1_prints_the_room_the_beds_and_the_transfer(ward: dict) -> None:
    import io

    import pdfplumber

    from benhan.clinical.printouts import forms
    from benhan.documents.forms import printing
    nurse = ward["nurse"]
    eid = admit(ward, "038060001234", "Nguyễn Văn An", at(10, 8))
    beds.assign(nurse, nurse.actor, enc(ward, eid), ward["beds"][("Khoa Nội tổng hợp", 1)], when=at(10, 9))
    beds.assign(nurse, nurse.actor, enc(ward, eid), ward["beds"][("Khoa Nội tổng hợp", 2)], when=at(11, 7, 30))
    transfers.transfer(ward["repo"], DOCTOR, enc(ward, eid), ward["deps"]["Khoa Ngoại chấn thương"], ward["fac"],
                       when=at(14, 10, 15), bed_id=ward["beds"][("Khoa Ngoại chấn thương", 1)])
    ctx = forms.gather(Repository(ward["repo"].store, Actor.system()), eid, date(2025, 3, 20))
    body = printing.print_form(Repository(ward["repo"].store, Actor.system()), ctx, "inpatient", DOCTOR,
                               at(20, 9), "http://benhan.test").pdf
    with pdfplumber.open(io.BytesIO(body)) as doc:
        text = " ".join((page.extract_text() or "").replace("\n", " ") for page in doc.pages)
    assert "Buồng 1" in text.split("Buồng", 1)[1][:40]
    for wanted in ("Giường 1 (09:00 10/03/2025)", "Giường 2 (07:30 11/03/2025)", "Giường 1 (10:15 14/03/2025)",
                   "Khoa Ngoại chấn thương", "10:15 14/03/2025"):
        assert wanted in text, wanted


def test_the_demo_facility_has_beds_in_its_inpatient_departments(store) -> None:  # noqa: ANN001
    from benhan.clinical.load_demo import load_demo
    load_demo(store, patients=3, seed=5)
    repo = Repository(store, Actor.system())
    deps = dict((name, did) for did, name in beds.departments_with_beds(repo))
    assert sorted(deps) == ["Khoa Ngoại", "Khoa Nhi", "Khoa Nội"]
    layout = beds.layout(repo, deps["Khoa Nội"])
    assert len(layout) == 12 and {b.status for b in layout} == {"U"}
    assert [b.name for b in layout][:5] == ["Giường 1", "Giường 2", "Giường 3", "Giường 4", "Giường 5"]
    versions = {b.id: b.version for b in layout}
    load_demo(store, patients=3, seed=5)          # again: nothing new
    assert {b.id: b.version for b in beds.layout(repo, deps["Khoa Nội"])} == versions
