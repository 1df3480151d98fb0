"""Golden tests of phiếu chăm sóc (09/BV-01): the nurses' entries of a ten-day stay (seeded through
clinical.notes), each with its date in Ngày, its time in Giờ, phút, what was observed in Theo dõi
diễn biến, the care given in Thực hiện y lệnh/chăm sóc and the nurse's full name in Ký tên — by
position, on the same row; the physicians' notes are not on it; one day's sheet closes with its
nurse's block. On SQLite and PostgreSQL; PDFs and PNGs in .artifacts/forms."""
from __future__ import annotations

from benhan.documents.forms.nursing_sheet import COLUMNS
from tests.forms import seed, seed_sheets
from tests.forms.conftest import keep, text_in
from tests.forms.sheet_checks import column_of, find, one, page_texts, row_words

W, V = seed_sheets.W, seed.V


def test_every_nursing_entry_in_its_row_and_columns_with_the_nurses_name(store):  # noqa: ANN001
    ids = seed_sheets.build(store)
    p = seed_sheets.render(store, ids, "nursing")
    keep("09-BV01-nursing-sheet", p.pdf)
    texts = page_texts(p.pdf)
    assert len(texts) >= 2
    for i, text in enumerate(texts, 1):
        assert f"Người bệnh: {V['name']} — {W['ma-lk']}" in text and f"Trang {i}/{len(texts)}" in text
        assert "Theo dõi diễn biến" in text and "Thực hiện y lệnh/chăm sóc" in text
    assert "MS: 09/BV-01" in texts[0] and "PHIẾU CHĂM SÓC" in texts[0]
    assert not find(p.pdf, "Diễn biến ngày")                      # the physicians' notes are the treatment sheet's
    seen = []
    for day in range(seed_sheets.DAYS):
        for n, (hour, minute) in enumerate(((7, 5), (19, 30))):
            page, x, top = one(p.pdf, seed_sheets.watch(day, hour)[:26])
            assert column_of(COLUMNS, x) == 2
            cpage, cx, ctop = one(p.pdf, seed_sheets.care(day, hour)[:26])
            assert (cpage, column_of(COLUMNS, cx)) == (page, 3) and abs(ctop - top) < 2
            row = row_words(p.pdf, page, top)
            by_column = {}
            for w in row:
                by_column.setdefault(column_of(COLUMNS, w["x0"]), []).append(w["text"])
            assert by_column[0] == [seed_sheets.at(day, 0, 0).strftime("%d/%m/%Y")]
            assert by_column[1] == [f"{hour:02d}:{minute:02d}"]
            assert " ".join(by_column[4]) == seed_sheets.NURSES[n].display
            seen.append((page, top))
    assert seen == sorted(seen)


def test_one_day_of_care_closed_by_its_nurse(store):  # noqa: ANN001
    ids = seed_sheets.build(store)
    p = seed_sheets.render(store, ids, "nursing-day:2026-12-19")
    keep("09-BV01-nursing-sheet-day", p.pdf)
    [text] = page_texts(p.pdf)
    assert seed_sheets.watch(9, 7)[:26] in text and seed_sheets.watch(9, 19)[:26] in text
    assert "ngày 9 " not in text
    values = p.rendered.values
    assert values["day"] == "19/12/2026" and values["date-line"] == "Ngày 19 tháng 12 năm 2026"
    assert values["nurse"] == W["nurse-b"] and values["nurse.title"] == "Điều dưỡng"
    assert W["nurse-b"] in text_in(p.pdf, p.rendered.regions["nurse"])
