"""The acceptance journeys of the clinician app, in a real browser, then checked through the API:
(a) scan a CCCD QR → new patient → outpatient visit → vitals → diagnosis found by typing "viem phoi"
→ prescription → PDF; (b) admission → three daily progress notes → a corrected note → discharge →
discharge paper PDF; (c) a second scan of the same card finds the same patient."""
from __future__ import annotations

import io
import re

import httpx
from pypdf import PdfReader

from benhan.clinical.printouts.forms import MANDATORY
from benhan.documents.forms import FORMS
from tests.auth_helpers import AUTH
from tests.ui.conftest import QR

CCCD = QR.split("|")[0]
QR_B = "079303000042||TRẦN THỊ BÍCH|01062003|Nữ|Phường Sài Gòn, Thành phố Hồ Chí Minh|02032022"
QR_C = "038185001234|123456789|LÊ THỊ HOA|12081985|Nữ|Thôn 3, Xã Quảng Phú, Tỉnh Thanh Hóa|20052021"


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def api(world, path: str, **params) -> dict:  # noqa: ANN001
    r = httpx.get(world["url"] + "/fhir/" + path, params=params, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


def scan(j, payload: str) -> None:  # noqa: ANN001
    j.go("/")
    j.page.fill("#f-qr", payload)
    j.page.press("#f-qr", "Enter")
    j.page.wait_for_load_state()


def scan_and_open_visit(j, payload: str, kind: str, room: str, reason: str) -> str:  # noqa: ANN001
    """A new patient from a card's QR, saved with a visit opened at once; the visit's id."""
    scan(j, payload)
    j.page.select_option("#f-visit_type", kind)
    j.page.select_option("#f-location", label=room)
    j.page.fill("#f-reason", reason)
    j.page.click("button[name=action][value=save]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    return j.page.url.rsplit("/", 1)[1]


def test_a_outpatient_from_qr_scan_to_prescription_pdf(journey, world):  # noqa: ANN001
    j = journey
    j.login("bacsi")
    j.shot("desk")
    loads = []
    j.page.on("load", lambda _: loads.append(j.page.url))
    scan(j, QR)
    j.shot("scanned-new-patient-form")
    assert j.page.input_value("#f-name") == "Nguyễn Văn An"
    assert j.page.input_value("#f-cccd") == CCCD
    assert j.page.input_value("#f-birth_date") == "01/01/1990"
    assert j.page.input_value("#f-province") == "01" and j.page.input_value("#f-commune") == "00004"
    j.page.fill("#f-phone", "0912345678")
    j.page.fill("#f-bhyt", "HT4790123456789")
    j.page.fill("#f-bhyt_to", "31/12/2027")
    j.page.select_option("#f-visit_type", "kham-benh")
    j.page.select_option("#f-location", label="Phòng khám đa khoa")
    j.page.fill("#f-reason", "Sốt, ho 3 ngày")
    j.page.click("button[name=action][value=save]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    # The budget: from the desk, the scan's answer and the save that opens the visit — 3 pages.
    assert len(loads) <= 3, loads
    encounter_id = j.page.url.rsplit("/", 1)[1]
    j.shot("visit-opened")
    assert "Nguyễn Văn An" in j.page.inner_text(".pbanner")

    for name, value in (("pulse", "96"), ("temperature", "38,6"), ("systolic", "120"), ("diastolic", "75"),
                        ("respiratory_rate", "22"), ("spo2", "95"), ("weight", "60"), ("height", "165")):
        j.page.fill(f"#vitals #f-{name}", value)
    j.page.click("#vitals button")
    j.page.wait_for_url(re.compile(r".*saved=vitals.*"))
    j.shot("vitals")
    assert "22" in j.page.inner_text("#vitals table")   # BMI 60 / 1.65² = 22.0

    j.page.click("#f-dx_query")
    j.page.keyboard.type("viem phoi", delay=30)
    j.page.wait_for_selector("#f-dx_code option[value='J18.9']", state="attached")
    j.shot("diagnosis-typeahead")
    j.page.select_option("#f-dx_code", "J18.9")
    j.page.click("button[name=action][value=add]")
    j.page.wait_for_url(re.compile(r".*saved=diagnoses.*"))
    assert "J18.9" in j.page.inner_text("#diagnoses")
    j.shot("diagnosis")

    j.page.select_option("#f-rx_drug", label="Paracetamol 500mg (viên)")
    j.page.fill("#f-rx_per_day", "3")
    j.page.fill("#f-rx_days", "5")
    j.page.fill("#f-rx_instructions", "Uống khi sốt trên 38,5 độ")
    j.page.click("#rx-form button")
    j.page.wait_for_url(re.compile(r".*saved=prescriptions.*"))
    j.shot("prescription")
    assert "Paracetamol" in j.page.inner_text("#prescriptions")

    j.page.click("#print a[href*='form=prescription']:not([href*='.pdf'])")
    j.page.wait_for_load_state()
    j.shot("prescription-print-view")
    assert "ĐƠN THUỐC" in j.page.inner_text("h1")
    assert "Mã tra cứu" in j.page.inner_text("footer")
    for form in ("prescription", "outpatient"):
        text = pdf_text(j.fetch(f"/ui/encounters/{encounter_id}/print.pdf?form={form}"))
        assert "NGUYỄN VĂN AN" in text
        assert [label for label in MANDATORY[form] if label not in text] == []
        assert "NĐ 137/2024" in text and "Mã tra cứu" in text and "Lê Văn Hùng" in text
    (j.dir / "prescription.pdf").write_bytes(j.fetch(f"/ui/encounters/{encounter_id}/print.pdf?form=prescription"))

    # The same record through the FHIR API.
    patients = api(world, "Patient", identifier=f"http://fhir.hl7.org.vn/core/sid/cccd|{CCCD}")["entry"]
    assert len(patients) == 1
    patient = patients[0]["resource"]
    assert patient["name"][0]["text"] == "Nguyễn Văn An" and patient["birthDate"] == "1990-01-01"
    assert patient["address"][0]["city"] == "Phường Ba Đình"
    coverage = api(world, "Coverage", beneficiary=f"Patient/{patient['id']}")["entry"][0]["resource"]
    assert coverage["subscriberId"] == "HT4790123456789" and coverage["period"]["end"] == "2027-12-31"
    enc = api(world, f"Encounter/{encounter_id}")
    assert enc["class"]["code"] == "AMB" and enc["status"] == "in-progress"
    assert enc["diagnosis"][0]["rank"] == 1
    vitals = api(world, "Observation", encounter=f"Encounter/{encounter_id}", category="vital-signs")
    codes = {e["resource"]["code"]["coding"][0]["code"] for e in vitals["entry"]}
    assert {"8867-4", "8310-5", "85354-9", "9279-1", "59408-5", "29463-7", "8302-2", "39156-5"} <= codes
    condition = api(world, "Condition", encounter=f"Encounter/{encounter_id}")["entry"][0]["resource"]
    assert condition["code"]["coding"][0]["code"] == "J18.9"
    rx = api(world, "MedicationRequest", encounter=f"Encounter/{encounter_id}")["entry"][0]["resource"]
    assert rx["medicationReference"]["display"] == "Paracetamol 500mg"
    assert rx["dispenseRequest"]["quantity"]["value"] == 15
    assert printed(world, encounter_id) >= 3          # the print view and two PDFs, each audited


def printed(world, encounter_id: str) -> int:  # noqa: ANN001
    from sqlalchemy import and_, func, select

    from benhan.store.schema import audit_event
    with world["store"].db.read() as conn:
        return conn.execute(select(func.count()).select_from(audit_event).where(and_(
            audit_event.c.interaction == "print", audit_event.c.res_id == encounter_id))).scalar()


def test_b_admission_notes_correction_discharge_paper(journey, world):  # noqa: ANN001
    j = journey
    j.login("bacsi")
    encounter_id = scan_and_open_visit(j, QR_B, "noi-tru", "Phòng lưu bệnh", "Sốt cao, khó thở")
    j.shot("admitted")

    j.page.fill("#record #f-s_ly_do_vao_vien", "Sốt cao 39 độ, ho, khó thở")
    j.page.fill("#record #f-s_qua_trinh_benh_ly", "Bệnh 3 ngày, sốt cao liên tục, ho khạc đờm")
    j.page.fill("#record #f-s_ho_hap", "Ran nổ đáy phổi phải")
    j.page.click("#record button")
    j.page.wait_for_url(re.compile(r".*saved=record.*"))
    j.page.fill("#f-dx_query", "J18.9")
    j.page.click("button[name=action][value=find]")
    j.page.select_option("#f-dx_code", "J18.9")
    j.page.click("button[name=action][value=add]")
    j.page.wait_for_url(re.compile(r".*saved=diagnoses.*"))

    for day, course in enumerate(("Sốt 39 độ, ho nhiều", "Sốt 38 độ, đỡ khó thở", "Hết sốt, ăn uống được"), 1):
        j.page.fill("#f-note_course", course)
        j.page.fill("#f-note_orders", f"Ceftriaxon 1g x 2 lọ/ngày, ngày {day}")
        j.page.click("#notes button")
        j.page.wait_for_url(re.compile(r".*saved=notes.*"))
        j.shot(f"progress-note-{day}")
    assert j.page.locator("#notes tbody tr").count() == 3

    j.page.locator("#notes tbody tr").nth(1).locator("a", has_text="Sửa").click()
    j.page.wait_for_url(re.compile(r".*/ui/correct/ClinicalImpression/.*"))
    j.page.fill("#f-summary", "Sốt 38,5 độ, đỡ khó thở")
    j.page.fill("#f-reason", "Ghi nhầm nhiệt độ")
    j.shot("correcting-a-note")
    j.page.click("button[name=action][value=correct]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/.*"))
    assert "Sốt 38,5 độ" in j.page.inner_text("#notes")
    note_id = re.search(r"/ui/history/ClinicalImpression/([0-9a-f-]+)",
                        j.page.locator("#notes tbody tr").nth(1).inner_html()).group(1)
    j.page.locator("#notes tbody tr").nth(1).locator("a", has_text="Lịch sử").click()
    j.shot("note-history")
    assert "Ghi nhầm nhiệt độ" in j.page.inner_text("table") and "phiên bản 2" in j.page.inner_text("table")
    j.go(f"/ui/encounters/{encounter_id}")

    j.page.fill("#f-dx_query", "J18.9")
    j.page.click("button[name=action][value=find]")
    j.page.select_option("#f-dx_code", "J18.9")
    j.page.select_option("#f-dx_role", "DD")
    j.page.click("button[name=action][value=add]")
    j.page.wait_for_url(re.compile(r".*saved=diagnoses.*"))
    j.page.select_option("#f-result", "1")
    j.page.select_option("#f-disposition", "home")      # nothing is chosen for the doctor
    j.page.fill("#f-followup_date", "01/01/2099")
    j.page.fill("#f-d_phuong_phap_dieu_tri", "Kháng sinh Ceftriaxon 5 ngày, hạ sốt")
    j.page.fill("#f-d_tinh_trang_ra_vien", "Hết sốt, phổi thông khí tốt")
    j.page.click("#discharge button")
    j.page.wait_for_url(re.compile(r".*saved=discharge.*"))
    j.shot("discharged")
    assert "Khỏi" in j.page.inner_text("#discharge")

    text = pdf_text(j.fetch(f"/ui/encounters/{encounter_id}/print.pdf?form=discharge"))
    assert "TRẦN THỊ BÍCH" in text and "GIẤY RA VIỆN" in text and "J18.9" in text
    # The discharge paper is drawn by the layout engine (TT 25/2025 Mẫu 02): every item of that form is printed.
    labels = [f.label for f in FORMS["discharge"].fields() if getattr(f, "label", "")]
    assert len(labels) > 10 and [label for label in labels if label not in text] == []
    record_text = pdf_text(j.fetch(f"/ui/encounters/{encounter_id}/print.pdf?form=inpatient"))
    labels = [f.label for f in FORMS["inpatient"].fields() if getattr(f, "label", "")]      # 01/BV1, the engine's
    assert len(labels) > 30 and [label for label in labels if label not in record_text] == []
    assert "Ran nổ đáy phổi phải" in record_text
    # The progress note is on the treatment sheet (tờ điều trị), its own paper since the layout engine.
    assert "Sốt 38,5 độ" in pdf_text(j.fetch(f"/ui/encounters/{encounter_id}/print.pdf?form=treatment"))
    (j.dir / "discharge.pdf").write_bytes(j.fetch(f"/ui/encounters/{encounter_id}/print.pdf?form=discharge"))
    j.go(f"/ui/encounters/{encounter_id}/print?form=inpatient")
    j.shot("inpatient-record-print-view")

    enc = api(world, f"Encounter/{encounter_id}")
    assert enc["status"] == "finished" and enc["class"]["code"] == "IMP" and "end" in enc["period"]
    assert enc["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "home"
    assert {d["use"]["coding"][0]["code"] for d in enc["diagnosis"]} == {"AD", "DD"}
    notes = api(world, "ClinicalImpression", encounter=f"Encounter/{encounter_id}")["entry"]
    assert len(notes) == 3
    history = api(world, f"ClinicalImpression/{note_id}/_history")["entry"]
    assert [e["resource"]["meta"]["versionId"] for e in history] == ["2", "1"]
    assert history[1]["resource"]["summary"] == "Sốt 38 độ, đỡ khó thở"
    provenance = [e["resource"] for e in api(world, "Provenance", _count="200").get("entry", [])]
    assert any(p["target"][0]["reference"] == f"ClinicalImpression/{note_id}/_history/2"
               and p["reason"][0]["text"] == "Ghi nhầm nhiệt độ" for p in provenance)
    appointments = api(world, "Appointment", actor=enc["subject"]["reference"])["entry"]
    assert appointments[0]["resource"]["start"].startswith("2099-01-01")
    summary = [e["resource"] for e in api(world, "Composition", encounter=f"Encounter/{encounter_id}")["entry"]
               if e["resource"]["type"]["coding"][0]["code"] == "18842-5"]
    assert summary and summary[0]["status"] == "final"


def test_c_a_second_scan_of_the_same_card_finds_the_same_patient(journey, world):  # noqa: ANN001
    j = journey
    j.login("tiepdon")
    scan(j, QR_C)
    j.page.select_option("#f-visit_type", "")
    j.page.click("button[name=action][value=save]")
    j.page.wait_for_url(re.compile(r".*/ui/patients/[0-9a-f-]+$"))
    first = j.page.url.rsplit("/", 1)[1]
    j.shot("registered")
    scan(j, "]Q1" + QR_C)          # the scanner's symbology prefix this time
    j.page.wait_for_url(re.compile(r".*/ui/patients/.*found=1"))
    j.shot("found-again")
    assert j.page.url.split("/ui/patients/")[1].split("?")[0] == first
    assert "Lê Thị Hoa" in j.page.inner_text(".pbanner")
    found = api(world, "Patient", identifier="http://fhir.hl7.org.vn/core/sid/cccd|038185001234")
    assert len(found["entry"]) == 1 and found["entry"][0]["resource"]["id"] == first
    # From the patient page, the visit opens in one more page load.
    j.page.select_option("#f-location", label="Phòng khám đa khoa")
    j.page.click("form[action$='/visits'] button")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    j.shot("visit-opened")
