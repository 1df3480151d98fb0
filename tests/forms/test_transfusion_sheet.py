"""Phiếu truyền máu (no TT 32 code; the code a setting, 25/BV-01 by default): each blood unit recorded
through clinical.transfusion with DISTINCT values — a Procedure (SNOMED 116859006) with the unit as a
contained BiologicallyDerivedProduct and the readings during it as vital-sign Observations partOf it —
drawn by the layout engine with every value in its own box and each reading in its own row (by position,
pdfplumber); refused field by field; captured by a nurse on the inpatient visit page (translated
messages, never a 500); signable as "transfusion:<id>"; one sheet per unit in the whole record; kept out
of the surgery sheets. On SQLite and PostgreSQL; PDF and PNG kept in .artifacts/forms."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pdfplumber
import pytest
from starlette.testclient import TestClient

from benhan.auth import policy, users
from benhan.auth.actor import Actor
from benhan.clinical import procedures, transfusion, vitals
from benhan.clinical.common import FormInvalid
from benhan.clinical.printouts import forms as printouts
from benhan.documents import signing, whole_record
from benhan.signing import keys
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM
from benhan.web.app import create_app
from tests.forms import seed, surgical_seed
from tests.forms.conftest import keep, text_in, words_in
from tests.forms.test_golden import A4, check_every_page, check_values, no_page_of_signatures_only
from tests.forms.test_surgery_sheet import render
from tests.signing.conftest import ca, responder, trust  # noqa: F401 - the fixtures

V = seed.V
PASSWORD = "một câu mật khẩu thật dài cho phiếu truyền máu"
DOCTOR_CCCD = "001079067890"
T = {"nurse": "Nông Thị Hoài Thương", "doctor": "Ma Văn Thắng",
     "order": "Truyền 01 đơn vị khối hồng cầu nhóm O 250 ml, 40 giọt/phút",
     "bag": "HC-2612-004417", "reaction": "Rét run, nổi mẩn ngứa vùng ngực",
     "action": "Giảm tốc độ truyền, tiêm bắp Dimedrol 10 mg", "bag2": "HT-2612-000981"}
CHECKS = [("09:05", "88", "118/72", "36,8"), ("09:35", "92", "121/75", "37,4"), ("11:20", "84", "116/70", "37,1")]


def _unit_one(nurse: str, doctor: str) -> dict[str, str]:
    v = {"tx_order": T["order"], "tx_product": "hong-cau", "tx_bag": T["bag"], "tx_volume": "250",
         "tx_patient_group": "AB+", "tx_unit_group": "O-", "tx_bedside": "phu-hop", "tx_crossmatch": "phu-hop",
         "tx_start": "09:05 16/12/2026", "tx_end": "11:20 16/12/2026", "tx_rate": "38",
         "tx_reaction": T["reaction"], "tx_action": T["action"], "tx_nurse": nurse, "tx_doctor": doctor}
    for i, (at, pulse, bp, temp) in enumerate(CHECKS, 1):
        v.update({f"tx_at_{i}": at, f"tx_pulse_{i}": pulse, f"tx_bp_{i}": bp, f"tx_temperature_{i}": temp})
    return v


@pytest.fixture
def transfused(store):  # noqa: ANN001, ANN201
    ids = surgical_seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    encounter["class"] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
    repo.update("Encounter", ids["encounter"], encounter)
    encounter = repo.read("Encounter", ids["encounter"]).json()
    staff = {k: repo.create("Practitioner", {"resourceType": "Practitioner", "active": True,
                                             "name": [{"text": T[k]}]}).res_id for k in ("nurse", "doctor")}
    one = transfusion.record(repo, seed.DOCTOR, encounter, _unit_one(staff["nurse"], staff["doctor"]),
                             clock=surgical_seed.CLOCK)
    two = transfusion.record(repo, seed.DOCTOR, encounter, {
        "tx_product": "huyet-tuong", "tx_bag": T["bag2"], "tx_volume": "220", "tx_patient_group": "AB+",
        "tx_unit_group": "AB+", "tx_bedside": "phu-hop", "tx_start": "14:10 17/12/2026", "tx_rate": "60",
        "tx_at_1": "14:40", "tx_pulse_1": "79", "tx_nurse": staff["nurse"], "tx_doctor": staff["doctor"]},
        clock=surgical_seed.CLOCK)
    return store, {**ids, **staff, "unit1": one, "unit2": two}


def test_every_value_of_the_transfusion_in_its_box(transfused):  # noqa: ANN001
    store, ids = transfused
    p = render(transfused, f"transfusion:{ids['unit1']}")
    keep("25-BV-01-transfusion", p.pdf)
    check_every_page(p.pdf, A4, "MS: 25/BV-01")
    check_values(p, {
        "record-number": V["ma-lk"], "name": V["name"].upper(), "age": "39", "gender": "Nữ",
        "department": V["department"], "diagnosis": f"{V['dx-dd'][1]} ({V['dx-dd'][0]})", "order": T["order"],
        "product": "Khối hồng cầu", "bag": T["bag"], "volume": "250", "patient-group": "AB Rh(+)",
        "unit-group": "O Rh(-)", "start": "09:05 16/12/2026", "end": "11:20 16/12/2026", "rate": "38",
        "reaction": T["reaction"], "action": T["action"], "date-line": "Ngày 16 tháng 12 năm 2026",
        "doctor": T["doctor"], "nurse": T["nurse"], "doctor.title": "Bác sĩ chỉ định",
        "nurse.title": "Điều dưỡng thực hiện"},
        digits={}, ticks={"bedside": "phu-hop", "crossmatch": "phu-hop"})
    # Each reading in its own row: the time, pulse, blood pressure and temperature on one line, left to right.
    words = words_in(p.pdf, p.rendered.regions["checks"])
    for at, pulse, bp, temp in CHECKS:
        [time_word] = [w for w in words if w["text"] == at]
        line = sorted((w for w in words if abs(w["top"] - time_word["top"]) < 2), key=lambda w: w["x0"])
        assert [w["text"] for w in line] == [at, "16/12/2026", pulse, bp, temp]
    tops = [next(w["top"] for w in words if w["text"] == at) for at, *_ in CHECKS]
    assert tops == sorted(tops)                                    # oldest first
    tops = {round(p.rendered.regions[k].top) for k in ("doctor.title", "nurse.title")}
    assert len(tops) == 1                                          # the two signatures side by side
    assert "CỘNG HOÀ" not in " ".join(w["text"] for w in words_in(p.pdf, p.rendered.regions["record-number"]))
    no_page_of_signatures_only(p)


def test_the_second_unit_prints_its_own_values_and_leaves_the_rest_dotted(transfused):  # noqa: ANN001
    store, ids = transfused
    p = render(transfused, f"transfusion:{ids['unit2']}")
    check_values(p, {"product": "Huyết tương tươi đông lạnh", "bag": T["bag2"], "volume": "220",
                     "unit-group": "AB Rh(+)", "start": "14:10 17/12/2026", "rate": "60"},
                 digits={}, ticks={"bedside": "phu-hop"})
    for blank in ("end", "reaction", "action", "order"):
        assert set(text_in(p.pdf, p.rendered.regions[blank]).replace(" ", "")) == {"."}, blank
    assert not any("X" in text_in(p.pdf, p.rendered.regions[r]).split() for r in p.rendered.regions
                   if r.startswith("crossmatch="))                 # not done, not ticked
    assert "14:40 17/12/2026 79" in " ".join(w["text"] for w in words_in(p.pdf, p.rendered.regions["checks"]))
    # Without an id: the latest unit.
    latest = render(transfused, "transfusion")
    assert T["bag2"] in text_in(latest.pdf, latest.rendered.regions["bag"])


def test_the_code_is_the_facility_s_setting(transfused):  # noqa: ANN001
    store, ids = transfused
    store.config.values["transfusion_form_code"] = "MS-TM/07"
    try:
        p = render(transfused, f"transfusion:{ids['unit1']}")
        with pdfplumber.open(io.BytesIO(p.pdf)) as doc:
            assert "MS: MS-TM/07" in doc.pages[0].extract_text()
    finally:
        store.config.values["transfusion_form_code"] = "25/BV-01"


def test_the_fhir_shape_procedure_product_and_readings(transfused):  # noqa: ANN001
    store, ids = transfused
    repo = Repository(store, Actor.system())
    proc = repo.read("Procedure", ids["unit1"]).json()
    assert proc["code"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "116859006",
                                         "display": "Transfusion of blood product"}
    assert proc["status"] == "completed" and proc["usedReference"][0]["reference"] == "#unit"
    [unit] = proc["contained"]
    assert unit["resourceType"] == "BiologicallyDerivedProduct" and unit["productCategory"] == "cells"
    assert unit["identifier"] == [{"system": transfusion.BAG_SYSTEM, "value": T["bag"]}]
    assert proc["complication"] == [{"text": T["reaction"]}]
    assert repo.read("Procedure", ids["unit2"]).json()["status"] == "in-progress"     # no end yet
    found = repo.search_type("Observation", [("encounter", f"Encounter/{ids['encounter']}"), ("_count", "200")])
    during = [m.json() for m in found.matches if any(x.get("reference") == f"Procedure/{ids['unit1']}"
                                                     for x in m.json().get("partOf", []))]
    readings = vitals.readings(during)
    assert [(r.when[11:16], r.values["pulse"], r.values["systolic"], r.values["diastolic"], r.values["temperature"])
            for r in readings] == [("09:05", 88, 118, 72, 36.8), ("09:35", 92, 121, 75, 37.4),
                                   ("11:20", 84, 116, 70, 37.1)]
    # A transfusion is not a surgery: no 06/BV2 sheet for it, not in 01/BV1's procedures.
    assert [p["id"] for p in procedures.of_visit(repo, ids["encounter"])] == [ids["procedure"]]
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=V["head-title"])
    whole = whole_record.build(repo, ctx, seed.DOCTOR, seed.PRINTED, "http://benhan.test")
    assert [k for k in whole.included if k.startswith(("transfusion", "surgery"))] == [
        f"surgery:{ids['procedure']}", f"transfusion:{ids['unit1']}", f"transfusion:{ids['unit2']}"]


def test_an_impossible_transfusion_is_refused_field_by_field(transfused):  # noqa: ANN001
    store, ids = transfused
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    before = len(transfusion.of_visit(repo, ids["encounter"]))
    with pytest.raises(FormInvalid) as exc:
        transfusion.record(repo, seed.DOCTOR, encounter, {
            "tx_product": "mau-xanh", "tx_volume": "abc", "tx_patient_group": "C+", "tx_unit_group": "O+",
            "tx_bedside": "khong-phu-hop", "tx_start": "10:00 25/12/2026", "tx_rate": "500",
            "tx_at_1": "25:00", "tx_pulse_1": "80", "tx_at_2": "10:30", "tx_bp_2": "80/120",
            "tx_reaction": "Sốt cao", "tx_nurse": "ai-do"}, clock=surgical_seed.CLOCK)
    assert {k: v[0] for k, v in exc.value.errors.items()} == {
        "tx_product": "ui.err.choose", "tx_bag": "ui.err.required", "tx_volume": "ui.err.number",
        "tx_patient_group": "ui.err.choose", "tx_bedside": "ui.tx.err.incompatible", "tx_start": "ui.err.future",
        "tx_rate": "ui.err.range", "tx_nurse": "ui.err.choose", "tx_doctor": "ui.err.required",
        "tx_action": "ui.tx.err.action", "tx_at_1": "ui.tx.err.at", "tx_bp_2": "ui.tx.err.bp"}
    with pytest.raises(FormInvalid) as exc:
        transfusion.record(repo, seed.DOCTOR, encounter, {**_unit_one(ids["nurse"], ids["doctor"]),
                                                          "tx_end": "08:00 16/12/2026"}, clock=surgical_seed.CLOCK)
    assert exc.value.errors["tx_end"][0] == "ui.tx.err.end"
    assert len(transfusion.of_visit(repo, ids["encounter"])) == before             # nothing written


def _login(client: TestClient, username: str) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    return csrf


def test_a_nurse_records_a_unit_on_the_visit_page(transfused):  # noqa: ANN001
    store, ids = transfused
    system = Repository(store, Actor.system())
    encounter = system.read("Encounter", ids["encounter"]).json()
    # The page runs on the real clock (nothing may be recorded in the future): times relative to now.
    start = datetime.now(seed.ICT).replace(second=0, microsecond=0) - timedelta(hours=2)
    encounter["status"] = "in-progress"
    encounter["period"] = {"start": (start - timedelta(hours=5)).isoformat()}
    system.update("Encounter", ids["encounter"], encounter)
    users.create_user(store, "dd.thuong", T["nurse"], ["nurse"], practitioner_id=ids["nurse"], password=PASSWORD)
    app = create_app(store.config, store)
    base = f"/ui/encounters/{ids['encounter']}"
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "dd.thuong")
        page = ui.get(base)
        assert page.status_code == 200 and 'id="transfusion-form"' in page.text
        assert T["bag"] in page.text and f"form=transfusion:{ids['unit1']}" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        bad = ui.post(f"{base}/transfusions", data={"csrf": csrf, "tx_bag": "HC-TEST-1", "tx_bp_1": "cao"},
                      follow_redirects=False)
        assert bad.status_code == 400
        assert "Bắt buộc nhập." in bad.text and 'value="HC-TEST-1"' in bad.text
        assert 'id="e-tx_bp_1"' in bad.text and "Huyết áp không hợp lệ" in bad.text
        english = ui.post(f"{base}/transfusions", data={"csrf": csrf, "tx_product": "x"},
                          headers={"accept-language": "en"}, follow_redirects=False)
        assert english.status_code == 400 and "Choose one of the list." in english.text
        good = ui.post(f"{base}/transfusions", data={
            "csrf": csrf, "tx_product": "tieu-cau", "tx_bag": "TC-2612-000123", "tx_volume": "250",
            "tx_patient_group": "AB+", "tx_unit_group": "A+", "tx_bedside": "phu-hop",
            "tx_start": start.strftime("%H:%M %d/%m/%Y"),
            "tx_end": (start + timedelta(minutes=45)).strftime("%H:%M %d/%m/%Y"), "tx_rate": "55",
            "tx_at_1": (start + timedelta(minutes=15)).strftime("%H:%M"), "tx_pulse_1": "90", "tx_bp_1": "125/80", "tx_temperature_1": "37,2",
            "tx_nurse": ids["nurse"], "tx_doctor": ids["doctor"]}, follow_redirects=False)
        assert good.status_code == 303, good.text[:800]
        repo = Repository(store, Actor.system())
        [latest] = [x for x in transfusion.of_visit(repo, ids["encounter"]) if x["id"] not in (ids["unit1"], ids["unit2"])]
        assert transfusion.bag(latest) == "TC-2612-000123" and transfusion.product(latest) == "Khối tiểu cầu"
        pdf = ui.get(f"{base}/print.pdf", params={"form": f"transfusion:{latest['id']}"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        with pdfplumber.open(io.BytesIO(pdf.content)) as doc:
            text = doc.pages[0].extract_text()
        assert "PHIẾU TRUYỀN MÁU" in text and "TC-2612-000123" in text and "125/80" in text and "37,2" in text
        # The readings joined the visit's vital signs (the table's columns: systolic, diastolic, temperature 37,2).
        shown = ui.get(base).text
        assert re.search(r"<td>125\b.*?</td><td>80\b", shown) and "37,2" in shown


def test_the_ordering_doctor_signs_the_sheet(transfused, ca, trust):  # noqa: ANN001, F811
    # A nurse's role has no sign-document act (auth.roles): the doctor who ordered the unit signs it.
    store, ids = transfused
    system = Repository(store, Actor.system())
    doctor = system.read("Practitioner", ids["doctor"]).json()
    doctor["identifier"] = [{"system": CCCD_SYSTEM, "value": DOCTOR_CCCD}]
    system.update("Practitioner", ids["doctor"], doctor)
    user, _ = users.create_user(store, "bs.thang", T["doctor"], ["doctor"], practitioner_id=ids["doctor"],
                                password=PASSWORD)
    actor = policy.actor_for_user(store, user)
    repo = Repository(store, actor)
    key = keys.from_pkcs12(ca.issue(T["doctor"], uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    form = f"transfusion:{ids['unit1']}"
    done = signing.sign_encounter_document(repo, actor, ids["encounter"], form, key, trust,
                                           base_url="http://benhan.test")
    [document] = signing.signed_documents(repo, ids["encounter"])
    assert document["category"][0]["coding"][0]["code"] == form
    with pdfplumber.open(io.BytesIO(done.pdf)) as doc:
        text = " ".join(p.extract_text() for p in doc.pages)
    assert "PHIẾU TRUYỀN MÁU" in text and f"Đã ký số bởi: {T['doctor']}" in text and T["bag"] in text
    app = create_app(store.config, store)
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.thang")
        page = ui.get(f"/ui/encounters/{ids['encounter']}/documents")
        assert page.status_code == 200 and f'value="transfusion:{ids["unit2"]}">' in page.text
        assert f"Khối hồng cầu {T['bag']} — 09:05 16/12/2026" in page.text


# --- 07/BV2 Phiếu theo dõi truyền dịch (clinical.infusion) ---

BOTTLES = [{"inf_fluid": "Natri clorid 0,9%", "inf_volume": "500", "inf_lot": "NC-261103", "inf_rate": "40",
            "inf_start": "07:30 16/12/2026", "inf_end": "09:45 16/12/2026"},
           {"inf_fluid": "Glucose 5%", "inf_volume": "250", "inf_lot": "GL-260987", "inf_rate": "30",
            "inf_start": "22:10 16/12/2026", "inf_end": "01:05 17/12/2026"}]


def test_07bv2_each_bottle_in_its_row(transfused):  # noqa: ANN001
    from benhan.clinical import infusion
    store, ids = transfused
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    made = [infusion.record(repo, seed.DOCTOR, encounter, {**BOTTLES[0], "inf_nurse": ids["nurse"],
                                                            "inf_doctor": ids["doctor"]}, clock=surgical_seed.CLOCK),
            infusion.record(repo, seed.DOCTOR, encounter, {**BOTTLES[1], "inf_nurse": ids["nurse"]},
                            clock=surgical_seed.CLOCK)]
    item = repo.read("MedicationAdministration", made[0]).json()
    assert item["contained"][0]["batch"] == {"lotNumber": "NC-261103"} and item["status"] == "completed"
    assert item["dosage"]["rateQuantity"]["value"] == 40 and item["context"]["reference"] == f"Encounter/{ids['encounter']}"
    p = render(transfused, "infusion")
    keep("07-BV2-infusion", p.pdf)
    check_every_page(p.pdf, A4, "MS: 07/BV2")
    check_values(p, {"name": V["name"].upper(), "department": V["department"], "record-number": V["ma-lk"]},
                 digits={}, ticks={})
    words = words_in(p.pdf, p.rendered.regions["infusions"])
    for bottle, first, last, doctor in ((BOTTLES[0], "07:30", "09:45", T["doctor"]),
                                        (BOTTLES[1], "22:10", "01:05", "")):
        [lot_word] = [w for w in words if w["text"] == bottle["inf_lot"]]
        line = [w["text"] for w in sorted((w for w in words if abs(w["top"] - lot_word["top"]) < 2),
                                          key=lambda w: w["x0"])]
        assert line[0] == "16/12/2026" and bottle["inf_volume"] in line and bottle["inf_rate"] in line
        assert line.index(bottle["inf_lot"]) < line.index(bottle["inf_rate"]) < line.index(first) < line.index(last)
        assert " ".join(line).startswith(f"16/12/2026 {bottle['inf_fluid']} {bottle['inf_volume']}")
        assert ("Ma" in line) == bool(doctor)                 # the ordering doctor only where one was named
        assert "Nông" in line                                  # the nurse's name starts on the row's first line
    with pytest.raises(FormInvalid) as exc:
        infusion.record(repo, seed.DOCTOR, encounter, {"inf_volume": "nhiều", "inf_rate": "900",
                                                       "inf_start": "09:00 16/12/2026", "inf_end": "08:00 16/12/2026"},
                        clock=surgical_seed.CLOCK)
    assert {k: v[0] for k, v in exc.value.errors.items()} == {
        "inf_fluid": "ui.err.required", "inf_volume": "ui.err.number", "inf_rate": "ui.err.range",
        "inf_end": "ui.tx.err.end", "inf_nurse": "ui.err.required"}
    assert len(infusion.of_visit(repo, ids["encounter"])) == 2


def test_07bv2_a_nurse_records_a_bottle_on_the_visit_page(transfused):  # noqa: ANN001
    from benhan.clinical import infusion
    store, ids = transfused
    system = Repository(store, Actor.system())
    encounter = system.read("Encounter", ids["encounter"]).json()
    start = datetime.now(seed.ICT).replace(second=0, microsecond=0) - timedelta(hours=2)
    encounter["status"] = "in-progress"
    encounter["period"] = {"start": (start - timedelta(hours=5)).isoformat()}
    system.update("Encounter", ids["encounter"], encounter)
    users.create_user(store, "dd.hoai", T["nurse"], ["nurse"], practitioner_id=ids["nurse"], password=PASSWORD)
    app = create_app(store.config, store)
    base = f"/ui/encounters/{ids['encounter']}"
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "dd.hoai")
        page = ui.get(base)
        assert page.status_code == 200 and 'id="infusion-form"' in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        bad = ui.post(f"{base}/infusions", data={"csrf": csrf, "inf_lot": "RL-1", "inf_volume": "x"},
                      follow_redirects=False)
        assert bad.status_code == 400 and "Bắt buộc nhập." in bad.text and 'value="RL-1"' in bad.text
        english = ui.post(f"{base}/infusions", data={"csrf": csrf}, headers={"accept-language": "en"},
                          follow_redirects=False)
        assert english.status_code == 400 and "Required." in english.text
        good = ui.post(f"{base}/infusions", data={
            "csrf": csrf, "inf_fluid": "Ringer lactat", "inf_volume": "500", "inf_lot": "RL-262201", "inf_rate": "45",
            "inf_start": start.strftime("%H:%M %d/%m/%Y"), "inf_nurse": ids["nurse"]}, follow_redirects=False)
        assert good.status_code == 303, good.text[:800]
        [item] = infusion.of_visit(Repository(store, Actor.system()), ids["encounter"])
        assert infusion.fluid(item) == "Ringer lactat" and item["status"] == "in-progress"
        assert "RL-262201" in ui.get(base).text
        pdf = ui.get(f"{base}/print.pdf", params={"form": "infusion"})
        with pdfplumber.open(io.BytesIO(pdf.content)) as doc:
            text = doc.pages[0].extract_text()
        assert "PHIẾU THEO DÕI TRUYỀN DỊCH" in text and "RL-262201" in text
