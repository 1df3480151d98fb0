"""The claim tables of one episode as rows of formatted values (field → text), and each table as the
XML the gateway reads. Money comes from the charge lines as they are (the billing layer computed
it once); the table totals of XML1 are sums of the lines' values, so the cross-table checks hold
by construction and validation can still catch a file edited by hand.

Drugs (and blood, whose lines count as drugs in T_THUOC) go to XML2; services, supplies, beds,
exams and transport go to XML3 (shared/vietnam-billing.md §1.7).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from benhan.billing.lines import ChargeLine
from benhan.claims.episode import Episode
from benhan.claims.fields import NAMES, ROOTS
from benhan.fhir import datetimes

CENT = Decimal("0.01")
DRUG_KINDS = ("drug", "blood")
SUPPLY_KINDS = ("supply",)
# MA_NHOM when the line does not say (QĐ 130 PL; vietnam-billing.md §3.1).
DEFAULT_GROUP = {"drug": "4", "blood": "7", "supply": "10", "exam": "13", "bed": "15", "transport": "12",
                 "service": "18"}


@dataclass
class Table:
    name: str                       # XML1 …
    rows: list[dict[str, str]]


# --- formats -------------------------------------------------------------------------------------

def _local(moment: datetime) -> datetime:
    return moment.astimezone(datetimes.local_zone()) if moment.tzinfo else moment


def stamp(moment: datetime | None) -> str:
    """yyyyMMddHHmm in the facility's zone."""
    return _local(moment).strftime("%Y%m%d%H%M") if moment else ""


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value)
    return value.strftime("%Y%m%d")


def birth(value: date | datetime, day_known: bool = True) -> str:
    """NGAY_SINH: yyyyMMddHHmm, with 0000 when the hour is not known and 0000 for the month and day
    when only the year is known (QĐ 130 XML1 field list: vietnam-billing.md §3.1)."""
    if not day_known:
        return f"{value.year:04d}00000000"
    if isinstance(value, datetime):
        return stamp(value)
    return value.strftime("%Y%m%d") + "0000"


def money(value: Decimal) -> str:
    return format(value.quantize(CENT, ROUND_HALF_UP), "f")


def number(value: Decimal) -> str:
    """A quantity, price or rate: as few decimals as it needs (at most 3), '.' as separator."""
    q = value.quantize(Decimal("0.001"), ROUND_HALF_UP).normalize()
    text = format(q, "f")
    return text if text != "-0" else "0"


def _total(lines: list[ChargeLine], attr: str) -> Decimal:
    return sum((getattr(line, attr) for line in lines), Decimal("0"))


# --- the tables ----------------------------------------------------------------------------------

def _card_fields(ep: Episode) -> dict[str, str]:
    return {"MA_THE_BHYT": ep.card, "MA_DKBD": ep.card_place,
            # No card: the admission and discharge dates (QĐ 130 XML1 notes).
            "GT_THE_TU": day(ep.card_from) if ep.card else day(ep.admitted),
            "GT_THE_DEN": day(ep.card_to) if ep.card else day(ep.discharged)}


def xml0(ep: Episode, lines: list[ChargeLine]) -> Table:
    """The check-in, sent at the first cost; its object code is provisional (XML1 has the final)."""
    first = min((line for line in lines if line.service_time), key=lambda line: line.service_time, default=None)
    row = {"MA_LK": ep.ma_lk, "STT": "1", "MA_BN": ep.patient_code, "HO_TEN": ep.name, "SO_CCCD": ep.cccd,
           "NGAY_SINH": birth(ep.birth, ep.birth_day_known), "GIOI_TINH": str(ep.sex), **_card_fields(ep),
           "MA_DOITUONG_KCB": ep.object_code, "NGAY_VAO": stamp(ep.admitted),
           "NGAY_VAO_NOI_TRU": stamp(ep.admitted_inpatient), "MA_LOAI_KCB": ep.visit_type, "MA_CSKCB": ep.facility}
    if first is not None:
        if first.kind in DRUG_KINDS:
            row.update(MA_THUOC=first.code, TEN_THUOC=first.name)
        elif first.kind in SUPPLY_KINDS:
            row.update(MA_VAT_TU=first.code, TEN_VAT_TU=first.name)
        else:
            row.update(MA_DICH_VU=first.code, TEN_DICH_VU=first.name)
        row["NGAY_YL"] = stamp(first.service_time)
    return Table("XML0", [row])


def treatment_days(ep: Episode) -> int:
    """SO_NGAY_DTRI: 0 for an exam (01, 07, 09); out − in + 1 for treatment (vietnam-billing.md §3.1)."""
    if ep.visit_type in ("01", "07", "09") or not ep.admitted or not ep.discharged:
        return 0
    start = ep.admitted_inpatient or ep.admitted
    return (_local(ep.discharged).date() - _local(start).date()).days + 1


def xml1(ep: Episode, lines: list[ChargeLine]) -> Table:
    drugs = [line for line in lines if line.kind in DRUG_KINDS]
    supplies = [line for line in lines if line.kind in SUPPLY_KINDS]
    settle = ep.discharged or ep.admitted
    fee_for_service = [line for line in lines if line.extra.get("MA_PTTT", "1") == "1"]
    row = {"MA_LK": ep.ma_lk, "STT": "1", "MA_BN": ep.patient_code, "HO_TEN": ep.name, "SO_CCCD": ep.cccd,
           "NGAY_SINH": birth(ep.birth, ep.birth_day_known), "GIOI_TINH": str(ep.sex), "NHOM_MAU": ep.blood_group,
           "MA_QUOCTICH": ep.nationality, "MA_DANTOC": ep.ethnicity, "MA_NGHE_NGHIEP": ep.occupation,
           "DIA_CHI": ep.address, "MATINH_CU_TRU": ep.province, "MAHUYEN_CU_TRU": ep.district,
           "MAXA_CU_TRU": ep.commune, "DIEN_THOAI": ep.phone, **_card_fields(ep),
           "NGAY_MIEN_CCT": day(ep.copay_exempt_from), "LY_DO_VV": ep.reason, "CHAN_DOAN_VAO": ep.diagnosis_in,
           "CHAN_DOAN_RV": ep.diagnosis_out, "MA_BENH_CHINH": ep.main_icd, "MA_BENH_KT": ";".join(ep.other_icd),
           "MA_PTTT_QT": ";".join(ep.procedures), "MA_DOITUONG_KCB": ep.object_code,
           "MA_NOI_DI": ep.from_facility, "MA_NOI_DEN": ep.to_facility, "MA_TAI_NAN": ep.accident,
           "NGAY_VAO": stamp(ep.admitted), "NGAY_VAO_NOI_TRU": stamp(ep.admitted_inpatient),
           "NGAY_RA": stamp(ep.discharged), "GIAY_CHUYEN_TUYEN": ep.transfer_paper,
           "SO_NGAY_DTRI": str(treatment_days(ep)), "PP_DIEU_TRI": ep.treatment, "KET_QUA_DTRI": str(ep.outcome),
           "MA_LOAI_RV": str(ep.discharge_type), "GHI_CHU": ep.note, "NGAY_TTOAN": stamp(ep.paid),
           "T_THUOC": money(_total(drugs, "amount")), "T_VTYT": money(_total(supplies, "amount")),
           "T_TONGCHI_BV": money(_total(lines, "amount")), "T_TONGCHI_BH": money(_total(lines, "insured_amount")),
           "T_BNTT": money(_total(lines, "patient_self")), "T_BNCCT": money(_total(lines, "patient_copay")),
           "T_BHTT": money(_total(lines, "bhyt_paid")), "T_NGUONKHAC": money(_total(lines, "other_sources")),
           "T_BHTT_GDV": money(_total(fee_for_service, "bhyt_paid")),
           "NAM_QT": str(_local(settle).year) if settle else "", "THANG_QT": str(_local(settle).month) if settle else "",
           "MA_LOAI_KCB": ep.visit_type, "MA_KHOA": ";".join(ep.departments), "MA_CSKCB": ep.facility,
           "MA_KHUVUC": ep.area, "CAN_NANG": ep.weight, "NAM_NAM_LIEN_TUC": day(ep.five_years),
           "NGAY_TAI_KHAM": day(ep.appointment.day) if ep.appointment else "",
           "MA_HSBA": ep.record_number or ep.ma_lk, "MA_TTDV": ep.head_of_department}
    return Table("XML1", [row])


def _line_common(ep: Episode, line: ChargeLine, stt: int) -> dict[str, str]:
    return {"MA_LK": ep.ma_lk, "STT": str(stt), "MA_NHOM": line.cost_group or DEFAULT_GROUP.get(line.kind, "18"),
            "DON_VI_TINH": line.unit, "PHAM_VI": line.extra.get("PHAM_VI", "1" if line.insured_amount else "2"),
            "SO_LUONG": number(line.quantity), "TYLE_TT_BH": number(line.insurance_rate),
            "THANH_TIEN_BV": money(line.amount), "THANH_TIEN_BH": money(line.insured_amount),
            "T_NGUONKHAC": money(line.other_sources), "MUC_HUONG": number(line.benefit_rate),
            "T_BNTT": money(line.patient_self), "T_BNCCT": money(line.patient_copay), "T_BHTT": money(line.bhyt_paid),
            "MA_KHOA": line.department or (ep.departments[0] if ep.departments else ""),
            "MA_BAC_SI": line.practitioner, "NGAY_YL": stamp(line.service_time),
            "NGAY_TH_YL": stamp(line.extra.get("NGAY_TH_YL") or line.service_time),
            "MA_PTTT": line.extra.get("MA_PTTT", "1")}


def _extra(line: ChargeLine, names: tuple[str, ...]) -> dict[str, str]:
    """The per-table fields the billing layer passes through `extra` (LIEU_DUNG, MA_MAY …)."""
    out = {}
    for name in names:
        value = line.extra.get(name)
        if value is None:
            continue
        out[name] = stamp(value) if isinstance(value, datetime) else str(value)
    return out


def xml2(ep: Episode, lines: list[ChargeLine]) -> Table:
    rows = []
    for stt, line in enumerate((x for x in lines if x.kind in DRUG_KINDS), start=1):
        row = {**_line_common(ep, line, stt), "MA_THUOC": line.code, "TEN_THUOC": line.name,
               "DON_GIA": number(line.unit_price)}
        row.update(_extra(line, ("MA_PP_CHEBIEN", "MA_CSKCB_THUOC", "HAM_LUONG", "DUONG_DUNG", "DANG_BAO_CHE",
                                 "LIEU_DUNG", "CACH_DUNG", "SO_DANG_KY", "TT_THAU", "MA_DICH_VU", "NGUON_CTRA")))
        if "SO_DANG_KY" in row:
            row["SO_DANG_KY"] = row["SO_DANG_KY"].replace(" ", "")
        rows.append(row)
    return Table("XML2", rows)


def xml3(ep: Episode, lines: list[ChargeLine]) -> Table:
    rows = []
    for stt, line in enumerate((x for x in lines if x.kind not in DRUG_KINDS), start=1):
        row = {**_line_common(ep, line, stt), "DON_GIA_BV": number(line.unit_price),
               "DON_GIA_BH": number(line.insured_unit_price if line.insured_unit_price is not None
                                    else (line.unit_price if line.insured_amount else Decimal("0"))),
               "TYLE_TT_DV": number(line.service_rate), "MA_BENH": ";".join((ep.main_icd, *ep.other_icd)).strip(";")}
        if line.kind in SUPPLY_KINDS:
            row.update(MA_VAT_TU=line.code, TEN_VAT_TU=line.name)
        else:
            row.update(MA_DICH_VU=line.code, TEN_DICH_VU=line.name)
        if line.ceiling is not None:
            row["T_TRANTT"] = money(line.ceiling)
        row.update(_extra(line, ("MA_PTTT_QT", "GOI_VTYT", "MA_XANG_DAU", "TT_THAU", "MA_GIUONG", "NGUOI_THUC_HIEN",
                                 "NGAY_KQ", "PP_VO_CAM", "VI_TRI_TH_DVKT", "MA_MAY", "MA_HIEU_SP", "TAI_SU_DUNG",
                                 "MA_DICH_VU")))
        rows.append(row)
    return Table("XML3", rows)


def xml4(ep: Episode) -> Table:
    return Table("XML4", [{"MA_LK": ep.ma_lk, "STT": str(stt), "MA_DICH_VU": r.service_code,
                           "MA_CHI_SO": r.indicator_code, "TEN_CHI_SO": r.indicator_name, "GIA_TRI": r.value,
                           "DON_VI_DO": r.unit, "MO_TA": r.description, "KET_LUAN": r.conclusion,
                           "NGAY_KQ": stamp(r.time), "MA_BS_DOC_KQ": r.reader}
                          for stt, r in enumerate(ep.results, start=1)])


def xml5(ep: Episode) -> Table:
    return Table("XML5", [{"MA_LK": ep.ma_lk, "STT": str(stt), "DIEN_BIEN_LS": p.text, "GIAI_DOAN_BENH": p.stage,
                           "HOI_CHAN": p.consultation, "PHAU_THUAT": p.surgery, "THOI_DIEM_DBLS": stamp(p.time),
                           "NGUOI_THUC_HIEN": p.performer}
                          for stt, p in enumerate(ep.progress, start=1)])


def xml7(ep: Episode) -> Table:
    return Table("XML7", [{"MA_LK": ep.ma_lk, "SO_LUU_TRU": ep.record_number or ep.ma_lk, "MA_YTE": ep.patient_code,
                           "MA_KHOA_RV": ep.departments[-1] if ep.departments else "", "NGAY_VAO": stamp(ep.admitted),
                           "NGAY_RA": stamp(ep.discharged), "CHAN_DOAN_RV": ep.diagnosis_out,
                           "PP_DIEUTRI": ep.treatment, "GHI_CHU": ep.note, "MA_TTDV": ep.head_of_department,
                           "MA_BS": ep.doctor, "TEN_BS": ep.doctor_name, "NGAY_CT": day(ep.discharged),
                           "SO_NGAY_NGHI": str(ep.sick_leave_days) if ep.sick_leave_days else ""}])


def xml8(ep: Episode) -> Table:
    return Table("XML8", [{"MA_LK": ep.ma_lk, "MA_LOAI_KCB": ep.visit_type, "NGAY_VAO": stamp(ep.admitted),
                           "NGAY_RA": stamp(ep.discharged), "CHAN_DOAN_VAO": ep.diagnosis_in,
                           "CHAN_DOAN_RV": ep.diagnosis_out, "QT_BENHLY": ep.history_summary,
                           "TOMTAT_KQ": ep.results_summary, "PP_DIEUTRI": ep.treatment,
                           "KET_QUA_DTRI": str(ep.outcome), "GHI_CHU": ep.note, "MA_TTDV": ep.head_of_department,
                           "NGAY_CT": day(ep.discharged)}])


def xml13(ep: Episode) -> Table:
    ref = ep.referral
    assert ref is not None
    return Table("XML13", [{"MA_LK": ep.ma_lk, "SO_HOSO": ep.record_number or ep.ma_lk, "SO_CHUYENTUYEN": ref.number,
                            "GIAY_CHUYEN_TUYEN": ep.transfer_paper, "MA_CSKCB": ep.facility,
                            "MA_NOI_DI": ep.from_facility, "MA_NOI_DEN": ref.to_facility, "HO_TEN": ep.name,
                            "NGAY_SINH": birth(ep.birth, ep.birth_day_known), "GIOI_TINH": str(ep.sex), "MA_QUOCTICH": ep.nationality,
                            "MA_DANTOC": ep.ethnicity, "MA_NGHE_NGHIEP": ep.occupation, "DIA_CHI": ep.address,
                            "MA_THE_BHYT": ep.card, "GT_THE_DEN": day(ep.card_to), "NGAY_VAO": stamp(ep.admitted),
                            "NGAY_VAO_NOI_TRU": stamp(ep.admitted_inpatient), "NGAY_RA": stamp(ep.discharged),
                            "DAU_HIEU_LS": ref.clinical_signs, "CHAN_DOAN_RV": ep.diagnosis_out,
                            "QT_BENHLY": ep.history_summary, "TOMTAT_KQ": ep.results_summary,
                            "PP_DIEUTRI": ep.treatment, "MA_BENH_CHINH": ep.main_icd,
                            "MA_BENH_KT": ";".join(ep.other_icd), "MA_LOAI_RV": str(ep.discharge_type),
                            "MA_LYDO_CT": ref.reason_code, "HUONG_DIEU_TRI": ref.direction,
                            "PHUONGTIEN_VC": ref.transport, "HOTEN_NGUOI_HT": ref.companion,
                            "CHUCDANH_NGUOI_HT": ref.companion_title, "MA_BAC_SI": ep.doctor,
                            "MA_TTDV": ep.head_of_department}])


def xml14(ep: Episode) -> Table:
    appt = ep.appointment
    assert appt is not None
    return Table("XML14", [{"MA_LK": ep.ma_lk, "SO_GIAYHEN_KL": appt.number, "MA_CSKCB": ep.facility,
                            "HO_TEN": ep.name, "NGAY_SINH": birth(ep.birth, ep.birth_day_known), "GIOI_TINH": str(ep.sex),
                            "DIA_CHI": ep.address, "MA_THE_BHYT": ep.card, "GT_THE_DEN": day(ep.card_to),
                            "NGAY_VAO": stamp(ep.admitted), "NGAY_VAO_NOI_TRU": stamp(ep.admitted_inpatient),
                            "NGAY_RA": stamp(ep.discharged), "NGAY_HEN_KL": day(appt.day),
                            "CHAN_DOAN_RV": ep.diagnosis_out, "MA_BENH_CHINH": ep.main_icd,
                            "MA_BENH_KT": ";".join(ep.other_icd), "MA_DOITUONG_KCB": ep.object_code,
                            "MA_BAC_SI": ep.doctor, "MA_TTDV": ep.head_of_department, "NGAY_CT": day(ep.discharged)}])


def claim_tables(ep: Episode, lines: list[ChargeLine]) -> list[Table]:
    """XML1–XML5 always (XML2–XML5 empty when the episode has none), then XML7/8 for inpatient
    episodes with a discharge paper, XML13 with a referral, XML14 with a follow-up appointment."""
    tables = [xml1(ep, lines), xml2(ep, lines), xml3(ep, lines), xml4(ep), xml5(ep)]
    if ep.discharge_paper or ep.inpatient:
        tables += [xml7(ep), xml8(ep)]
    if ep.referral is not None:
        tables.append(xml13(ep))
    if ep.appointment is not None:
        tables.append(xml14(ep))
    return tables


# --- XML -----------------------------------------------------------------------------------------

def to_xml(table: Table) -> bytes:
    """The table's own file: its root, then one record per row with every field of the list in
    order (empty ones as empty elements, as the published samples have them)."""
    root_tag, list_tag, record_tag = ROOTS[table.name]
    root = etree.Element(root_tag)
    names = NAMES[table.name]
    if list_tag is None:
        parents = [root] * len(table.rows)
    else:
        holder = etree.SubElement(root, list_tag)
        parents = [etree.SubElement(holder, record_tag) for _ in table.rows]   # type: ignore[arg-type]
    for parent, row in zip(parents, table.rows):
        for name in names:
            etree.SubElement(parent, name).text = row.get(name, "")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def from_xml(name: str, data: bytes) -> Table:
    """A table read back from its file (the stand-in and the resend check read what was sent)."""
    root_tag, list_tag, record_tag = ROOTS[name]
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    if root.tag != root_tag:
        raise ValueError(f"{name}: root element {root.tag}, expected {root_tag}")
    records = [root] if list_tag is None else root.findall(f"{list_tag}/{record_tag}")
    return Table(name, [{child.tag: (child.text or "") for child in rec} for rec in records])
