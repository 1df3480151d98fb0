"""Draws a declarative form (model.py) with fpdf2, like the paper: the facility block top left, the
national heading top right, "MS: …" and the form's identifiers under it, the title, the elements in
order, the date line and signature blocks; on every page the patient's name and record number, the
page number and the electronic-to-paper mark (NĐ 137/2024 Đ5).

Each element is kept whole on a page when it fits one, and the closing (date line + signatures) is
kept on the page of the last body element, so no page holds only a signature.

`render` also returns where each value was drawn (`regions`, in PDF points from the page's top
left, as pdfplumber reports words): the golden tests check each seeded value lies in its box.
"""
from __future__ import annotations

import copy
import datetime as dt
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont


from benhan.clinical.printouts.pdf import FAMILY, FONTS
from benhan.documents.layout import model as m

PT = 72 / 25.4                       # points per millimetre
NATIONAL = ("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
DOTS = "."


@dataclass
class Region:
    page: int                        # 1-based
    x0: float
    top: float
    x1: float
    bottom: float                    # points, from the page's top left

    def holds(self, x: float, top: float, bottom: float) -> bool:
        return self.x0 - 1 <= x <= self.x1 + 1 and self.top - 2 <= top and bottom <= self.bottom + 2


@dataclass
class Sheet:
    """What the renderer needs besides the form: the header, the footer and a way to read values."""
    data: Any                                  # what the sources read
    authority: str                             # "SỞ Y TẾ …" (the parent authority)
    facility: str
    facility_code: str
    department: str
    patient_name: str
    mark_lines: list[str]
    options: Callable[[str], list[tuple[str, str]]]     # vocabulary set → [(code, words)]
    signed: dict[str, list[str]] = field(default_factory=dict)   # role → lines of the signing mark
    facility_code_label: str = "Mã cơ sở"
    transform: Callable[[str, str], str] | None = None     # (key, value) → value printed (abbreviations)


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    regions: dict[str, Region]
    values: dict[str, str]                     # every field's printed value, by key


# The fonts' metrics (widths of some 6,000 glyphs), read once per process: reading them is most of a
# form's rendering time. Each document still gets its own font object and its own copy of the font
# file to subset (fpdf2 subsets the file in place when it writes the PDF).
_PARSED: dict[str, TTFFont] = {}
_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


@functools.cache
def _font_bytes(file: str) -> bytes:
    return (FONTS / file).read_bytes()


def _add_fonts(pdf: FPDF) -> None:
    for style, file in _FILES.items():
        key = f"{FAMILY.lower()}{style}"
        parsed = _PARSED.get(key)
        if parsed is None:
            pdf.add_font(FAMILY, style, str(FONTS / file))
            parsed = _PARSED[key] = copy.copy(pdf.fonts[key])
        font = copy.copy(parsed)
        # From the bytes read once, not the file: a form whose source fails mid-draw leaves no open file.
        font.ttfont = ttLib.TTFont(io.BytesIO(_font_bytes(file)), recalcTimestamp=False, lazy=True)
        font.desc = copy.copy(parsed.desc)
        font.i = len(pdf.fonts) + 1
        font.subset = SubsetMap(font)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        pdf.fonts[key] = font


class _Pdf(FPDF):
    def __init__(self, form: m.Form, sheet: Sheet, record_number: str):
        # ISO 216 sizes in millimetres (fpdf2 2.8 warns on the name "A5", whose size it once had wrong).
        super().__init__(format={"A4": (210, 297), "A5": (148, 210)}[form.page])
        self.form, self.sheet, self.record_number = form, sheet, record_number
        self.a5 = form.page == "A5"
        _add_fonts(self)
        margin = 9 if self.a5 else 14
        self.set_margins(margin, 9 if self.a5 else 11, margin)
        self.footer_h = 17 if self.a5 else 19
        self.set_auto_page_break(True, margin=self.footer_h + 2)
        self.set_title(f"{form.title} — {sheet.patient_name}")
        self.size = 7.6 if self.a5 else 9
        self.lh = 3.9 if self.a5 else 4.6

    @property
    def width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    @property
    def limit(self) -> float:
        return self.h - self.b_margin

    def footer(self) -> None:
        # The patient and the record on every page (a loose sheet still says whose it is), the page
        # number, and the mark of a paper copy of an electronic record.
        self.set_y(-self.footer_h)
        self.set_draw_color(120)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FAMILY, "", 5.6 if self.a5 else 6.4)
        lh = 2.7 if self.a5 else 3.1
        who = f"Người bệnh: {self.sheet.patient_name}" + (f" — {self.record_number}" if self.record_number else "")
        self.cell(self.width * 0.75, lh, who)
        self.cell(self.width * 0.25, lh, f"Trang {self.page_no()}/{{nb}}", align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for line in self.sheet.mark_lines:
            self.multi_cell(self.width, lh, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


class _Renderer:
    def __init__(self, form: m.Form, sheet: Sheet):
        self.form, self.sheet = form, sheet
        self.pdf = _Pdf(form, sheet, self._text(form.record_number))
        self.regions: dict[str, Region] = {}
        self.values: dict[str, str] = {}

    # --- values ---
    def _text(self, source: m.Source) -> str:
        value = source(self.sheet.data)
        if value is None:
            return ""
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value if v)
        return str(value).strip()

    def _region(self, key: str, x0: float, top: float, x1: float, bottom: float) -> None:
        self.regions[key] = Region(self.pdf.page_no(), x0 * PT, top * PT, x1 * PT, bottom * PT)

    # --- measuring (mm), so that elements are kept whole and the closing stays with the body ---
    def _lines(self, text: str, width: float) -> int:
        if not text:
            return 0
        return len(self.pdf.multi_cell(width, self.pdf.lh, text, dry_run=True, output="LINES"))

    def _label(self, item: m.Field | m.Digits | m.Ticks) -> str:
        return f"{item.number} {item.label}".strip() + ":"

    def _field_height(self, f: m.Field, width: float) -> float:
        pdf = self.pdf
        pdf.set_font(FAMILY, "", pdf.size)
        value = self._text(f.source)
        label_w = pdf.get_string_width(self._label(f)) + 2.0
        if not value:
            return f.lines * pdf.lh + 0.6
        room = width - label_w
        if room < width * 0.35:          # a long label: the value goes under it
            return pdf.lh + self._lines(value, width) * pdf.lh + 0.6
        return max(1, self._lines(value, room)) * pdf.lh + 0.6

    def _height(self, el: m.Element) -> float:
        pdf = self.pdf
        lh = pdf.lh
        if hasattr(el, "measure"):          # an element that draws itself (layout/chart.py)
            return el.measure(self)
        if isinstance(el, m.Heading):
            return lh + 2
        if isinstance(el, m.Note):
            return self._lines(el.text, pdf.width) * lh
        if isinstance(el, m.Field):
            return self._field_height(el, pdf.width)
        if isinstance(el, m.Digits | m.Ticks):
            return lh + 1.6
        if isinstance(el, m.Line):
            return max((self._field_height(i, pdf.width * i.width) if isinstance(i, m.Field) else lh + 1.6)
                       for i in el.items)
        if isinstance(el, m.Box):
            rows = (len(el.items) + el.per_row - 1) // el.per_row
            return rows * (lh + 1) + 3
        if isinstance(el, m.Table):
            rows = el.source(self.sheet.data) or []
            h = (lh + 1.6) * (1 + max(0, el.min_rows - len(rows))) + (lh + 2 if el.title else 0)
            for row in rows:
                h += self._row_height(el, [str(c) for c in row])
            return h
        if isinstance(el, m.DateLine):
            return lh + 1
        if isinstance(el, m.Signatures):
            w = pdf.width / max(len(el.items), 2)
            pdf.set_font(FAMILY, "", pdf.size - 1.5)
            marks = max((self._lines("\n".join(self.sheet.signed.get(s.role, [])), w) for s in el.items if s.role),
                        default=0)
            pdf.set_font(FAMILY, "", pdf.size)
            return lh * 3 + (22 if not pdf.a5 else 16) + marks * (lh - 0.8)
        return lh

    # --- drawing ---
    def run(self) -> Rendered:
        pdf = self.pdf
        pdf.alias_nb_pages()
        pdf.add_page()
        self._header()
        elements = [*self.form.body, *self.form.closing]
        tail = (m.DateLine, m.Signatures)
        for i, el in enumerate(elements):
            if isinstance(el, m.PageBreak):
                pdf.add_page()
                continue
            need = self._height(el)
            if isinstance(el, m.Heading) and i + 1 < len(elements):
                need += self._height(elements[i + 1])        # a heading is never last on its page
            elif not isinstance(el, tail):
                # The paper's small print, the date line and the signatures go with the element before
                # them: a page never holds only a signature.
                j = i + 1
                while j < len(elements) and isinstance(elements[j], (m.Note, *tail)):
                    need += self._height(elements[j]) + 1.5
                    j += 1
            if pdf.get_y() + need > pdf.limit and need < pdf.limit - pdf.t_margin:
                pdf.add_page()
            if isinstance(el, m.DateLine) and i and not isinstance(elements[i - 1], tail):
                pdf.ln(1.5)
            self._draw(el)
        data = bytes(pdf.output())
        return Rendered(data, pdf.pages_count, self.regions, self.values)

    def _header(self) -> None:
        pdf, sheet, form = self.pdf, self.sheet, self.form
        top = pdf.get_y()
        left_w = pdf.width * (0.44 if form.national_heading else 0.6)
        small = pdf.size - 0.5
        pdf.set_font(FAMILY, "", small)
        lines = [(sheet.authority.upper(), ""), (sheet.facility.upper(), "B")]
        if sheet.facility_code:
            lines.append((f"{sheet.facility_code_label}: {sheet.facility_code}", ""))
        if sheet.department:
            lines.append((f"Khoa: {sheet.department}", ""))
        y = top
        for text, style in lines:
            pdf.set_font(FAMILY, style, small)
            pdf.set_xy(pdf.l_margin, y)
            pdf.multi_cell(left_w, pdf.lh - 0.4, text or DOTS * 30, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            if style == "B" and text:
                self._region("facility", pdf.l_margin, y, pdf.l_margin + left_w, pdf.get_y())
            y = pdf.get_y()
        left_bottom = y
        right_x = pdf.l_margin + left_w + 2
        right_w = pdf.width - left_w - 2
        y = top
        if form.national_heading:
            pdf.set_font(FAMILY, "B", small)
            for text in NATIONAL:
                pdf.set_xy(right_x, y)
                pdf.cell(right_w, pdf.lh - 0.4, text, align="C")
                y += pdf.lh - 0.4
            rule = pdf.get_string_width(NATIONAL[1])
            mid = right_x + right_w / 2
            pdf.line(mid - rule / 2, y + 0.3, mid + rule / 2, y + 0.3)
            y += 1.5
        pdf.set_font(FAMILY, "B", small)
        pdf.set_xy(right_x, y)
        pdf.cell(right_w, pdf.lh - 0.4, f"{form.code_prefix}{form.code}", align="R")
        y += pdf.lh - 0.4
        pdf.set_font(FAMILY, "", small)
        for ident in form.identifiers:
            value = self._text(ident.source)
            self.values[ident.name] = value
            label = f"{ident.label}: "
            pdf.set_xy(right_x, y)
            pdf.cell(right_w - pdf.get_string_width(value or DOTS * 16) - 0.5, pdf.lh - 0.4, label, align="R")
            x = pdf.get_x()
            pdf.cell(right_w - (x - right_x), pdf.lh - 0.4, value or DOTS * 16, align="L")
            self._region(ident.name, x, y, right_x + right_w, y + pdf.lh - 0.4)
            y += pdf.lh - 0.4
        pdf.set_y(max(left_bottom, y) + 2)
        pdf.set_font(FAMILY, "B", 12 if pdf.a5 else 14)
        pdf.multi_cell(pdf.width, 6 if pdf.a5 else 7, form.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if form.subtitle:
            pdf.set_font(FAMILY, "", pdf.size)
            pdf.multi_cell(pdf.width, pdf.lh, form.subtitle, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)

    def _draw(self, el: m.Element) -> None:
        pdf = self.pdf
        x0, y0 = pdf.l_margin, pdf.get_y()
        if isinstance(el, m.Heading):
            pdf.ln(0.8)
            pdf.set_font(FAMILY, "B", pdf.size + 0.5)
            pdf.multi_cell(pdf.width, pdf.lh + 0.4, el.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(0.6)
        elif isinstance(el, m.Note):
            pdf.set_font(FAMILY, "", pdf.size - 1)
            pdf.multi_cell(pdf.width, pdf.lh, el.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif isinstance(el, m.Line):
            bottom = y0
            x = x0
            for item in el.items:
                w = pdf.width * item.width
                pdf.set_xy(x, y0)
                self._item(item, x, y0, w)
                bottom = max(bottom, pdf.get_y())
                x += w
            pdf.set_xy(x0, bottom)
        elif isinstance(el, m.Field | m.Digits | m.Ticks):
            self._item(el, x0, y0, pdf.width)
            pdf.set_x(x0)
        elif isinstance(el, m.Box):
            self._box(el)
        elif isinstance(el, m.Table):
            self._table(el)
        elif isinstance(el, m.DateLine):
            self._date_line(el)
        elif isinstance(el, m.Signatures):
            self._signatures(el)
        elif hasattr(el, "draw"):
            el.draw(self)

    def _item(self, item: m.Field | m.Digits | m.Ticks, x: float, y: float, w: float) -> None:
        if isinstance(item, m.Field):
            self._field(item, x, y, w)
        elif isinstance(item, m.Digits):
            self._digits(item, x, y, w)
        else:
            self._ticks(item, x, y, w)

    def _field(self, f: m.Field, x: float, y: float, w: float) -> None:
        pdf = self.pdf
        value = self._text(f.source)
        if f.caps:
            value = value.upper()
        elif value and not f.code and self.sheet.transform:
            value = self.sheet.transform(f.name, value)
        self.values[f.name] = value
        pdf.set_font(FAMILY, "", pdf.size)
        label = self._label(f)
        label_w = pdf.get_string_width(label) + 2.0
        pdf.set_xy(x, y)
        pdf.cell(label_w, pdf.lh, label)
        vx, vy, room = x + label_w, y, w - label_w - 1
        if value and room < w * 0.35:
            vx, vy, room = x + 3, y + pdf.lh, w - 4
        if not value:
            # The paper's dotted line, as many lines as the paper leaves for it.
            dots_w = pdf.get_string_width(DOTS)
            for i in range(f.lines):
                lx, lw = (vx, room) if i == 0 else (x, w - 1)
                pdf.set_xy(lx, y + i * pdf.lh)
                pdf.cell(lw, pdf.lh, DOTS * max(0, int(lw / dots_w) - 1))
            self._region(f.name, vx, y, x + w, y + f.lines * pdf.lh)
            pdf.set_xy(x, y + f.lines * pdf.lh + 0.6)
            return
        pdf.set_font(FAMILY, "B" if f.caps else "", pdf.size)
        pdf.set_xy(vx, vy)
        pdf.multi_cell(room, pdf.lh, value, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottom = pdf.get_y()
        self._region(f.name, vx, vy, vx + room, bottom)
        pdf.set_font(FAMILY, "", pdf.size)
        pdf.set_xy(x, bottom + 0.6)

    def _digits(self, d: m.Digits, x: float, y: float, w: float) -> None:
        pdf = self.pdf
        value = "".join(ch for ch in self._text(d.source) if not ch.isspace() and ch not in "/-")
        self.values[d.name] = value
        pdf.set_font(FAMILY, "", pdf.size)
        label = self._label(d)
        label_w = pdf.get_string_width(label) + 2.0
        pdf.set_xy(x, y)
        pdf.cell(label_w, pdf.lh, label)
        side = pdf.lh
        groups = list(d.groups) or [d.count]
        bx = x + label_w
        chars = list(value[:d.count].ljust(d.count))
        n = 0
        for g in groups:
            for _ in range(g):
                pdf.rect(bx, y + 0.1, side - 0.4, side)
                pdf.set_xy(bx, y + 0.1)
                pdf.cell(side - 0.4, side, chars[n].strip(), align="C")
                bx += side
                n += 1
            bx += 1.2
        self._region(d.name, x + label_w, y, bx, y + side + 0.2)
        pdf.set_xy(x, y + pdf.lh + 1.6)

    def _ticks(self, t: m.Ticks, x: float, y: float, w: float) -> None:
        pdf = self.pdf
        chosen = t.source(self.sheet.data)
        chosen = {chosen} if isinstance(chosen, str) else set(chosen or ())
        chosen.discard("")
        options = self.sheet.options(t.options)
        self.values[t.name] = "; ".join(words for code, words in options if code in chosen)
        pdf.set_font(FAMILY, "", pdf.size)
        label = self._label(t)
        pdf.set_xy(x, y)
        pdf.cell(pdf.get_string_width(label + " "), pdf.lh, label)
        side = pdf.lh - 0.6
        for i, (code, words) in enumerate(options, 1):
            text = f"{i}. {words} "
            tw = pdf.get_string_width(text)
            if pdf.get_x() + tw + side > x + w:          # wraps like the paper's option rows
                y += pdf.lh + 0.6
                pdf.set_xy(x + 3, y)
            pdf.cell(tw, pdf.lh, text)
            bx = pdf.get_x()
            pdf.rect(bx, y + 0.3, side, side)
            if code in chosen:
                pdf.set_font(FAMILY, "B", pdf.size)
                pdf.set_xy(bx, y + 0.3)
                pdf.cell(side, side, "X", align="C")
                pdf.set_font(FAMILY, "", pdf.size)
            self._region(f"{t.name}={code}", bx, y + 0.3, bx + side, y + 0.3 + side)
            pdf.set_xy(bx + side + 2.5, y)
        pdf.set_xy(x, y + pdf.lh + 1.6)

    def _box(self, b: m.Box) -> None:
        pdf = self.pdf
        top = pdf.get_y() + 0.5
        col = pdf.width / b.per_row
        y = top + 1
        for i, f in enumerate(b.items):
            if i and i % b.per_row == 0:
                y += pdf.lh + 1
            self._field(f, pdf.l_margin + 1.5 + (i % b.per_row) * col, y, col - 2)
        bottom = y + pdf.lh + 1.5
        pdf.rect(pdf.l_margin, top, pdf.width, bottom - top)
        pdf.set_xy(pdf.l_margin, bottom + 1)

    def _row_height(self, t: m.Table, row: list[str]) -> float:
        pdf = self.pdf
        pdf.set_font(FAMILY, "", pdf.size - 0.5)
        widths = [pdf.width * c.width for c in t.columns]
        return max(1, *(self._lines(cell, w - 2) for cell, w in zip(row, widths))) * pdf.lh + 1.6

    def _table(self, t: m.Table) -> None:
        pdf = self.pdf
        rows = [[str(c) for c in r] for r in (t.source(self.sheet.data) or [])]
        if self.sheet.transform:
            rows = [[self.sheet.transform(t.key, c) if c else c for c in r] for r in rows]
        self.values[t.key] = "\n".join(" | ".join(r) for r in rows)
        if t.title:
            pdf.set_font(FAMILY, "B", pdf.size)
            pdf.cell(pdf.width, pdf.lh + 1, t.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        widths = [pdf.width * c.width for c in t.columns]
        start_page, start_y = pdf.page_no(), pdf.get_y()

        segment = [pdf.page_no(), start_y]

        def draw_row(cells: list[str], bold: bool) -> None:
            h = self._row_height(t, cells)
            if pdf.get_y() + h > pdf.limit:
                # The part on this page is a region of its own; the header is repeated on the next.
                self._region(t.key if segment[0] == start_page else f"{t.key}@{segment[0]}", pdf.l_margin,
                             segment[1], pdf.l_margin + pdf.width, pdf.get_y())
                pdf.add_page()
                segment[:] = [pdf.page_no(), pdf.get_y()]
                draw_row([c.title for c in t.columns], True)
            y, x = pdf.get_y(), pdf.l_margin
            pdf.set_font(FAMILY, "B" if bold else "", pdf.size - 0.5)
            for cell, w in zip(cells, widths):
                pdf.rect(x, y, w, h)
                pdf.set_xy(x + 1, y + 0.8)
                pdf.multi_cell(w - 2, pdf.lh, cell, align="C" if bold else "L")
                x += w
            pdf.set_xy(pdf.l_margin, y + h)

        draw_row([c.title for c in t.columns], True)
        for r in rows:
            draw_row(r + [""] * (len(widths) - len(r)), False)
        for _ in range(max(0, t.min_rows - len(rows))):
            draw_row([""] * len(widths), False)
        self._region(t.key if segment[0] == start_page else f"{t.key}@{segment[0]}", pdf.l_margin, segment[1],
                     pdf.l_margin + pdf.width, pdf.get_y())
        pdf.ln(1)

    def _date_line(self, d: m.DateLine) -> None:
        pdf = self.pdf
        when = d.source(self.sheet.data)
        place = self._text(d.place)
        if isinstance(when, dt.datetime | dt.date):
            text = f"ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"
        else:
            text = "ngày …… tháng …… năm ……"
        text = (f"{place}, {text}" if place else text[0].upper() + text[1:])
        pdf.set_font(FAMILY, "", pdf.size)
        w = pdf.width * 0.5
        x = pdf.l_margin + pdf.width - w
        y = pdf.get_y()
        pdf.set_xy(x, y)
        pdf.cell(w, pdf.lh, text, align="C")
        self.values[d.key] = text
        self._region(d.key, x, y, x + w, y + pdf.lh)
        pdf.set_xy(pdf.l_margin, y + pdf.lh + 1)

    def _signatures(self, s: m.Signatures) -> None:
        pdf = self.pdf
        n = len(s.items)
        # One block signs at the right (the paper's place for the author); several share the width.
        w = pdf.width / max(n, 2) if n == 1 else pdf.width / n
        x = pdf.l_margin + (pdf.width - w if n == 1 else 0)
        top = pdf.get_y()
        bottom = top
        gap = 16 if pdf.a5 else 20
        for item in s.items:
            title = self._text(item.title)
            name = self._text(item.name)
            self.values[f"{item.key}.title"] = title
            self.values[item.key] = name
            y = top
            pdf.set_xy(x, y)
            pdf.set_font(FAMILY, "B", pdf.size)
            pdf.multi_cell(w, pdf.lh, title or DOTS * 20, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
            self._region(f"{item.key}.title", x, y, x + w, pdf.get_y())
            pdf.set_font(FAMILY, "", pdf.size - 1)
            pdf.cell(w, pdf.lh, "(Ký, ghi rõ họ tên)", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
            y = pdf.get_y()
            marks = self.sheet.signed.get(item.role, []) if item.role else []
            if marks:
                pdf.set_font(FAMILY, "", pdf.size - 1.5)
                pdf.set_xy(x, y + 1)
                pdf.multi_cell(w, pdf.lh - 0.8, "\n".join(marks), align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
                self._region(f"{item.key}.mark", x, y, x + w, pdf.get_y())
                y = max(pdf.get_y(), y + gap * 0.6)
            else:
                y += gap
            pdf.set_xy(x, y)
            pdf.set_font(FAMILY, "B", pdf.size)
            pdf.multi_cell(w, pdf.lh, name or DOTS * 30, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
            self._region(item.key, x, y, x + w, pdf.get_y())
            bottom = max(bottom, pdf.get_y())
            x += w
        pdf.set_xy(pdf.l_margin, bottom + 1)


def render(form: m.Form, sheet: Sheet) -> Rendered:
    return _Renderer(form, sheet).run()
