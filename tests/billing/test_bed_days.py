"""Bed-days of an inpatient stay for the bill (TT 35/2016 Đ4c as added by TT 39/2024, vietnam-billing.md
§2.3): calendar dates where the facility is — a stay across midnight, a stay written in UTC by a FHIR
client — and one line per department when the patient was transferred, each with its MA_KHOA.
Fixed past times; the clock is injected."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from benhan.auth.actor import Actor
from benhan.billing import charges, coverage
from benhan.clinical import beds, discharge, registration, transfers, visits
from benhan.clinical.demo import facility_bundle
from benhan.clinical.demo_catalogue import load_demo_catalogue
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository

ICT = timezone(timedelta(hours=7))
UTC = timezone.utc
DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")


@pytest.fixture(scope="module")
def rules() -> coverage.Rules:
    return coverage.load_rules()


@pytest.mark.parametrize("start, end, disposition, tz, days", [
    # c) more than 4 h, under 24 h: one day, even across midnight
    (datetime(2025, 3, 1, 22, 0, tzinfo=ICT), datetime(2025, 3, 2, 3, 30, tzinfo=ICT), "home", "+07:00", 1),
    # d) 4 h or less: none
    (datetime(2025, 3, 1, 22, 0, tzinfo=ICT), datetime(2025, 3, 2, 1, 59, tzinfo=ICT), "home", "+07:00", 0),
    # b) discharge date − admission date, in the facility's dates: 06:00 2 March ICT is 23:00Z on 1 March
    (datetime(2025, 3, 1, 23, 0, tzinfo=UTC), datetime(2025, 3, 5, 3, 0, tzinfo=UTC), "home", "+07:00", 3),
    # the same instants for a facility on UTC: its dates are 1 and 5 March
    (datetime(2025, 3, 1, 23, 0, tzinfo=UTC), datetime(2025, 3, 5, 3, 0, tzinfo=UTC), "home", "+00:00", 4),
    # a) death or transfer to another facility: + 1
    (datetime(2025, 3, 2, 6, 0, tzinfo=ICT), datetime(2025, 3, 5, 10, 0, tzinfo=ICT), "exp", "+07:00", 4),
    (datetime(2025, 3, 2, 6, 0, tzinfo=ICT), datetime(2025, 3, 5, 10, 0, tzinfo=ICT), "other-hcf", "+07:00", 4),
])
def test_bed_days_are_counted_in_the_facility_calendar(rules, start, end, disposition, tz, days) -> None:  # noqa: ANN001
    assert charges.bed_days(start, end, disposition, False, rules, tz) == days


def test_a_transfer_splits_the_bed_days_by_department(store) -> None:  # noqa: ANN001
    repo = Repository(store, Actor.system())
    process_bundle(repo, facility_bundle(), "http://localhost/fhir")
    load_demo_catalogue(store)
    fac = visits.facility(repo)
    deps = {}
    for name, code in (("Khoa Nội tổng hợp", "K01"), ("Khoa Ngoại chấn thương", "K02")):
        deps[name] = repo.create("Location", {
            "resourceType": "Location", "status": "active", "name": name,
            "identifier": [{"system": charges.MA_KHOA_SYSTEM, "value": code}],
            "managingOrganization": {"reference": f"Organization/{fac.organization_id}"}}).res_id
        beds.define_bed(repo, DOCTOR, beds.define_room(repo, DOCTOR, deps[name], "Buồng 1"), "Giường 1")
    f = registration.PatientForm.from_mapping({"cccd": "038060001234", "name": "Nguyễn Văn An",
                                               "birth_date": "05/06/1960", "gender": "male"})
    pid = registration.register(repo, f, DOCTOR, date(2025, 3, 1), fac.organization_id).patient_id
    eid = visits.open_visit(repo, DOCTOR, pid, "noi-tru", deps["Khoa Nội tổng hợp"], "Sốt", fac,
                            when=datetime(2025, 3, 10, 8, 0, tzinfo=ICT))
    # The transfer at 10:15 on 14 March: that day is still the first department's (the day's bed-day
    # is taken at the admission's hour), 15 March the second's.
    transfers.transfer(repo, DOCTOR, repo.read("Encounter", eid).json(), deps["Khoa Ngoại chấn thương"], fac,
                       when=datetime(2025, 3, 14, 10, 15, tzinfo=ICT))
    discharge.discharge(repo, DOCTOR, repo.read("Encounter", eid).json(),
                        {"result": "2", "disposition": "home", "pathology": "lanh-tinh",
                         "d_tinh_trang_ra_vien": "Ổn định"}, when=datetime(2025, 3, 16, 9, 0, tzinfo=ICT))
    bill = charges.compute(repo, eid, on=date(2025, 3, 20))
    bed_lines = [(x.department, x.quantity) for x in bill.lines if x.kind == "bed"]
    assert bed_lines == [("K01", Decimal(5)), ("K02", Decimal(1))]
