"""Applying checked catalogue rows to the store, by validity date, without losing history.

For each item (kind + key) the rows are applied in TU_NGAY order:
- the item resource is written (no new version when nothing changed);
- a row whose TU_NGAY is a price period already stored corrects that period (a new version of it);
- a row with a new TU_NGAY opens a new period; the period that was open on that date is **closed**
  the day before (its end set, as a new version), never overwritten — so the price valid on any
  past date is still the one that was valid then; a period that starts later bounds the new one.
A row that fails (checks, validation, store) is reported with its line and reason and changes
nothing; the other rows are kept.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical.catalogue import layouts, resources
from benhan.store.repository import Repository
from benhan.store.store import Store

ACTOR = "catalogue-import"


@dataclass(frozen=True)
class RowResult:
    line: int
    key: str
    outcome: str            # created | updated | unchanged | error
    message: str

    def text(self) -> str:
        return f"line {self.line}: {self.outcome}: {self.key + ': ' if self.key else ''}{self.message}"


@dataclass
class Report:
    file: str
    kind: str
    rows: list[RowResult]

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.outcome == "error"]

    def summary(self) -> str:
        counts = {o: sum(r.outcome == o for r in self.rows) for o in ("created", "updated", "unchanged", "error")}
        return (f"{self.file}: {len(self.rows)} rows — {counts['created']} created, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged, {counts['error']} with errors")


def _period(body: dict) -> tuple[date, date | None]:
    p = body.get("effectivePeriod") or {}
    return date.fromisoformat(p["start"]), date.fromisoformat(p["end"]) if p.get("end") else None


def _stored_prices(repo: Repository, kind: str, key: str) -> dict[str, dict]:
    found = repo.search_type("ChargeItemDefinition", [("url", resources.price_url(kind, key)), ("_count", "1000")])
    return {m.res_id: m.json() for m in found.matches}


def _outcome(stored) -> str:  # noqa: ANN001
    return "created" if stored.created else "unchanged" if stored.noop else "updated"


def _apply(repo: Repository, row: layouts.Row) -> RowResult:
    """One row: its item, its price period and any period it closes, prepared (validated) first and
    written in one transaction, so a row that fails changes nothing."""
    bodies = [resources.item(row)]
    prices = _stored_prices(repo, row.kind, row.key)
    pid = resources.price_id(row.kind, row.key, row.start)
    later = sorted(s for s, _ in (_period(b) for i, b in prices.items() if i != pid) if s > row.start)
    end = row.end
    if end is None and later:
        end = later[0] - timedelta(days=1)     # bounded by the next period already stored
    bodies.append(resources.price(row, end))
    closed = []
    for other_id, body in prices.items():
        start, other_end = _period(body)
        if other_id != pid and start < row.start and (other_end is None or other_end >= row.start):
            body = {k: v for k, v in body.items() if k != "meta"}
            body["effectivePeriod"] = {"start": start.isoformat(), "end": (row.start - timedelta(days=1)).isoformat()}
            bodies.append(body)
            closed.append(start)
    pending = [repo.prepare("PUT", b["resourceType"], b["id"], b) for b in bodies]
    outcomes = [_outcome(s) for s in repo.commit(pending, "update")]
    outcome = "created" if outcomes[1] == "created" and outcomes[0] == "created" else \
        "unchanged" if set(outcomes) == {"unchanged"} else "updated"
    msg = f"{row.name}, {resources.money(row.price):,} VND/{row.unit} from {row.start:%Y-%m-%d}"
    msg += f" to {end:%Y-%m-%d}" if end else ""
    if closed:
        msg += "; the price from " + ", ".join(f"{s:%Y-%m-%d}" for s in closed) + f" closed on {row.start - timedelta(days=1):%Y-%m-%d}"
    return RowResult(row.line, row.key, outcome, msg)


def import_rows(store: Store, rows: list[layouts.Row],
                progress: Callable[[RowResult], None] | None = None) -> list[RowResult]:
    repo = Repository(store, Actor.system(ACTOR))
    results: dict[int, RowResult] = {}
    seen: dict[tuple[str, date | None], int] = {}
    for row in rows:
        dup = seen.get((row.key, row.start))
        if dup is not None and not row.problems:
            row.problems.append(f"the same item and TU_NGAY as line {dup}")
        seen.setdefault((row.key, row.start), row.line)
    good = sorted((r for r in rows if not r.problems), key=lambda r: (r.key, r.start, r.line))
    for row in rows:
        if row.problems:
            results[row.line] = RowResult(row.line, row.key, "error", "; ".join(row.problems))
    for row in good:
        try:
            results[row.line] = _apply(repo, row)
        except errors.BenhanError as exc:
            results[row.line] = RowResult(row.line, row.key, "error", f"{exc.code}: {exc.message}")
    ordered = [results[r.line] for r in rows]
    if progress:
        for r in ordered:
            progress(r)
    return ordered


def import_file(store: Store, kind: str, path: Path,
                progress: Callable[[RowResult], None] | None = None) -> Report:
    """Import one catalogue file; layouts.FileProblem when the file as a whole is unusable."""
    rows = layouts.read(kind, path)
    return Report(str(path), kind, import_rows(store, rows, progress))
