"""The demo facility's catalogues, imported through the ordinary catalogue import
(docs/catalogues.md) so that the prescription and order forms have something to choose from.

Drugs: the drugs the synthetic records prescribe (codes = their ATC code with a "DEMO-" prefix; the
synthetic prescriptions point at these Medications, and their lab orders at the laboratory services),
each with its active ingredient (HOAT_CHAT), plus three brand-name products whose names do not say
what they hold (Augmentin = amoxicillin + clavulanic acid, Gofen = ibuprofen, Hapacol =
paracetamol), so the allergy and duplicate checks by ingredient can be seen at work.

Services: common imaging, functional-exploration, procedure and laboratory services of a district
health centre, in the insurer's code format CC.KKKK.GGGG (chapter of the technique list, technique,
price group) with their cost group MA_NHOM. Several codes and names are as they appear in facilities'
published lists (X-quang ngực thẳng 18.0119.0028, Siêu âm ổ bụng 18.0015.0001, Điện tim thường
02.0085.1778, the laboratory ones); the others are illustrative. One analogue X-ray service ended on
31/12/2025, so the order form can be seen not offering it. Prices are made up. A real facility
imports its own registered lists instead.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from benhan.clinical.catalogue.importer import import_rows
from benhan.clinical.catalogue.layouts import DRUG, SERVICE, Row
from benhan.clinical.synth.catalog import DRUGS
from benhan.store.store import Store

START = date(2026, 1, 1)
# The synthetic records go back three years (synth/generator.py HISTORY_DAYS): the drugs, laboratory
# services, the exam and the bed-day the demo bills are priced from then, so its older visits bill too.
HISTORY = date(2023, 1, 1)

# (MA_THUOC, TEN_THUOC, HAM_LUONG, HOAT_CHAT, SO_DANG_KY, DON_GIA)
BRANDS = (
    ("DEMO-J01CR02", "Augmentin", "500mg + 125mg", "Amoxicilin + Acid clavulanic", "VN-DEMO-0001", 14500),
    ("DEMO-M01AE01", "Gofen", "400mg", "Ibuprofen", "VN-DEMO-0002", 3200),
    ("DEMO-N02BE01", "Hapacol", "650mg", "Paracetamol", "VD-DEMO-0003", 900),
)

# (MA_DICH_VU, TEN_DICH_VU, MA_NHOM, DON_GIA, TU_NGAY, DEN_NGAY)
SERVICES = (
    ("18.0119.0028", "Chụp X-quang ngực thẳng [số hóa 1 phim]", "2", 65400, START, None),
    ("18.0119.0001", "Chụp X-quang ngực thẳng [phim analog]", "2", 47200, date(2024, 1, 1), date(2025, 12, 31)),
    ("18.0120.0028", "Chụp X-quang ngực nghiêng hoặc chếch mỗi bên [số hóa 1 phim]", "2", 65400, START, None),
    ("18.0091.0029", "Chụp X-quang cột sống thắt lưng thẳng nghiêng [số hóa 2 phim]", "2", 97200, START, None),
    ("18.0067.0028", "Chụp X-quang sọ thẳng/nghiêng [số hóa 1 phim]", "2", 65400, START, None),
    ("18.0015.0001", "Siêu âm ổ bụng tổng quát (gan mật, tụy, lách, thận, bàng quang)", "2", 43900, START, None),
    ("18.0001.0001", "Siêu âm tuyến giáp", "2", 43900, START, None),
    ("18.0052.0004", "Siêu âm Doppler tim, van tim", "2", 222000, START, None),
    ("18.0193.0041", "Chụp cắt lớp vi tính sọ não không tiêm thuốc cản quang (CT sọ não)", "2", 536000, START, None),
    ("02.0085.1778", "Điện tim thường (điện tâm đồ 12 chuyển đạo)", "3", 32800, START, None),
    ("03.0110.0298", "Khí dung thuốc cấp cứu", "8", 20300, START, None),
    ("10.0900.0200", "Thay băng vết thương chiều dài dưới 15 cm", "8", 57600, START, None),
    ("10.0888.0216", "Khâu vết thương phần mềm tổn thương nông chiều dài dưới 10 cm", "8", 178000, START, None),
    ("02.0239.0115", "Đặt sonde dạ dày", "8", 90100, START, None),
    ("02.0225.0203", "Thông tiểu", "8", 90100, START, None),
    ("22.0120.1370", "Tổng phân tích tế bào máu ngoại vi (bằng máy đếm tổng trở)", "1", 40400, HISTORY, None),
    ("23.0075.1494", "Định lượng Glucose [Máu]", "1", 21500, HISTORY, None),
    ("23.0051.1494", "Định lượng Creatinin (máu)", "1", 21500, HISTORY, None),
    ("23.0166.1494", "Định lượng Urê máu [Máu]", "1", 21500, HISTORY, None),
    ("23.0206.1596", "Tổng phân tích nước tiểu (bằng máy tự động)", "1", 27400, HISTORY, None),
    # The other laboratory services the lab panels are billed as (clinical/orders.py LAB_SERVICES:
    # the name decides), so the synthetic lab orders bill like the app's; codes illustrative.
    ("23.0083.1523", "Định lượng HbA1c [Máu]", "1", 101000, HISTORY, None),
    ("23.0020.1493", "Đo hoạt độ ALT (GPT) [Máu]", "1", 21500, HISTORY, None),
    ("23.0019.1493", "Đo hoạt độ AST (GOT) [Máu]", "1", 21500, HISTORY, None),
    ("23.0025.1493", "Định lượng Bilirubin toàn phần [Máu]", "1", 21500, HISTORY, None),
    ("23.0041.1506", "Định lượng Cholesterol toàn phần (máu)", "1", 26900, HISTORY, None),
    ("23.0158.1506", "Định lượng Triglycerid (máu) [Máu]", "1", 26900, HISTORY, None),
    ("23.0084.1506", "Định lượng HDL-C (High density lipoprotein Cholesterol) [Máu]", "1", 26900, HISTORY, None),
    ("23.0112.1506", "Định lượng LDL-C (Low density lipoprotein Cholesterol) [Máu]", "1", 26900, HISTORY, None),
    ("23.0058.1487", "Điện giải đồ (Na, K, Cl) [Máu]", "1", 29000, HISTORY, None),
    ("23.0053.1520", "Định lượng CRP [Máu]", "1", 53800, HISTORY, None),
    ("23.0160.1531", "Định lượng TSH (Thyroid Stimulating hormone) [Máu]", "1", 59200, HISTORY, None),
    ("23.0088.1531", "Định lượng FT4 (Free Thyroxine) [Máu]", "1", 64600, HISTORY, None),
    # The visit's exam and the inpatient bed-day, which billing charges from the record itself
    # (benhan/billing/data/record_services.csv names these codes; a facility corrects both).
    ("02.1896", "Khám Nội", "13", 50600, HISTORY, None),
    ("K15.1905", "Ngày giường bệnh Nội khoa loại 3 (hạng III)", "15", 199100, HISTORY, None),
)


def _drug_rows(line: int) -> list[Row]:
    out = []
    for drug in DRUGS.values():
        m = re.match(r"^(.*?)\s+(\d[\d,.%]*\s*(?:mg|g|ml|%)?(?:\s+\d+ml)?)$", drug.name)
        name, strength = (m.group(1), m.group(2)) if m else (drug.name, "")
        price = Decimal(500 + (sum(map(ord, drug.atc)) * 37) % 9500).quantize(Decimal(100))
        extra = {"DUONG_DUNG": drug.route, "HOAT_CHAT": name}
        if strength:
            extra["HAM_LUONG"] = strength
        out.append(Row(line=line, kind=DRUG, code=drug_code(drug.atc), name=name, unit=drug.unit, price=price,
                       start=HISTORY, extra=extra))
        line += 1
    for code, name, strength, ingredient, reg, price in BRANDS:
        out.append(Row(line=line, kind=DRUG, code=code, name=name, unit="viên", price=Decimal(price), start=START,
                       extra={"DUONG_DUNG": "Uống", "HAM_LUONG": strength, "HOAT_CHAT": ingredient,
                              "SO_DANG_KY": reg}))
        line += 1
    return out


def service_rows(line: int = 2) -> list[Row]:
    return [Row(line=line + i, kind=SERVICE, code=code, name=name, unit="lần", price=Decimal(price), start=start,
                end=end, extra={"MA_NHOM": group})
            for i, (code, name, group, price, start, end) in enumerate(SERVICES)]


def rows() -> list[Row]:
    drugs = _drug_rows(2)
    return drugs + service_rows(2 + len(drugs))


def load_demo_catalogue(store: Store) -> int:
    """Import the demo drugs and services; how many rows were created or changed (0 the second time)."""
    return sum(1 for r in import_rows(store, rows()) if r.outcome in ("created", "updated"))


def drug_code(atc: str) -> str:
    """MA_THUOC of a synthetic record's drug in the demo catalogue (its catalogue key: no registration)."""
    return f"DEMO-{atc}"


def panel_services(panel: str) -> list[tuple[str, str]]:
    """(MA_DICH_VU, name) of the demo laboratory services a lab panel is billed as, chosen as the order
    form chooses them (clinical/orders.py LAB_SERVICES: a technique name starting with the stem)."""
    from benhan.clinical.orders import LAB_SERVICES
    from benhan.fhir.text import fold
    out = []
    for stem in LAB_SERVICES.get(panel, ()):
        hits = [(code, name) for code, name, group, _p, _s, end in SERVICES
                if group == "1" and end is None and fold(name).startswith(stem)]
        if len(hits) == 1:
            out.append(hits[0])
    return out
