"""Vital-sign trend charts drawn on the server as small inline SVGs: no chart library, no script,
a few hundred bytes each. Each chart is one measure over time with the adult normal band shaded,
points marked, the last value written out."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from benhan.clinical.common import vn_datetime
from benhan.clinical.vitals import BMI, BY_FIELD, readings
from benhan.vn.display import number

W, H, PAD = 320, 90, 22
MARKED_POINTS = 12     # points with a hover label; beyond, only the latest (keeps the page small)
CHARTS = (("pulse",), ("temperature",), ("systolic", "diastolic"), ("respiratory_rate",), ("spo2",), ("weight",),
          ("bmi",))


@dataclass
class Chart:
    field: str
    title: str
    unit: str
    last: str
    svg: str        # markup, escaped where it holds text


def _scale(values: list[float], normal: tuple[float, float] | None) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if normal:
        lo, hi = min(lo, normal[0]), max(hi, normal[1])
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    margin = (hi - lo) * 0.1
    return lo - margin, hi + margin


def _chart(fields: tuple[str, ...], series: list[tuple[str, dict[str, float]]], lang: str = "vi") -> Chart | None:
    points = [(when, vals) for when, vals in series if any(f in vals for f in fields)]
    if not points:
        return None
    spec = BY_FIELD.get(fields[0]) or BMI
    values = [vals[f] for _, vals in points for f in fields if f in vals]
    normal = spec.normal
    lo, hi = _scale(values, normal)
    n = len(points)

    def x(i: int) -> float:
        return PAD + (W - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5)

    def y(value: float) -> float:
        return H - PAD / 2 - (H - PAD) * (value - lo) / (hi - lo)
    parts = [f'<svg class="trend" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
             f'aria-label="{escape(spec.vi)}">']
    if normal and len(fields) == 1:
        parts.append(f'<rect x="{PAD}" y="{y(normal[1]):.1f}" width="{W - 2 * PAD}" '
                     f'height="{max(0.0, y(normal[0]) - y(normal[1])):.1f}" fill="#e3f2ea"/>')
    for k, f in enumerate(fields):
        coords = [(x(i), y(vals[f])) for i, (_, vals) in enumerate(points) if f in vals]
        colour = ("#0b5d5b", "#b5520b")[k % 2]
        if len(coords) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="'
                         + " ".join(f"{a:.1f},{b:.1f}" for a, b in coords) + '"/>')
        marked = list(zip(coords, [p for p in points if f in p[1]]))
        if len(marked) > MARKED_POINTS:
            marked = marked[-1:]        # a long series: the line says enough, mark the latest only
        for (a, b), (when, vals) in marked:
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{colour}">'
                         f'<title>{escape(vn_datetime(when))}: {number(vals[f], lang)}</title></circle>')
    # Axis labels and values as the reader writes numbers (38,5 in Vietnamese: issue 12.10).
    parts.append(f'<text x="2" y="10" font-size="9">{number(f"{hi:.4g}", lang)}</text>'
                 f'<text x="2" y="{H - 2}" font-size="9">{number(f"{lo:.4g}", lang)}</text>')
    parts.append("</svg>")
    last_vals = points[-1][1]
    last = "/".join(number(last_vals[f], lang) for f in fields if f in last_vals)
    title = "Huyết áp" if len(fields) == 2 else spec.vi
    return Chart(fields[0], title, spec.unit, last, "".join(parts))


def trends(observations: list[dict], lang: str = "vi") -> list[Chart]:
    series = [(r.when, r.values) for r in readings(observations)]
    return [c for c in (_chart(fields, series, lang) for fields in CHARTS) if c is not None]
