"""The report of an import of BHYT XML tables (claims.his_import): per table the rows mapped and not
mapped, each row not mapped with its reason, and notes on rows mapped with something left out;
printed by `benhan import bhyt-xml` and written as JSON (docs/operations.md "Coming into benhan")."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROBLEMS_KEPT = 5000


@dataclass
class HisReport:
    files: list[str] = field(default_factory=list)
    file_errors: list[dict] = field(default_factory=list)
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)      # rows not mapped, and notes on mapped ones
    episodes: int = 0
    episodes_failed: int = 0
    patients_new: int = 0
    patients_matched: int = 0
    resources: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})

    def row(self, table: str, mapped: bool) -> None:
        counts = self.tables.setdefault(table, {"rows": 0, "mapped": 0, "notMapped": 0})
        counts["rows"] += 1
        counts["mapped" if mapped else "notMapped"] += 1

    def problem(self, file: str, table: str, ma_lk: str, stt: str, reason: str, *, mapped: bool = False) -> None:
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append({"file": file, "table": table, "MA_LK": ma_lk, "STT": stt, "reason": reason,
                                  "mapped": mapped})

    @property
    def ok(self) -> bool:
        return not self.file_errors and not any(not p["mapped"] for p in self.problems) and not self.episodes_failed

    def as_json(self) -> dict:
        return {"files": self.files, "fileErrors": self.file_errors,
                "tables": {t: self.tables[t] for t in sorted(self.tables, key=_table_order)},
                "episodes": self.episodes, "episodesFailed": self.episodes_failed,
                "patients": {"new": self.patients_new, "matched": self.patients_matched},
                "resources": self.resources, "problems": self.problems}

    def text(self) -> str:
        out = [f"{'bảng | table':<14}{'dòng | rows':>14}{'đã nhập | mapped':>18}{'không nhập | not':>18}"]
        for t in sorted(self.tables, key=_table_order):
            c = self.tables[t]
            out.append(f"{t:<14}{c['rows']:>14}{c['mapped']:>18}{c['notMapped']:>18}")
        out.append(f"lượt khám | episodes: {self.episodes} ({self.episodes_failed} lỗi | failed); "
                   f"người bệnh | patients: {self.patients_new} mới | new, {self.patients_matched} đã có | matched; "
                   f"tài nguyên | resources: {self.resources['created']} mới | created, "
                   f"{self.resources['updated']} sửa | updated, {self.resources['unchanged']} không đổi | unchanged")
        for e in self.file_errors:
            out.append(f"lỗi tệp | file error: {e['file']}: {e['reason']}")
        for p in self.problems[:60]:
            label = "ghi chú | note" if p["mapped"] else "không nhập | not mapped"
            out.append(f"{label}: {Path(p['file']).name} {p['table']} MA_LK={p['MA_LK']} STT={p['STT']}: {p['reason']}")
        if len(self.problems) > 60:
            out.append(f"… {len(self.problems) - 60} dòng nữa trong báo cáo JSON | more in the JSON report")
        return "\n".join(out)


def _table_order(name: str) -> int:
    digits = name[3:]
    return int(digits) if digits.isdigit() else 99
