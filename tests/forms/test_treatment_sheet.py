"""Golden tests of tờ điều trị (39/BV-01): a ten-day stay seeded through clinical.notes
(tests/forms/seed_sheets.py), each progress note's time in NGÀY GIỜ, its course in DIỄN BIẾN BỆNH and
its orders, the drugs (dose, route, times) and services ordered beside it and its author's full name
in Y LỆNH — found by position on the page (pdfplumber), in the order written, the column titles and
the patient on every page; one day's sheet holds that day only and closes with its physician's
block. On SQLite and PostgreSQL; PDFs and PNGs in .artifacts/forms."""
from __future__ import annotations

from benhan.documents.forms.treatment_sheet import COLUMNS
from tests.forms import seed, seed_sheets
from tests.forms.conftest import keep, text_in
from tests.forms.sheet_checks import column_of, find, one, page_texts, sizes

W, V = seed_sheets.W, seed.V
A4 = (595.3, 841.9)


def test_the_whole_stay_every_entry_in_its_columns_day_after_day(store):  # noqa: ANN001
    ids = seed_sheets.build(store)
    p = seed_sheets.render(store, ids, "treatment")
    keep("39-BV01-treatment-sheet", p.pdf)
    texts = page_texts(p.pdf)
    assert len(texts) >= 2 and set(sizes(p.pdf)) == {A4}
    for i, text in enumerate(texts, 1):
        # Whose sheet, the column titles and the page, on every page.
        assert f"Người bệnh: {V['name']} — {W['ma-lk']}" in text
        assert "NGÀY GIỜ" in text and "DIỄN BIẾN BỆNH" in text and "Y LỆNH" in text
        assert f"Trang {i}/{len(texts)}" in text
    assert "MS: 39/BV-01" in texts[0] and "TỜ ĐIỀU TRỊ" in texts[0] and V["facility"].upper() in texts[0]
    values = p.rendered.values
    assert values["name"] == V["name"].upper() and values["gender"] == "Nữ" and values["age"] == "39"
    assert values["department"] == W["department"] and values["record-number"] == W["ma-lk"]
    assert values["diagnosis"] == "Viêm phổi thùy (J18.1)"
    assert W["department"] in text_in(p.pdf, p.rendered.regions["department"])
    # Bed and room are not recorded by benhan: the paper's dotted lines, never a made-up number.
    for key in ("room", "bed"):
        assert set(text_in(p.pdf, p.rendered.regions[key]).replace(" ", "")) == {"."}

    seen = []
    for day in range(seed_sheets.DAYS):
        for n, hm in ((1, "08:15"), (2, "16:40")):
            page, x, top = one(p.pdf, seed_sheets.course(day, n)[:40])
            assert column_of(COLUMNS, x) == 1
            opage, ox, otop = one(p.pdf, seed_sheets.orders(day, n)[:40])
            assert (opage, column_of(COLUMNS, ox)) == (page, 2) and abs(otop - top) < 2
            date = seed_sheets.at(day, 0, 0).strftime("%d/%m/%Y")
            dates = [(pg, dx, dtop) for pg, dx, dtop in find(p.pdf, date) if pg == page and abs(dtop - top) < 2]
            assert len(dates) == 1 and column_of(COLUMNS, dates[0][1]) == 0
            times = [t for t in find(p.pdf, hm) if t[0] == page and 0 < t[2] - top < 15]
            assert times and column_of(COLUMNS, times[0][1]) == 0
            seen.append((page, top))
    assert seen == sorted(seen)                   # in the order written, day after day
    # Each entry closes with its author's full name, in Y LỆNH: the physician of that day.
    for name, count in ((W["doctor-a"], 10), (W["doctor-b"], 10)):
        signed = find(p.pdf, f"Ký tên: {name}")
        assert len(signed) == count and {column_of(COLUMNS, x) for _, x, _ in signed} == {2}
    # The drugs (with dose, route, times) and the services go beside the entry written before them.
    for phrase, day in ((f"{W['drug']} — Tiêm tĩnh mạch 1 lọ x 2", 0), (f"{W['drug2']} — Uống 1 viên x 3", 2)):
        page, x, top = one(p.pdf, phrase)
        cpage, _, ctop = one(p.pdf, seed_sheets.course(day, 1)[:40])
        later = one(p.pdf, seed_sheets.course(day, 2)[:40])
        assert column_of(COLUMNS, x) == 2 and (cpage, ctop) < (page, top) < (later[0], later[2])
    assert len(find(p.pdf, W["service"])) == 2


def test_one_day_is_its_own_sheet_closed_by_that_days_physician(store):  # noqa: ANN001
    ids = seed_sheets.build(store)
    p = seed_sheets.render(store, ids, "treatment-day:2026-12-13")
    keep("39-BV01-treatment-sheet-day", p.pdf)
    [text] = page_texts(p.pdf)
    assert seed_sheets.course(3, 1)[:40] in text and seed_sheets.course(3, 2)[:40] in text
    assert "ngày 3 " not in text and "ngày 5 " not in text            # no other day's entry
    values = p.rendered.values
    assert values["day"] == "13/12/2026" and values["date-line"] == "Ngày 13 tháng 12 năm 2026"
    assert values["doctor"] == W["doctor-b"] and values["doctor.title"] == "Bác sĩ điều trị"
    assert W["doctor-b"] in text_in(p.pdf, p.rendered.regions["doctor"])
    assert p.rendered.regions["doctor"].page == p.rendered.regions["entries"].page
    # A day with nothing written, or no day at all: an empty sheet, not the whole stay under one signature.
    for key in ("treatment-day:2026-11-30", "treatment-day", "treatment-day:hôm qua"):
        empty = seed_sheets.render(store, ids, key)
        assert "Diễn biến ngày" not in page_texts(empty.pdf)[0] and empty.rendered.values["doctor"] == "", key
