"""Demo-like episodes for the claim tests, with charge lines whose money is worked out by hand here
(the arithmetic of shared/vietnam-billing.md §1.7, half-up to 2 decimals), never by benhan's code:
each line states its figures literally, and the comments show the sum.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

from benhan.billing.lines import ChargeLine
from benhan.claims.episode import Appointment, Episode, Progress, Referral, Result

VN = timezone(timedelta(hours=7))
FACILITY = "01013"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


def line(eid: str, kind: str, code: str, name: str, unit: str, qty: str, price: str, bv: str, bh: str, bhtt: str,
         bncct: str, bntt: str, when: datetime, rate: str, *, service_rate: str = "100", group: str = "",
         ceiling: str | None = None, insured_price: str | None = None, **extra: object) -> ChargeLine:
    return ChargeLine(eid, kind, code, name, unit, D(qty), D(price), D(bv), D(bh), D(bhtt), D(bncct), D(bntt),
                      service_time=when, benefit_rate=D(rate), service_rate=D(service_rate), cost_group=group,
                      ceiling=D(ceiling) if ceiling else None,
                      insured_unit_price=D(insured_price) if insured_price else None, department="K01",
                      practitioner="000123/HNO-CCHN", extra=dict(extra))


def outpatient() -> tuple[Episode, list[ChargeLine]]:
    """A BHYT outpatient exam at the registered facility (card level 4 → 80 %), a second specialty
    exam at 30 %, a drug; a follow-up appointment (XML14)."""
    eid = "01013-KB-20261103-0001"
    ep = Episode(ma_lk=eid, patient_code="BN0001", name="Nguyễn Văn An", birth=date(1960, 5, 1), sex=1,
                 cccd="001060012345", address="Phường Ba Đình, Hà Nội", card="HT4790123456789", card_place=FACILITY,
                 card_from=date(2026, 1, 1), card_to=date(2026, 12, 31), facility=FACILITY, object_code="1.1",
                 visit_type="01", reason="Đau đầu, chóng mặt", admitted=at(3, 8, 5), discharged=at(3, 10, 40),
                 diagnosis_in="Tăng huyết áp", diagnosis_out="Bệnh lý tăng huyết áp vô căn (nguyên phát)",
                 main_icd="I10", other_icd=("E11.9",), departments=("K01",), doctor="000123/HNO-CCHN",
                 treatment="Điều trị nội khoa", appointment=Appointment("HKL-0001", date(2026, 12, 3)),
                 progress=[Progress("Huyết áp 160/95 mmHg, không đau ngực", at(3, 8, 20), performer="000123/HNO-CCHN")])
    lines = [
        # exam 50,600 × 1 × 100 % → BV 50,600.00; BHTT = 50,600 × 0.8 = 40,480.00; BNCCT 10,120.00
        line(eid, "exam", "02.1896", "Khám Nội", "lần", "1", "50600", "50600.00", "50600.00", "40480.00",
             "10120.00", "0.00", at(3, 8, 10), "80", group="13"),
        # second exam at 30 %: 50,600 × 0.3 = 15,180.00; BHTT 12,144.00; BNCCT 3,036.00
        line(eid, "exam", "10.1900", "Khám Nội tiết", "lần", "1", "50600", "15180.00", "15180.00", "12144.00",
             "3036.00", "0.00", at(3, 9, 0), "80", service_rate="30", group="13"),
        # drug 10 × 1,234.567 = 12,345.67; BHTT 9,876.536 → 9,876.54; BNCCT 2,469.13
        line(eid, "drug", "40.17", "Amlodipin 5mg", "viên", "10", "1234.567", "12345.67", "12345.67", "9876.54",
             "2469.13", "0.00", at(3, 10, 0), "80", group="4", SO_DANG_KY="VD-12345 -20", LIEU_DUNG="1 viên/ngày",
             DUONG_DUNG="1.01"),
    ]
    return ep, lines
# Σ BV = 50,600 + 15,180 + 12,345.67 = 78,125.67; Σ BHTT = 40,480 + 12,144 + 9,876.54 = 62,500.54;
# Σ BNCCT = 10,120 + 3,036 + 2,469.13 = 15,625.13; T_THUOC = 12,345.67; T_VTYT = 0.00.


def inpatient_surgery_referral() -> tuple[Episode, list[ChargeLine]]:
    """A BHYT inpatient (80 %): three bed-days, an appendectomy, a supply above its ceiling, a drug,
    a lab result; transferred up at the end (XML7, XML8, XML13)."""
    eid = "01013-NT-20261102-0042"
    ep = Episode(ma_lk=eid, patient_code="BN0042", name="Trần Thị Bình", birth=datetime(1985, 3, 9, 0, 0, tzinfo=VN),
                 sex=2, cccd="001185009876", card="DN4010123456789", card_place=FACILITY, card_from=date(2026, 1, 1),
                 card_to=date(2026, 12, 31), facility=FACILITY, object_code="1.1", visit_type="03",
                 reason="Đau hố chậu phải", admitted=at(2, 9, 0), admitted_inpatient=at(2, 9, 30),
                 discharged=at(5, 10, 0), diagnosis_in="Viêm ruột thừa cấp", diagnosis_out="Viêm ruột thừa cấp",
                 main_icd="K35.8", procedures=("47.09",), departments=("K01", "K20"), outcome=2, discharge_type=2,
                 to_facility="01001", transfer_paper="CT-0042", treatment="Phẫu thuật cắt ruột thừa nội soi",
                 doctor="000456/HNO-CCHN", doctor_name="BS. Lê Văn Cường", head_of_department="000789",
                 history_summary="Đau hố chậu phải 12 giờ, sốt 38,5°C", results_summary="Bạch cầu 14,2 G/L",
                 discharge_paper=True,
                 referral=Referral("CT-0042", "01001", "Sốt, vết mổ chảy dịch", "1", "Điều trị tiếp tại tuyến trên",
                                   "Xe cứu thương"),
                 results=[Result("22.0120.1370", "0001234", "Số lượng bạch cầu", "14.2", "G/L",
                                 conclusion="Tăng", time=at(2, 10, 30), reader="000456/HNO-CCHN")],
                 progress=[Progress("Sau mổ ngày 1, bụng mềm", at(3, 8, 0)),
                           Progress("Sốt 38,8°C, vết mổ chảy dịch", at(5, 8, 0), consultation="Hội chẩn khoa")])
    lines = [
        # 3 bed-days × 321,000 = 963,000.00; BHTT 770,400.00; BNCCT 192,600.00
        line(eid, "bed", "K20.1950", "Giường Ngoại khoa loại 1", "ngày", "3", "321000", "963000.00", "963000.00",
             "770400.00", "192600.00", "0.00", at(2, 9, 30), "80", group="15", MA_GIUONG="G001"),
        # appendectomy 2,450,000 → BHTT 1,960,000.00; BNCCT 490,000.00
        line(eid, "service", "10.0527.0480", "Phẫu thuật nội soi cắt ruột thừa", "lần", "1", "2450000",
             "2450000.00", "2450000.00", "1960000.00", "490000.00", "0.00", at(2, 14, 0), "80", group="8",
             PP_VO_CAM="1", NGAY_KQ=at(2, 15, 30)),
        # supply above its ceiling (§1.7 example): BV 120,000,000.00; BH = T_TRANTT 113,850,000.00;
        # BHTT 91,080,000.00; BNCCT 22,770,000.00; BNTT = 120,000,000 − 113,850,000 = 6,150,000.00
        line(eid, "supply", "N07.01.010", "Bộ dụng cụ nội soi", "bộ", "1", "120000000", "120000000.00",
             "113850000.00", "91080000.00", "22770000.00", "6150000.00", at(2, 14, 0), "80", group="10",
             ceiling="113850000", insured_price="113850000"),
        # drug 20 × 5,432.1 = 108,642.00; BHTT 86,913.60; BNCCT 21,728.40
        line(eid, "drug", "40.226", "Ceftriaxon 1g", "lọ", "20", "5432.1", "108642.00", "108642.00", "86913.60",
             "21728.40", "0.00", at(2, 10, 0), "80", group="4"),
    ]
    return ep, lines
# Σ BV = 963,000 + 2,450,000 + 120,000,000 + 108,642 = 123,521,642.00
# Σ BH = 963,000 + 2,450,000 + 113,850,000 + 108,642 = 117,371,642.00
# Σ BHTT = 770,400 + 1,960,000 + 91,080,000 + 86,913.60 = 93,897,313.60
# Σ BNCCT = 192,600 + 490,000 + 22,770,000 + 21,728.40 = 23,474,328.40; Σ BNTT = 6,150,000.00


def non_bhyt() -> tuple[Episode, list[ChargeLine]]:
    eid = "01013-KB-20261103-0007"
    ep = Episode(ma_lk=eid, patient_code="BN0007", name="Phạm Minh Châu", birth=date(1990, 1, 1), sex=1,
                 facility=FACILITY, object_code="9", admitted=at(3, 14, 0), discharged=at(3, 15, 0),
                 main_icd="J06.9", diagnosis_out="Viêm đường hô hấp trên cấp")
    lines = [line(eid, "exam", "02.1896", "Khám Nội", "lần", "1", "50600", "50600.00", "0.00", "0.00", "0.00",
                  "50600.00", at(3, 14, 5), "0", group="13")]
    return ep, lines


def emergency() -> tuple[Episode, list[ChargeLine]]:
    """An emergency (MA_DOITUONG_KCB 2) of a child's card (TE1 → 100 %): no check-in is sent."""
    eid = "01013-CC-20261104-0003"
    ep = Episode(ma_lk=eid, patient_code="BN0003", name="Lê Gia Huy", birth=date(2020, 6, 15), sex=1,
                 card="TE1010987654321", card_place="01001", card_from=date(2026, 1, 1), card_to=date(2026, 12, 31),
                 facility=FACILITY, object_code="2", visit_type="01", reason="Ngã, đau cổ tay",
                 admitted=at(4, 21, 10), discharged=at(4, 23, 0), diagnosis_out="Gãy đầu dưới xương quay",
                 main_icd="S52.5", departments=("K01",), accident="1")
    lines = [
        # exam 50,600 at 100 % → BHTT 50,600.00
        line(eid, "exam", "02.1896", "Khám Nội", "lần", "1", "50600", "50600.00", "50600.00", "50600.00", "0.00",
             "0.00", at(4, 21, 15), "100", group="13"),
        # X-ray 65,400 at 100 % → BHTT 65,400.00
        line(eid, "service", "18.0070.0028", "Chụp X-quang cổ tay", "lần", "1", "65400", "65400.00", "65400.00",
             "65400.00", "0.00", "0.00", at(4, 21, 30), "100", group="2", MA_MAY="XQ.1.01013.1"),
    ]
    return ep, lines
# Σ BV = BH = BHTT = 116,000.00


def thong_tuyen() -> tuple[Episode, list[ChargeLine]]:
    """Thông tuyến: a card registered at another primary facility (01001), seen here without a slip
    (MA_DOITUONG_KCB 1.11: 100 % × card level 3 = 95 %)."""
    eid = "01013-KB-20261105-0011"
    ep = Episode(ma_lk=eid, patient_code="BN0011", name="Hoàng Thu Trang", birth=date(1975, 12, 30), sex=2,
                 card="GD3010123456780", card_place="01001", card_from=date(2026, 1, 1), card_to=date(2026, 12, 31),
                 five_years=date(2024, 3, 1), facility=FACILITY, object_code="1.11", visit_type="01",
                 admitted=at(5, 7, 45), discharged=at(5, 9, 0), diagnosis_out="Viêm họng cấp", main_icd="J02.9",
                 departments=("K01",))
    lines = [
        # exam 50,600 at 95 % → BHTT 48,070.00; BNCCT 2,530.00
        line(eid, "exam", "02.1896", "Khám Nội", "lần", "1", "50600", "50600.00", "50600.00", "48070.00", "2530.00",
             "0.00", at(5, 7, 50), "95", group="13"),
        # drug 14 × 2,105.5 = 29,477.00; BHTT 28,003.15; BNCCT 1,473.85
        line(eid, "drug", "40.55", "Amoxicilin 500mg", "viên", "14", "2105.5", "29477.00", "29477.00", "28003.15",
             "1473.85", "0.00", at(5, 8, 30), "95", group="4"),
    ]
    return ep, lines
# Σ BV = 80,077.00; Σ BHTT = 76,073.15; Σ BNCCT = 4,003.85
