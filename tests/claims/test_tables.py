"""Golden tests per claim table, from demo-like episodes whose money was worked out by hand
(tests/claims/episodes.py): the XML a gateway reads, field by field, in the decision's order."""
from __future__ import annotations

import base64
from datetime import datetime

import pytest
from lxml import etree

from benhan import errors
from benhan.claims import envelope, service, tables, validation
from benhan.claims.fields import NAMES
from tests.claims import episodes
from tests.claims.episodes import VN

MADE = datetime(2026, 11, 5, 12, 0, tzinfo=VN)


def parsed(table: tables.Table) -> list[dict[str, str]]:
    """The records of the table's XML file, read back with lxml (not with benhan's reader)."""
    root = etree.fromstring(tables.to_xml(table))
    from benhan.claims.fields import ROOTS
    _, list_tag, record_tag = ROOTS[table.name]
    records = [root] if list_tag is None else root.find(list_tag).findall(record_tag)
    for rec in records:       # every field of the list, in order, empty ones included
        assert [c.tag for c in rec] == list(NAMES[table.name])
    return [{c.tag: c.text or "" for c in rec} for rec in records]


def by_name(ts: list[tables.Table]) -> dict[str, list[dict[str, str]]]:
    return {t.name: parsed(t) for t in ts}


def test_outpatient_bhyt_tables() -> None:
    ep, lines = episodes.outpatient()
    t = by_name(tables.claim_tables(ep, lines))
    assert list(t) == ["XML1", "XML2", "XML3", "XML4", "XML5", "XML14"]
    x1 = t["XML1"][0]
    assert (x1["MA_LK"], x1["HO_TEN"], x1["NGAY_SINH"], x1["GIOI_TINH"]) == (
        "01013-KB-20261103-0001", "Nguyễn Văn An", "196005010000", "1")
    assert (x1["MA_THE_BHYT"], x1["MA_DKBD"], x1["GT_THE_TU"], x1["GT_THE_DEN"]) == (
        "HT4790123456789", "01013", "20260101", "20261231")
    assert (x1["NGAY_VAO"], x1["NGAY_RA"], x1["SO_NGAY_DTRI"], x1["MA_LOAI_KCB"]) == (
        "202611030805", "202611031040", "0", "01")
    assert (x1["MA_BENH_CHINH"], x1["MA_BENH_KT"], x1["MA_DOITUONG_KCB"]) == ("I10", "E11.9", "1.1")
    assert (x1["T_THUOC"], x1["T_VTYT"], x1["T_TONGCHI_BV"], x1["T_TONGCHI_BH"]) == (
        "12345.67", "0.00", "78125.67", "78125.67")
    assert (x1["T_BHTT"], x1["T_BNCCT"], x1["T_BNTT"], x1["T_NGUONKHAC"]) == ("62500.54", "15625.13", "0.00", "0.00")
    assert (x1["NAM_QT"], x1["THANG_QT"], x1["NGAY_TAI_KHAM"]) == ("2026", "11", "20261203")
    drug = t["XML2"]
    assert len(drug) == 1
    assert (drug[0]["STT"], drug[0]["MA_THUOC"], drug[0]["SO_LUONG"], drug[0]["DON_GIA"]) == ("1", "40.17", "10", "1234.567")
    assert (drug[0]["THANH_TIEN_BV"], drug[0]["T_BHTT"], drug[0]["T_BNCCT"], drug[0]["MUC_HUONG"]) == (
        "12345.67", "9876.54", "2469.13", "80")
    assert drug[0]["SO_DANG_KY"] == "VD-12345-20"          # no spaces (§3.5)
    exams = t["XML3"]
    assert [(r["STT"], r["MA_DICH_VU"], r["TYLE_TT_DV"], r["THANH_TIEN_BV"], r["T_BHTT"]) for r in exams] == [
        ("1", "02.1896", "100", "50600.00", "40480.00"), ("2", "10.1900", "30", "15180.00", "12144.00")]
    assert [r["MA_NHOM"] for r in exams] == ["13", "13"]
    assert t["XML4"] == []
    assert [(r["STT"], r["THOI_DIEM_DBLS"]) for r in t["XML5"]] == [("1", "202611030820")]
    assert (t["XML14"][0]["NGAY_HEN_KL"], t["XML14"][0]["SO_GIAYHEN_KL"]) == ("20261203", "HKL-0001")


def test_inpatient_with_surgery_and_referral_tables() -> None:
    ep, lines = episodes.inpatient_surgery_referral()
    t = by_name(tables.claim_tables(ep, lines))
    assert list(t) == ["XML1", "XML2", "XML3", "XML4", "XML5", "XML7", "XML8", "XML13"]
    x1 = t["XML1"][0]
    assert (x1["MA_LOAI_KCB"], x1["NGAY_VAO"], x1["NGAY_VAO_NOI_TRU"], x1["NGAY_RA"]) == (
        "03", "202611020900", "202611020930", "202611051000")
    assert x1["SO_NGAY_DTRI"] == "4"                        # 5 − 2 + 1
    assert (x1["NGAY_SINH"], x1["GIOI_TINH"], x1["MA_PTTT_QT"], x1["MA_NOI_DEN"]) == (
        "198503090000", "2", "47.09", "01001")
    assert (x1["KET_QUA_DTRI"], x1["MA_LOAI_RV"], x1["MA_KHOA"]) == ("2", "2", "K01;K20")
    assert (x1["T_TONGCHI_BV"], x1["T_TONGCHI_BH"], x1["T_THUOC"], x1["T_VTYT"]) == (
        "123521642.00", "117371642.00", "108642.00", "120000000.00")
    assert (x1["T_BHTT"], x1["T_BNCCT"], x1["T_BNTT"]) == ("93897313.60", "23474328.40", "6150000.00")
    rows = {r["MA_DICH_VU"] or r["MA_VAT_TU"]: r for r in t["XML3"]}
    supply = rows["N07.01.010"]
    assert (supply["MA_NHOM"], supply["TEN_VAT_TU"], supply["T_TRANTT"], supply["DON_GIA_BH"]) == (
        "10", "Bộ dụng cụ nội soi", "113850000.00", "113850000")
    assert (supply["THANH_TIEN_BH"], supply["T_BHTT"], supply["T_BNCCT"], supply["T_BNTT"]) == (
        "113850000.00", "91080000.00", "22770000.00", "6150000.00")
    assert (rows["10.0527.0480"]["PP_VO_CAM"], rows["10.0527.0480"]["NGAY_KQ"]) == ("1", "202611021530")
    assert (rows["K20.1950"]["SO_LUONG"], rows["K20.1950"]["MA_GIUONG"], rows["K20.1950"]["THANH_TIEN_BV"]) == (
        "3", "G001", "963000.00")
    assert t["XML2"][0]["T_BHTT"] == "86913.60"
    assert [(r["MA_CHI_SO"], r["GIA_TRI"], r["NGAY_KQ"]) for r in t["XML4"]] == [("0001234", "14.2", "202611021030")]
    assert [r["HOI_CHAN"] for r in t["XML5"]] == ["", "Hội chẩn khoa"]
    assert (t["XML7"][0]["MA_KHOA_RV"], t["XML7"][0]["PP_DIEUTRI"], t["XML7"][0]["NGAY_CT"]) == (
        "K20", "Phẫu thuật cắt ruột thừa nội soi", "20261105")
    assert t["XML8"][0]["QT_BENHLY"] == "Đau hố chậu phải 12 giờ, sốt 38,5°C"
    x13 = t["XML13"][0]
    assert (x13["SO_CHUYENTUYEN"], x13["MA_NOI_DEN"], x13["MA_LYDO_CT"], x13["PHUONGTIEN_VC"]) == (
        "CT-0042", "01001", "1", "Xe cứu thương")
    assert validation.validate(tables.claim_tables(ep, lines)).ok


def test_a_visit_without_bhyt_makes_no_claim_and_no_check_in(seal) -> None:  # noqa: ANN001
    ep, lines = episodes.non_bhyt()
    assert service.prepare_checkin(ep, lines, seal, MADE) is None
    with pytest.raises(errors.ClaimNotPossible):
        service.prepare(ep, lines, seal, MADE)


def test_an_emergency_sends_no_check_in_and_claims_as_object_2(seal) -> None:  # noqa: ANN001
    ep, lines = episodes.emergency()
    assert service.prepare_checkin(ep, lines, seal, MADE) is None
    prepared = service.prepare(ep, lines, seal, MADE)
    assert prepared.report.ok, prepared.report.text()
    x1 = parsed(prepared.tables[0])[0]
    assert (x1["MA_DOITUONG_KCB"], x1["MA_TAI_NAN"], x1["T_TONGCHI_BV"], x1["T_BHTT"], x1["T_BNCCT"]) == (
        "2", "1", "116000.00", "116000.00", "0.00")
    assert parsed(prepared.tables[2])[1]["MA_MAY"] == "XQ.1.01013.1"


def test_thong_tuyen_claim_and_its_check_in(seal) -> None:  # noqa: ANN001
    ep, lines = episodes.thong_tuyen()
    checkin = service.prepare_checkin(ep, lines, seal, MADE)
    assert checkin is not None and checkin.report.ok
    x0 = parsed(checkin.tables[0])[0]
    # XML0 names the first cost of the visit (the exam at 07:50) and the card registered elsewhere.
    assert (x0["MA_DICH_VU"], x0["NGAY_YL"], x0["MA_DKBD"], x0["MA_CSKCB"], x0["MA_DOITUONG_KCB"]) == (
        "02.1896", "202611050750", "01001", "01013", "1.11")
    prepared = service.prepare(ep, lines, seal, MADE)
    x1 = parsed(prepared.tables[0])[0]
    assert (x1["T_TONGCHI_BV"], x1["T_BHTT"], x1["T_BNCCT"], x1["NAM_NAM_LIEN_TUC"]) == (
        "80077.00", "76073.15", "4003.85", "20240301")
    assert [r["MUC_HUONG"] for r in parsed(prepared.tables[1])] == ["95"]


def test_the_envelope_carries_each_table_in_base64(seal) -> None:  # noqa: ANN001
    ep, lines = episodes.outpatient()
    prepared = service.prepare(ep, lines, seal, MADE)
    root = etree.fromstring(prepared.signed)
    assert root.tag == "GIAMDINHHS"
    assert root.findtext("THONGTINDONVI/MACSKCB") == "01013"
    assert root.findtext("THONGTINHOSO/NGAYLAP") == "20261105"
    files = root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO")
    assert [f.findtext("LOAIHOSO") for f in files] == ["XML1", "XML2", "XML3", "XML4", "XML5", "XML14"]
    inner = etree.fromstring(base64.b64decode(files[0].findtext("NOIDUNGFILE")))
    assert inner.tag == "TONG_HOP" and inner.findtext("T_TONGCHI_BV") == "78125.67"
    assert root[-1].tag == "CHUKYDONVI" and root[-1][0].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    facility, back = envelope.read(prepared.signed)
    assert facility == "01013" and [b.rows for b in back] == [t.rows for t in
                                                              [tables.from_xml(x.name, tables.to_xml(x))
                                                               for x in prepared.tables]]
