"""The field table of the CV 365 `HoSoBenhAn` (appendix "Mô tả dữ liệu trao đổi HSBA điện tử"): the
11 groups, each field's type, maximum length, whether it must be present, whether its name is
known from the published mapping or inferred, the QĐ 4750/3176 tag it corresponds to, and where
benhan takes it from. The XSD and the JSON Schema are generated from this table (schema.py) and the
export writes in its order, so a field added here is written, validated and documented at once.

The appendix itself was not available: the names marked known are those of shared/vietnam.md §1.2
(a public schema that maps XML1 ↔ CV 365; only `cccd_so` Số(15) and `maicd` (7) came with a
size). Everything else — the other fields, the sizes, the item tags of the list groups — follows
the naming style of the known fields (lower case, no separators but `_` before a qualifier) and the
sizes of the BHYT table the field maps to (claims/fields.py), and is marked inferred in
docs/hosobenhan.md.

Kinds: S text; C digits kept as text (leading zeros matter: CCCD, codes); N whole number;
Q decimal number (up to 3 decimals); T timestamp yyyyMMddHHmm; D date yyyyMMdd; G a nested
element (its children in `children`).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    kind: str                     # S C N Q T D G
    size: int = 0                 # maximum length (S, C), digits (N, Q); fixed for T and D
    required: bool = False
    known: bool = False           # the name is in the published mapping (vietnam.md §1.2)
    maps: str = ""                # the QĐ 4750/3176 tag it corresponds to
    source: str = ""              # where benhan takes it from
    values: tuple[str, ...] = ()  # the codes allowed, when the list is closed
    children: tuple[Field, ...] = ()
    repeat: bool = False          # a G field that may occur many times


@dataclass(frozen=True)
class Group:
    numeral: str
    name: str
    title: str                    # Vietnamese title
    fields: tuple[Field, ...]
    item: str | None = None       # the tag of each entry of a list group; None: one record
    source: str = ""


def _spec(text: str) -> tuple[Field, ...]:
    """One field per line: `name KIND SIZE [req] [known] [=TAG] [{a,b}] | source`."""
    out = []
    for line in text.strip().splitlines():
        head, _, source = line.partition("|")
        parts = head.split()
        maps = next((p[1:] for p in parts[3:] if p.startswith("=")), "")
        values = next((tuple(p[1:-1].split(",")) for p in parts[3:] if p.startswith("{")), ())
        out.append(Field(parts[0], parts[1], int(parts[2]), "req" in parts[3:], "known" in parts[3:], maps,
                         source.strip(), values))
    return tuple(out)


SEX = "{1,2,3}"
DAUCHUNG_MA = Field("dauchung_ma", "G", known=True, source="Encounter.reasonCode codings", children=(
    Field("VNCODE", "S", 25, known=True, source="reasonCode coding of a Vietnamese code system"),
    Field("SNOMED", "S", 25, known=True, source="reasonCode coding of SNOMED CT")))
DIENBIEN = Field("dienbien", "G", repeat=True, maps="XML5", source="progress notes (ClinicalImpression), as XML5",
                 children=_spec("""
stt N 10 req =STT | order of the note
thoigian T 12 req =THOI_DIEM_DBLS | ClinicalImpression.date
noidung S 4000 req =DIEN_BIEN_LS | ClinicalImpression.summary or description
nguoithuchien S 255 =NGUOI_THUC_HIEN | the note's author
"""))

GROUPS: tuple[Group, ...] = (
    Group("I", "ThongTinBenhNhan", "Thông tin bệnh nhân", _spec(f"""
macskcb C 5 req =MA_CSKCB | the facility's MA_CSKCB (Organization identifier)
loaiba C 2 req known =MA_LOAI_KCB | the visit type, as MA_LOAI_KCB (QĐ 1804/2026)
sovaovien S 100 req known =MA_LK | the episode key MA_LK (Encounter identifier)
mabenhnhan S 100 req known =MA_BN | Patient.id
hoten S 255 req known =HO_TEN | Patient.name
cccd_so C 15 known =SO_CCCD | Patient.identifier (CCCD system)
ngaysinh T 12 req known =NGAY_SINH | Patient.birthDate (yyyyMMddHHmm, 0000 when the hour is unknown)
gioitinh N 1 req known =GIOI_TINH {SEX} | Patient.gender (1 male, 2 female, 3 undetermined)
nhommau S 10 known =NHOM_MAU | blood group Observation (LOINC 882-1)
yeutorh S 10 known | Rh factor Observation (LOINC 10331-7)
quoctich_ma C 3 =MA_QUOCTICH | nationality (000 Việt Nam)
dantoc_ma C 2 known =MA_DANTOC | Patient ethnicity extension
dantoc S 50 known | the ethnicity's name
nghenghiep_ma C 5 known =MA_NGHE_NGHIEP | Patient occupation extension
nghenghiep S 255 known | the occupation's name
diachi S 1024 known =DIA_CHI | Patient.address.text
tinhthanh_ma C 3 known =MATINH_CU_TRU | province code of the address
quanhuyen_ma C 3 known =MAHUYEN_CU_TRU | district code (districts abolished 01/07/2025: empty)
xaphuong_ma C 5 =MAXA_CU_TRU | commune code of the address
sodienthoai S 15 known =DIEN_THOAI | Patient.telecom phone
mabhyt S 15 known =MA_THE_BHYT | the BHYT card (billing entitlement, as XML1)
noidangkykcbbd C 5 known =MA_DKBD | the card's registered facility
tungaybhyt D 8 known =GT_THE_TU | card valid from
denngaybhyt D 8 known =GT_THE_DEN | card valid to
thoigianvaovien T 12 req known =NGAY_VAO | Encounter.period.start
makhoa S 50 known =MA_KHOA | departments of the episode (MA_KHOA, ';'-separated)
soba S 100 known =MA_HSBA | the record number (MA_HSBA: the Encounter id)
soluutru S 100 known =SO_LUU_TRU | the storage number (as XML7 SO_LUU_TRU)
"""), source="Patient, the BHYT card, Encounter (claims episode)"),
    Group("II", "ThongTinVaoVien", "Thông tin vào viện", (*_spec("""
lydovaovien S 1024 =LY_DO_VV | Encounter.reasonCode.text
dauchung S 1024 known | the symptoms at admission: reasonCode text
dauchung_ghichu S 1024 known | Encounter.reasonCode note (the first reason's other texts)
"""), DAUCHUNG_MA, *_spec("""
chandoanvaovien S 2000 known =CHAN_DOAN_VAO | the admission diagnoses (role AD) as text with codes
maicd S 7 known =MA_BENH_CHINH | the main admission diagnosis, ICD-10
maicd_kemtheo S 100 =MA_BENH_KT | the other admission diagnoses, ICD-10, ';'-separated
maphongkham S 50 known | the Location (room) of the Encounter: its MA_KHOA identifier or id
cannang Q 6 known =CAN_NANG | first body weight (kg), LOINC 29463-7
chieucao Q 6 known | first body height (cm), LOINC 8302-2
mach N 3 known | first heart rate (/min), LOINC 8867-4
nhietdo Q 5 known | first body temperature (°C), LOINC 8310-5
nhiptho N 3 known | first respiratory rate (/min), LOINC 9279-1
huyetap_tamthu N 3 known | first systolic pressure (mmHg), LOINC 8480-6
huyetap_tamtruong N 3 known | first diastolic pressure (mmHg), LOINC 8462-4
spo2 N 3 | first SpO2 (%), LOINC 59408-5
""")), source="Encounter, admission Conditions, the first vital-signs Observations"),
    Group("III", "ThongTinDieuTri", "Thông tin điều trị", (*_spec("""
thoigianravien T 12 =NGAY_RA | Encounter.period.end
songaydieutri N 3 =SO_NGAY_DTRI | as XML1 (0 for an exam, out − in + 1 for treatment)
chandoanravien S 2000 =CHAN_DOAN_RV | the discharge diagnoses (role DD, else AD) as text
maicd S 7 known =MA_BENH_CHINH | the main diagnosis, ICD-10
maicd_kemtheo S 100 =MA_BENH_KT | the other diagnoses, ICD-10, ';'-separated
quatrinhbenhly S 4000 =QT_BENHLY | discharge summary: course
tomtatketqua S 4000 =TOMTAT_KQ | discharge summary: key paraclinical results
phuongphapdieutri S 4000 =PP_DIEU_TRI | discharge summary: treatment given
tinhtrangravien S 2000 | discharge summary: status at discharge
huongdieutri S 2000 | discharge summary: onward plan
ketquadieutri N 1 =KET_QUA_DTRI {1,2,3,4,5} | treatment-result extension (1 khỏi … 5 tử vong)
loairavien N 1 =MA_LOAI_RV {1,2,3,4} | discharge disposition (1 ra viện, 2 chuyển viện, 3 trốn viện, 4 xin ra viện)
ngaytaikham D 8 =NGAY_TAI_KHAM | the follow-up Appointment booked by this visit
bacsi_dieutri S 255 | the treating practitioner (Encounter.participant)
chuky_hoten S 255 known | the name of the clinician who signs the record (no signature field: the signed PDF goes alongside)
"""), DIENBIEN), source="Encounter, discharge Conditions, discharge summary (Composition), progress notes"),
    Group("IV", "YLenhThuocVatTu", "Y lệnh thuốc, vật tư", _spec("""
stt N 10 req =STT | order of the line
loai N 1 req {1,2} | 1 drug (MedicationRequest / XML2), 2 supply (XML3 supply line)
mathuocvattu_byt S 255 known =MA_THUOC | the BHYT catalogue code (MA_THUOC / MA_VAT_TU of the charge line)
tenthuocvattu S 1024 req =TEN_THUOC | the drug or supply name
hamluong S 1024 =HAM_LUONG | strength
duongdung S 255 =DUONG_DUNG | route (dosageInstruction.route)
lieudung S 1024 =LIEU_DUNG | dose (dosageInstruction.text)
donvitinh S 50 =DON_VI_TINH | unit
soluong Q 12 =SO_LUONG | quantity (dispenseRequest.quantity, else the charge line's)
sodangky S 255 =SO_DANG_KY | registration number
ngayylenh T 12 req =NGAY_YL | MedicationRequest.authoredOn (or the line's time)
ngaythuchien T 12 =NGAY_TH_YL | the MedicationDispense handed over
bacsi_chidinh S 255 =MA_BAC_SI | the prescriber (requester)
trangthai S 20 | MedicationRequest.status
"""), item="ThuocVatTu", source="MedicationRequest, MedicationDispense, the charge lines of XML2/XML3"),
    Group("V", "PhieuChiDinh", "Phiếu chỉ định", _spec("""
stt N 10 req =STT | order of the order
sophieu S 100 req | ServiceRequest.id
machidinh S 50 known =MA_DICH_VU | the catalogue service code (else the order's own code)
tenchidinh S 1024 req =TEN_DICH_VU | ServiceRequest.code text
loaichidinh N 1 req {1,2,3} | 1 xét nghiệm, 2 chẩn đoán hình ảnh / thăm dò, 3 thủ thuật
ngaychidinh T 12 req =NGAY_YL | ServiceRequest.authoredOn
bacsi_chidinh S 255 =MA_BAC_SI | ServiceRequest.requester
trangthai S 20 | ServiceRequest.status
ghichu S 1024 | ServiceRequest.note
"""), item="ChiDinh", source="ServiceRequest"),
    Group("VI", "KetQuaChanDoanHinhAnh", "Kết quả chẩn đoán hình ảnh", _spec("""
stt N 10 req =STT | order of the report
sophieu S 100 | the order (DiagnosticReport.basedOn)
madichvu S 50 =MA_DICH_VU | the catalogue service code of the order
tendichvu S 1024 req | DiagnosticReport.code text
thoigianthuchien T 12 =NGAY_TH_YL | DiagnosticReport.effectiveDateTime
thoigianketqua T 12 req =NGAY_KQ | DiagnosticReport.issued
mota S 4000 =MO_TA | findings (DiagnosticReport.presentedForm / result texts)
ketluan S 2000 req =KET_LUAN | DiagnosticReport.conclusion
bacsi_doc S 255 =MA_BS_DOC_KQ | DiagnosticReport.resultsInterpreter
"""), item="KetQua", source="DiagnosticReport of category RAD (imaging, functional exploration)"),
    Group("VII", "KetQuaXetNghiem", "Kết quả xét nghiệm", _spec("""
stt N 10 req =STT | order of the result
sophieu S 100 | the order (Observation.basedOn or the report's)
madichvu S 50 =MA_DICH_VU | the order's catalogue service code
machiso S 50 req known =MA_CHI_SO | Observation.code (LOINC; QĐ 1227/2025 code when mapped)
tenchiso S 255 req =TEN_CHI_SO | Observation.code text
giatri S 100 req =GIA_TRI | Observation.value
donvido S 50 =DON_VI_DO | the value's unit
giatri_binhthuong S 100 | Observation.referenceRange (low – high)
danhgia S 2 | Observation.interpretation (L, N, H …)
thoigianketqua T 12 =NGAY_KQ | Observation.issued (else effective)
bacsi_doc S 255 =MA_BS_DOC_KQ | the report's resultsInterpreter
"""), item="ChiSo", source="laboratory Observations (and their DiagnosticReport)"),
    Group("VIII", "GiayChuyenVien", "Giấy chuyển viện", _spec("""
sochuyenvien S 50 req =SO_CHUYENTUYEN | the referral number (as XML13)
manoidi C 5 req =MA_NOI_DI | this facility (MA_CSKCB)
manoiden C 5 =MA_NOI_DEN | Encounter.hospitalization.destination identifier
tennoiden S 255 | destination display
thoigianchuyen T 12 =NGAY_RA | Encounter.period.end
dauhieulamsang S 4000 =DAU_HIEU_LS | discharge summary (status, else course)
ketquacanlamsang S 4000 =TOMTAT_KQ | discharge summary: key results
chandoan S 2000 =CHAN_DOAN_RV | discharge diagnoses text
maicd S 7 known =MA_BENH_CHINH | main diagnosis, ICD-10
phuongphapdieutri S 4000 =PP_DIEU_TRI | treatment given
lydochuyen_ma N 1 =MA_LYDO_CT {1,2} | 1 right route for the condition, 2 the patient's request
huongdieutri S 2000 =HUONG_DIEU_TRI | onward plan
phuongtienvanchuyen S 255 =PHUONGTIEN_VC | transport
nguoihotong S 255 =HOTEN_NGUOI_HT | escort
"""), source="the transfer out (claims Referral: Encounter.hospitalization, discharge summary)"),
    Group("IX", "HoSoCapCuu", "Hồ sơ cấp cứu", _spec("""
thoigianden T 12 req =NGAY_VAO | Encounter.period.start of the emergency visit
lydoden S 1024 =LY_DO_VV | Encounter.reasonCode text
chandoan S 2000 =CHAN_DOAN_VAO | admission diagnoses text
maicd S 7 known =MA_BENH_CHINH | main diagnosis, ICD-10
xutri S 4000 =PP_DIEU_TRI | treatment given
ketqua N 1 =KET_QUA_DTRI {1,2,3,4,5} | treatment result
huongxutri N 1 =MA_LOAI_RV {1,2,3,4} | disposition
thoigianroi T 12 =NGAY_RA | Encounter.period.end
"""), source="an emergency Encounter (type cap-cuu)"),
    Group("X", "PhieuThuThuat", "Phiếu thủ thuật", _spec("""
stt N 10 req =STT | order of the procedure
mathuthuat S 50 =MA_PTTT_QT | Procedure.code coding (technique code, ICD-9-CM)
tenthuthuat S 1024 req | Procedure.code text
loai S 20 | class (procedure-class extension: dac-biet, loai-1 …)
thoigianthuchien T 12 req =NGAY_TH_YL | Procedure.performed
phuongphapvocam S 255 =PP_VO_CAM | anaesthesia-method extension
chandoantruoc S 2000 | Procedure.reasonCode
chandoansau S 2000 | post-procedure-diagnosis extension
nguoithuchien S 255 =NGUOI_THUC_HIEN | the performer (not the anaesthetist)
bacsi_gayme S 255 | the performer with function anaesthetist
trinhtu S 4000 | Procedure.note
taibien S 1024 | Procedure.complicationDetail (the Condition's text)
"""), item="ThuThuat", source="Procedure with category thu-thuat (clinical/procedures.py)"),
    Group("XI", "PhieuPhauThuat", "Phiếu phẫu thuật", _spec("""
stt N 10 req =STT | order of the surgery
maphauthuat S 50 =MA_PTTT_QT | Procedure.code coding (technique code, ICD-9-CM)
tenphauthuat S 1024 req | Procedure.code text
loai S 20 | class (procedure-class extension: dac-biet, loai-1 …)
thoigianthuchien T 12 req =NGAY_TH_YL | Procedure.performed
phuongphapvocam S 255 =PP_VO_CAM | anaesthesia-method extension
chandoantruoc S 2000 | Procedure.reasonCode
chandoansau S 2000 | post-procedure-diagnosis extension
nguoithuchien S 255 =NGUOI_THUC_HIEN | the surgeon
bacsi_gayme S 255 | the anaesthetist
trinhtu S 4000 | Procedure.note
taibien S 1024 | Procedure.complicationDetail (the Condition's text)
"""), item="PhauThuat", source="Procedure with category phau-thuat (clinical/procedures.py)"),
)

BY_NAME = {g.name: g for g in GROUPS}
ROOT = "HoSoBenhAn"
LIST_ROOT = "DanhSachHoSoBenhAn"     # inferred: several records in one file (a patient, a period)


KINDS = {"S": "Chuỗi", "C": "Số (chữ số)", "N": "Số nguyên", "Q": "Số thập phân", "T": "Thời điểm", "D": "Ngày",
         "G": "Nhóm"}


def _type(f: Field) -> str:
    if f.kind == "T":
        return "Thời điểm yyyyMMddHHmm"
    if f.kind == "D":
        return "Ngày yyyyMMdd"
    if f.kind == "G":
        return "Nhóm" + (" (lặp)" if f.repeat else "")
    if f.kind == "Q":
        return f"Số thập phân ({f.size}, 3 lẻ)"
    return f"{KINDS[f.kind]}({f.size})"


def _rows(fields: tuple[Field, ...], prefix: str = "") -> list[str]:
    out = []
    for f in fields:
        name = f"`{prefix}{f.name}`"
        mark = "known" if f.known else "inferred"
        values = f" {{{', '.join(f.values)}}}" if f.values else ""
        out.append(f"| {name} | {_type(f)}{values} | {'yes' if f.required else ''} | {mark} | "
                   f"{f.maps} | {f.source} |")
        out += _rows(f.children, f"{prefix}{f.name}/")
    return out


def markdown() -> str:
    """The field table of docs/hosobenhan.md (a test keeps the page equal to this)."""
    parts = []
    for g in GROUPS:
        item = f", each entry `<{g.item}>`" if g.item else ", one record"
        parts.append(f"### {g.numeral}. `{g.name}` — {g.title}{item}\n\nFrom: {g.source}.\n\n"
                     "| field | type (max) | required | name | QĐ 4750 tag | taken from |\n|---|---|---|---|---|---|\n"
                     + "\n".join(_rows(g.fields)) + "\n")
    return "\n".join(parts)
