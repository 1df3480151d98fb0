"""The traditional-medicine (Y học cổ truyền, YHCT) part of the doctor's record: the four examinations
(tứ chẩn), their summary, the reasoning (biện chứng luận trị), the YHCT diagnosis (bệnh danh with the
ICD-10 code it maps to, bát cương, tạng phủ – kinh lạc, nguyên nhân), the treatment (pháp, phương thuốc
with its herbs and amounts, phương huyệt, xoa bóp – bấm huyệt, dinh dưỡng, hộ lý) and the prognosis
(dự hậu) — what 18/BV1, 19/BV1 and 20/BV1 of TT 32/2023 PL XXVIII print after the modern-medicine part.

Stored where the rest of the doctor's workup is (clinical.record): as sections of the visit's record
Composition, coded in the same record-section code system (`yhct-…`), each with the doctor's text.
What is coded rides on its section as an extension:
- bệnh danh: `yhct-icd10`, the ICD-10 Coding the YHCT disease name maps to (the MoH's YHCT list,
  QĐ 6061/QĐ-BYT 2017, is not loaded: the name is the doctor's words, the code is checked against ICD-10);
- bát cương and nguyên nhân: `yhct-bat-cuong`, `yhct-nguyen-nhan`, one Coding per box ticked;
- phương thuốc: `yhct-herb`, one per herb (name, amount as a Quantity), in the order written.
Saving makes a new version of the same Composition; the other sections are kept as they are, and a
change after the first save needs a reason, as for the rest of the record."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from benhan.auth.actor import Actor
from benhan.clinical import admission, record
from benhan.clinical.common import (BENHAN, CORRECTION_REASON, Problems, author, narrative, narrative_text, now,
                                    parse_number, ref, stamp)
from benhan.store.repository import Repository
from benhan.vn.display import number

# The visit's specialty (Encounter.serviceType, else its department's Location.type).
SPECIALTY_SYSTEM = f"{BENHAN}/CodeSystem/chuyen-khoa"
SPECIALTY = "y-hoc-co-truyen"

ICD_EXT = f"{BENHAN}/StructureDefinition/yhct-icd10"
HERB_EXT = f"{BENHAN}/StructureDefinition/yhct-herb"
TICK_EXT = {"bat-cuong": f"{BENHAN}/StructureDefinition/yhct-bat-cuong",
            "nguyen-nhan": f"{BENHAN}/StructureDefinition/yhct-nguyen-nhan"}
TICK_SYSTEM = {"bat-cuong": f"{BENHAN}/CodeSystem/yhct-bat-cuong",
               "nguyen-nhan": f"{BENHAN}/CodeSystem/yhct-nguyen-nhan"}
# The eight principles in their four pairs, and the three kinds of cause (code → Vietnamese, English).
BAT_CUONG = {"bieu": ("Biểu", "Exterior"), "ly": ("Lý", "Interior"), "han": ("Hàn", "Cold"),
             "nhiet": ("Nhiệt", "Heat"), "hu": ("Hư", "Deficiency"), "thuc": ("Thực", "Excess"),
             "am": ("Âm", "Yin"), "duong": ("Dương", "Yang")}
NGUYEN_NHAN = {"noi-nhan": ("Nội nhân", "Internal"), "ngoai-nhan": ("Ngoại nhân", "External"),
               "bat-noi-ngoai-nhan": ("Bất nội ngoại nhân", "Neither internal nor external")}
TICKS = {"bat-cuong": BAT_CUONG, "nguyen-nhan": NGUYEN_NHAN}


@dataclass(frozen=True)
class Section:
    code: str
    vi: str
    en: str
    group: str          # tu-chan, chan-doan, dieu-tri, du-hau


SECTIONS = (
    Section("yhct-vong-chan", "Vọng chẩn (nhìn)", "Inspection", "tu-chan"),
    Section("yhct-van-chan", "Văn chẩn (nghe, ngửi)", "Listening and smelling", "tu-chan"),
    Section("yhct-van-chan-hoi", "Vấn chẩn (hỏi)", "Inquiry", "tu-chan"),
    Section("yhct-thiet-chan", "Thiết chẩn - xúc chẩn", "Palpation", "tu-chan"),
    Section("yhct-mach-phai", "Mạch tay phải", "Pulse, right wrist", "tu-chan"),
    Section("yhct-mach-trai", "Mạch tay trái", "Pulse, left wrist", "tu-chan"),
    Section("yhct-tom-tat-tu-chan", "Tóm tắt tứ chẩn", "Summary of the four examinations", "tu-chan"),
    Section("yhct-bien-chung", "Biện chứng luận trị", "Pattern differentiation", "chan-doan"),
    Section("yhct-benh-danh", "Bệnh danh", "Disease name", "chan-doan"),
    Section("yhct-bat-cuong", "Bát cương", "Eight principles", "chan-doan"),
    Section("yhct-tang-phu", "Tạng phủ - kinh lạc", "Organs and meridians", "chan-doan"),
    Section("yhct-nguyen-nhan", "Nguyên nhân", "Cause", "chan-doan"),
    Section("yhct-phap-dieu-tri", "Phép điều trị (pháp)", "Treatment principle", "dieu-tri"),
    Section("yhct-phuong-thuoc", "Phương thuốc (bài thuốc)", "Herbal formula", "dieu-tri"),
    Section("yhct-phuong-huyet", "Phương huyệt (châm cứu)", "Acupuncture points", "dieu-tri"),
    Section("yhct-xoa-bop", "Xoa bóp - bấm huyệt", "Massage and acupressure", "dieu-tri"),
    Section("yhct-dinh-duong", "Chế độ dinh dưỡng", "Diet", "dieu-tri"),
    Section("yhct-ho-ly", "Chế độ hộ lý", "Nursing care", "dieu-tri"),
    Section("yhct-du-hau", "Dự hậu", "Prognosis", "du-hau"),
)
BY_CODE = {s.code: s for s in SECTIONS}
MAX_TEXT = record.MAX_TEXT
MAX_HERBS = 60
# "Đảng sâm 12g", "Bạch truật: 10 g", "Cam thảo - 6 g": the name, then the amount and its unit.
_HERB = re.compile(r"(?P<name>.*?\D)[\s:;,\-–—]*(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>[^\d\s].*)?")


def field_name(code: str) -> str:
    return "y_" + code.removeprefix("yhct-").replace("-", "_")


def tick_field(kind: str, code: str) -> str:
    return f"y_{kind.replace('-', '_')}_{code.replace('-', '_')}"


HERBS_FIELD = "y_vi_thuoc"
ICD_FIELD = "y_benh_danh_icd"


@dataclass(frozen=True)
class Herb:
    name: str
    amount: float
    unit: str

    def line(self) -> str:
        return f"{self.name} {number(self.amount)}{' ' + self.unit if self.unit else ''}".strip()


@dataclass(frozen=True)
class Part:
    """The YHCT part as stored: texts by section code, the disease's ICD-10 code and name, the boxes
    ticked, the herbs."""
    texts: dict[str, str]
    icd_code: str
    icd_display: str
    ticks: dict[str, list[str]]
    herbs: list[Herb]

    def __bool__(self) -> bool:
        return bool(self.texts or self.icd_code or any(self.ticks.values()) or self.herbs)

    def values(self) -> dict[str, str]:
        """As the page's form fields (to show them again)."""
        out = {field_name(c): t for c, t in self.texts.items()}
        out[ICD_FIELD] = self.icd_code
        out[HERBS_FIELD] = "\n".join(h.line() for h in self.herbs)
        for kind, codes in self.ticks.items():
            out.update({tick_field(kind, c): "1" for c in codes})
        return out


def _section_code(s: dict) -> str:
    return (s.get("code", {}).get("coding") or [{}])[0].get("code", "")


def _ext_of(section: dict, url: str) -> list[dict]:
    return [e for e in section.get("extension", []) if e.get("url") == url]


def of(composition: dict | None) -> Part:
    """The YHCT part of a stored record (empty when there is none)."""
    texts: dict[str, str] = {}
    icd_code = icd_display = ""
    ticks: dict[str, list[str]] = {k: [] for k in TICKS}
    herbs: list[Herb] = []
    for s in (composition or {}).get("section", []):
        code = _section_code(s)
        if code not in BY_CODE:
            continue
        if (s.get("text") or {}).get("status") != "extensions":       # the doctor's words, not the codes' echo
            texts[code] = narrative_text(s.get("text"))
        for e in _ext_of(s, ICD_EXT):
            icd_code, icd_display = e["valueCoding"].get("code", ""), e["valueCoding"].get("display", "")
        for kind, url in TICK_EXT.items():
            ticks[kind] += [e["valueCoding"]["code"] for e in _ext_of(s, url)]
        for e in _ext_of(s, HERB_EXT):
            parts = {x["url"]: x for x in e.get("extension", [])}
            q = parts.get("amount", {}).get("valueQuantity", {})
            herbs.append(Herb(parts.get("name", {}).get("valueString", ""), q.get("value", 0), q.get("unit", "")))
    return Part({c: t for c, t in texts.items() if t}, icd_code, icd_display, ticks, herbs)


def parse_herbs(text: str, p: Problems) -> list[Herb]:
    """One herb a line: its name, then the amount (a number, then the unit as written)."""
    out = []
    for line in (x.strip() for x in (text or "").splitlines()):
        if not line:
            continue
        m = _HERB.fullmatch(line)
        amount = parse_number(m["value"]) if m else None
        if not m or not m["name"].strip(" :;,-–—") or amount is None or amount <= 0:
            p.add(HERBS_FIELD, "ui.yhct.err.herb", line=line[:60])
            continue
        out.append(Herb(m["name"].strip(" :;,-–—"), amount, (m["unit"] or "").strip()))
    if len(out) > MAX_HERBS:
        p.add(HERBS_FIELD, "ui.yhct.err.too_many_herbs", n=MAX_HERBS)
    return out


def _coding(kind: str, code: str) -> dict:
    return {"system": TICK_SYSTEM[kind], "code": code, "display": TICKS[kind][code][0]}


def _section(sec: Section, text: str, extensions: list[dict]) -> dict | None:
    if not text and not extensions:
        return None
    out: dict = {"title": sec.vi, "code": {"coding": [{"system": record.SECTION_SYSTEM, "code": sec.code,
                                                       "display": sec.vi}]}}
    if extensions:
        out["extension"] = extensions
    if text:
        out["text"] = narrative(text)
    else:
        # A section holds text (FHIR cmp-1): the codes' words, marked as made from the extensions.
        words = ", ".join(e["valueCoding"].get("display", "") if "valueCoding" in e else
                          next((x.get("valueString", "") for x in e.get("extension", []) if x["url"] == "name"), "")
                          for e in extensions)
        out["text"] = {**narrative(words), "status": "extensions"}
    return out


def save(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], current: dict | None,
         reason: str = "", tz: str = "+07:00") -> str:
    """Write the YHCT part into the visit's record (creating the record if there is none yet)."""
    patient_id, encounter_id = encounter["subject"]["reference"].split("/", 1)[1], encounter["id"]
    p = Problems()
    typed = {s.code: (values.get(field_name(s.code)) or "").strip() for s in SECTIONS}
    for s in SECTIONS:
        if len(typed[s.code]) > MAX_TEXT:
            p.add(field_name(s.code), "ui.err.too_long", n=MAX_TEXT)
    ticks = {kind: [c for c in codes if (values.get(tick_field(kind, c)) or "").strip()]
             for kind, codes in TICKS.items()}
    herbs = parse_herbs(values.get(HERBS_FIELD, ""), p)
    icd = admission.coded_dx(repo, p, ICD_FIELD, values.get(ICD_FIELD, ""), "")
    if icd and not typed["yhct-benh-danh"]:
        p.add(field_name("yhct-benh-danh"), "ui.yhct.err.name_with_code")
    new = Part({c: t for c, t in typed.items() if t}, (icd or {}).get("coding", [{}])[0].get("code", ""),
               (icd or {}).get("coding", [{}])[0].get("display", ""), ticks, herbs)
    if not new:
        p.add(field_name(SECTIONS[0].code), "ui.err.required")
    old = of(current)
    if old and _comparable(old) != _comparable(new) and len(reason.strip()) < 3:
        p.add("y_reason", "ui.err.correction_reason")
    p.raise_if_any()
    extensions: dict[str, list[dict]] = {
        "yhct-benh-danh": [{"url": ICD_EXT, "valueCoding": icd["coding"][0]}] if icd else [],
        "yhct-bat-cuong": [{"url": TICK_EXT["bat-cuong"], "valueCoding": _coding("bat-cuong", c)}
                           for c in ticks["bat-cuong"]],
        "yhct-nguyen-nhan": [{"url": TICK_EXT["nguyen-nhan"], "valueCoding": _coding("nguyen-nhan", c)}
                             for c in ticks["nguyen-nhan"]],
        "yhct-phuong-thuoc": [{"url": HERB_EXT, "extension": [
            {"url": "name", "valueString": h.name},
            {"url": "amount", "valueQuantity": {"value": h.amount, **({"unit": h.unit} if h.unit else {})}}]}
            for h in herbs]}
    mine = [x for x in (_section(s, typed[s.code], extensions.get(s.code, [])) for s in SECTIONS) if x]
    kept = [s for s in (current or {}).get("section", []) if _section_code(s) not in BY_CODE]
    if current is None:
        body = {"resourceType": "Composition", "status": "preliminary", "type": record.RECORD_TYPE,
                "subject": ref("Patient", patient_id), "encounter": ref("Encounter", encounter_id),
                "title": "Bệnh án"}
    else:
        body = {k: v for k, v in current.items() if k not in ("meta", "extension", "text")}
    # The one who made the record stays its first author (the form's "Bác sĩ làm bệnh án"); the doctor
    # writing the YHCT part is added after them.
    authors = list((current or {}).get("author") or [])
    authors += [author(actor)] if author(actor) not in authors else []
    body.update({"date": now(tz).isoformat(), "author": authors, "section": kept + mine})
    stamp(body, actor)
    marked = _marked(encounter, actor)
    also = [repo.prepare("PUT", "Encounter", encounter["id"], marked[0], if_match=marked[1])] if marked else []
    if current is None:
        rid = str(uuid.uuid4())
        repo.commit([repo.prepare("POST", "Composition", rid, body, create_only=True), *also], "create")
        return rid
    if reason.strip():
        body["extension"].append({"url": CORRECTION_REASON, "valueString": reason.strip()})
    version = int(current.get("meta", {}).get("versionId", "0")) or None
    repo.commit([repo.prepare("PUT", "Composition", current["id"], body, if_match=version), *also], "update")
    return current["id"]


def _marked(encounter: dict, actor: Actor) -> tuple[dict, int | None] | None:
    """The doctor who writes the YHCT part chose the YHCT record: a visit with no specialty yet is
    coded y-hoc-co-truyen (Encounter.serviceType), so it prints 18/BV1 or 19/BV1. A visit already coded
    with a specialty keeps it."""
    codings = (encounter.get("serviceType") or {}).get("coding", [])
    if any(c.get("system") == SPECIALTY_SYSTEM for c in codings):
        return None
    body = {k: v for k, v in encounter.items() if k != "meta"}
    st = dict(body.get("serviceType") or {})
    st["coding"] = [*codings, {"system": SPECIALTY_SYSTEM, "code": SPECIALTY, "display": "Y học cổ truyền"}]
    body["serviceType"] = st
    return stamp(body, actor), int(encounter.get("meta", {}).get("versionId", "0")) or None


def _comparable(part: Part) -> tuple:
    return (part.texts, part.icd_code, {k: sorted(v) for k, v in part.ticks.items()},
            [(h.name, float(h.amount), h.unit) for h in part.herbs])


def is_traditional(encounter: dict, location: dict | None = None) -> bool:
    """Whether the visit is a YHCT one: Encounter.serviceType coded y-hoc-co-truyen in SPECIALTY_SYSTEM,
    else its department's Location.type."""
    concepts = [encounter.get("serviceType") or {}, *((location or {}).get("type") or [])]
    for cc in concepts:
        for c in cc.get("coding", []):
            if c.get("system") == SPECIALTY_SYSTEM:
                return c.get("code") == SPECIALTY
    return False
