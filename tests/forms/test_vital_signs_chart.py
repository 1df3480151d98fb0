"""The vital-signs chart (phiếu theo dõi chức năng sống) drawn like the paper, from the vital signs
recorded through clinical.vitals (tests/forms/results_seed.py): each dot is read back from the PDF
(pdfplumber's drawn curves, by colour) and its height compared with the printed scale's numbers — a
pulse of 120 drawn at 100 fails; its column with the printed day; the rows under the grid by
position; a ten-day stay continues on a second sheet. On SQLite and PostgreSQL; PDF and PNGs kept."""
from __future__ import annotations

import io
from datetime import date

import pdfplumber
import pytest

from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import printing
from benhan.store.repository import Repository
from tests.forms import results_seed, seed
from tests.forms.conftest import keep, pages, text_in

RED, BLUE = (210, 0, 0), (0, 60, 200)
PULSE_LABELS = range(40, 161, 20)
TEMPERATURE_LABELS = range(35, 43)


@pytest.fixture
def chart(store):  # noqa: ANN001, ANN201
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    return printing.print_form(repo, ctx, "vitalsigns", seed.DOCTOR, seed.PRINTED, "http://benhan.test")


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _colour(obj: dict) -> tuple[int, ...]:
    return tuple(round(c * 255) for c in (obj.get("non_stroking_color") or ()))


def _scale(page, column: tuple[float, float], labels: range) -> tuple[float, float]:  # noqa: ANN001
    """(value of the bottom line, points per unit) from where the scale's numbers are printed."""
    found = {}
    for w in page.extract_words():
        mid = (w["x0"] + w["x1"]) / 2
        if column[0] <= mid <= column[1] and w["text"].isdigit() and int(w["text"]) in labels:
            found[int(w["text"])] = (w["top"] + w["bottom"]) / 2
    assert sorted(found) == list(labels), found
    low, high = min(found), max(found)
    per_unit = (found[low] - found[high]) / (high - low)
    # Evenly spaced: every number sits on its own line.
    for value, y in found.items():
        assert abs(found[low] - (value - low) * per_unit - y) < 0.5
    return found[low], per_unit


def _dots(page, colour: tuple[int, int, int]) -> list[tuple[float, float]]:  # noqa: ANN001
    return sorted(((c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2) for c in page.curves
                  if _colour(c) == colour and c.get("fill"))


def _days(page) -> dict[date, tuple[float, float]]:  # noqa: ANN001
    out = {}
    for w in page.extract_words():
        if len(w["text"]) == 10 and w["text"][2] == "/" and w["text"].endswith("/2026") and w["top"] < page.height / 2:
            d, m, y = (int(x) for x in w["text"].split("/"))
            out.setdefault(date(y, m, d), (w["x0"], w["x1"]))      # the heading, not the footer's print time
    return out


def _scale_columns(days: dict) -> tuple[tuple[float, float], tuple[float, float]]:
    """The two scale columns (30 mm = 85 pt) left of the first day: pulse, then temperature."""
    left = min(x0 for x0, _ in days.values()) - 85
    return (left, left + 42.5), (left + 42.5, left + 85)


def test_every_dot_at_its_value_on_the_scale_and_in_its_column(chart):  # noqa: ANN001
    keep("vital-signs-chart", chart.pdf)
    texts = pages(chart.pdf)
    assert len(texts) == 2                                         # ten days: a second sheet
    assert "PHIẾU THEO DÕI CHỨC NĂNG SỐNG" in texts[0][2] and "MS: 10/BV-01" in texts[0][2]
    for i, (_, _, text) in enumerate(texts, 1):
        assert f"Người bệnh: {seed.V['name']} — {seed.V['ma-lk']}" in text and f"Trang {i}/2" in text
    expected: dict[date, list] = {}
    for day, hour, pulse, temp, *_ in results_seed.ROUNDS:
        expected.setdefault(date(2026, 12, day), []).append((hour >= 12, _number(pulse), _number(temp)))
    checked = 0
    with pdfplumber.open(io.BytesIO(chart.pdf)) as doc:
        for page in doc.pages:
            days = _days(page)
            pulse_column, temp_column = _scale_columns(days)
            pulse_low, pulse_per = _scale(page, pulse_column, PULSE_LABELS)
            temp_low, temp_per = _scale(page, temp_column, TEMPERATURE_LABELS)
            # One grid: 35 °C on the line of 40/min, 1 °C every 20/min.
            assert abs(pulse_low - temp_low) < 0.5 and abs(pulse_per * 20 - temp_per) < 0.05
            red, blue = _dots(page, RED), _dots(page, BLUE)
            top = pulse_low - 7 * temp_per                                 # the grid's top line (42 °C, 180/min)
            for d, (x0, x1) in days.items():
                for afternoon, pulse, temp in expected.get(d, []):
                    mid = (x0 + x1) / 2
                    for dots, value, low, per, base, y_low in ((red, pulse, 40, pulse_per, pulse_low, pulse_low),
                                                               (blue, temp, 35, temp_per, temp_low, temp_low)):
                        want_y = max(top, base - (value - low) * per)
                        hits = [(x, y) for x, y in dots if abs(y - want_y) < 0.6
                                and (mid - 40 < x < mid if not afternoon else mid < x < mid + 40)]
                        assert len(hits) == 1, (d, afternoon, value, want_y, dots)
                        checked += 1
            # Dots nowhere else: as many as the values recorded on this sheet (the seed's own 07:50 round
            # on the 14th is replaced in its column by the later one).
            on_sheet = sum(len(expected.get(d, [])) for d in days)
            assert len(red) == len(blue) == on_sheet
    assert checked == 2 * len(results_seed.ROUNDS)


def test_a_pulse_of_120_is_not_drawn_where_100_would_be(chart):  # noqa: ANN001
    with pdfplumber.open(io.BytesIO(chart.pdf)) as doc:
        page = doc.pages[0]
        low, per = _scale(page, _scale_columns(_days(page))[0], PULSE_LABELS)
        dot = chart.rendered.regions["chart.pulse.2"]                # 15/12 morning: 120/min
        y = (dot.top + dot.bottom) / 2
        assert abs(y - (low - 80 * per)) < 0.6 and abs(y - (low - 60 * per)) > 20


def test_the_rows_under_the_grid_and_the_patient_lines(chart):  # noqa: ANN001
    regions, pdf = chart.rendered.regions, chart.pdf
    # Column = (day − 14) × 2 + afternoon.
    for day, hour, _, _, (sys_, dia), rr, weight in results_seed.ROUNDS:
        c = (day - 14) * 2 + (hour >= 12)
        assert text_in(pdf, regions[f"chart.blood-pressure.{c}"]) == f"{sys_}/{dia}"
        assert text_in(pdf, regions[f"chart.respiratory-rate.{c}"]) == rr
        if weight:
            assert text_in(pdf, regions[f"chart.weight.{c}"]) == weight
    for d, nurses in ((0, results_seed.NURSES), (1, results_seed.NURSES), (9, results_seed.NURSES[1:])):
        found = " ".join(text_in(pdf, regions[f"chart.nurse.{d}"]).split())
        assert all(n in found for n in nurses), (d, found)
    assert text_in(pdf, regions["chart.fluid-in.1"]) == "1850" and text_in(pdf, regions["chart.urine-out.1"]) == "1320"
    assert not any(k.startswith(("chart.fluid-in.", "chart.urine-out.")) and not k.endswith(".1") for k in regions)
    assert regions["chart.nurse.9"].page == 2 and regions["chart.pulse.18"].page == 2
    assert "chart.nurse.5" not in regions                           # 19/12: nothing measured, nobody named
    assert seed.V["name"].upper() in text_in(pdf, regions["name"])
    assert text_in(pdf, regions["gender"]) == "Nữ"
    assert seed.V["dx-dd"][1] in text_in(pdf, regions["diagnosis"])
    assert text_in(pdf, regions["record-number"]) == seed.V["ma-lk"]
