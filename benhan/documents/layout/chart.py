"""A graph sheet like the paper's vital-signs chart (phiếu theo dõi chức năng sống): days across, each
split into its time columns; scales at the left sharing one grid (pulse in red, temperature in blue,
as nurses draw them); each recorded value a dot at its height, joined by a line to the one before;
below the grid, rows of numbers per column (blood pressure, respiratory rate …) or per day (who
measured). A stay longer than the sheet's days continues on more sheets.

The element draws itself (`measure`, `draw`: render.py calls them for any element that has them), so
the renderer stays one of boxes and lines. Where each dot was drawn is reported as a region
("<key>.<scale>.<column>", the dot's box): the golden tests compare it with the printed scale.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fpdf.enums import XPos, YPos

from benhan.clinical.printouts.pdf import FAMILY
from benhan.documents.layout.model import Source

GRID = 150           # grey of the minor lines
TITLE_H = 8.0        # above the grid's top line: the scales' titles
FOOT_H = 2.5         # below its bottom line: room for the lowest numbers
LINE = 2.5           # a line of small text in the rows
MINOR = 5            # minor lines per band (0,2 °C, 4 beats/min)


@dataclass(frozen=True)
class Scale:
    """One axis at the left: `low` at the grid's bottom line, `step` per band; labels up to `label_max`."""
    key: str
    title: str
    low: float
    step: float
    color: tuple[int, int, int]
    label_max: float | None = None
    decimals: int = 0


@dataclass(frozen=True)
class Row:
    """A row under the grid: a value per time column, or one per day (`per_day`)."""
    key: str
    label: str
    per_day: bool = False


@dataclass
class ChartData:
    """What the source gives: the days (as printed), the values of each scale per column (days × slots,
    None where nothing was measured) and the rows' texts (per column, or per day)."""
    days: list[dt.date]
    series: dict[str, list[float | None]] = field(default_factory=dict)
    rows: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    key: str
    source: Source                        # FormData → ChartData
    scales: tuple[Scale, ...]
    slots: tuple[str, ...]                # the time columns of a day, as headed on the paper
    rows: tuple[Row, ...] = ()
    bands: int = 7
    days_per_sheet: int = 7
    day_label: str = "Ngày"
    slot_label: str = "Giờ"
    continued: str = "(tiếp theo)"

    # --- geometry (mm) ---
    def _sizes(self, pdf: Any) -> dict[str, float]:
        return {"scale_w": 30.0, "head_h": 4.6, "band_h": 13.0, "row_h": 5.0}

    def measure(self, r: Any) -> float:
        s = self._sizes(r.pdf)
        # The rows per day hold names: room for three lines each.
        return (2 * s["head_h"] + TITLE_H + self.bands * s["band_h"] + FOOT_H
                + sum(s["row_h"] * (1.6 if row.per_day else 1) for row in self.rows) + 2)

    # --- drawing ---
    def draw(self, r: Any) -> None:
        data: ChartData = self.source(r.sheet.data)
        days = data.days or []
        sheets = [days[i:i + self.days_per_sheet] for i in range(0, len(days), self.days_per_sheet)] or [[]]
        n = len(self.slots)
        values: list[str] = []
        for i, chunk in enumerate(sheets):
            if i:
                r.pdf.add_page()
                r.pdf.set_font(FAMILY, "B", r.pdf.size)
                r.pdf.cell(r.pdf.width, r.pdf.lh + 1, f"{self.continued} — {i + 1}/{len(sheets)}", align="C",
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            first = i * self.days_per_sheet * n
            self._sheet(r, data, chunk, first, values)
        r.values[self.key] = "\n".join(values)

    def _sheet(self, r: Any, data: ChartData, days: list[dt.date], first: int, values: list[str]) -> None:
        pdf = r.pdf
        s = self._sizes(pdf)
        n = len(self.slots)
        columns = self.days_per_sheet * n
        x0, y0 = pdf.l_margin, pdf.get_y()
        gx = x0 + s["scale_w"]
        col_w = (pdf.width - s["scale_w"]) / columns
        day_w = col_w * n
        head = s["head_h"]
        pdf.set_draw_color(0)
        pdf.set_line_width(0.2)
        # Day and time headings.
        pdf.set_font(FAMILY, "B", pdf.size - 2)
        for row, label in enumerate((self.day_label, self.slot_label)):
            pdf.rect(x0, y0 + row * head, s["scale_w"], head)
            pdf.set_xy(x0, y0 + row * head)
            pdf.cell(s["scale_w"], head, label, align="C")
        pdf.set_font(FAMILY, "", pdf.size - 2)
        for d in range(self.days_per_sheet):
            x = gx + d * day_w
            pdf.rect(x, y0, day_w, head)
            if d < len(days):
                pdf.set_xy(x, y0)
                pdf.cell(day_w, head, f"{days[d]:%d/%m/%Y}", align="C")
                r._region(f"{self.key}.day.{first // n + d}", x, y0, x + day_w, y0 + head)
            for k, slot in enumerate(self.slots):
                pdf.rect(x + k * col_w, y0 + head, col_w, head)
                pdf.set_xy(x + k * col_w, y0 + head)
                pdf.cell(col_w, head, slot, align="C")
        # The grid.
        top = y0 + 2 * head + TITLE_H    # room for the scales' titles above the top line
        height = self.bands * s["band_h"]
        bottom = top + height
        right = gx + columns * col_w
        pdf.set_font(FAMILY, "B", pdf.size - 2.5)
        half = s["scale_w"] / len(self.scales)
        for j, sc in enumerate(self.scales):
            pdf.set_text_color(*sc.color)
            pdf.set_xy(x0 + j * half, y0 + 2 * head + 0.3)
            pdf.multi_cell(half, 2.6, sc.title, align="C")
        pdf.set_text_color(0)
        pdf.set_draw_color(GRID)
        pdf.set_line_width(0.1)
        for b in range(self.bands * MINOR + 1):
            y = top + b * s["band_h"] / MINOR
            if b % MINOR:
                pdf.line(gx, y, right, y)
        for c in range(columns + 1):
            if c % n:
                pdf.line(gx + c * col_w, top, gx + c * col_w, bottom)
        pdf.set_draw_color(0)
        pdf.set_line_width(0.3)
        for b in range(self.bands + 1):
            y = top + b * s["band_h"]
            pdf.line(gx, y, right, y)
        for d in range(self.days_per_sheet + 1):
            pdf.line(gx + d * day_w, y0, gx + d * day_w, bottom)
        pdf.rect(x0, y0 + 2 * head, s["scale_w"], bottom + FOOT_H - y0 - 2 * head)
        pdf.line(x0 + half, top, x0 + half, bottom + FOOT_H)
        pdf.line(gx, bottom + FOOT_H, right, bottom + FOOT_H)
        # The scales' numbers, each on its line.
        pdf.set_font(FAMILY, "B", pdf.size - 1.5)
        for j, sc in enumerate(self.scales):
            pdf.set_text_color(*sc.color)
            for b in range(self.bands + 1):
                value = sc.low + b * sc.step
                if sc.label_max is not None and value > sc.label_max:
                    continue
                y = bottom - b * s["band_h"]
                text = _number(value, sc.decimals)
                pdf.set_xy(x0 + j * half, y - 1.6)
                pdf.cell(half, 3.2, text, align="C")
                r._region(f"{self.key}.{sc.key}.label.{text}", x0 + j * half, y - 1.6, x0 + (j + 1) * half, y + 1.6)
        pdf.set_text_color(0)
        # The values: a dot at its height, a line from the one before.
        for sc in self.scales:
            series = data.series.get(sc.key, [])
            high = sc.low + self.bands * sc.step
            previous = None
            pdf.set_draw_color(*sc.color)
            pdf.set_fill_color(*sc.color)
            pdf.set_line_width(0.45)
            for c in range(columns):
                g = first + c
                value = series[g] if g < len(series) else None
                if value is None:
                    continue
                clamped = min(max(value, sc.low), high)
                x = gx + (c + 0.5) * col_w
                y = bottom - (clamped - sc.low) / (high - sc.low) * height
                if previous:
                    pdf.line(previous[0], previous[1], x, y)
                previous = (x, y)
                values.append(f"{sc.key} {g}: {_number(value, sc.decimals)}")
            previous = None
            for c in range(columns):
                g = first + c
                value = series[g] if g < len(series) else None
                if value is None:
                    continue
                clamped = min(max(value, sc.low), high)
                x = gx + (c + 0.5) * col_w
                y = bottom - (clamped - sc.low) / (high - sc.low) * height
                rad = 0.9
                pdf.ellipse(x - rad, y - rad, 2 * rad, 2 * rad, style="F")
                r._region(f"{self.key}.{sc.key}.{g}", x - rad, y - rad, x + rad, y + rad)
                if clamped != value:        # off the scale: the number is written beside its dot
                    pdf.set_text_color(*sc.color)
                    pdf.set_font(FAMILY, "B", pdf.size - 2.5)
                    pdf.set_xy(x - col_w / 2, y + (1.2 if value < sc.low else -3.8))
                    pdf.cell(col_w, 2.6, _number(value, sc.decimals), align="C")
                    pdf.set_text_color(0)
        pdf.set_draw_color(0)
        pdf.set_fill_color(255)
        pdf.set_line_width(0.2)
        # The rows under the grid, each as tall as its longest text.
        y = bottom + FOOT_H
        for row in self.rows:
            texts = data.rows.get(row.key, [])
            cells = self.days_per_sheet if row.per_day else columns
            w = day_w if row.per_day else col_w
            start = first // n if row.per_day else first
            shown = [texts[start + c] if start + c < len(texts) else "" for c in range(cells)]
            pdf.set_font(FAMILY, "B", pdf.size - 2)
            label_lines = len(pdf.multi_cell(s["scale_w"] - 1.6, LINE, row.label, dry_run=True, output="LINES"))
            pdf.set_font(FAMILY, "", pdf.size - 2.5)
            lines = max([label_lines, *(len(pdf.multi_cell(w - 0.6, LINE, t, dry_run=True, output="LINES"))
                                        for t in shown if t)])
            h = max(s["row_h"], lines * LINE + 0.8)
            if y + h > pdf.limit:          # many names in a day: the rows go on on the next page, none dropped
                pdf.add_page()
                y = pdf.get_y()
            pdf.rect(x0, y, s["scale_w"], h)
            pdf.set_font(FAMILY, "B", pdf.size - 2)
            pdf.set_xy(x0 + 0.8, y + 0.4)
            pdf.multi_cell(s["scale_w"] - 1.6, LINE, row.label, align="L")
            pdf.set_font(FAMILY, "", pdf.size - 2.5)
            for c, text in enumerate(shown):
                x = gx + c * w
                pdf.rect(x, y, w, h)
                if text:
                    n_lines = len(pdf.multi_cell(w - 0.6, LINE, text, dry_run=True, output="LINES"))
                    pdf.set_xy(x + 0.3, y + (h - n_lines * LINE) / 2)
                    pdf.multi_cell(w - 0.6, LINE, text, align="C")
                    r._region(f"{self.key}.{row.key}.{start + c}", x, y, x + w, y + h)
                    values.append(f"{row.key} {start + c}: {text}")
            y += h
        pdf.set_xy(pdf.l_margin, y + 2)


def _number(value: float, decimals: int) -> str:
    """As Vietnamese write numbers: a decimal comma (37,5), no trailing zero."""
    text = f"{value:.{decimals}f}" if decimals else f"{value:g}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")
