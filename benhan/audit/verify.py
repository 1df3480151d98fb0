"""Verify the audit trail's hash chain (docs/audit.md "Chain format") and name the first broken link.

The walk reads the chain in chain_pos order, a batch at a time, inside one read transaction (one
snapshot: writers appending meanwhile cannot make the tail look cut). For each row it checks that
its position follows the previous one, that its hash is SHA-256 of the previous hash and its own
fields (store.audit_log.link_hash), and that its audit_patient rows name exactly the patients the
hashed `patients` column names. Then the tail against audit_chain_head, and the rows that have no
position at all: older than the chain → legacy (counted, not tampering); newer → inserted.

What it cannot see: someone able to write the database who rewrites every hash from the change
to the end, head included (the hash has no secret). Keep the head printed by `benhan audit verify`
somewhere else (a report, a log shipped off the machine) and compare: `--expect POS:HASH`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from benhan.store import audit_log, audit_query
from benhan.store.audit_log import GENESIS, link_hash
from benhan.store.backup_audit import Anchor

MAX_PROBLEMS = 20


@dataclass(frozen=True, order=True)
class Problem:
    chain_pos: int            # where in the chain (for an unchained row: the position it sits before)
    kind: str                 # altered, removed, inserted, truncated, patients, head, anchor
    seq: int | None
    message: str

    def line(self) -> str:
        where = f"chain_pos {self.chain_pos}" + (f" (seq {self.seq})" if self.seq is not None else "")
        return f"audit chain broken at {where}: {self.kind} — {self.message}"


@dataclass
class Report:
    events: int = 0                       # chained events read
    legacy: int = 0                       # unchained rows from before the chain began
    head: tuple[int, str] | None = None
    first_pos: int | None = None
    last_pos: int | None = None
    last_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0                # found beyond MAX_PROBLEMS

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems) if self.problems else None

    def line(self) -> str:
        if self.problems:
            extra = len(self.problems) - 1 + self.more_problems
            return self.first.line() + (f" (and {extra} more problem{'s' * (extra != 1)})" if extra else "")
        parts = []
        if self.events:
            parts.append(f"chain_pos {self.first_pos}–{self.last_pos}")
            parts.append(f"head {self.head[0]}:{self.head[1]}")
        else:
            parts.append("no chained events yet")
        if self.legacy:
            parts.append(f"unchained legacy rows: {self.legacy}")
        return f"audit chain intact: {self.events} events ({'; '.join(parts)})"

    def _add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.more_problems += 1


def verify(store, *, batch: int = 1000, expect: tuple[int, str] | None = None,  # noqa: ANN001
           anchors: list[Anchor] = ()) -> Report:
    """Walk the whole chain; `expect` = (chain_pos, hash) noted earlier, which must still hold;
    `anchors`: heads noted elsewhere (backup_audit.read_sidecars), checked with the one this
    database's node setting holds (audit_log.noted_head)."""
    report = Report()
    with store.db.read() as conn:
        report.head = audit_query.head(conn)
        head_pos = report.head[0] if report.head else None
        noted = audit_log.noted_head(conn)
        anchors = [*anchors, *([Anchor(*noted, source="this database's node setting "
                                       f"{audit_log.HEAD_SETTING}")] if noted else [])]
        seen = _Seen({a.chain_pos for a in anchors})
        _walk(report, audit_query.chained(conn, batch), head_pos, expect, seen)
        _tail(report)
        _unchained(report, audit_query.unchained(conn))
    _anchors(report, anchors, seen)
    return report


@dataclass
class _Seen:
    """What the walk notes for the anchors: the hashes at their positions, and the restores."""
    watch: set[int]
    hashes: dict[int, str] = field(default_factory=dict)
    restores: list[tuple[int, int]] = field(default_factory=list)    # (chain_pos, recorded µs)

    def note(self, row, fields) -> None:  # noqa: ANN001
        if row.chain_pos in self.watch:
            self.hashes[row.chain_pos] = row.hash
        if fields["interaction"] == "restore":
            self.restores.append((row.chain_pos, fields["recorded"]))


def _anchors(report: Report, anchors: list[Anchor], seen: _Seen) -> None:
    """Each head noted elsewhere must still be in the chain with its hash — unless a restore,
    recorded in the chain after the head was noted, replaced that part of the history."""
    for a in anchors:
        replaced = [pos for pos, when in seen.restores if when > a.taken_us and pos <= a.chain_pos]
        if replaced:
            continue        # the restore event names the head it replaced (its detail)
        noted = f"{a.source} noted chain_pos {a.chain_pos} on {_when(a.taken_us)}"
        if a.chain_pos not in seen.hashes:
            last = report.last_pos or 0
            if a.chain_pos > last:
                report._add(Problem(last + 1, "truncated", None, f"{noted}, but the chain ends at "
                                    f"{last or 'nothing'} ({report.events} events): the trail was cut or wiped"))
        elif seen.hashes[a.chain_pos] != a.hash:
            report._add(Problem(a.chain_pos, "anchor", None, f"{noted} with hash {a.hash[:16]}…, "
                                f"the chain now has {seen.hashes[a.chain_pos][:16]}… there (chain rewritten)"))


def _when(us: int) -> str:
    import time
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(us / 1e6))


def _walk(report: Report, batches, head_pos: int | None, expect: tuple[int, str] | None,  # noqa: ANN001
          seen: _Seen) -> None:
    expected, prev = 1, GENESIS
    for rows in batches:
        for item in rows:
            row = item.row
            pos, seq = row.chain_pos, row.seq
            seen.note(row, item.fields)
            if report.first_pos is None:
                report.first_pos = pos
            report.events += 1
            if pos < expected:
                # Positions start at 1 and only rise; a smaller one was not assigned by the chain.
                report._add(Problem(max(pos, 0), "inserted", seq, f"chain_pos {pos} is not one the chain "
                                    "assigns (a row was inserted)"))
                continue
            if head_pos is not None and pos > head_pos:
                report._add(Problem(pos, "inserted", seq, f"the row lies beyond the chain head "
                                    f"(chain_pos {head_pos}): a row was inserted"))
            elif pos > expected:
                gap = f"chain_pos {expected}" if pos == expected + 1 else f"chain_pos {expected}–{pos - 1}"
                report._add(Problem(expected, "removed", None, f"{gap} missing (removed row"
                                    f"{'s' * (pos > expected + 1)}); the next row is chain_pos {pos}, seq {seq}"))
            elif link_hash(prev, item.fields) != row.hash:
                report._add(Problem(pos, "altered", seq, "its hash does not match its content and the "
                                    "previous link (the row was altered, or put in place of another)"))
            named = frozenset(row.patients.split(" ")) if row.patients else frozenset()
            if item.linked_patients != named:
                report._add(Problem(pos, "patients", seq, f"its audit_patient rows "
                                    f"({_ids(item.linked_patients)}) differ from the patients it recorded "
                                    f"({_ids(named)})"))
            if expect is not None and pos == expect[0] and row.hash != expect[1]:
                report._add(Problem(pos, "anchor", seq, f"hash {row.hash[:16]}… is not the "
                                    f"{expect[1][:16]}… noted earlier (chain rewritten)"))
            prev, expected = row.hash, pos + 1
            report.last_pos, report.last_hash = pos, row.hash
    if expect is not None and (report.last_pos is None or expect[0] > report.last_pos):
        report._add(Problem(expect[0], "anchor", None, "the position noted earlier is no longer in the chain"))


def _tail(report: Report) -> None:
    if report.head is None:
        if report.events:
            report._add(Problem(report.last_pos + 1, "head", None, "the chain head row (audit_chain_head) "
                                f"is missing; the last row is chain_pos {report.last_pos}"))
        return
    head_pos, head_hash = report.head
    last = report.last_pos or 0
    if head_pos > last:
        report._add(Problem(last + 1, "truncated", None, f"the head says chain_pos {head_pos} but the last "
                            f"row is {last or 'none'}: the tail was removed"))
    elif head_pos == last and head_pos and head_hash != report.last_hash:
        report._add(Problem(last, "head", None, f"the head's hash is not that of the last row "
                            f"(chain_pos {last})"))


def _unchained(report: Report, found: audit_query.Unchained) -> None:
    report.legacy = found.legacy
    after_all = (report.last_pos or 0) + 1
    for seq, _recorded, following in found.inserted:
        report._add(Problem(following or after_all, "inserted", seq, "the row has no chain position but was "
                            "recorded after the chain began (a row was inserted)"))
    for seq in found.patient_rows:
        report._add(Problem(after_all, "patients", seq, "audit_patient rows point at this unchained "
                            "row (they were inserted)"))


def _ids(ids: frozenset[str]) -> str:
    return ", ".join(sorted(ids)) or "none"
