"""Importing a facility catalogue: good rows kept, each bad row reported with its line and reason,
and a changed price keeps the old one for the dates before the change."""
from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from benhan.auth.actor import Actor
from benhan.clinical.catalogue import resources
from benhan.clinical.catalogue.importer import import_file
from benhan.clinical.catalogue.layouts import FileProblem
from benhan.store.repository import Repository

SERVICES = [["MA_DICH_VU", "TEN_DICH_VU", "DON_VI_TINH", "DON_GIA", "TU_NGAY", "DEN_NGAY"],
            ["02.1896", "Khám Nội", "lần", "35000", "20260101", ""],
            ["", "Thiếu mã", "lần", "1000", "20260101", ""],
            ["03.0001", "Chụp X-quang ngực thẳng", "lần", "abc", "20260101", ""],
            ["03.0002", "Siêu âm ổ bụng", "lần", "120000", "20261301", ""],
            ["03.0003", "Điện tim thường", "lần", "45.000", "20260101", "20251231"],
            ["02.1896", "Khám Nội", "lần", "36000", "20260101", ""],
            ["22.0120", "Tổng phân tích tế bào máu ngoại vi", "lần", "46200", "20260101", ""]]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    import csv
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)
    return path


def _xlsx(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def _prices(store, kind: str, key: str) -> list[tuple[str, str | None, int]]:  # noqa: ANN001
    repo = Repository(store, Actor.system("test"))
    found = repo.search_type("ChargeItemDefinition", [("url", resources.price_url(kind, key))]).matches
    out = []
    for m in found:
        b = m.json()
        out.append((b["effectivePeriod"]["start"], b["effectivePeriod"].get("end"),
                    b["propertyGroup"][0]["priceComponent"][0]["amount"]["value"]))
    return sorted(out)


def test_good_rows_are_kept_and_each_bad_row_is_reported_with_its_line(store, tmp_path: Path):  # noqa: ANN001
    report = import_file(store, "service", _csv(tmp_path / "dv.csv", SERVICES))
    by_line = {r.line: r for r in report.rows}
    assert {line: r.outcome for line, r in by_line.items()} == {
        2: "created", 3: "error", 4: "error", 5: "error", 6: "error", 7: "error", 8: "created"}
    assert by_line[3].message == "MA_DICH_VU is empty"
    assert by_line[4].message == "DON_GIA: 'abc' is not a number"
    assert by_line[5].message == "TU_NGAY: '20261301' is not a date (yyyymmdd)"
    assert by_line[6].message == "DEN_NGAY 20251231 is before TU_NGAY 20260101"
    assert by_line[7].message == "the same item and TU_NGAY as line 2"
    assert _prices(store, "service", "02.1896") == [("2026-01-01", None, 35000)]
    activity = Repository(store, Actor.system("test")).read(
        "ActivityDefinition", resources.item_id("service", "22.0120")).json()
    assert activity["title"] == "Tổng phân tích tế bào máu ngoại vi"


def test_a_changed_price_closes_the_old_period_and_keeps_its_price(store, tmp_path: Path):  # noqa: ANN001
    header = ["MA_THUOC", "TEN_THUOC", "HAM_LUONG", "DON_VI_TINH", "SO_DANG_KY", "DON_GIA", "TU_NGAY"]
    first = _xlsx(tmp_path / "thuoc1.xlsx", [header, ["40.17", "Paracetamol", "500mg", "viên", "VD-1234-20", 350,
                                                      "20260101"]])
    assert [r.outcome for r in import_file(store, "drug", first).rows] == ["created"]
    second = _xlsx(tmp_path / "thuoc2.xlsx", [header, ["40.17", "Paracetamol", "500mg", "viên", "VD-1234-20", 420,
                                                       20260701]])
    again = import_file(store, "drug", second).rows
    assert again[0].outcome == "updated" and "closed on 2026-06-30" in again[0].message
    key = "40.17|VD-1234-20"
    assert _prices(store, "drug", key) == [("2026-01-01", "2026-06-30", 350), ("2026-07-01", None, 420)]
    # The same file again changes nothing; the old price's first version is still readable.
    assert [r.outcome for r in import_file(store, "drug", second).rows] == ["unchanged"]
    repo = Repository(store, Actor.system("test"))
    old = resources.price_id("drug", key, date(2026, 1, 1))
    assert repo.read("ChargeItemDefinition", old).version == 2
    assert "end" not in repo.vread("ChargeItemDefinition", old, "1").json()["effectivePeriod"]


def test_an_older_price_imported_later_ends_where_the_newer_one_starts(store, tmp_path: Path):  # noqa: ANN001
    header = ["MA_VAT_TU", "TEN_VAT_TU", "DON_VI_TINH", "DON_GIA", "TU_NGAY"]
    import_file(store, "supply", _csv(tmp_path / "a.csv", [header, ["N03.01.010", "Bơm tiêm 5ml", "cái", "1200",
                                                                     "20260701"]]))
    import_file(store, "supply", _csv(tmp_path / "b.csv", [header, ["N03.01.010", "Bơm tiêm 5ml", "cái", "1000",
                                                                     "20260101"]]))
    assert _prices(store, "supply", "N03.01.010") == [("2026-01-01", "2026-06-30", 1000), ("2026-07-01", None, 1200)]


def test_a_file_without_the_required_columns_is_refused_as_a_whole(store, tmp_path: Path):  # noqa: ANN001
    with pytest.raises(FileProblem, match="lacks the column"):
        import_file(store, "drug", _csv(tmp_path / "x.csv", [["MA_THUOC", "TEN"], ["1", "x"]]))
    with pytest.raises(FileProblem, match=".csv or .xlsx"):
        import_file(store, "drug", tmp_path / "x.pdf")


def test_the_cli_prints_a_line_per_row_and_exits_1_when_a_row_failed(tmp_path: Path):
    path = _csv(tmp_path / "dv.csv", SERVICES)
    done = subprocess.run([sys.executable, "-m", "benhan.cli", "catalogue", "import", "service", str(path),
                           "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("line 2: created: 02.1896") and lines[1] == "line 3: error: MA_DICH_VU is empty"
    assert lines[-1].endswith("7 rows — 2 created, 0 updated, 0 unchanged, 5 with errors")
    bad = subprocess.run([sys.executable, "-m", "benhan.cli", "catalogue", "import", "drug", str(path),
                          "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
