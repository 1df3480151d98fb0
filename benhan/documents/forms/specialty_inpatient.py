"""The specialty inpatient records of TT 32/2023 PL XXVIII (forms-tt32.md §1.2), as data variants of
01/BV1 (inpatient.FORM): 02/BV1 Nhi khoa, 03/BV1 Truyền nhiễm, 04/BV1 Phụ khoa, 05/BV1 Sản khoa and
10/BV1 Ngoại khoa. The cover sheet (I–IV), part A and part B are 01/BV1's, imported, so a fix there is a
fix here; each variant adds its specialty's items where the paper has them (the long-standing QĐ 4069
layouts: secondary, docs/forms.md). The items' labels are the app's own (clinical.specialty_record,
the words the doctor typed them under), their values what the doctor recorded (specialty_sources);
the tick-box words are the vocabulary's. Which one a stay prints: record_form_for."""
from __future__ import annotations

from dataclasses import replace

from benhan.clinical import specialty_record as sr
from benhan.documents.forms import blocks, inpatient, specialty_sources as sp
from benhan.documents.layout.model import Box, Column, Element, Field, Form, Heading, Line, Table, Ticks


def _one(code: str, width: float = 1.0) -> Field | Ticks:
    it = sr.BY_CODE[code]
    if it.options:
        return Ticks(it.vi, it.options, sp.ticked(code), key=code, width=width)
    return Field(it.vi, sp.item(code), key=code, width=width, lines=it.lines)


def _row(*codes: tuple[str, float] | str) -> Element:
    """One item on its line, or several side by side ((code, width), …)."""
    if len(codes) == 1 and isinstance(codes[0], str):
        return _one(codes[0])
    return Line(tuple(_one(c, w) for c, w in codes))


def _names(el: Element) -> set[str]:
    if isinstance(el, Line | Box):
        return {i.name for i in el.items}
    if isinstance(el, Field | Ticks):
        return {el.name}
    if isinstance(el, Table):
        return {el.key}
    if isinstance(el, Heading):
        return {el.text}
    return set()


def _insert(body: tuple[Element, ...], key: str, items: tuple[Element, ...], before: bool = False) -> tuple:
    """`body` with `items` after (or before) the element that holds the item named `key`."""
    at = next(i for i, el in enumerate(body) if key in _names(el)) + (0 if before else 1)
    return (*body[:at], *items, *body[at:])


def _variant(key: str, code: str, title: str, *places: tuple[str, tuple[Element, ...], bool]) -> Form:
    body = inpatient.FORM.body
    for where, items, before in places:
        body = _insert(body, where, items, before)
    return replace(inpatient.FORM, key=key, code=code, title=title, body=body)


_VITALS = blocks.VITALS.items[-1].name        # the exam items of a specialty follow the vital-signs box
_B = "B. TỔNG KẾT BỆNH ÁN RA VIỆN"

PAEDIATRIC = _variant(
    "inpatient-paediatric", "02/BV1", "BỆNH ÁN NHI KHOA",
    ("next-of-kin", (_row(("nhi-ho-ten-bo", 0.44), ("nhi-van-hoa-bo", 0.28), ("nhi-nghe-bo", 0.28)),
                     _row(("nhi-ho-ten-me", 0.44), ("nhi-van-hoa-me", 0.28), ("nhi-nghe-me", 0.28))), False),
    ("family-history", (Heading("3. Quá trình sinh trưởng"),
                        _row(("nhi-con-thu", 0.3), ("nhi-tien-thai", 0.7)),
                        _row("nhi-tinh-trang-sinh"),
                        _row(("nhi-can-nang-sinh", 0.42), ("nhi-di-tat", 0.58)),
                        _row("nhi-phat-trien"), _row("nhi-benh-da-mac"),
                        _row(("nhi-nuoi-duong", 0.66), ("nhi-cai-sua", 0.34)),
                        _row("nhi-cham-soc"), _row("nhi-tiem-chung"), _row("nhi-tiem-chung-khac")), False),
    (_VITALS, (_row("nhi-vong-dau"),), False),
)

INFECTIOUS = _variant(
    "inpatient-infectious", "03/BV1", "BỆNH ÁN TRUYỀN NHIỄM",
    ("family-history", (Heading("3. Dịch tễ"), _row("tn-noi-o"), _row("tn-tiep-xuc"), _row("tn-thoi-gian"),
                        _row("tn-dich-te-khac")), False),
)

GYNAECOLOGY = _variant(
    "inpatient-gynaecology", "04/BV1", "BỆNH ÁN PHỤ KHOA",
    ("family-history", (Heading("3. Tiền sử sản phụ khoa"),
                        _row(("pk-thay-kinh", 0.5), ("pk-tinh-chat-kinh", 0.5)),
                        _row(("pk-chu-ky", 0.3), ("pk-so-ngay-kinh", 0.34), ("pk-luong-kinh", 0.36)),
                        _row(("pk-kinh-cuoi", 0.5), ("pk-dau-bung-kinh", 0.5)),
                        _row(("pk-lay-chong", 0.5), ("pk-het-kinh", 0.5)),
                        _row("pk-para"), _row("pk-benh-phu-khoa")), False),
    ("tests", (Heading("Khám chuyên khoa"), _row("pk-sinh-duc-thu-phat"),
               _row(("pk-moi-lon", 0.5), ("pk-moi-be", 0.5)), _row(("pk-am-vat", 0.5), ("pk-am-ho", 0.5)),
               _row(("pk-mang-trinh", 0.5), ("pk-am-dao", 0.5)), _row("pk-tang-sinh-mon"),
               _row("pk-co-tu-cung"), _row("pk-than-tu-cung"), _row("pk-phan-phu"), _row("pk-tui-cung")), True),
)

OBSTETRIC = _variant(
    "inpatient-obstetric", "05/BV1", "BỆNH ÁN SẢN KHOA",
    ("history", (_row(("sk-chuyen-da-luc", 0.45), ("sk-dau-hieu", 0.55)),), False),
    ("family-history", (Heading("3. Tiền sử sản phụ khoa"),
                        _row(("sk-thay-kinh", 0.5), ("sk-tinh-chat-kinh", 0.5)),
                        _row(("sk-chu-ky", 0.3), ("sk-luong-kinh", 0.3), ("sk-lay-chong", 0.4)),
                        _row("sk-para"), _row("sk-tien-thai"),
                        Heading("4. Quá trình mang thai"),
                        _row(("sk-kinh-cuoi", 0.34), ("sk-du-kien-de", 0.33), ("sk-tuoi-thai", 0.33)),
                        _row(("sk-kham-thai-tai", 0.66), ("sk-so-lan-kham", 0.34)),
                        _row("sk-uon-van")), False),
    ("tests", (Heading("Khám ngoài"), _row("sk-seo-mo"), _row("sk-hinh-dang-tc"),
               _row(("sk-tu-the-tc", 0.34), ("sk-chieu-cao-tc", 0.33), ("sk-vong-bung", 0.33)),
               _row(("sk-con-co", 0.6), ("sk-tim-thai", 0.4)), _row("sk-vu"),
               Heading("Khám trong"), _row(("sk-bishop", 0.34), ("sk-am-ho-am-dao", 0.66)),
               _row("sk-co-tu-cung"), _row(("sk-oi", 0.45), ("sk-oi-vo-luc", 0.55)), _row("sk-nuoc-oi"),
               _row(("sk-ngoi", 0.25), ("sk-the", 0.25), ("sk-kieu-the", 0.25), ("sk-do-lot", 0.25))), True),
    (_B, (Heading("Tình hình sinh"), _row(("sk-de-luc", 0.5), ("sk-ngoi-thai", 0.5)), _row("sk-cach-de"),
          _row("sk-kiem-soat-tc"), _row(("sk-tre-gioi", 0.45), ("sk-tre-can-nang", 0.55)),
          _row(("sk-apgar", 0.55), ("sk-tre-di-tat", 0.45)), _row("sk-tre-tinh-trang"), _row("sk-rau-bong"),
          _row(("sk-rau-mo-ta", 0.62), ("sk-rau-can-nang", 0.38)),
          _row(("sk-tang-sinh-mon", 0.6), ("sk-mat-mau", 0.4)), _row("sk-khau")), False),
)

SURGICAL = _variant(
    "inpatient-surgical", "10/BV1", "BỆNH ÁN NGOẠI KHOA",
    (_VITALS, (_row("nk-tai-cho"),), False),
    ("method", (Table("surgery-table", (Column("Giờ, ngày", 0.18), Column("Phương pháp phẫu thuật/vô cảm", 0.42),
                                        Column("Bác sĩ phẫu thuật", 0.2), Column("Bác sĩ gây mê", 0.2)),
                      sp.surgery_rows, min_rows=2, title="Phẫu thuật, thủ thuật"),), False),
)

VARIANTS = (PAEDIATRIC, INFECTIOUS, GYNAECOLOGY, OBSTETRIC, SURGICAL)
BY_FORM_CODE = {f.code: f.key for f in (inpatient.FORM, *VARIANTS)}


def record_form_for(specialty: str) -> str:
    """The form key of a specialty's record (clinical.specialty_record.SPECIALTIES); 01/BV1 for any other."""
    sp_ = sr.BY_SPECIALTY.get(specialty)
    return BY_FORM_CODE.get(sp_.form, inpatient.FORM.key) if sp_ else inpatient.FORM.key
