"""From the record to the gateway, on both databases: a BHYT visit written the way the clinical
workflows write it (registration with a card, the exam, orders, a prescription, the ICD-10
diagnosis, the end of the visit) becomes claim tables whose totals are the prices of the day
worked out by hand; they pass validation, are queued, and the stand-in accepts them."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from benhan import errors
from benhan.claims import service, tables, validation
from benhan.claims.gateway import Gateway
from benhan.claims.standin import StandIn, State
from benhan.claims.record import episode_from_record
from benhan.clinical.common import ICD10
from benhan.outbox.queue import Outbox
from tests.billing.charges_world import AUGMENTIN, CT, XRAY, at, make_world
from tests.claims.conftest import PASSWORD

DAY = date(2026, 11, 20)


def ma_lk(world, eid: str) -> str:  # noqa: ANN001
    """The visit's MA_LK as the desk wrote it (clinical.visits): facility, date, id — not the id itself."""
    enc = world.system.read("Encounter", eid).json()
    return next(i["value"] for i in enc["identifier"] if i["system"] == "http://fhir.hl7.org.vn/core/sid/ma-lk")


def diagnose(world, eid: str, code: str, display: str) -> None:  # noqa: ANN001
    enc = world.system.read("Encounter", eid).json()
    cid = world.system.create("Condition", {
        "resourceType": "Condition", "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": ICD10, "code": code, "display": display}]},
        "subject": enc["subject"], "encounter": {"reference": f"Encounter/{eid}"}}).res_id
    enc.setdefault("diagnosis", []).append({"condition": {"reference": f"Condition/{cid}"}, "rank": 1, "use": {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "DD"}]}})
    world.system.update("Encounter", eid, enc)


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    return make_world(store)


def bhyt_visit(world) -> str:  # noqa: ANN001
    pid = world.patient("001090123401", "Nguyễn Văn An", bhyt="DN4790123456701")      # DN, level 4: 80 %
    eid = world.visit(pid, at(DAY), route="dang-ky")
    world.order(eid, XRAY, at(DAY, 9))
    world.order(eid, CT, at(DAY, 9, 30))
    world.prescribe(eid, AUGMENTIN, 10, at(DAY, 10))
    diagnose(world, eid, "I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)")
    world.end(eid, at(DAY, 11))
    return eid


def test_a_bhyt_visit_on_the_record_becomes_valid_claim_tables(world) -> None:  # noqa: ANN001
    eid = bhyt_visit(world)
    ep, lines = episode_from_record(world.system, eid)
    assert (ep.ma_lk, ep.name, ep.card, ep.object_code, ep.main_icd) == (
        ma_lk(world, eid), "Nguyễn Văn An", "DN4790123456701", "1.1", "I10")
    assert ep.ma_lk.startswith(f"{world.fac.code}261120")
    content = tables.claim_tables(ep, lines)
    report = validation.validate(content)
    assert report.ok, report.text()
    x1 = content[0].rows[0]
    # exam 50,600 + X-ray 65,400 + CT 536,000 + 10 × 14,500 = 797,000; the fund 80 % = 637,600.
    assert (x1["T_TONGCHI_BV"], x1["T_BHTT"], x1["T_BNCCT"], x1["T_THUOC"]) == (
        "797000.00", "637600.00", "159400.00", "145000.00")
    assert (x1["NGAY_VAO"], x1["NGAY_RA"], x1["MA_BENH_CHINH"], x1["GIOI_TINH"]) == (
        "202611200800", "202611201100", "I10", "1")
    assert [r["MA_THUOC"] for r in content[1].rows] == [AUGMENTIN[0]]
    assert {r["MA_DICH_VU"] for r in content[2].rows} >= {XRAY, CT}


def test_the_follow_up_is_found_behind_older_appointments_never_marked_fulfilled(world) -> None:  # noqa: ANN001
    """The patient's earlier appointments stay "booked" when nobody marked them fulfilled; the
    follow-up booked at this visit's end is the claim's NGAY_TAI_KHAM however many there are, and
    an appointment earlier the same day is not it."""
    from datetime import timedelta
    eid = bhyt_visit(world)
    pid = world.system.read("Encounter", eid).json()["subject"]["reference"]

    def book(start: datetime) -> str:
        return world.system.create("Appointment", {
            "resourceType": "Appointment", "status": "booked", "start": start.isoformat(),
            "participant": [{"actor": {"reference": pid}, "status": "accepted"}]}).res_id

    for i in range(8):
        book(at(DAY - timedelta(days=30 * (i + 1))))
    book(at(DAY, 7))                                    # the morning of the visit, before it ended at 11:00
    book(at(DAY + timedelta(days=28), 8))              # booked before the follow-up, for a later day
    follow_up = book(at(DAY + timedelta(days=14), 9))
    ep, _ = episode_from_record(world.system, eid)
    assert ep.appointment is not None
    assert (ep.appointment.number, ep.appointment.day) == (follow_up, DAY + timedelta(days=14))


def test_a_recorded_visit_is_queued_sent_and_accepted(world, seal) -> None:  # noqa: ANN001
    code = world.fac.code                                  # the demo facility's MA_CSKCB
    standin = StandIn(State(f"{code}_BV", PASSWORD, code, cert_pem=seal.cert_pem)).start()
    try:
        _queue_and_send(world, standin, seal, code)
    finally:
        standin.stop()


def _queue_and_send(world, standin, seal, code: str) -> None:  # noqa: ANN001
    eid = bhyt_visit(world)
    ep, lines = episode_from_record(world.system, eid)
    outbox = Outbox(world.store.db)
    now = datetime.now(timezone.utc)
    checkin = service.queue_checkin(outbox, ep, lines, seal, now)
    pk, _ = service.queue_claim(outbox, ep, lines, seal, now)
    assert checkin is not None
    gateway = Gateway(standin.url, f"{code}_BV", PASSWORD, "", "38")
    assert outbox.run_once(service.senders(gateway)) == 2
    assert {i.kind: i.state for i in outbox.items()} == {"bhyt-checkin": "sent", "bhyt-claim": "sent"}
    assert standin.state.stats()["accepted"] == [ma_lk(world, eid)]


def test_a_visit_without_a_card_cannot_be_claimed(world, seal) -> None:  # noqa: ANN001
    pid = world.patient("001090123402", "Trần Văn Bình")
    eid = world.visit(pid, at(DAY))
    diagnose(world, eid, "J06.9", "Nhiễm trùng đường hô hấp trên cấp")
    world.end(eid, at(DAY, 9))
    ep, lines = episode_from_record(world.system, eid)
    with pytest.raises(errors.ClaimNotPossible):
        service.prepare(ep, lines, seal, datetime.now(timezone.utc))


def test_the_days_finished_visits_are_queued_at_once_and_those_to_fix_reported(world, seal) -> None:  # noqa: ANN001
    good = bhyt_visit(world)
    pid = world.patient("001090123403", "Lê Thị Cúc", bhyt="DN4790123456702")
    undiagnosed = world.visit(pid, at(DAY, 13))
    world.order(undiagnosed, XRAY, at(DAY, 13, 30))
    world.end(undiagnosed, at(DAY, 14))
    other = world.patient("001090123404", "Võ Văn Dũng")
    no_card = world.visit(other, at(DAY, 15))
    world.end(no_card, at(DAY, 15, 30))
    outbox = Outbox(world.store.db)
    batch = service.queue_finished(world.system, outbox, seal, DAY.isoformat(), datetime.now(timezone.utc))
    assert (batch.queued, batch.already, batch.not_bhyt) == ([ma_lk(world, good)], [], [ma_lk(world, no_card)])
    assert [r.ma_lk for r in batch.invalid] == [ma_lk(world, undiagnosed)]
    assert "trường mã bệnh chính (MA_BENH_CHINH): bắt buộc nhưng đang để trống." in batch.invalid[0].text()
    assert sorted(i.kind for i in outbox.items()) == ["bhyt-checkin", "bhyt-claim"]
    again = service.queue_finished(world.system, outbox, seal, DAY.isoformat(), datetime.now(timezone.utc))
    assert (again.queued, again.already) == ([], [ma_lk(world, good)])


def test_a_patient_who_knows_only_the_year_of_birth_is_claimed_with_0000_for_month_and_day(world) -> None:  # noqa: ANN001
    """Many elderly patients know only their year of birth, and so does their card: NGAY_SINH has 0000
    for the month and day (QĐ 130), not 1 January, in every table that carries it and in the record
    export's ngaysinh; the claim still validates."""
    eid = bhyt_visit(world)
    pid = world.system.read("Encounter", eid).json()["subject"]["reference"].split("/")[1]
    patient = world.system.read("Patient", pid).json()
    patient["birthDate"] = "1948"
    world.system.update("Patient", pid, patient)
    ep, lines = episode_from_record(world.system, eid)
    content = tables.claim_tables(ep, lines)
    assert validation.validate(content).ok, validation.validate(content).text()
    births = {row["NGAY_SINH"] for t in content for row in t.rows if "NGAY_SINH" in row}
    assert births == {"194800000000"}
    patient["birthDate"] = "1948-07-15"
    world.system.update("Patient", pid, patient)
    ep, lines = episode_from_record(world.system, eid)
    assert tables.claim_tables(ep, lines)[0].rows[0]["NGAY_SINH"] == "194807150000"
