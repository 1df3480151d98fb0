"""Importing a previous HIS's BHYT XML tables: the demo's episodes written by benhan's own claims
builder (GIAMDINHHS envelopes, XML1–XML5) and imported into an empty database (each kind) come back
as episodes with their diagnoses, drugs, services, lab values and progress notes; a second import
writes nothing; an existing patient is matched by CCCD, never duplicated; hostile rows are reported,
not crashing."""
from __future__ import annotations

import base64
import dataclasses
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.claims import envelope, his_import, tables
from benhan.claims.episode import Progress, Result
from benhan.claims.record import episode_from_record
from benhan.claims.tables import Table, to_xml
from benhan.clinical.load_demo import load_demo
from benhan.store.repository import Repository
from benhan.store.schema import audit_event, change_log
from benhan.store.store import Store
from benhan.vn.identifiers import CCCD_SYSTEM, MA_LK_SYSTEM


def _repo(store) -> Repository:  # noqa: ANN001
    return Repository(store, Actor.system("test-his-import"))


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> tuple[Path, dict]:  # noqa: ANN001
    """One GIAMDINHHS file per demo episode, as the claims builder writes it; the first two episodes
    also get lab results (XML4) and progress notes (XML5). Returns the folder and what each says."""
    base = tmp_path_factory.mktemp("his")
    source = Store.open(config_mod.load(env={}, data_dir=base / "source"))
    expected: dict[str, dict] = {}
    try:
        load_demo(source, patients=6, seed=3)
        repo = _repo(source)
        folder = base / "xml"
        folder.mkdir()
        for n, enc in enumerate(repo.search_type("Encounter", [("_count", "100")]).matches):
            ep, lines = episode_from_record(repo, enc.res_id)
            if n < 2:
                t = ep.admitted or datetime(2025, 1, 1)
                ep = dataclasses.replace(
                    ep, results=[Result("23.0166.1494", "GLU", "Glucose máu", "6.85", "mmol/L",
                                        time=t + timedelta(hours=1)),
                                 Result("23.0206.1596", "", "Test nhanh", "Âm tính", time=t + timedelta(hours=2))],
                    progress=[Progress("Người bệnh tỉnh, sốt nhẹ 37,8 độ", t + timedelta(hours=3), stage="Ổn định")])
            made = tables.claim_tables(ep, lines)
            (folder / f"hoso_{n:02d}.xml").write_bytes(envelope.build("01001", t_made(), made))
            rows = {tb.name: tb.rows for tb in made}
            expected[ep.ma_lk] = {"cccd": ep.cccd, "main": ep.main_icd, "other": list(ep.other_icd),
                                  "drugs": [r["MA_THUOC"] for r in rows["XML2"]],
                                  "services": sorted(r["MA_DICH_VU"] or r["MA_VAT_TU"] for r in rows["XML3"]),
                                  "labs": [r["GIA_TRI"] for r in rows["XML4"]],
                                  "notes": [r["DIEN_BIEN_LS"] for r in rows["XML5"]],
                                  "start": ep.admitted}
    finally:
        source.close()
    return folder, expected


def t_made() -> datetime:
    return datetime(2026, 1, 5, 8, 0)


def _by_encounter(repo: Repository, res_type: str, eid: str) -> list[dict]:
    found = repo.search_type(res_type, [("encounter", f"Encounter/{eid}"), ("_count", "200")])
    return [m.json() for m in found.matches]


def test_the_demo_episodes_exported_as_bhyt_xml_come_back_in_an_empty_database(store, demo_files):  # noqa: ANN001
    folder, expected = demo_files
    repo = _repo(store)
    report = his_import.import_files(repo, [folder])
    assert report.file_errors == [] and report.episodes == len(expected) and report.episodes_failed == 0
    assert report.tables["XML1"] == {"rows": len(expected), "mapped": len(expected), "notMapped": 0}
    assert report.tables["XML4"]["mapped"] == 4 and report.tables["XML5"]["mapped"] == 2
    assert [p for p in report.problems if not p["mapped"]] == []
    for ma_lk, want in expected.items():
        found = repo.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|{ma_lk}")]).matches
        assert len(found) == 1, ma_lk
        enc = found[0].json()
        assert enc["status"] == "finished" and datetime.fromisoformat(enc["period"]["start"]) == want["start"]
        assert enc["meta"]["source"].endswith(".xml") and "bhyt-xml" in enc["meta"]["source"]
        patient = repo.read("Patient", enc["subject"]["reference"].split("/")[1]).json()
        assert {"system": CCCD_SYSTEM, "value": want["cccd"], "use": "official"} in patient["identifier"]
        conditions = {c["id"]: c for c in _by_encounter(repo, "Condition", found[0].res_id)}
        ranked = [conditions[d["condition"]["reference"].split("/")[1]]["code"]["coding"][0]["code"]
                  for d in sorted(enc.get("diagnosis", []), key=lambda d: d["rank"])]
        assert ranked == [want["main"], *want["other"]]
        drugs = _by_encounter(repo, "MedicationRequest", found[0].res_id)
        assert sorted(d["medicationCodeableConcept"]["coding"][0]["code"] for d in drugs) == sorted(want["drugs"])
        services = _by_encounter(repo, "ServiceRequest", found[0].res_id) + _by_encounter(repo, "DeviceRequest",
                                                                                        found[0].res_id)
        assert sorted((s.get("code") or s.get("codeCodeableConcept"))["coding"][0]["code"] for s in services) \
            == want["services"]
        labs = _by_encounter(repo, "Observation", found[0].res_id)
        values = sorted(str(o["valueQuantity"]["value"]) if "valueQuantity" in o else o["valueString"] for o in labs)
        assert values == sorted(want["labs"])
        notes = [n["summary"] for n in _by_encounter(repo, "ClinicalImpression", found[0].res_id)]
        assert notes == want["notes"]
    # one Patient per CCCD
    assert repo.search_type("Patient", [("_summary", "count")]).total == len({w["cccd"] for w in expected.values()})
    # the glucose's exact text: 6.85 mmol/L
    glucose = [o for w in [repo.search_type("Observation", [("code", "https://benhan.vn/sid/ma-chi-so|GLU")])]
               for o in w.matches]
    assert len(glucose) == 2 and b'"value":6.85' in glucose[0].body

    # Importing the same files again writes nothing.
    with store.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(change_log)).scalar_one()
    again = his_import.import_files(repo, [folder])
    assert again.resources["created"] == again.resources["updated"] == 0 and again.patients_new == 0
    with store.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(change_log)).scalar_one() == before
        runs = conn.execute(select(audit_event.c.detail).where(audit_event.c.interaction == "import")).all()
    assert len(runs) == 2


def test_a_patient_benhan_already_has_is_matched_by_cccd_not_duplicated(store, demo_files):  # noqa: ANN001
    folder, expected = demo_files
    ma_lk, want = next(iter(expected.items()))
    repo = _repo(store)
    mine = {"resourceType": "Patient", "id": "da-co", "identifier": [{"system": CCCD_SYSTEM, "value": want["cccd"]}],
            "name": [{"text": "Đã có ở benhan"}]}
    repo.commit([repo.prepare("PUT", "Patient", "da-co", mine)], "update")
    file = next(f for f in sorted(folder.iterdir()) if ma_lk.encode() in base64.b64decode(
        envelope_table(f.read_bytes(), "XML1")))
    report = his_import.import_files(repo, [file])
    assert report.patients_matched == 1 and report.patients_new == 0
    enc = repo.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|{ma_lk}")]).matches[0].json()
    assert enc["subject"]["reference"] == "Patient/da-co"
    assert repo.read("Patient", "da-co").version == 1        # benhan's record is used as it is
    same = repo.search_type("Patient", [("identifier", f"{CCCD_SYSTEM}|{want['cccd']}"), ("_summary", "count")])
    assert same.total == 1


def envelope_table(data: bytes, name: str) -> str:
    from lxml import etree
    root = etree.fromstring(data)
    return next(i.findtext("NOIDUNGFILE") for i in root.iter("FILEHOSO") if i.findtext("LOAIHOSO") == name)


def _xml1(ma_lk: str, **fields: str) -> dict:
    row = {"MA_LK": ma_lk, "STT": "1", "MA_BN": f"BN-{ma_lk}", "HO_TEN": "Phạm Văn Đồng", "SO_CCCD": "001090012345",
           "NGAY_SINH": "199005120000", "GIOI_TINH": "1", "MA_DANTOC": "01", "MA_THE_BHYT": "",
           "MA_BENH_CHINH": "J06.9", "MA_BENH_KT": "", "MA_LOAI_KCB": "01", "NGAY_VAO": "202501100800",
           "NGAY_RA": "202501100930", "KET_QUA_DTRI": "1", "MA_LOAI_RV": "1", "MA_CSKCB": "01001"}
    row.update(fields)
    return row


def _envelope(*hosos: list[tuple[str, str]]) -> bytes:
    """A GIAMDINHHS with one HOSO per episode (an XML1 table holds one episode)."""
    body = "".join("<HOSO>" + "".join(f"<FILEHOSO><LOAIHOSO>{n}</LOAIHOSO><NOIDUNGFILE>{c}</NOIDUNGFILE></FILEHOSO>"
                                      for n, c in items) + "</HOSO>" for items in hosos)
    return (f"<GIAMDINHHS><THONGTINDONVI><MACSKCB>01001</MACSKCB></THONGTINDONVI><THONGTINHOSO><NGAYLAP>20260105"
            f"</NGAYLAP><SOLUONGHOSO>{len(hosos)}</SOLUONGHOSO><DANHSACHHOSO>{body}</DANHSACHHOSO></THONGTINHOSO>"
            "<CHUKYDONVI/></GIAMDINHHS>").encode()


def _b64(table: Table) -> str:
    return base64.b64encode(to_xml(table)).decode()


def test_hostile_rows_and_files_are_reported_with_their_reason_and_the_rest_goes_in(store, tmp_path):  # noqa: ANN001
    ok = Table("XML1", [_xml1("LK-OK", MA_BENH_KT="Z99.99;K29.7", SO_CCCD="")])
    bad_date = Table("XML1", [_xml1("LK-BADDATE", NGAY_VAO="2025-01-10", SO_CCCD="001090012346")])
    drug = {"MA_LK": "LK-OK", "MA_THUOC": "40.17", "TEN_THUOC": "Paracetamol", "DON_VI_TINH": "viên",
            "SO_LUONG": "10", "NGAY_YL": "202501100815"}
    xml2 = Table("XML2", [{**drug, "STT": "1"}, {**drug, "STT": "2", "NGAY_YL": "20250132"},
                          {**drug, "STT": "3", "SO_LUONG": "mười"}, {**drug, "STT": "4", "MA_LK": "LK-NOWHERE"},
                          {**drug, "STT": "5", "MA_THUOC": ""}])
    (tmp_path / "a.xml").write_bytes(_envelope([("XML1", _b64(ok)), ("XML2", _b64(xml2)),
                                                ("XML3", "!!! không phải base64 !!!"), ("XML99", _b64(ok))],
                                               [("XML1", _b64(bad_date))]))
    (tmp_path / "b.xml").write_bytes(b"<html><body>not a claim</body></html>")
    (tmp_path / "c.xml").write_bytes(b"\x00\x01 not xml at all")
    repo = _repo(store)
    report = his_import.import_files(repo, [tmp_path])
    reasons: dict = {}
    for p in report.problems:
        reasons.setdefault((p["table"], p["MA_LK"], p["STT"]), {"reason": ""})["reason"] += p["reason"] + " / "
    ok_notes = reasons[("XML1", "LK-OK", "1")]["reason"]
    assert "ICD-10" in ok_notes and "Z99.99" in ok_notes and "no CCCD" in ok_notes
    assert "NGAY_VAO" in reasons[("XML1", "LK-BADDATE", "1")]["reason"]
    assert "NGAY_YL" in reasons[("XML2", "LK-OK", "2")]["reason"]
    assert "SO_LUONG" in reasons[("XML2", "LK-OK", "3")]["reason"]
    assert "XML1" in reasons[("XML2", "LK-NOWHERE", "4")]["reason"]
    assert "MA_THUOC" in reasons[("XML2", "LK-OK", "5")]["reason"]
    assert report.tables["XML1"] == {"rows": 2, "mapped": 1, "notMapped": 1}
    assert report.tables["XML2"] == {"rows": 5, "mapped": 1, "notMapped": 4}
    errors_ = " ".join(f"{Path(e['file']).name}: {e['reason']}" for e in report.file_errors)
    assert "a.xml: XML3" in errors_ and "base64" in errors_ and "XML99" in errors_
    assert "b.xml" in errors_ and "c.xml" in errors_ and not report.ok
    # what could be mapped is there: the episode, its known diagnosis only (K29.7 as rank 1 after J06.9), its drug
    enc = repo.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|LK-OK")]).matches[0].json()
    assert [d["rank"] for d in enc["diagnosis"]] == [1, 2]
    assert len(_by_encounter(repo, "MedicationRequest", enc["id"])) == 1
    assert repo.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|LK-BADDATE")]).matches == []


def test_the_command_reports_a_bad_file_in_one_line_and_exits_non_zero(tmp_path):  # noqa: ANN001
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<GIAMDINHHS><THONGTINHOSO>")
    done = subprocess.run([sys.executable, "-m", "benhan.cli", "import", "bhyt-xml", str(bad),
                           "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "BENHAN-8501" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr + done.stdout


def test_the_table_files_of_a_folder_are_put_together_by_ma_lk(store, tmp_path):  # noqa: ANN001
    """An HIS that writes each table as its own file (XML1.xml, XML2.xml …), not an envelope."""
    (tmp_path / "XML1.xml").write_bytes(to_xml(Table("XML1", [_xml1("LK-LOOSE", SO_CCCD="001090012399")])))
    (tmp_path / "XML2.xml").write_bytes(to_xml(Table("XML2", [
        {"MA_LK": "LK-LOOSE", "STT": "1", "MA_THUOC": "40.17", "TEN_THUOC": "Paracetamol 500mg", "SO_LUONG": "0.5",
         "DON_VI_TINH": "viên", "NGAY_YL": "202501100820"}])))
    (tmp_path / "XML5.xml").write_bytes(to_xml(Table("XML5", [
        {"MA_LK": "LK-LOOSE", "STT": "1", "DIEN_BIEN_LS": "Hết sốt", "THOI_DIEM_DBLS": "202501100900"},
        {"MA_LK": "LK-OTHER", "STT": "1", "DIEN_BIEN_LS": "?", "THOI_DIEM_DBLS": "202501100900"}])))
    repo = _repo(store)
    report = his_import.import_files(repo, [tmp_path])
    assert report.episodes == 1 and report.tables["XML2"]["mapped"] == 1 and report.tables["XML5"]["mapped"] == 1
    orphan = next(p for p in report.problems if p["MA_LK"] == "LK-OTHER")
    assert orphan["file"].endswith("XML5.xml") and "no XML1" in orphan["reason"]
    enc = repo.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|LK-LOOSE")]).matches[0]
    drug, = _by_encounter(repo, "MedicationRequest", enc.res_id)
    assert drug["dispenseRequest"]["quantity"] == {"value": 0.5, "unit": "viên"}
    assert drug["authoredOn"] == "2025-01-10T08:20:00+07:00"
