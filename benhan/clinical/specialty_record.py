"""The specialty part of an inpatient record: which record form of TT 32/2023 PL XXVIII the stay is
written on (01/BV1 Nội khoa, 02/BV1 Nhi khoa, 03/BV1 Truyền nhiễm, 04/BV1 Phụ khoa, 05/BV1 Sản khoa,
10/BV1 Ngoại khoa) and the items that specialty adds to the doctor's admission workup (quá trình sinh
trưởng, dịch tễ, tiền sử kinh nguyệt, khám thai, khám ngoài/khám trong, tình hình sinh …).

Where it lives: one Composition per stay beside the record of clinical.record (which keeps the
sections all the forms share), typed `record-part|specialty`:
- Composition.category: the specialty (code system `chuyen-khoa`, the one the departments' Location.type
  uses) and the form code (code system `record-form`, "05/BV1");
- one section per item, coded in `specialty-record-item`; its text is what the doctor wrote, or the
  words of the options ticked; a ticked option is also a `specialty-record-choice` extension on the
  section (valueCoding, the option's code in the code system named after its list).
Saving again makes a new version of the same Composition; a change after the first save needs a
reason (corrections, not overwrites), as in clinical.record.

The item lists follow the long-standing QĐ 4069 layouts of these records (docs/forms.md: secondary —
check against PL XXVIII before calling them final)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical.common import (BENHAN, CORRECTION_REASON, Problems, author, narrative, narrative_text, now, ref,
                                    stamp)
from benhan.store.repository import Repository

SPECIALTY_SYSTEM = f"{BENHAN}/CodeSystem/chuyen-khoa"
FORM_SYSTEM = f"{BENHAN}/CodeSystem/record-form"
PART_SYSTEM = f"{BENHAN}/CodeSystem/record-part"
ITEM_SYSTEM = f"{BENHAN}/CodeSystem/specialty-record-item"
CHOICE_EXT = f"{BENHAN}/StructureDefinition/specialty-record-choice"
PART_TYPE = {"coding": [{"system": PART_SYSTEM, "code": "specialty", "display": "Phần chuyên khoa của bệnh án"}],
             "text": "Bệnh án chuyên khoa"}
MAX_TEXT = 4_000


@dataclass(frozen=True)
class Specialty:
    code: str            # chuyen-khoa code (also what a department's Location.type says)
    form: str            # the record form's code
    vi: str
    en: str


SPECIALTIES = (
    Specialty("noi-khoa", "01/BV1", "Bệnh án Nội khoa", "Internal medicine record"),
    Specialty("nhi-khoa", "02/BV1", "Bệnh án Nhi khoa", "Paediatric record"),
    Specialty("truyen-nhiem", "03/BV1", "Bệnh án Truyền nhiễm", "Infectious diseases record"),
    Specialty("phu-khoa", "04/BV1", "Bệnh án Phụ khoa", "Gynaecology record"),
    Specialty("san-khoa", "05/BV1", "Bệnh án Sản khoa", "Obstetric record"),
    Specialty("ngoai-khoa", "10/BV1", "Bệnh án Ngoại khoa", "Surgical record"),
)
BY_SPECIALTY = {s.code: s for s in SPECIALTIES}
DEFAULT = "noi-khoa"

# The tick-box lists (the printed words are the forms' vocabulary file's, kept equal by a test).
OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "nhi-tinh-trang-sinh": {"de-thuong": ("Đẻ thường", "Normal delivery"), "forceps": ("Forceps", "Forceps"),
                            "giac-hut": ("Giác hút", "Vacuum"), "de-mo": ("Đẻ phẫu thuật", "Caesarean"),
                            "de-ngat": ("Đẻ ngạt", "Birth asphyxia"), "khac": ("Khác", "Other")},
    "nhi-nuoi-duong": {"sua-me": ("Sữa mẹ", "Breast milk"), "nhan-tao": ("Nuôi nhân tạo", "Formula"),
                       "hon-hop": ("Hỗn hợp", "Mixed")},
    "nhi-cham-soc": {"nha-tre": ("Tại nhà trẻ", "At a nursery"), "tai-nha": ("Tại nhà", "At home")},
    "nhi-tiem-chung": {"bcg": ("BCG (lao)", "BCG (tuberculosis)"), "bach-hau": ("Bạch hầu", "Diphtheria"),
                       "uon-van": ("Uốn ván", "Tetanus"), "ho-ga": ("Ho gà", "Pertussis"),
                       "bai-liet": ("Bại liệt", "Polio"), "soi": ("Sởi", "Measles"),
                       "viem-gan-b": ("Viêm gan B", "Hepatitis B"), "khac": ("Khác", "Other")},
    "san-uon-van": {"chua-tiem": ("Chưa tiêm", "Not given"), "1-mui": ("Một mũi", "One dose"),
                    "2-mui": ("Hai mũi", "Two doses"), "du-mui": ("Đủ mũi", "Complete")},
    "san-hinh-dang-tc": {"doc": ("Tử cung hình trứng dọc", "Longitudinal"), "ngang": ("Tử cung bè ngang", "Transverse"),
                         "khac": ("Khác", "Other")},
    "san-oi": {"chua-vo": ("Chưa vỡ", "Intact"), "da-vo": ("Đã vỡ", "Ruptured")},
    "san-cach-de": {"de-thuong": ("Đẻ thường", "Normal delivery"), "forceps": ("Forceps", "Forceps"),
                    "giac-hut": ("Giác hút", "Vacuum"), "de-mo": ("Đẻ phẫu thuật", "Caesarean"),
                    "khac": ("Khác", "Other")},
    "san-rau-bong": {"tu-nhien": ("Rau bong tự nhiên", "Spontaneous"),
                     "boc-rau": ("Bóc rau nhân tạo", "Manual removal")},
    "san-tang-sinh-mon": {"khong-rach": ("Không rách", "Intact"), "rach": ("Rách", "Torn"), "cat": ("Cắt", "Cut")},
    "gioi-tinh": {"male": ("Nam", "Boy"), "female": ("Nữ", "Girl")},
}


@dataclass(frozen=True)
class Item:
    code: str
    specialty: str
    vi: str
    en: str
    options: str = ""       # a list of OPTIONS: a tick box; "" a text
    many: bool = False      # several options may be ticked
    lines: int = 1

    @property
    def field(self) -> str:
        return "sp_" + self.code.replace("-", "_")

    def option_field(self, option: str) -> str:
        return f"{self.field}__{option.replace('-', '_')}"


def _items(specialty: str, *rows: tuple) -> tuple[Item, ...]:
    return tuple(Item(code, specialty, vi, en, *rest) for code, vi, en, *rest in rows)


ITEMS: tuple[Item, ...] = (
    *_items("nhi-khoa",
            ("nhi-ho-ten-bo", "Họ tên bố", "Father's name"),
            ("nhi-van-hoa-bo", "Trình độ văn hóa của bố", "Father's education"),
            ("nhi-nghe-bo", "Nghề nghiệp của bố", "Father's occupation"),
            ("nhi-ho-ten-me", "Họ tên mẹ", "Mother's name"),
            ("nhi-van-hoa-me", "Trình độ văn hóa của mẹ", "Mother's education"),
            ("nhi-nghe-me", "Nghề nghiệp của mẹ", "Mother's occupation"),
            ("nhi-con-thu", "Con thứ mấy", "Child number"),
            ("nhi-tien-thai", "Tiền thai của mẹ (Para)", "Mother's obstetric history (Para)"),
            ("nhi-tinh-trang-sinh", "Tình trạng khi sinh", "Birth", "nhi-tinh-trang-sinh"),
            ("nhi-can-nang-sinh", "Cân nặng lúc sinh (gam)", "Birth weight (g)"),
            ("nhi-di-tat", "Dị tật bẩm sinh", "Congenital anomalies"),
            ("nhi-phat-trien", "Phát triển về tinh thần, vận động", "Mental and motor development"),
            ("nhi-benh-da-mac", "Các bệnh đã mắc", "Past illnesses"),
            ("nhi-nuoi-duong", "Nuôi dưỡng", "Feeding", "nhi-nuoi-duong"),
            ("nhi-cai-sua", "Cai sữa tháng thứ", "Weaned at month"),
            ("nhi-cham-soc", "Chăm sóc", "Care", "nhi-cham-soc"),
            ("nhi-tiem-chung", "Đã tiêm chủng", "Vaccinations", "nhi-tiem-chung", True),
            ("nhi-tiem-chung-khac", "Tiêm chủng khác", "Other vaccinations"),
            ("nhi-vong-dau", "Vòng đầu (cm)", "Head circumference (cm)")),
    *_items("truyen-nhiem",
            ("tn-noi-o", "Nơi ở, nơi đi lại trong vùng có dịch", "Lived in or travelled through an epidemic area",
             "", False, 2),
            ("tn-tiep-xuc", "Tiếp xúc với người bệnh", "Contact with a sick person", "", False, 2),
            ("tn-thoi-gian", "Thời gian lưu trú, tiếp xúc", "When and how long"),
            ("tn-dich-te-khac", "Yếu tố dịch tễ khác", "Other epidemiological factors")),
    *_items("phu-khoa",
            ("pk-thay-kinh", "Bắt đầu thấy kinh năm (tuổi)", "Menarche (age)"),
            ("pk-tinh-chat-kinh", "Tính chất kinh nguyệt", "Menstrual pattern"),
            ("pk-chu-ky", "Chu kỳ (ngày)", "Cycle (days)"),
            ("pk-so-ngay-kinh", "Số ngày thấy kinh", "Days of bleeding"),
            ("pk-luong-kinh", "Lượng kinh", "Amount"),
            ("pk-kinh-cuoi", "Kinh lần cuối ngày", "Last menstrual period"),
            ("pk-dau-bung-kinh", "Đau bụng kinh", "Dysmenorrhoea"),
            ("pk-lay-chong", "Lấy chồng năm (tuổi)", "Married at (age)"),
            ("pk-het-kinh", "Hết kinh năm (tuổi)", "Menopause (age)"),
            ("pk-para", "Tiền sử sản khoa (Para)", "Obstetric history (Para)"),
            ("pk-benh-phu-khoa", "Những bệnh phụ khoa đã điều trị", "Gynaecological diseases treated", "", False, 2),
            ("pk-sinh-duc-thu-phat", "Các dấu hiệu sinh dục thứ phát", "Secondary sexual characteristics"),
            ("pk-moi-lon", "Môi lớn", "Labia majora"),
            ("pk-moi-be", "Môi bé", "Labia minora"),
            ("pk-am-vat", "Âm vật", "Clitoris"),
            ("pk-am-ho", "Âm hộ", "Vulva"),
            ("pk-mang-trinh", "Màng trinh", "Hymen"),
            ("pk-am-dao", "Âm đạo", "Vagina"),
            ("pk-tang-sinh-mon", "Tầng sinh môn", "Perineum"),
            ("pk-co-tu-cung", "Cổ tử cung", "Cervix"),
            ("pk-than-tu-cung", "Thân tử cung", "Uterus"),
            ("pk-phan-phu", "Phần phụ", "Adnexa"),
            ("pk-tui-cung", "Các túi cùng", "Pouches")),
    *_items("san-khoa",
            ("sk-chuyen-da-luc", "Bắt đầu chuyển dạ lúc", "Labour began at"),
            ("sk-dau-hieu", "Dấu hiệu chuyển dạ", "Signs of labour"),
            ("sk-thay-kinh", "Bắt đầu thấy kinh năm (tuổi)", "Menarche (age)"),
            ("sk-tinh-chat-kinh", "Tính chất kinh nguyệt", "Menstrual pattern"),
            ("sk-chu-ky", "Chu kỳ (ngày)", "Cycle (days)"),
            ("sk-luong-kinh", "Lượng kinh", "Amount"),
            ("sk-lay-chong", "Lấy chồng năm (tuổi)", "Married at (age)"),
            ("sk-para", "Para (đủ tháng, đẻ non, sảy, sống)", "Para (term, preterm, abortions, living)"),
            ("sk-tien-thai", "Tiền thai", "Previous pregnancies", "", False, 2),
            ("sk-kinh-cuoi", "Kinh cuối cùng ngày", "Last menstrual period"),
            ("sk-du-kien-de", "Dự kiến đẻ ngày", "Expected delivery date"),
            ("sk-tuoi-thai", "Tuổi thai (tuần)", "Gestational age (weeks)"),
            ("sk-kham-thai-tai", "Khám thai tại", "Antenatal care at"),
            ("sk-so-lan-kham", "Số lần khám thai", "Antenatal visits"),
            ("sk-uon-van", "Tiêm phòng uốn ván", "Tetanus vaccination", "san-uon-van"),
            ("sk-seo-mo", "Bụng có sẹo mổ cũ", "Old surgical scar"),
            ("sk-hinh-dang-tc", "Hình dạng tử cung", "Shape of the uterus", "san-hinh-dang-tc"),
            ("sk-tu-the-tc", "Tư thế tử cung", "Position of the uterus"),
            ("sk-chieu-cao-tc", "Chiều cao tử cung (cm)", "Fundal height (cm)"),
            ("sk-vong-bung", "Vòng bụng (cm)", "Abdominal girth (cm)"),
            ("sk-con-co", "Cơn co tử cung", "Contractions"),
            ("sk-tim-thai", "Tim thai (lần/phút)", "Fetal heart rate (/min)"),
            ("sk-vu", "Vú", "Breasts"),
            ("sk-bishop", "Chỉ số Bishop", "Bishop score"),
            ("sk-am-ho-am-dao", "Âm hộ, âm đạo", "Vulva and vagina"),
            ("sk-co-tu-cung", "Cổ tử cung", "Cervix"),
            ("sk-oi", "Ối", "Membranes", "san-oi"),
            ("sk-oi-vo-luc", "Ối vỡ lúc", "Ruptured at"),
            ("sk-nuoc-oi", "Màu sắc, lượng nước ối", "Colour and amount of the fluid"),
            ("sk-ngoi", "Ngôi", "Presentation"),
            ("sk-the", "Thế", "Position"),
            ("sk-kieu-the", "Kiểu thế", "Variety"),
            ("sk-do-lot", "Độ lọt", "Station"),
            ("sk-de-luc", "Đẻ lúc", "Delivered at"),
            ("sk-ngoi-thai", "Ngôi thai", "Presentation at birth"),
            ("sk-cach-de", "Cách thức đẻ", "Mode of delivery", "san-cach-de"),
            ("sk-kiem-soat-tc", "Kiểm soát tử cung", "Uterine revision"),
            ("sk-tre-gioi", "Trẻ sơ sinh: giới", "Newborn: sex", "gioi-tinh"),
            ("sk-tre-can-nang", "Cân nặng (gam)", "Weight (g)"),
            ("sk-apgar", "Apgar (1 phút, 5 phút, 10 phút)", "Apgar (1, 5, 10 minutes)"),
            ("sk-tre-di-tat", "Dị tật", "Anomalies"),
            ("sk-tre-tinh-trang", "Tình trạng trẻ sau đẻ", "Newborn's condition"),
            ("sk-rau-bong", "Rau", "Placenta", "san-rau-bong"),
            ("sk-rau-mo-ta", "Bánh rau, màng rau, cuống rau", "Placenta, membranes, cord"),
            ("sk-rau-can-nang", "Cân nặng bánh rau (gam)", "Placenta weight (g)"),
            ("sk-mat-mau", "Lượng máu mất (ml)", "Blood loss (ml)"),
            ("sk-tang-sinh-mon", "Tầng sinh môn", "Perineum", "san-tang-sinh-mon"),
            ("sk-khau", "Phương pháp khâu, số mũi khâu", "Suture method and stitches")),
    *_items("ngoai-khoa",
            ("nk-tai-cho", "Khám bệnh ngoại khoa (tại chỗ)", "Surgical examination (the site)", "", False, 3)),
)
BY_CODE = {i.code: i for i in ITEMS}


def items_of(specialty: str) -> tuple[Item, ...]:
    return tuple(i for i in ITEMS if i.specialty == specialty)


def _code(cc: dict | None, system: str) -> str:
    return next((c.get("code", "") for c in (cc or {}).get("coding", []) if c.get("system") == system), "")


def of_visit(repo: Repository, encounter_id: str) -> dict | None:
    """The stay's specialty part, or None when the doctor has not chosen a form yet."""
    found = repo.search_type("Composition", [("encounter", f"Encounter/{encounter_id}"),
                                             ("type", f"{PART_SYSTEM}|specialty"), ("_count", "10")])
    live = [m.json() for m in found.matches if m.json().get("status") != "entered-in-error"]
    return max(live, key=lambda c: c.get("date", ""), default=None)


def specialty_of(part: dict | None) -> str:
    return next((code for cc in (part or {}).get("category", []) if (code := _code(cc, SPECIALTY_SYSTEM))), "")


def department_specialty(encounter: dict, location: dict | None = None) -> str:
    """The specialty of the stay's service or department (Encounter.serviceType, Location.type in the
    chuyen-khoa code system) when it has a record form here; "" otherwise."""
    for cc in [encounter.get("serviceType") or {}, *((location or {}).get("type") or [])]:
        code = _code(cc, SPECIALTY_SYSTEM)
        if code in BY_SPECIALTY:
            return code
    return ""


def chosen(part: dict | None, encounter: dict, location: dict | None = None) -> str:
    """The record form's specialty: the doctor's choice, else the department's, else Nội khoa."""
    return specialty_of(part) or department_specialty(encounter, location) or DEFAULT


def texts(part: dict | None) -> dict[str, str]:
    """Item code → what it says (a text, or the words of what was ticked)."""
    out = {}
    for s in (part or {}).get("section", []):
        code = _code(s.get("code"), ITEM_SYSTEM)
        if code:
            out[code] = narrative_text(s.get("text"))
    return out


def choices(part: dict | None) -> dict[str, list[str]]:
    """Item code → the option codes ticked."""
    out: dict[str, list[str]] = {}
    for s in (part or {}).get("section", []):
        code = _code(s.get("code"), ITEM_SYSTEM)
        picked = [(e.get("valueCoding") or {}).get("code", "") for e in s.get("extension", [])
                  if e.get("url") == CHOICE_EXT]
        if code and picked:
            out[code] = [p for p in picked if p]
    return out


def values(part: dict | None) -> dict[str, str]:
    """The form's fields as stored (to show them again)."""
    out = {"sp_form": specialty_of(part)}
    picked = choices(part)
    for code, text in texts(part).items():
        item = BY_CODE.get(code)
        if item is None:
            continue
        if not item.options:
            out[item.field] = text
        elif item.many:
            out.update({item.option_field(o): "on" for o in picked.get(code, [])})
        else:
            out[item.field] = next(iter(picked.get(code, [])), "")
    return out


def _read(item: Item, values: dict[str, str], p: Problems) -> tuple[str, list[str]]:
    """(text, options ticked) of one item as typed."""
    opts = OPTIONS.get(item.options, {})
    if not item.options:
        text = (values.get(item.field) or "").strip()
        if len(text) > MAX_TEXT:
            p.add(item.field, "ui.err.too_long", n=MAX_TEXT)
        return text, []
    if item.many:
        picked = [o for o in opts if values.get(item.option_field(o))]
    else:
        one = (values.get(item.field) or "").strip()
        if one and one not in opts:
            p.add(item.field, "ui.err.choose")
        picked = [one] if one in opts else []
    return "; ".join(opts[o][0] for o in picked), picked


def save(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], current: dict | None,
         reason: str = "", tz: str = "+07:00") -> str:
    """Choose the stay's record form and write its specialty items: a new Composition, or a new version
    of the one there is (then a change needs `reason`)."""
    p = Problems()
    if (encounter.get("class") or {}).get("code") != "IMP":
        p.add("sp_form", "ui.adm.err.not_inpatient")
    specialty = (values.get("sp_form") or "").strip()
    if specialty not in BY_SPECIALTY:
        p.add("sp_form", "ui.err.choose" if specialty else "ui.err.required")
    typed = {i.code: _read(i, values, p) for i in items_of(specialty)}
    if current is not None and (specialty_of(current), texts(current), choices(current)) != (
            specialty, {c: t for c, (t, _) in typed.items() if t}, {c: k for c, (_, k) in typed.items() if k}) \
            and len(reason.strip()) < 3:
        p.add("sp_reason", "ui.err.correction_reason")
    p.raise_if_any()
    sp = BY_SPECIALTY[specialty]
    sections = []
    for item in items_of(specialty):
        text, picked = typed[item.code]
        if not text:
            continue
        coding = {"system": ITEM_SYSTEM, "code": item.code, "display": item.vi}
        section = {"title": item.vi, "code": {"coding": [coding]}, "text": narrative(text)}
        if picked:
            section["extension"] = [{"url": CHOICE_EXT, "valueCoding": {
                "system": f"{BENHAN}/CodeSystem/{item.options}", "code": o,
                "display": OPTIONS[item.options][o][0]}} for o in picked]
        sections.append(section)
    pid = (encounter.get("subject") or {}).get("reference", "").split("/")[-1]
    body = {"resourceType": "Composition", "status": "preliminary", "type": PART_TYPE,
            "category": [{"coding": [{"system": SPECIALTY_SYSTEM, "code": sp.code, "display": sp.vi},
                                     {"system": FORM_SYSTEM, "code": sp.form, "display": sp.vi}], "text": sp.vi}],
            "subject": ref("Patient", pid), "encounter": ref("Encounter", encounter["id"]),
            "date": now(tz).isoformat(), "author": [author(actor)], "title": f"{sp.vi} — phần chuyên khoa",
            **({"section": sections} if sections else {})}
    stamp(body, actor)
    if current is None:
        rid = str(uuid.uuid4())
        repo.commit([repo.prepare("POST", "Composition", rid, body, create_only=True)], "create")
        return rid
    body["id"] = current["id"]
    if reason.strip():
        body["extension"].append({"url": CORRECTION_REASON, "valueString": reason.strip()})
    version = int(current.get("meta", {}).get("versionId", "0")) or None
    repo.commit([repo.prepare("PUT", "Composition", current["id"], body, if_match=version)], "update")
    return current["id"]
