"""The seeded visit of tests/forms/seed.py with what the vital-signs chart and the result sheets print,
entered through the app's own functions (clinical.vitals.record, clinical.orders.place/enter_results),
each value distinct; a laboratory system's additions (specimen time, performer, the validating doctor)
written as it would send them. Times are injected (December 2026), never today."""
from __future__ import annotations

from benhan.auth.actor import Actor
from benhan.clinical import orders, vitals
from benhan.store.repository import Repository
from tests.forms import seed

# Ten days (14/12 → 23/12/2026): two sheets of seven. (day, hour, pulse, temperature, systolic/diastolic,
# respiratory rate, weight) — a pulse of 120 and one off the scale, temperatures to a tenth.
ROUNDS = [
    (14, 8, "72", "36,6", ("118", "76"), "18", "52"), (14, 16, "88", "37,8", ("124", "80"), "20", ""),
    (15, 7, "120", "39,2", ("132", "84"), "24", ""), (15, 17, "104", "38,4", ("126", "78"), "22", ""),
    (16, 9, "96", "37,1", ("122", "74"), "19", "51,5"), (17, 15, "64", "36,9", ("110", "70"), "16", ""),
    (18, 8, "132", "40,1", ("140", "90"), "26", ""), (20, 10, "58", "35,6", ("100", "64"), "14", ""),
    (21, 14, "176", "41,3", ("150", "96"), "28", "50"), (23, 6, "84", "37,4", ("116", "72"), "17", ""),
]
FLUIDS = (("9108-2", "Fluid intake total 24 hour", 1850), ("9187-6", "Urine output", 1320))
NURSES = ("Trịnh Thị Mai Hoa", "Võ Văn Tường")
LAB_TECH = "Mạc Thị Huyền Trang"
VALIDATOR = "Kiều Minh Quân"
RADIOLOGIST = "Ông Thế Vinh"
CBC = {"6690-2": "12,4", "789-8": "3,1", "718-7": "98", "777-3": "512"}   # WBC high, RBC low, Hb low, PLT high
US = {"name": "Siêu âm ổ bụng tổng quát", "conclusion": "Sỏi túi mật kích thước 12 mm",
      "description": "Gan không to, nhu mô đều. Túi mật có một sỏi đường kính 12 mm, thành không dày."}


def build(store) -> dict:  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    pid, eid = ids["patient"], ids["encounter"]
    for i, (day, hour, pulse, temp, (sys_, dia), rr, weight) in enumerate(ROUNDS):
        nurse = Actor(name=f"dd{i % 2}", display=NURSES[i % 2])
        values = {"pulse": pulse, "temperature": temp, "systolic": sys_, "diastolic": dia, "respiratory_rate": rr}
        if weight:
            values["weight"] = weight
        vitals.record(repo, nurse, pid, eid, values, f"2026-12-{day:02d}T{hour:02d}:15:00+07:00")
    # The 24-hour fluid balance of the 15th, as a bedside system sends it (benhan has no page for it yet).
    for code, display, value in FLUIDS:
        repo.create("Observation", {
            "resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{pid}"},
            "encounter": {"reference": f"Encounter/{eid}"}, "effectiveDateTime": "2026-12-15T23:00:00+07:00",
            "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
            "valueQuantity": {"value": value, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"}})
    encounter = repo.read("Encounter", eid).json()
    # The seed's own first round (07:50 on the 14th) stays: the later 08:15 round replaces it in its column.
    doctor = seed.DOCTOR
    lab = orders.place(repo, doctor, encounter, "lab", {"order_lab": "panel:cbc"})
    tech = Actor(name="ktvtrang", display=LAB_TECH)
    order = repo.read("ServiceRequest", lab).json()
    lab_report = orders.enter_results(repo, tech, order, True, {orders.result_field(k): v for k, v in CBC.items()})
    order = repo.read("ServiceRequest", lab).json()
    order["authoredOn"] = "2026-12-14T16:45:00+07:00"          # the order's time as the ward wrote it
    repo.update("ServiceRequest", lab, order)
    report = repo.read("DiagnosticReport", lab_report).json()
    # What a laboratory system adds: the specimen's time, the result's time, the validating doctor.
    report.update(effectiveDateTime="2026-12-15T06:40:00+07:00", issued="2026-12-15T09:05:00+07:00",
                  resultsInterpreter=[{"display": VALIDATOR}], identifier=[{"value": "XN-26-00417"}])
    repo.update("DiagnosticReport", lab_report, report)
    img = orders.place(repo, doctor, encounter, "imaging", {"order_query": US["name"], "order_other": "yes",
                                                           "order_kind": "imaging"})
    order = repo.read("ServiceRequest", img).json()
    order["authoredOn"] = "2026-12-16T08:30:00+07:00"
    repo.update("ServiceRequest", img, order)
    order = repo.read("ServiceRequest", img).json()
    img_report = orders.enter_results(repo, Actor(name="bsvinh", display=RADIOLOGIST), order, True,
                                      {"conclusion": US["conclusion"]})
    report = repo.read("DiagnosticReport", img_report).json()
    import base64
    report.update(issued="2026-12-16T10:20:00+07:00",
                  presentedForm=[{"contentType": "text/plain; charset=utf-8",
                                  "data": base64.b64encode(US["description"].encode()).decode()}])
    repo.update("DiagnosticReport", img_report, report)
    return {**ids, "lab_order": lab, "lab_report": lab_report, "imaging_order": img, "imaging_report": img_report}
