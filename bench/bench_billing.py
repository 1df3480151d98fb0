"""Charges from the record: what computing a visit's charge lines (billing.charges.charge_lines) and
storing its bill (billing.accounts.bill_for_encounter, first time and again) cost per visit, the
same for all visits at once (charges.compute_many, as a month's claims would), and listing the open bills — on SQLite, with the demo facility and catalogue.

The visits are a seeded mix: outpatient exams with imaging, laboratory and drugs; inpatient stays with
bed-days, a procedure and its supplies. The claim benchmark (bench_claims.py) starts from charge lines;
this one measures reading them from the record.

Usage: .venv/bin/python bench/bench_billing.py [--visits 200]
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import percentile, print_machine  # noqa: E402
from benhan import config as config_mod  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.billing import accounts, charges  # noqa: E402
from benhan.clinical import registration, visits  # noqa: E402
from benhan.clinical.catalogue import resources  # noqa: E402
from benhan.clinical.catalogue.importer import import_rows  # noqa: E402
from benhan.clinical.catalogue.layouts import SERVICE, SUPPLY, Row  # noqa: E402
from benhan.clinical.demo import facility_bundle  # noqa: E402
from benhan.clinical.demo_catalogue import BRANDS, SERVICES, load_demo_catalogue  # noqa: E402
from benhan.store.bundles import process_bundle  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402

VN = timezone(timedelta(hours=7))
DAY = date(2026, 11, 2)
# The exam and bed services billing/data/record_services.csv names, and a supply (the demo lists none).
EXTRA = [Row(line=2, kind=SERVICE, code="02.1896", name="Khám Nội", unit="lần", price=Decimal(50600),
             start=date(2026, 1, 1), extra={"MA_NHOM": "13"}),
         Row(line=3, kind=SERVICE, code="K15.1905", name="Giường Nội khoa", unit="ngày", price=Decimal(199100),
             start=date(2026, 1, 1), extra={"MA_NHOM": "15"}),
         Row(line=4, kind=SUPPLY, code="N03.01.070", name="Bơm tiêm 5ml", unit="cái", price=Decimal(1200),
             start=date(2026, 1, 1))]


def _order(repo: Repository, eid: str, pid: str, code: str, when: datetime) -> str:
    ad = repo.read("ActivityDefinition", resources.item_id(SERVICE, code)).json()
    return repo.create("ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order", "instantiatesCanonical": [ad["url"]],
        "code": {"coding": [{"system": resources.CODE_SYSTEM[SERVICE], "code": code}], "text": ad["title"]},
        "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"},
        "authoredOn": when.isoformat()}).res_id


def _visit(repo: Repository, fac: visits.Facility, room: str, i: int, rng: random.Random) -> str:
    form = {"cccd": f"0010900{i:05d}", "name": f"Bệnh nhân {i}", "birth_date": "01/01/1990", "gender": "male",
            "bhyt": f"DN479{i:010d}", "bhyt_from": "01/01/2026", "bhyt_to": "31/12/2026"}
    pid = registration.register(repo, registration.PatientForm.from_mapping(form), repo.actor, DAY,
                                fac.organization_id).patient_id
    start = datetime(2026, 11, 2, 7, tzinfo=VN) + timedelta(minutes=rng.randrange(0, 60 * 24 * 10))
    inpatient = rng.random() < 0.25
    eid = visits.open_visit(repo, repo.actor, pid, "noi-tru" if inpatient else "kham-benh", room, "", fac,
                            when=start, route="dang-ky")
    codes = [s[0] for s in SERVICES if s[5] is None]
    for k in range(rng.randint(2, 8)):
        order = _order(repo, eid, pid, rng.choice(codes), start + timedelta(minutes=10 + k))
    for k in range(rng.randint(1, 6)):
        code, _, _, _, reg, _ = rng.choice(BRANDS)
        repo.create("MedicationRequest", {
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationReference": {"reference": f"Medication/{resources.item_id('drug', f'{code}|{reg}')}"},
            "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"},
            "authoredOn": (start + timedelta(minutes=30 + k)).isoformat(),
            "dispenseRequest": {"quantity": {"value": rng.randint(5, 30)}}})
    if inpatient:
        repo.create("DeviceRequest", {
            "resourceType": "DeviceRequest", "status": "completed", "intent": "order",
            "codeCodeableConcept": {"coding": [{"system": resources.CODE_SYSTEM[SUPPLY], "code": "N03.01.070"}]},
            "parameter": [{"valueQuantity": {"value": 4}}], "subject": {"reference": f"Patient/{pid}"},
            "encounter": {"reference": f"Encounter/{eid}"}, "occurrenceDateTime": start.isoformat(),
            "basedOn": [{"reference": f"ServiceRequest/{order}"}]})
        body = repo.read("Encounter", eid).json()
        body["status"] = "finished"
        body["period"]["end"] = (start + timedelta(days=rng.randint(1, 7), hours=3)).isoformat()
        repo.update("Encounter", eid, body)
    return eid


def _figures(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(f"{label:<28} p50 {percentile(ms, 50):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms   "
          f"total {sum(ms) / 1000:6.2f} s")


def main(argv: list[str]) -> None:
    n = int(argv[argv.index("--visits") + 1]) if "--visits" in argv else 200
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(config_mod.load(env={}, data_dir=Path(tmp) / "data"))
        try:
            repo = Repository(store, Actor.system("bench"))
            process_bundle(repo, facility_bundle(), "http://localhost/fhir")
            load_demo_catalogue(store)
            import_rows(store, EXTRA)
            fac = visits.facility(repo)
            room = visits.locations(repo)[0][0]
            rng = random.Random(15)
            eids = [_visit(repo, fac, room, i, rng) for i in range(n)]
            on = date(2026, 11, 30)
            computed, first, again, lines = [], [], [], 0
            for eid in eids:
                t0 = time.perf_counter()
                lines += len(charges.charge_lines(repo, eid, on=on))
                computed.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            together = charges.compute_many(repo, eids, on=on)
            t_many = time.perf_counter() - t0
            now = datetime(2026, 11, 30, 12, tzinfo=VN)
            for eid in eids:
                t0 = time.perf_counter()
                accounts.bill_for_encounter(repo, eid, now=now)
                first.append(time.perf_counter() - t0)
            for eid in eids:
                t0 = time.perf_counter()
                accounts.bill_for_encounter(repo, eid, now=now)
                again.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            listed = accounts.open_bills(repo, on=on)
            t_open = time.perf_counter() - t0
        finally:
            store.close()
    print(f"visits {n}, charge lines {lines} (SQLite)")
    _figures("charge_lines", computed)
    print(f"compute_many ({len(together)} visits)     {t_many:6.2f} s   {t_many / n * 1000:6.1f} ms a visit")
    _figures("bill_for_encounter, first", first)
    _figures("bill_for_encounter, again", again)
    print(f"open_bills ({len(listed)} bills)       {t_open * 1000:7.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
