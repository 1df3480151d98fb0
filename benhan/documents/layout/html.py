"""Draws a declarative form (model.py) as HTML, so that the browser's print (Ctrl-P) gives the paper
the PDF renderer (render.py) draws from the same definition: the facility block at the left, the
national heading at the right, "MS: …" and the identifiers under it, the title, the numbered items
with their tick boxes and digit boxes, the paper's dotted lines where a value is empty, the tables,
the date line and the signature blocks (title, "(Ký, ghi rõ họ tên)", room to sign, full name).

One concept: every element becomes markup; every value passes through `html.escape` (a patient
named "<script>" prints as text) and every text placed in the page's CSS through `_css_string`.
The page's CSS sets the paper (`@page` A4 or A5, the PDF's margins) and, in the page's bottom margin,
the patient's name and record number, the page number and the electronic-to-paper mark (NĐ 137/2024
Đ5) — on every printed page, as on the PDF.

Each value-bearing element carries `data-key` (the field's key, as in render.py's regions), so
tests find each value in its own labelled item; `values` holds the same printed values as the PDF's.
The vital-signs graph (chart.Graph) is given as a table of its values per day and time: the drawn
curve is the PDF's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from typing import Any

from benhan.documents.layout import model as m
from benhan.documents.layout.chart import Graph, _number
from benhan.documents.layout.render import NATIONAL, Sheet

MARGINS = {"A4": "11mm 14mm 24mm 14mm", "A5": "9mm 9mm 21mm 9mm"}
WIDTHS = {"A4": "210mm", "A5": "148mm"}


@dataclass
class HtmlRendered:
    html: str                                   # the form, one <article>
    css: str                                    # the page's style: @page, the footer of every page
    title: str
    values: dict[str, str] = field(default_factory=dict)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _css_string(text: str) -> str:
    """A CSS string literal: quotes and backslashes escaped, line breaks as \\A, and "<" as \\3C so
    no value can close the <style> element."""
    out = []
    for ch in text:
        if ch in "\"\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\A ")
        elif ch == "<" or ord(ch) < 32 or ch == "\x7f":
            out.append(f"\\{ord(ch):X} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class _Html:
    def __init__(self, form: m.Form, sheet: Sheet):
        self.form, self.sheet = form, sheet
        self.values: dict[str, str] = {}
        self.rules: dict[str, str] = {}          # class → declarations: the page's CSP allows no style=""
        self.record_number = self._text(form.record_number)

    # --- values, as render.py reads them ---
    def _text(self, source: m.Source) -> str:
        value = source(self.sheet.data)
        if value is None:
            return ""
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value if v)
        return str(value).strip()

    @staticmethod
    def _label(item: m.Field | m.Digits | m.Ticks) -> str:
        return f"{item.number} {item.label}".strip() + ":"

    def _rule(self, prefix: str, value: float, declaration: str) -> str:
        """A class for a size the definition gives (an item's share of its line, a column's width …),
        its rule written into the page's CSS."""
        name = f"{prefix}-{value:g}".replace(".", "_")
        self.rules[name] = declaration
        return name

    @staticmethod
    def _dots(lines: int) -> str:
        """The paper's dotted line(s): a dotted rule per line (a border prints on every printer's driver)."""
        return '<span class="value blank">' + '<span class="dots"></span>' * max(1, lines) + "</span>"

    # --- the page ---
    def run(self) -> HtmlRendered:
        form = self.form
        parts = [f'<article class="form {form.page.lower()}" data-form="{_e(form.key)}">', self._header()]
        for el in (*form.body, *form.closing):
            parts.append(self._element(el))
        parts.append('<footer class="mark screen-only">'
                     + "".join(f"<div>{_e(line)}</div>" for line in self.sheet.mark_lines) + "</footer>")
        parts.append("</article>")
        css = self._page_css()
        title = f"{form.title} — {self.sheet.patient_name}"
        return HtmlRendered("\n".join(parts), css, title, self.values)

    def _page_css(self) -> str:
        who = f"Người bệnh: {self.sheet.patient_name}" + (f" — {self.record_number}" if self.record_number else "")
        small = "5.6pt" if self.form.page == "A5" else "6.4pt"
        font = '"DejaVu Sans", Arial, sans-serif'      # a margin box inherits nothing from the body
        return (f"@page {{ size: {self.form.page}; margin: {MARGINS[self.form.page]};\n"
                f"  @bottom-left {{ content: {_css_string(who + chr(10) + chr(10).join(self.sheet.mark_lines))};"
                f" white-space: pre-wrap; font-family: {font}; font-size: {small}; vertical-align: top; text-align: left;"
                f" border-top: 0.3pt solid #777; width: 82%; }}\n"
                f"  @bottom-right {{ content: \"Trang \" counter(page) \"/\" counter(pages); font-family: {font}; font-size: {small};"
                f" vertical-align: top; border-top: 0.3pt solid #777; }}\n}}\n"
                f"article.form {{ --paper-width: {WIDTHS[self.form.page]}; }}\n"
                + "".join(f".{name} {{ {decl}; }}\n" for name, decl in sorted(self.rules.items())))

    def _header(self) -> str:
        form, sheet = self.form, self.sheet
        left = [f'<div class="authority">{_e(sheet.authority.upper()) or "&nbsp;"}</div>',
                f'<div class="facility" data-key="facility"><b>{_e(sheet.facility.upper())}</b></div>']
        if sheet.facility_code:
            left.append(f'<div class="facility-code">{_e(sheet.facility_code_label)}: {_e(sheet.facility_code)}</div>')
        if sheet.department:
            left.append(f'<div class="department">Khoa: {_e(sheet.department)}</div>')
        right = []
        if form.national_heading:
            right.append(f'<div class="national"><b>{_e(NATIONAL[0])}</b><br><b class="motto">{_e(NATIONAL[1])}</b></div>')
        right.append(f'<div class="code"><b>{_e(form.code_prefix + form.code)}</b></div>')
        for ident in form.identifiers:
            value = self._text(ident.source)
            self.values[ident.name] = value
            shown = f'<span class="value">{_e(value)}</span>' if value else self._dots(1)
            right.append(f'<div class="item ident{"" if value else " empty"}" data-key="{_e(ident.name)}"><span class="label">{_e(ident.label)}:</span> '
                         f"{shown}</div>")
        head = (f'<header class="form-head{"" if form.national_heading else " no-national"}">'
                f'<div class="left">{"".join(left)}</div><div class="right">{"".join(right)}</div></header>'
                f"<h1>{_e(form.title)}</h1>")
        if form.subtitle:
            head += f'<p class="subtitle">{_e(form.subtitle)}</p>'
        return head

    def _element(self, el: m.Element) -> str:
        if isinstance(el, m.Heading):
            return f"<h2>{_e(el.text)}</h2>"
        if isinstance(el, m.Note):
            return f'<p class="note">{_e(el.text)}</p>'
        if isinstance(el, m.Line):
            return ('<div class="line">' + "".join(
                self._item(i, " " + self._rule("w", round(i.width * 100, 2), f"flex-basis: {i.width * 100:.2f}%"))
                for i in el.items) + "</div>")
        if isinstance(el, m.Field | m.Digits | m.Ticks):
            return self._item(el)
        if isinstance(el, m.Box):
            return (f'<div class="box {self._rule("per-row", el.per_row, f"--per-row: {el.per_row}")}">'
                    + "".join(self._field(f) for f in el.items) + "</div>")
        if isinstance(el, m.Table):
            return self._table(el)
        if isinstance(el, m.DateLine):
            return self._date_line(el)
        if isinstance(el, m.Signatures):
            return self._signatures(el)
        if isinstance(el, m.PageBreak):
            return '<div class="page-break"></div>'
        if isinstance(el, Graph):
            return self._graph(el)
        raise TypeError(f"no HTML for the form element {type(el).__name__}")

    def _item(self, item: m.Field | m.Digits | m.Ticks, classes: str = "") -> str:
        """`classes`: more classes of the item (its width on a Line)."""
        if isinstance(item, m.Field):
            return self._field(item, classes)
        if isinstance(item, m.Digits):
            return self._digits(item, classes)
        return self._ticks(item, classes)

    def _field(self, f: m.Field, classes: str = "") -> str:
        value = self._text(f.source)
        if f.caps:
            value = value.upper()
        elif value and not f.code and self.sheet.transform:
            value = self.sheet.transform(f.name, value)
        self.values[f.name] = value
        shown = (f'<span class="value{" caps" if f.caps else ""}">{_e(value)}</span>' if value
                 else self._dots(f.lines))
        return (f'<div class="item field{"" if value else " empty"}{classes}" data-key="{_e(f.name)}"><span class="label">{_e(self._label(f))}</span> '
                f"{shown}</div>")

    def _digits(self, d: m.Digits, classes: str = "") -> str:
        value = "".join(ch for ch in self._text(d.source) if not ch.isspace() and ch not in "/-")
        self.values[d.name] = value
        chars = list(value[:d.count].ljust(d.count))
        groups, n = [], 0
        for g in (list(d.groups) or [d.count]):
            groups.append('<span class="group">' + "".join(
                f'<span class="digit">{_e(c) if c.strip() else "&nbsp;"}</span>' for c in chars[n:n + g]) + "</span>")
            n += g
        return (f'<div class="item digits{classes}" data-key="{_e(d.name)}" data-value="{_e(value)}">'
                f'<span class="label">{_e(self._label(d))}</span> <span class="boxes">{"".join(groups)}</span></div>')

    def _ticks(self, t: m.Ticks, classes: str = "") -> str:
        chosen = t.source(self.sheet.data)
        chosen = {chosen} if isinstance(chosen, str) else set(chosen or ())
        chosen.discard("")
        options = self.sheet.options(t.options)
        self.values[t.name] = "; ".join(words for code, words in options if code in chosen)
        opts = "".join(
            f'<span class="option" data-code="{_e(code)}">{i}. {_e(words)} '
            f'<span class="tick{" ticked" if code in chosen else ""}" role="img" '
            f'aria-label="{"đã chọn" if code in chosen else "không chọn"}">{"X" if code in chosen else "&nbsp;"}</span></span> '
            for i, (code, words) in enumerate(options, 1))
        return (f'<div class="item ticks{classes}" data-key="{_e(t.name)}"><span class="label">{_e(self._label(t))}</span> '
                f"{opts}</div>")

    def _table(self, t: m.Table) -> str:
        rows = [[str(c) for c in r] for r in (t.source(self.sheet.data) or [])]
        if self.sheet.transform:
            rows = [[self.sheet.transform(t.key, c) if c else c for c in r] for r in rows]
        self.values[t.key] = "\n".join(" | ".join(r) for r in rows)
        n = len(t.columns)
        head = "".join(f'<th class="{self._rule("col", round(c.width * 100, 2), f"width: {c.width * 100:.2f}%")}">'
                       f"{_e(c.title)}</th>" for c in t.columns)
        body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in (r + [""] * (n - len(r)))[:max(n, len(r))])
                       + "</tr>" for r in rows)
        body += "".join('<tr class="empty">' + "<td>&nbsp;</td>" * n + "</tr>"
                        for _ in range(max(0, t.min_rows - len(rows))))
        caption = f'<div class="table-title"><b>{_e(t.title)}</b></div>' if t.title else ""
        return (f'{caption}<div class="table-wrap"><table data-key="{_e(t.key)}"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>")

    def _date_line(self, d: m.DateLine) -> str:
        when = d.source(self.sheet.data)
        place = self._text(d.place)
        if isinstance(when, dt.datetime | dt.date):
            text = f"ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"
        else:
            text = "ngày …… tháng …… năm ……"
        text = f"{place}, {text}" if place else text[0].upper() + text[1:]
        self.values[d.key] = text
        return f'<p class="date-line" data-key="{_e(d.key)}">{_e(text)}</p>'

    def _signatures(self, s: m.Signatures) -> str:
        blocks = []
        for item in s.items:
            title, name = self._text(item.title), self._text(item.name)
            self.values[f"{item.key}.title"] = title
            self.values[item.key] = name
            marks = self.sheet.signed.get(item.role, []) if item.role else []
            mark = (f'<div class="signed-mark" data-key="{_e(item.key)}.mark">'
                    + "<br>".join(_e(line) for line in marks) + "</div>") if marks else '<div class="sign-room"></div>'
            blocks.append(
                f'<div class="signature" data-key="{_e(item.key)}.block">'
                f'<div class="sig-title" data-key="{_e(item.key)}.title"><b>{_e(title) or "&nbsp;"}</b></div>'
                f'<div class="hint">(Ký, ghi rõ họ tên)</div>{mark}'
                f'<div class="sig-name" data-key="{_e(item.key)}">'
                + (f"<b>{_e(name)}</b>" if name else self._dots(1))
                + "</div></div>")
        return f'<div class="signatures n{len(s.items)}">{"".join(blocks)}</div>'

    def _graph(self, g: Graph) -> str:
        data = g.source(self.sheet.data)
        days = data.days or []
        n = len(g.slots)
        head1 = f'<th>{_e(g.day_label)}</th>' + "".join(f'<th colspan="{n}">{d:%d/%m/%Y}</th>' for d in days)
        head2 = f'<th>{_e(g.slot_label)}</th>' + "".join(f"<th>{_e(s)}</th>" for _ in days for s in g.slots)
        rows, values = [], []
        for sc in g.scales:
            series = data.series.get(sc.key, [])
            cells = []
            for c in range(len(days) * n):
                value = series[c] if c < len(series) else None
                cells.append(f"<td>{_number(value, sc.decimals) if value is not None else ''}</td>")
                if value is not None:
                    values.append(f"{sc.key} {c}: {_number(value, sc.decimals)}")
            rows.append(f'<tr data-key="{_e(g.key)}.{_e(sc.key)}"><th>{_e(sc.title)}</th>{"".join(cells)}</tr>')
        for row in g.rows:
            texts = data.rows.get(row.key, [])
            if row.per_day:
                cells = "".join(f'<td colspan="{n}">{_e(texts[d]) if d < len(texts) else ""}</td>'
                                for d in range(len(days)))
            else:
                cells = "".join(f"<td>{_e(texts[c]) if c < len(texts) else ''}</td>" for c in range(len(days) * n))
            rows.append(f'<tr data-key="{_e(g.key)}.{_e(row.key)}"><th>{_e(row.label)}</th>{cells}</tr>')
        self.values[g.key] = "\n".join(values)
        return (f'<div class="table-wrap"><table class="graph" data-key="{_e(g.key)}"><thead><tr>{head1}</tr>'
                f'<tr>{head2}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def render(form: m.Form, sheet: Sheet) -> HtmlRendered:
    return _Html(form, sheet).run()
