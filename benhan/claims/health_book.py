"""The push of every closed episode to the patient's electronic health book on VNeID (Sổ sức khỏe
điện tử; NĐ 102/2025 Đ10 k5 b and Đ23 k2, QĐ 2733/QĐ-BYT 2024, QĐ 31/QĐ-BYT 2026: all patients from
01/01/2026; vietnam.md §1.8).

- The tables are made from the same data as the BHYT claim (claims/record.py → Episode): an insured
  episode sends the claim's tables, with XML8 added when the claim has none (the health book needs
  the record summary whatever the visit type); a patient without BHYT sends XML1 and XML8 only,
  with ``MA_THE_BHYT`` empty and ``MA_DOITUONG_KCB`` 9 (non-BHYT) ⚠ inferred: our sources say "at
  least tables 1 and 8" and nothing more on the uninsured XML1.
- XML8 carries the clinician's 4-part summary (QĐ 2733 targets): the course (``QT_BENHLY``), the key
  results (``TOMTAT_KQ``), the treatment (``PP_DIEUTRI``) and the onward plan, which has no field of
  its own in XML8 and goes in ``GHI_CHU`` ⚠ inferred. All four come from the discharge summary the
  doctor writes when the visit ends (clinical/discharge.py) or later (clinical/closing_summary.py).
  An episode whose summary lacks a part is **held** — never sent empty — and the BHYT desk lists it
  with the parts missing.
- The push is a legal obligation: the patient's "do not share" Consent (auth/consent.py) does not
  stop it (Luật 91/2025 Đ19 k1: processing another law requires). Our sources name no category the
  health book must leave out, so which ICD-10 codes are **withheld** is the facility's decision:
  the setting ``health_book_withheld_icd`` (codes or ranges, e.g. "B20-B24, F20"), empty by default.
  An episode with a withheld code is not sent at all (its free-text summary would name the
  condition), and the desk says so.
- Signed with the facility's seal in the claim's envelope (claims/envelope.py) and queued in the ONE
  outbox as kind ``vneid-health-book`` with the key ``vneid-health-book:<MA_LK>:<hash of the
  tables>``: the same content again is the same message; a correction after the close is a new
  message that replaces the earlier one (an older one not yet sent is not sent: the sender checks).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from benhan import errors
from benhan.billing.lines import ChargeLine
from benhan.claims import envelope, tables, validation
from benhan.claims.episode import Episode
from benhan.claims.gateway import Gateway, delivery
from benhan.claims.tables import Table
from benhan.clinical import closing_summary
from benhan.outbox.queue import Delivery, Outbox, Sender
from benhan.signing import xmldsig

KIND = "vneid-health-book"
NOT_INSURED = "9"                 # MA_DOITUONG_KCB of a patient not using BHYT (QĐ 3276/2025 PL1)
# The 4 parts of the summary (the discharge summary's section codes), in XML8 order.
PARTS = closing_summary.REQUIRED
PART_NAMES = {"qua-trinh-benh-ly": "quá trình bệnh lý", "ket-qua-can-lam-sang": "kết quả cận lâm sàng chính",
              "phuong-phap-dieu-tri": "phương pháp điều trị", "huong-dieu-tri-tiep": "hướng điều trị tiếp"}
READY, HELD, WITHHELD, TO_FIX, UNTREATED = "ready", "held", "withheld", "to-fix", "untreated"
_ICD = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


# --- the facility's withheld codes ---------------------------------------------------------------

@dataclass(frozen=True)
class Withheld:
    """ICD-10 codes or ranges not pushed (``B20-B24``, ``F20``, ``O04.9``); a code is in ``lo-hi``
    when its first characters fall between the bounds, in ``F20`` when it starts with it."""
    ranges: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> "Withheld":
        out = []
        for part in filter(None, (p.strip().upper() for p in re.split(r"[,;\s]+", text or ""))):
            lo, _, hi = part.partition("-")
            hi = hi or lo
            if not _ICD.match(lo) or not _ICD.match(hi) or hi < lo:
                raise errors.ConfigError(f"health_book_withheld_icd: “{part}” không phải mã hay khoảng mã ICD-10 "
                                         f"(ví dụ B20-B24, F20) | is not an ICD-10 code or range")
            out.append((lo, hi))
        return cls(tuple(out))

    def matches(self, code: str) -> bool:
        code = (code or "").strip().upper()
        return bool(code) and any(lo <= code[:len(lo)] and code[:len(hi)] <= hi for lo, hi in self.ranges)


def withheld_of(cfg) -> Withheld:  # noqa: ANN001 - a benhan.config.Config
    return Withheld.parse(str(getattr(cfg, "health_book_withheld_icd", "") or ""))


# --- the tables ----------------------------------------------------------------------------------

@dataclass
class Book:
    ep: Episode                       # as sent (a patient without BHYT: no card)
    tables: list[Table]
    insured: bool
    missing: tuple[str, ...] = ()     # summary parts not written: held
    withheld: tuple[str, ...] = ()    # the episode's codes in the facility's withheld list
    report: validation.Report = field(default_factory=lambda: validation.Report("?", "?", []))
    treated: bool = True              # False: closed by the front desk before anyone saw the patient

    @property
    def state(self) -> str:
        if not self.treated:
            return UNTREATED
        if self.withheld:
            return WITHHELD
        if self.missing:
            return HELD
        return READY if self.report.ok else TO_FIX

    @property
    def key(self) -> str:
        from benhan.claims.service import idempotency_key
        return idempotency_key(KIND, self.ep.ma_lk, self.tables)

    def reasons(self) -> list[str]:
        """Why it is not sent, for the desk (Vietnamese, like the claims report)."""
        if not self.treated:
            return ["Lượt khám được đóng khi chưa ai khám (không có kết quả điều trị): không có gì để đưa lên Sổ "
                    "sức khỏe điện tử."]
        if self.withheld:
            return [f"Không gửi theo quy định của cơ sở: mã {', '.join(self.withheld)} thuộc danh mục không đưa "
                    f"lên Sổ sức khỏe điện tử (health_book_withheld_icd)."]
        if self.missing:
            return [f"Chờ bác sĩ viết tóm tắt hồ sơ bệnh án: thiếu {', '.join(PART_NAMES[p] for p in self.missing)}."]
        return [p.line() for p in self.report.problems]


def xml8(ep: Episode) -> Table:
    """The claim's XML8 with the onward plan in GHI_CHU (XML8 has no field of its own for it ⚠)."""
    table = tables.xml8(ep)
    row = table.rows[0]
    plan = f"Hướng điều trị tiếp: {ep.plan.strip()}" if ep.plan.strip() else ""
    row["GHI_CHU"] = "; ".join(x for x in (ep.note.strip(), plan) if x)[:1500]
    return table


def _without_card(ep: Episode) -> Episode:
    return dataclasses.replace(ep, card="", card_place="", card_from=None, card_to=None, five_years=None,
                               copay_exempt_from=None, area="", object_code=NOT_INSURED)


def missing_parts(ep: Episode) -> tuple[str, ...]:
    written = {"qua-trinh-benh-ly": ep.history_summary, "ket-qua-can-lam-sang": ep.results_summary,
               "phuong-phap-dieu-tri": ep.treatment, "huong-dieu-tri-tiep": ep.plan}
    return tuple(p for p in PARTS if not (written[p] or "").strip())


def build(ep: Episode, lines: list[ChargeLine], withheld: Withheld = Withheld()) -> Book:
    codes = tuple(c for c in (ep.main_icd, *ep.other_icd) if withheld.matches(c))
    if ep.insured:
        content = [t for t in tables.claim_tables(ep, lines) if t.name != "XML8"]
        at = next((i for i, t in enumerate(content) if t.name in ("XML13", "XML14")), len(content))
        content.insert(at, xml8(ep))                 # in table order, after XML7
        sent = ep
    else:
        sent = _without_card(ep)
        content = [tables.xml1(sent, lines), xml8(sent)]
    return Book(sent, content, ep.insured, missing_parts(ep), codes, check(content))


def check(content: list[Table]) -> validation.Report:
    """The claim rules over the health-book tables (the stand-in runs the same): every field, code,
    ICD-10 and date rule; XML8 present; without a card, the XML1 totals are not checked against
    lines that are not sent (no XML2/XML3) and no XML7 or XML13 is asked for."""
    report = validation.validate(content)
    head = next((t for t in content if t.name == "XML1" and t.rows), None)
    uninsured = head is not None and not head.rows[0].get("MA_THE_BHYT")
    if uninsured:       # only XML1 and XML8 go: neither sums over lines nor XML7/XML13 are asked for
        report.problems = [p for p in report.problems if p.rule not in ("sum", "table")]
    if not any(t.name == "XML8" and t.rows for t in content):
        report.problems.append(validation.Problem("XML8", 0, "MA_LK", "Sổ sức khỏe điện tử cần bảng tóm tắt hồ sơ "
                                                  "bệnh án (XML8).", "table"))
    if any(t.name == "XML0" for t in content):
        report.problems.append(validation.Problem("XML0", 0, "MA_LK", "không gửi bảng check-in (XML0) lên Sổ sức "
                                                  "khỏe điện tử.", "table"))
    return report


# --- queueing ------------------------------------------------------------------------------------

def queue(outbox: Outbox, book: Book, key: xmldsig.XmlKey, made: datetime, within_hours: int = 24) -> tuple[int, bool]:
    """Sign and queue a book that is ready; (outbox number, whether new)."""
    if book.state in (WITHHELD, HELD, UNTREATED):
        raise errors.ClaimNotPossible("; ".join(book.reasons()))
    if book.state == TO_FIX:
        raise errors.ClaimInvalid(book.report.text())
    signed = envelope.sign(envelope.build(book.ep.facility, made, book.tables), key)
    due = book.ep.discharged + timedelta(hours=within_hours) if book.ep.discharged else None
    return outbox.put(KIND, book.key, book.ep.ma_lk, signed, patient=book.ep.name, due=due)


@dataclass
class Scan:
    queued: list[str] = field(default_factory=list)        # MA_LK queued now (new content)
    already: list[str] = field(default_factory=list)       # the same content was queued before
    held: list[Book] = field(default_factory=list)         # waiting for the summary
    withheld: list[Book] = field(default_factory=list)     # the facility's withheld codes
    untreated: list[Book] = field(default_factory=list)    # closed before anyone saw the patient
    invalid: list[Book] = field(default_factory=list)      # to fix (the claim rules)


def finished_since(repo, since: str) -> Iterable[str]:  # noqa: ANN001 - a Repository
    """The ids of the encounters finished (the search's date overlaps ``since`` or later)."""
    for page in repo.search_pages("Encounter", [("status", "finished"), ("date", f"ge{since}")]):
        yield from (match.res_id for match in page.matches)


def from_record(repo, encounter_id: str, withheld: Withheld = Withheld()) -> Book:  # noqa: ANN001
    from benhan.claims.record import episode_from_record
    from benhan.clinical import discharge
    ep, lines = episode_from_record(repo, encounter_id)
    book = build(ep, lines, withheld)
    # The front desk's administrative close (the patient left before being seen, a visit opened by
    # mistake) records no treatment result: no care to report ⚠ inferred (docs/claims.md).
    book.treated = bool(discharge.result_of(repo.read("Encounter", encounter_id).json()))
    return book


def scan(repo, outbox: Outbox, key: xmldsig.XmlKey | None, since: str, now: datetime,  # noqa: ANN001
         within_hours: int = 24, withheld: Withheld = Withheld()) -> Scan:
    """Every episode finished since ``since``: queue its health book when it is ready (``key``
    None: only classify, as the desk does), else say why not. Queueing again skips what is queued."""
    from benhan.claims.record import made_or_why
    out = Scan()
    for eid in finished_since(repo, since):
        book = made_or_why(lambda: from_record(repo, eid, withheld), eid)
        if isinstance(book, str):
            continue                    # a record the claims cannot read is reported by the claims desk
        state = book.state
        if state == READY:
            if key is None:
                out.queued.append(book.ep.ma_lk)
                continue
            _, new = queue(outbox, book, key, now, within_hours)
            (out.queued if new else out.already).append(book.ep.ma_lk)
        else:
            {HELD: out.held, WITHHELD: out.withheld, TO_FIX: out.invalid, UNTREATED: out.untreated}[state].append(book)
    return out


# --- sending -------------------------------------------------------------------------------------

def sender(gateway: Gateway, outbox: Outbox | None = None) -> Sender:
    """The outbox's sender of this kind. With the outbox, a message that a later correction of the
    same episode replaced is not sent (it would overwrite the newer content at the gateway)."""
    def send(item) -> Delivery:  # noqa: ANN001 - an outbox Item
        if outbox is not None:
            newest = outbox.items(kind=KIND, subject=item.subject, limit=1)
            if newest and newest[0].pk != item.pk:
                return Delivery.rejected(f"đã có bản sửa mới hơn (#{newest[0].pk}): bản này không gửi")
        return delivery(lambda: gateway.send_health_book(item.payload, item.idem_key))
    return send
