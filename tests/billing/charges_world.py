"""A facility with its catalogues and a few ways to put a visit on the record, for the billing
tests: the demo facility and demo catalogue (through the ordinary import), plus the exam, bed and
supply rows the billing tests need (a real facility imports its own), and visits written the way
the clinical workflows write them — with the dates fixed, so that the base salary and the prices
of the day are known to the test."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from benhan.auth.actor import Actor
from benhan.clinical import registration, visits
from benhan.clinical.catalogue import resources
from benhan.clinical.catalogue.importer import import_rows
from benhan.clinical.catalogue.layouts import DRUG, SERVICE, SUPPLY, Row
from benhan.clinical.demo import facility_bundle
from benhan.clinical.demo_catalogue import load_demo_catalogue
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository

VN = timezone(timedelta(hours=7))
DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")
START = date(2026, 1, 1)

EXAM = "02.1896"            # the exam of record_services.csv
BED = "K15.1905"            # the bed-day of record_services.csv
OTHER_EXAMS = ("10.1900", "14.1901", "12.1902", "05.1903", "15.1904")   # other specialties' exams
XRAY, CT, ECG = "18.0119.0028", "18.0193.0041", "02.0085.1778"
STENT, SYRINGE = "N06.04.010", "N03.01.070"
AUGMENTIN = ("DEMO-J01CR02", "VN-DEMO-0001")    # 14,500 đồng a tablet in the demo catalogue
HAPACOL = ("DEMO-N02BE01", "VD-DEMO-0003")      # 900 đồng


def at(day: date, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


def extra_rows() -> list[Row]:
    rows = [Row(line=2, kind=SERVICE, code=EXAM, name="Khám Nội", unit="lần", price=Decimal(50600), start=START,
                extra={"MA_NHOM": "13"}),
            Row(line=3, kind=SERVICE, code=BED, name="Giường Nội khoa loại 3 hạng III", unit="ngày",
                price=Decimal(199100), start=START, end=date(2026, 11, 30), extra={"MA_NHOM": "15"}),
            # The bed-day price changes on 01/12/2026 (a new decision): days before keep the old price.
            Row(line=4, kind=SERVICE, code=BED, name="Giường Nội khoa loại 3 hạng III", unit="ngày",
                price=Decimal(215000), start=date(2026, 12, 1), extra={"MA_NHOM": "15"}),
            Row(line=5, kind=SUPPLY, code=STENT, name="Stent động mạch vành phủ thuốc", unit="cái",
                price=Decimal(120000000), start=START),
            Row(line=6, kind=SUPPLY, code=SYRINGE, name="Bơm tiêm nhựa 5ml", unit="cái", price=Decimal(1200),
                start=START),
            Row(line=7, kind=SERVICE, code="02.0066.0080", name="Can thiệp động mạch vành (đặt stent)", unit="lần",
                price=Decimal(6854000), start=START, extra={"MA_NHOM": "8"})]
    for i, code in enumerate(OTHER_EXAMS):
        rows.append(Row(line=8 + i, kind=SERVICE, code=code, name=f"Khám chuyên khoa {i + 1}", unit="lần",
                        price=Decimal(50600), start=START, extra={"MA_NHOM": "13"}))
    return rows


@dataclass
class World:
    store: object
    system: Repository
    repo: Repository
    fac: visits.Facility

    # --- the patient and the visit ---------------------------------------------------------------
    def patient(self, cccd: str, name: str, *, bhyt: str = "", valid: tuple[str, str] = ("01/01/2026", "31/12/2026"),
                place: str = "", birth: str = "01/01/1990") -> str:
        form = {"cccd": cccd, "name": name, "birth_date": birth, "gender": "male"}
        if bhyt:
            form.update({"bhyt": bhyt, "bhyt_from": valid[0], "bhyt_to": valid[1], "bhyt_place": place})
        return registration.register(self.system, registration.PatientForm.from_mapping(form), DOCTOR,
                                     date(2026, 1, 2), self.fac.organization_id).patient_id

    def visit(self, pid: str, start: datetime, *, kind: str = "kham-benh", route: str = "") -> str:
        return visits.open_visit(self.system, DOCTOR, pid, kind, visits.locations(self.system)[0][0], "Đau ngực",
                                 self.fac, when=start, route=route)

    def end(self, eid: str, when: datetime, disposition: str = "home", result: str = "2") -> None:
        body = self.system.read("Encounter", eid).json()
        body["status"] = "finished"
        body["period"]["end"] = when.isoformat()
        if (body.get("class") or {}).get("code") == "IMP":
            body.setdefault("hospitalization", {})["dischargeDisposition"] = {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                            "code": disposition}]}
        body.setdefault("extension", []).append({
            "url": "https://benhan.vn/fhir/StructureDefinition/treatment-result",
            "valueCoding": {"system": "https://benhan.vn/fhir/CodeSystem/ket-qua-dieu-tri", "code": result}})
        self.system.update("Encounter", eid, body)

    # --- what is done in the visit (as clinical.orders / prescriptions write it) ----------------------
    def _service(self, code: str) -> dict:
        return self.system.read("ActivityDefinition", resources.item_id(SERVICE, code)).json()

    def order(self, eid: str, code: str, when: datetime, status: str = "active") -> str:
        service = self._service(code)
        encounter = self.system.read("Encounter", eid).json()
        body = {"resourceType": "ServiceRequest", "status": status, "intent": "order",
                "instantiatesCanonical": [service["url"]],
                "code": {"coding": [{"system": resources.CODE_SYSTEM[SERVICE], "code": code,
                                     "display": service["title"]}], "text": service["title"]},
                "subject": encounter["subject"], "encounter": {"reference": f"Encounter/{eid}"},
                "authoredOn": when.isoformat(), "requester": {"display": DOCTOR.display}}
        return self.repo.create("ServiceRequest", body).res_id

    def prescribe(self, eid: str, drug: tuple[str, str], quantity: int, when: datetime) -> str:
        mid = resources.item_id(DRUG, f"{drug[0]}|{drug[1]}")
        encounter = self.system.read("Encounter", eid).json()
        body = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                "medicationReference": {"reference": f"Medication/{mid}"},
                "subject": encounter["subject"], "encounter": {"reference": f"Encounter/{eid}"},
                "authoredOn": when.isoformat(), "requester": {"display": DOCTOR.display},
                "dispenseRequest": {"quantity": {"value": quantity, "unit": "viên"}}}
        return self.repo.create("MedicationRequest", body).res_id

    def use_supply(self, eid: str, code: str, quantity: int, when: datetime, procedure_order: str) -> str:
        encounter = self.system.read("Encounter", eid).json()
        body = {"resourceType": "DeviceRequest", "status": "completed", "intent": "order",
                "codeCodeableConcept": {"coding": [{"system": resources.CODE_SYSTEM[SUPPLY], "code": code}]},
                "parameter": [{"code": {"text": "Số lượng"}, "valueQuantity": {"value": quantity}}],
                "subject": encounter["subject"], "encounter": {"reference": f"Encounter/{eid}"},
                "occurrenceDateTime": when.isoformat(), "basedOn": [{"reference": f"ServiceRequest/{procedure_order}"}]}
        return self.repo.create("DeviceRequest", body).res_id

    def reprice(self, kind: str, code: str, name: str, price: int, start: date, group: str = "") -> None:
        """A later catalogue import with a new price from `start`."""
        import_rows(self.store, [Row(line=2, kind=kind, code=code, name=name, unit="lần", price=Decimal(price),
                                     start=start, extra={"MA_NHOM": group} if group else {})])

    def facility_rules(self, **facility: object) -> None:
        """The facility's correction of facility.json (<data_dir>/billing/facility.json)."""
        self.rule_file("facility.json", json.dumps(facility))

    def rule_file(self, name: str, text: str) -> None:
        """A facility's own copy of a rule file, in <data_dir>/billing/."""
        folder = Path(self.store.config.values["data_dir"]) / "billing"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def make_world(store) -> World:  # noqa: ANN001
    system = Repository(store, Actor.system("test"))
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    load_demo_catalogue(store)
    import_rows(store, extra_rows())
    return World(store, system, Repository(store, DOCTOR), visits.facility(system))
