"""What a claim says about one episode (lượt khám chữa bệnh), gathered from the record: the patient,
the card, the visit, the diagnoses, the results, the progress notes and the papers written at its
end. The tables are written from this and the charge lines only, so the same episode always gives
the same files (and the benchmark can build episodes without a database).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Result:
    """One paraclinical result (XML4)."""
    service_code: str         # MA_DICH_VU of the test
    indicator_code: str       # MA_CHI_SO (QĐ 1227/2025)
    indicator_name: str
    value: str
    unit: str = ""
    description: str = ""
    conclusion: str = ""
    time: datetime | None = None
    reader: str = ""          # MA_BS_DOC_KQ


@dataclass(frozen=True)
class Progress:
    """One progress note (XML5)."""
    text: str
    time: datetime
    stage: str = ""
    consultation: str = ""
    surgery: str = ""
    performer: str = ""


@dataclass(frozen=True)
class Referral:
    """The referral paper (XML13)."""
    number: str               # SO_CHUYENTUYEN
    to_facility: str          # MA_NOI_DEN
    clinical_signs: str
    reason_code: str          # MA_LYDO_CT: 1 right route for the condition, 2 patient's request
    direction: str            # HUONG_DIEU_TRI
    transport: str            # PHUONGTIEN_VC
    companion: str = ""
    companion_title: str = ""


@dataclass(frozen=True)
class Appointment:
    """The follow-up appointment (XML14)."""
    number: str
    day: date


@dataclass
class Episode:
    # --- who
    ma_lk: str
    patient_code: str                 # MA_BN
    name: str
    birth: datetime | date            # a date when the hour is unknown
    sex: int                          # 1 male, 2 female, 3 undetermined
    cccd: str = ""
    # False when the record gives the year of birth alone (many elderly patients know no more; their card
    # shows the year): NGAY_SINH then has 0000 for the month and day, not 1 January.
    birth_day_known: bool = True
    nationality: str = "000"          # MA_QUOCTICH (TT 07/2016 PL2; 000 = Việt Nam)
    ethnicity: str = "01"             # MA_DANTOC
    occupation: str = "00000"
    address: str = ""
    province: str = ""                # MATINH_CU_TRU
    district: str = ""
    commune: str = ""
    phone: str = ""
    blood_group: str = ""
    # --- the card (empty for a patient without BHYT: no claim is made)
    card: str = ""
    card_place: str = ""              # MA_DKBD
    card_from: date | None = None
    card_to: date | None = None
    area: str = ""                    # MA_KHUVUC K1/K2/K3
    five_years: date | None = None    # NAM_NAM_LIEN_TUC
    copay_exempt_from: date | None = None   # NGAY_MIEN_CCT
    # --- the visit
    facility: str = ""                # MA_CSKCB
    object_code: str = "1.1"          # MA_DOITUONG_KCB (QĐ 3276/2025 PL1; 2 = emergency, 9 = non-BHYT)
    visit_type: str = "01"            # MA_LOAI_KCB (QĐ 1804/2026)
    reason: str = ""                  # LY_DO_VV
    admitted: datetime | None = None
    admitted_inpatient: datetime | None = None
    discharged: datetime | None = None
    paid: datetime | None = None      # NGAY_TTOAN
    diagnosis_in: str = ""
    diagnosis_out: str = ""
    main_icd: str = ""
    other_icd: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()  # ICD-9-CM (MA_PTTT_QT)
    from_facility: str = ""           # MA_NOI_DI: the facility that referred the patient here
    to_facility: str = ""             # MA_NOI_DEN: where this facility referred them
    transfer_paper: str = ""          # GIAY_CHUYEN_TUYEN
    treatment: str = ""               # PP_DIEU_TRI
    outcome: int = 1                  # KET_QUA_DTRI
    discharge_type: int = 1           # MA_LOAI_RV
    departments: tuple[str, ...] = ()  # MA_KHOA
    weight: str = ""                  # CAN_NANG (kg)
    record_number: str = ""           # MA_HSBA
    head_of_department: str = ""      # MA_TTDV
    doctor: str = ""                  # practising certificate of the discharging doctor
    doctor_name: str = ""
    accident: str = ""                # MA_TAI_NAN
    note: str = ""
    results: list[Result] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    # --- papers at the end (tables XML7, XML8, XML13, XML14 when present)
    discharge_paper: bool = False     # XML7 (inpatient)
    history_summary: str = ""         # QT_BENHLY (XML8)
    results_summary: str = ""         # TOMTAT_KQ (XML8)
    plan: str = ""                    # onward plan / follow-up of the discharge summary (health book, XML8 GHI_CHU)
    referral: Referral | None = None
    appointment: Appointment | None = None
    sick_leave_days: int = 0

    @property
    def insured(self) -> bool:
        return bool(self.card) and self.object_code != "9"

    @property
    def inpatient(self) -> bool:
        return self.visit_type in ("03", "04", "09")
