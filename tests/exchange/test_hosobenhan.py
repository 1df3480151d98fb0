"""The CV 365 HoSoBenhAn export of the demo record (benhan.exchange.hosobenhan), on both databases:
every episode exports as XML and as JSON valid against the published XSD and JSON Schema, and the
values land in their tags as the record holds them (the CCCD, the name with its diacritics, the
ICD-10 codes, the drug codes, the laboratory values, the procedures, the imaging conclusion, the
transfer, the emergency visit)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import jsonschema
import pytest
from lxml import etree

from benhan import errors
from benhan.auth.actor import Actor
from benhan.claims import tables
from benhan.clinical import visits
from benhan.clinical.common import ICD10
from benhan.clinical.load_demo import load_demo
from benhan.exchange.hosobenhan import export, schema
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM

DRUG_CODE = "https://benhan.vn/sid/ma-thuoc"
ICT = timezone(timedelta(hours=7))


def _ref(x: dict | None) -> str:
    return ((x or {}).get("reference") or "/").split("/", 1)[1]


def _all(repo: Repository, res_type: str, **params: str) -> list[dict]:
    return [m.json() for m in repo.search_type(res_type, [*params.items(), ("_count", "1000")]).matches]


def _xml(content: bytes) -> etree._Element:
    doc = etree.fromstring(content)
    assert schema.xml_schema().validate(doc), schema.xml_schema().error_log
    return doc


def _json(content: bytes) -> dict:
    data = json.loads(content.decode("utf-8"))
    jsonschema.Draft202012Validator(json.loads(schema.JSON_SCHEMA_FILE.read_text(encoding="utf-8"))).validate(data)
    return data


def _texts(doc: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in doc.findall(path)]


def _number(text: str) -> Decimal:
    return Decimal(text)


def _add_imaging_transfer_and_emergency(repo: Repository, encounter: dict) -> tuple[str, str]:
    """An imaging order with its report, a transfer out at the end of `encounter`, and an emergency
    visit of the same patient (the demo has none of these in its first patients)."""
    pid = _ref(encounter["subject"])
    person = {k: v for k, v in repo.read("Patient", pid).json().items() if k != "meta"}
    person["name"] = [{"use": "official", "text": "Đặng Thị Ngọc Hường", "family": "Đặng", "given": ["Thị", "Ngọc", "Hường"]}]
    repo.update("Patient", pid, person)
    order = repo.create("ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "completed", "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "363679005"}],
                      "text": "Chẩn đoán hình ảnh"}],
        "code": {"text": "Chụp X-quang ngực thẳng"}, "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{encounter['id']}"},
        "authoredOn": encounter["period"]["start"]}).res_id
    repo.create("DiagnosticReport", {
        "resourceType": "DiagnosticReport", "status": "final", "basedOn": [{"reference": f"ServiceRequest/{order}"}],
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}]}],
        "code": {"text": "Chụp X-quang ngực thẳng"}, "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{encounter['id']}"},
        "effectiveDateTime": encounter["period"]["start"], "issued": encounter["period"]["start"],
        "resultsInterpreter": [{"display": "BS. Lê Thị Hồng"}],
        "conclusion": "Hình ảnh viêm phổi thùy dưới phải"})
    enc = repo.read("Encounter", encounter["id"]).json()
    enc = {k: v for k, v in enc.items() if k != "meta"}
    enc["hospitalization"] = {**enc.get("hospitalization", {}), "dischargeDisposition": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "other-hcf"}]},
        "destination": {"display": "Bệnh viện Đa khoa tỉnh Thanh Hóa",
                        "identifier": {"system": "https://benhan.vn/sid/ma-cskcb", "value": "38001"}}}
    repo.update("Encounter", enc["id"], enc)
    fac = visits.facility(repo)
    room = visits.locations(repo)[0][0]
    emergency = visits.open_visit(repo, repo.actor, pid, "cap-cuu", room, "Đau ngực dữ dội", fac,
                                  when=datetime(2026, 11, 3, 2, 15, tzinfo=ICT))
    return order, emergency


def test_the_demo_record_exports_as_valid_xml_and_json_with_its_values_in_their_tags(store):  # noqa: ANN001
    load_demo(store, patients=15)
    repo = Repository(store, Actor.system("test"))
    encounters = _all(repo, "Encounter")
    with_labs = next(e for e in encounters if e["status"] == "finished" and any(o.get("category", [{}])[0].get("coding", [{}])[0].get("code")
                                                  == "laboratory" for o in _all(repo, "Observation",
                                                                                encounter=f"Encounter/{e['id']}")))
    imaging_order, emergency_id = _add_imaging_transfer_and_emergency(repo, with_labs)
    encounters = _all(repo, "Encounter")
    assert len(encounters) > 15

    # Every episode, both formats, valid against the published schemas.
    for e in encounters:
        _xml(export.export_episode(repo, e["id"], "xml").content)
        _json(export.export_episode(repo, e["id"], "json").content)

    enc = repo.read("Encounter", with_labs["id"]).json()
    patient = repo.read("Patient", _ref(enc["subject"])).json()
    cccd = next(i["value"] for i in patient["identifier"] if i["system"] == CCCD_SYSTEM)
    name = patient["name"][0]["text"]
    doc = _xml(export.export_episode(repo, enc["id"], "xml").content)
    data = _json(export.export_episode(repo, enc["id"], "json").content)["HoSoBenhAn"]

    # I: the patient — the CCCD and the Vietnamese name exactly, in both formats.
    assert _texts(doc, "ThongTinBenhNhan/cccd_so") == [cccd] and data["ThongTinBenhNhan"]["cccd_so"] == cccd
    assert _texts(doc, "ThongTinBenhNhan/hoten") == [name] and data["ThongTinBenhNhan"]["hoten"] == name
    assert name == "Đặng Thị Ngọc Hường"
    assert "<hoten>Đặng Thị Ngọc Hường</hoten>".encode() in export.export_episode(repo, enc["id"], "xml").content
    ma_lk = next(i["value"] for i in enc["identifier"] if i["system"].endswith("ma-lk"))
    assert data["ThongTinBenhNhan"]["sovaovien"] == ma_lk
    assert data["ThongTinBenhNhan"]["gioitinh"] == {"male": 1, "female": 2}[patient["gender"]]
    assert data["ThongTinBenhNhan"]["ngaysinh"] == patient["birthDate"].replace("-", "") + "0000"
    assert data["ThongTinBenhNhan"]["thoigianvaovien"] == tables.stamp(datetime.fromisoformat(enc["period"]["start"]))

    # III: the main diagnosis is the rank-1 Condition's ICD-10 code.
    conditions = {c["id"]: c for c in _all(repo, "Condition", encounter=f"Encounter/{enc['id']}")}
    main = next(d for d in enc["diagnosis"] if d.get("rank") == 1)
    icd = next(c["code"] for c in conditions[_ref(main["condition"])]["code"]["coding"] if c["system"] == ICD10)
    assert _texts(doc, "ThongTinDieuTri/maicd") == [icd] and data["ThongTinDieuTri"]["maicd"] == icd

    # II: the first vital signs of the visit.
    vitals = sorted((o for o in _all(repo, "Observation", encounter=f"Encounter/{enc['id']}")
                     if o["category"][0]["coding"][0]["code"] == "vital-signs"), key=lambda o: o["effectiveDateTime"])
    pulse = next(o for o in vitals if o["code"]["coding"][0]["code"] == "8867-4")["valueQuantity"]["value"]
    assert data["ThongTinVaoVien"]["mach"] == round(pulse)
    assert _texts(doc, "ThongTinVaoVien/mach") == [str(round(pulse))]

    # IV: each prescription's drug, by the catalogue code of its Medication.
    prescribed = _all(repo, "MedicationRequest", encounter=f"Encounter/{enc['id']}")
    assert prescribed
    codes = sorted(next(c["code"] for c in repo.read("Medication", _ref(mr["medicationReference"])).json()["code"]["coding"]
                        if c["system"] == DRUG_CODE) for mr in prescribed)
    assert sorted(_texts(doc, "YLenhThuocVatTu/ThuocVatTu/mathuocvattu_byt")) == codes
    assert sorted(x["mathuocvattu_byt"] for x in data["YLenhThuocVatTu"]) == codes

    # VII: every laboratory result with its LOINC code, value and unit.
    labs = [o for o in _all(repo, "Observation", encounter=f"Encounter/{enc['id']}")
            if o["category"][0]["coding"][0]["code"] == "laboratory"]
    got = {(x["machiso"], _number(str(x["giatri"]))) for x in data["KetQuaXetNghiem"]}
    want = {(o["code"]["coding"][0]["code"], Decimal(str(o["valueQuantity"]["value"])).normalize()) for o in labs}
    assert {(c, v.normalize()) for c, v in got} == want
    rows = doc.findall("KetQuaXetNghiem/ChiSo")
    assert len(rows) == len(labs)
    one = labs[0]
    row = next(r for r in rows if r.findtext("machiso") == one["code"]["coding"][0]["code"])
    assert row.findtext("donvido") == one["valueQuantity"]["unit"]
    assert row.findtext("tenchiso") == one["code"]["text"]

    # V and VI: the imaging order and its conclusion; VIII: the transfer.
    assert imaging_order in _texts(doc, "PhieuChiDinh/ChiDinh/sophieu")
    assert _texts(doc, "KetQuaChanDoanHinhAnh/KetQua/ketluan") == ["Hình ảnh viêm phổi thùy dưới phải"]
    assert _texts(doc, "KetQuaChanDoanHinhAnh/KetQua/bacsi_doc") == ["BS. Lê Thị Hồng"]
    assert _texts(doc, "GiayChuyenVien/manoiden") == ["38001"]
    assert data["GiayChuyenVien"]["tennoiden"] == "Bệnh viện Đa khoa tỉnh Thanh Hóa"
    assert data["ThongTinDieuTri"]["loairavien"] == 2

    # IX: the emergency visit.
    em = _json(export.export_episode(repo, emergency_id, "json").content)["HoSoBenhAn"]
    assert em["HoSoCapCuu"] == {"thoigianden": "202611030215", "lydoden": "Đau ngực dữ dội"}
    assert "HoSoCapCuu" not in data

    # X/XI: the demo's procedures, each on the sheet of its kind; a complication named on its sheet.
    procs = _all(repo, "Procedure")
    assert procs
    first = {k: v for k, v in procs[0].items() if k != "meta"}
    cid = repo.create("Condition", {"resourceType": "Condition", "subject": first["subject"],
                                    "code": {"text": "Chảy máu sau can thiệp"}}).res_id
    first["complicationDetail"] = [{"reference": f"Condition/{cid}"}]
    repo.update("Procedure", first["id"], first)
    sheet = _json(export.export_episode(repo, _ref(first["encounter"]), "json").content)["HoSoBenhAn"]
    kind = "PhieuThuThuat" if first["category"]["coding"][0]["code"] == "thu-thuat" else "PhieuPhauThuat"
    assert [x.get("taibien") for x in sheet[kind]] == ["Chảy máu sau can thiệp"]
    for proc in _all(repo, "Procedure"):
        kind = proc["category"]["coding"][0]["code"]
        group, item, tag = (("PhieuThuThuat", "ThuThuat", "tenthuthuat") if kind == "thu-thuat"
                            else ("PhieuPhauThuat", "PhauThuat", "tenphauthuat"))
        sheet = _xml(export.export_episode(repo, _ref(proc["encounter"]), "xml").content)
        assert proc["code"]["text"] in _texts(sheet, f"{group}/{item}/{tag}")

    # A patient: every one of their episodes; a period: the episodes that ended in it.
    pid = patient["id"]
    theirs = _json(export.export_patient(repo, pid, "json").content)["DanhSachHoSoBenhAn"]
    assert len(theirs) == len(_all(repo, "Encounter", subject=f"Patient/{pid}"))
    assert {r["ThongTinBenhNhan"]["cccd_so"] for r in theirs} == {cccd}
    end_day = tables._local(datetime.fromisoformat(enc["period"]["end"])).date()
    period = export.export_period(repo, end_day, end_day, "xml")
    listing = _xml(period.content)
    assert listing.tag == "DanhSachHoSoBenhAn"
    assert ma_lk in _texts(listing, "HoSoBenhAn/ThongTinBenhNhan/sovaovien")
    assert enc["id"] in period.encounters
    for e in _all(repo, "Encounter"):
        ended = (e.get("period") or {}).get("end")
        inside = e["status"] == "finished" and ended and tables._local(datetime.fromisoformat(ended)).date() == end_day
        assert (e["id"] in period.encounters) == bool(inside)


def test_a_value_that_does_not_fit_stops_the_export_naming_the_field(store):  # noqa: ANN001
    load_demo(store, patients=2)
    repo = Repository(store, Actor.system("test"))
    enc = _all(repo, "Encounter")[0]
    patient = repo.read("Patient", _ref(enc["subject"])).json()
    patient = {k: v for k, v in patient.items() if k != "meta"}
    patient["name"] = [{"text": "Nguyễn " + "Thị " * 70 + "Hà"}]     # 290 characters: hoten is Chuỗi(255)
    repo.update("Patient", patient["id"], patient)
    for fmt in ("xml", "json"):
        with pytest.raises(errors.RecordExportInvalid) as caught:
            export.export_episode(repo, enc["id"], fmt)
        assert "ThongTinBenhNhan/hoten" in caught.value.message
        assert "Nguyễn" in caught.value.message      # which record: its key and the patient's name


def test_the_committed_schemas_and_the_docs_are_the_field_tables():
    from pathlib import Path

    from benhan.exchange.hosobenhan.fields import markdown
    page = (Path(__file__).resolve().parents[2] / "docs" / "hosobenhan.md").read_text(encoding="utf-8")
    assert page.endswith("## The fields\n\n" + markdown())
    assert schema.XSD_FILE.read_bytes() == schema.xsd_text()
    assert schema.JSON_SCHEMA_FILE.read_text(encoding="utf-8") == schema.json_schema_text()
    jsonschema.Draft202012Validator.check_schema(schema.json_schema())


def test_the_period_must_be_a_period(store):  # noqa: ANN001
    repo = Repository(store, Actor.system("test"))
    with pytest.raises(errors.InvalidOperationParameter):
        export.export_period(repo, date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(errors.InvalidOperationParameter):
        export.check_format("pdf")
