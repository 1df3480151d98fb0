"""Golden test of phiếu công khai thuốc, dịch vụ: the drugs of a ten-day stay (rows) by its days
(columns, seven to a block, each block headed by its dates), the quantity of each day as prescribed
(dose × times a day over the days ordered) under its own date, the total per block, the rows where
the nurse and the patient sign each day, the services counted on the day ordered — by position.
On SQLite and PostgreSQL; the PDF and PNG in .artifacts/forms."""
from __future__ import annotations

from benhan.documents.forms.publicity_sheet import DRUG_COLUMNS, SERVICE_COLUMNS
from tests.forms import seed, seed_sheets
from tests.forms.conftest import keep
from tests.forms.sheet_checks import column_of, find, one, page_texts, row_words

W, V = seed_sheets.W, seed.V


def _cells(pdf: bytes, where: tuple[int, float, float], columns) -> dict[int, str]:  # noqa: ANN001
    page, _, top = where
    out: dict[int, str] = {}
    for w in row_words(pdf, page, top):
        out[column_of(columns, w["x0"])] = (out.get(column_of(columns, w["x0"]), "") + " " + w["text"]).strip()
    return out


def test_quantities_per_day_under_their_dates_with_totals_and_signature_rows(store):  # noqa: ANN001
    ids = seed_sheets.build(store)
    p = seed_sheets.render(store, ids, "publicity")
    keep("publicity-sheet", p.pdf)
    texts = page_texts(p.pdf)
    assert "PHIẾU CÔNG KHAI THUỐC, DỊCH VỤ" in texts[0]
    for i, text in enumerate(texts, 1):
        assert f"Người bệnh: {V['name']} — {W['ma-lk']}" in text and f"Trang {i}/{len(texts)}" in text
    dates = find(p.pdf, "10/12")
    first_block = _cells(p.pdf, dates[0], DRUG_COLUMNS)
    assert [first_block[c] for c in range(3, 10)] == [f"{d}/12" for d in range(10, 17)]
    # Ceftriaxon 1 lọ × 2 a day for 5 days from the first day; paracetamol 1 viên × 3 a day for 3 days from the third.
    ceftriaxon = [w for w in find(p.pdf, W["drug"]) if w[2] > dates[0][2]]
    paracetamol = [w for w in find(p.pdf, W["drug2"]) if w[2] > dates[0][2]]
    row = _cells(p.pdf, ceftriaxon[0], DRUG_COLUMNS)
    assert row[1] == W["drug"] and row[2] == W["drug-unit"]
    assert [row.get(c, "") for c in range(3, 10)] == ["2", "2", "2", "2", "2", "", ""] and row[10] == "10"
    row = _cells(p.pdf, paracetamol[0], DRUG_COLUMNS)
    assert [row.get(c, "") for c in range(3, 10)] == ["", "", "3", "3", "3", "", ""] and row[10] == "9"
    # The second block: 17–19/12, nothing given any more (the lines ran out), rows kept to sign.
    second = find(p.pdf, "17/12")[0]                   # the drugs' second block (the services have theirs)
    block = _cells(p.pdf, second, DRUG_COLUMNS)
    assert [block.get(c, "") for c in range(3, 10)] == ["17/12", "18/12", "19/12", "", "", "", ""]
    later = [w for w in find(p.pdf, W["drug"]) if (w[0], w[2]) > (second[0], second[2])]
    assert set(_cells(p.pdf, later[0], DRUG_COLUMNS)) == {0, 1, 2}
    assert len(find(p.pdf, "Điều dưỡng ký")) == 2 and len(find(p.pdf, "Người bệnh/người nhà ký")) == 2
    # The services: the X-ray ordered on the first and the fifth day.
    service = find(p.pdf, W["service"])
    row = _cells(p.pdf, service[0], SERVICE_COLUMNS)
    assert [row.get(c, "") for c in range(3, 10)] == ["1", "", "", "", "1", "", ""] and row[10] == "2"
    heading = one(p.pdf, "II. DỊCH VỤ")
    assert (heading[0], heading[2]) < (service[0][0], service[0][2])


def test_the_sheets_definitions_hold_no_literal_clinical_or_administrative_value():
    # The rule of test_rules (issue 14), over the inpatient sheets' modules.
    import re
    from pathlib import Path

    from tests.forms.test_rules import FORBIDDEN, ICD, _strings
    folder = Path(__file__).resolve().parents[2] / "benhan" / "documents" / "forms"
    found = []
    for name in ("treatment_sheet", "nursing_sheet", "publicity_sheet", "sheets"):
        for line, text in _strings(folder / f"{name}.py"):
            found += [(name, line, text) for word in FORBIDDEN if text.strip() == word]
            found += [(name, line, text) for _ in ICD.findall(text)]
            if re.search(r"\b(Giám đốc|Trạm trưởng|Tự đến|Khoa điều trị)\b", text):
                found.append((name, line, text))
    assert found == []
