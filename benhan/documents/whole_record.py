"""The whole record of an episode as one PDF (CV 365 III.1.1a), for the patient or an inspector: every
form of benhan.documents.forms.FORMS that applies to the visit, in the paper record's order — the
record (15/BV1 or its specialty variant, or 01/BV1) first, then the sheets by kind, the papers last —
after a table of contents (each form's code, title and first page), with a PDF bookmark per form and
"Trang x/y" of the whole on every page.

A form registered in FORMS takes part without a change here: its kind comes from its code (NN/BV1 a
record, a paper when given to the patient or set by a Thông tư's Mẫu, otherwise a sheet), and it is
included when APPLIES says so for its key or, for a key APPLIES does not know, when it prints
anything beyond the patient's administrative lines. A form that fails to render, or holds a part the
reader may not see, is listed in the contents as not printable; the rest still prints. A reader who may
not see part of the record form itself is refused (403), as printing that form alone would be."""
from __future__ import annotations

import datetime as dt
import gc
import io
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pikepdf
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from benhan.auth.actor import Actor
from benhan.clinical import chart, consent, outcome, specialty_record
from benhan.clinical import traditional_medicine
from benhan.clinical.common import identifier, name_of, vn_date
from benhan.clinical.printouts import forms as printouts
from benhan.clinical.printouts.pdf import FAMILY
from benhan.documents.forms import FORMS, blocks, printing, sources
from benhan.documents.forms.data import FormData, gather_extra
from benhan.documents.forms import traditional_medicine as traditional_forms
from benhan.documents.forms.outpatient_variants import variant_for
from benhan.documents.forms.specialty_inpatient import record_form_for
from benhan.documents.layout.model import Form
from benhan.documents.layout.render import _add_fonts as add_fonts   # the fonts read once per process
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from benhan.store.repository import Repository, now_us
from benhan.store.store import Store
from benhan.vn.identifiers import MA_LK_SYSTEM

log = logging.getLogger("benhan.documents.whole_record")

RECORD, SHEET, PAPER = 0, 1, 2
KIND_WORDS = {RECORD: "Bệnh án", SHEET: "Phiếu, tờ", PAPER: "Giấy tờ"}
AUDIT_FORM = "whole-record"

# Whether a form applies to a visit, for the forms whose emptiness is not enough to tell (a paper is
# issued or not). A form not listed here is included when it prints more than the patient's lines.
APPLIES: dict[str, Callable[[FormData], bool]] = {
    "prescription": lambda d: bool(sources.drug_rows(d)),
    "referral": lambda d: d.referral is not None,
    "followup": lambda d: d.ctx.appointment is not None,
    "sickleave": lambda d: d.sick_leave is not None,
    # The stay's sheets: an outpatient visit has none on paper, whatever orders it holds.
    "treatment": lambda d: _inpatient(d.ctx.encounter),
    "nursing": lambda d: _inpatient(d.ctx.encounter),
    "publicity": lambda d: _inpatient(d.ctx.encounter),
    "vitalsigns": lambda d: _inpatient(d.ctx.encounter),
    "infusion": lambda d: bool(d.infusions),               # 07/BV2 when the stay had an infusion
    "discharge": lambda d: _inpatient(d.ctx.encounter) and d.ctx.encounter.get("status") == "finished",
    "death": lambda d: outcome.death_of(d.ctx.encounter) is not None,
    "summary": lambda d: _inpatient(d.ctx.encounter) and d.ctx.encounter.get("status") == "finished",
}

# The forms printed once per item of the visit ("consent:<id>", printing.split): the items, oldest first.
ITEMS: dict[str, Callable[[FormData], list[str]]] = {
    **{key: (lambda kind: lambda d: [c["id"] for c in d.consents if consent.kind(c) == kind])(kind)
       for kind, key in consent.FORM_KEYS.items()},       # each consent paper its own kind's (40, 41, 45, 46/BV2)
    "surgery": lambda d: [p["id"] for p in d.ctx.procedures],
    "transfusion": lambda d: [p["id"] for p in d.transfusions],      # one sheet per unit given
    "labresult": lambda d: _reports(d, lab=True),
    "imagingresult": lambda d: _reports(d, lab=False),
}


def _reports(d: FormData, lab: bool) -> list[str]:
    """The visit's result reports of one kind (laboratory or not), by the time they were issued."""
    def is_lab(r: dict) -> bool:
        return any(c.get("code") == "LAB" for cat in r.get("category", []) for c in cat.get("coding", []))
    mine = [r for r in d.ctx.rec.reports if is_lab(r) == lab]
    return [r["id"] for r in sorted(mine, key=lambda r: r.get("issued") or r.get("effectiveDateTime") or "")]

# What every form prints whatever happened (the patient, the facility, titles): not a sign it applies.
_COMMON = {f.name for el in (*blocks.ADMINISTRATIVE, *blocks.SLIP_PATIENT)
           for f in (el.items if hasattr(el, "items") else (el,))} | {"record-number", "date-line", "head"}


@dataclass
class Part:
    key: str
    code: str
    title: str
    kind: int
    pages: int = 0
    start: int = 0                    # first page in the whole document (1-based); 0 when not printed
    problem: str = ""                 # why it is not printable
    pdf: bytes = b""
    warnings: list[str] = field(default_factory=list)


@dataclass
class WholeRecord:
    pdf: bytes
    parts: list[Part]                 # in the order printed; the not printable ones too
    pages: int
    toc_pages: int
    patient_id: str
    patient_name: str
    lookup_code: str

    @property
    def included(self) -> list[str]:
        return [p.key for p in self.parts if not p.problem]


def _inpatient(encounter: dict) -> bool:
    return (encounter.get("class") or {}).get("code") == "IMP"


def kind_of(form: Form) -> int:
    code = form.code
    if "/BV1" in code:
        return RECORD
    if form.given_to_patient or "Thông tư" in code or code.startswith("Mẫu"):
        return PAPER
    return SHEET


def _code_order(form: Form) -> tuple:
    digits = "".join(ch if ch.isdigit() else " " for ch in form.code).split()
    return tuple(int(x) for x in digits[:1]) or (999,)


def record_form(ctx: printouts.Context, location: dict | None, specialty: dict | None = None) -> str:
    """The one record form of the visit: for an inpatient stay 18/BV1 (20/BV1 for a child) when it is a
    traditional-medicine one, else the record of its specialty (02, 03, 04, 05 or 10/BV1: the doctor's
    choice `specialty`, clinical.specialty_record, else the department's), 01/BV1 otherwise; for any other
    visit the outpatient record of its specialty (outpatient_variants.variant_for)."""
    if _inpatient(ctx.encounter):
        if traditional_medicine.is_traditional(ctx.encounter, location):     # 18/BV1, or 20/BV1 for a child
            return traditional_forms.record_for(ctx.encounter, ctx.patient)
        # 02, 03, 04, 05 or 10/BV1: the doctor's choice (`specialty`, clinical.specialty_record), else the
        # department's specialty; 01/BV1 otherwise.
        return record_form_for(specialty_record.chosen(specialty, ctx.encounter, location))
    return variant_for(ctx.encounter, location)


def _drop_half_drawn() -> None:
    """A form that failed half drawn leaves its font files open (the renderer closes them when it
    writes the PDF): collected now, quietly, rather than warned about at some later moment."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _close_fonts(pdf: FPDF) -> None:
    for font in pdf.fonts.values():
        ttfont = getattr(font, "ttfont", None)
        if ttfont is not None:
            ttfont.close()


def _has_content(printed: printing.Printed) -> bool:
    keys = {f.name for f in printed.form.fields()} | {k for k in printed.rendered.values if "." not in k}
    return any(printed.rendered.values.get(k) for k in keys - _COMMON - {i.name for i in printed.form.identifiers})


def _location(repo: Repository, ctx: printouts.Context) -> dict | None:
    """The department the visit is in (its type may name the specialty)."""
    if not ctx.stays or not ctx.stays[-1].location_id or not chart.may_read(repo, "Location"):
        return None
    try:
        return repo.read("Location", ctx.stays[-1].location_id).json()
    except Exception:      # noqa: BLE001 — a department since deleted names no specialty
        return None


def build(repo: Repository, ctx: printouts.Context, actor: Actor, printed: dt.datetime, base_url: str,
          settings: Mapping[str, Any] | None = None) -> WholeRecord:
    settings = settings or {}
    data = gather_extra(repo, ctx, printed, settings.get("facility_authority"))
    chosen = record_form(ctx, _location(repo, ctx), data.specialty)
    for res_type in printing.hidden_parts(chosen, ctx):
        # The record itself is the whole record's spine: a reader who may not see part of it gets none
        # of it (refused and audited, as printing the record alone would be), not a record with a hole.
        repo.permit("s", res_type, "read")
    parts: list[Part] = []
    seen: set[tuple[str, str]] = set()
    for key, form in FORMS.items():
        kind = kind_of(form)
        if kind == RECORD and key != chosen:
            continue
        if (form.code, form.title) in seen:
            continue      # one day's view of a sheet already in the record (treatment-day of treatment)
        seen.add((form.code, form.title))
        hidden = printing.hidden_parts(key, ctx)
        if hidden:
            parts.append(Part(key, form.code, form.title, kind, problem="không có quyền xem " + ", ".join(hidden)))
            continue
        try:
            if key in APPLIES and not APPLIES[key](data):
                continue
            keys = [f"{key}:{item}" for item in ITEMS[key](data)] if key in ITEMS else [key]
        except Exception as exc:      # noqa: BLE001 — one broken form must not keep the others from the inspector
            log.error("whole record of %s: form %s: %s: %s", ctx.encounter["id"], key, type(exc).__name__, exc)
            parts.append(Part(key, form.code, form.title, kind, problem=f"lỗi khi in ({type(exc).__name__})"))
            continue
        for full in keys:
            part = Part(full, form.code, form.title, kind)
            try:
                out = printing.print_form(repo, ctx, full, actor, printed, base_url, settings)
                if key not in APPLIES and key not in ITEMS and kind != RECORD and not _has_content(out):
                    continue
            except Exception as exc:      # noqa: BLE001 — as above
                # The message only: a kept traceback would keep the half-drawn form and its open fonts.
                log.error("whole record of %s: form %s did not render: %s: %s", ctx.encounter["id"], full,
                          type(exc).__name__, exc)
                part.problem = f"lỗi khi in ({type(exc).__name__})"
            if part.problem:
                _drop_half_drawn()        # after the except block: the traceback no longer holds the renderer
                parts.append(part)
                continue
            part.pdf, part.pages, part.warnings = out.pdf, out.rendered.pages, out.warnings
            part.code, part.title = out.form.code, out.form.title       # a result sheet's own (16/BV2 …)
            parts.append(part)
    order = {k: i for i, k in enumerate(p.key for p in parts)}
    parts.sort(key=lambda p: (p.kind, _code_order(FORMS[printing.split(p.key)[0]]), order[p.key]))
    mark = printing.mark(ctx, AUDIT_FORM, actor, printed, base_url)
    head = _Head(authority=data.authority, facility=ctx.facility.name, patient=name_of(ctx.patient),
                 record_number=identifier(ctx.encounter, MA_LK_SYSTEM) or "",
                 period=" – ".join(x for x in (vn_date((ctx.encounter.get("period") or {}).get("start")),
                                               vn_date((ctx.encounter.get("period") or {}).get("end"))) if x),
                 mark=mark.lines())
    toc_pages = 1
    while True:
        page = toc_pages + 1
        for p in parts:
            p.start = page if not p.problem else 0
            page += p.pages
        toc = _toc(head, parts, page - 1)
        with pikepdf.open(io.BytesIO(toc)) as counted:
            n = len(counted.pages)
        if n == toc_pages:
            break
        toc_pages = n
    pdf = _merge(toc, parts, head.patient)
    return WholeRecord(pdf, parts, page - 1, toc_pages, ctx.patient["id"], head.patient, mark.lookup_code)


@dataclass
class _Head:
    authority: str
    facility: str
    patient: str
    record_number: str
    period: str
    mark: list[str]


def _fpdf() -> FPDF:
    pdf = FPDF(format="A4")
    add_fonts(pdf)
    pdf.set_margins(14, 12, 14)
    pdf.set_auto_page_break(True, margin=24)
    return pdf


def _toc(head: _Head, parts: list[Part], total: int) -> bytes:
    """The contents: each form with the page it starts on, the not printable ones with the reason."""
    pdf = _fpdf()
    pdf.set_title(f"Hồ sơ bệnh án — {head.patient}")

    def footer() -> None:
        pdf.set_y(-22)
        pdf.set_font(FAMILY, "", 6.4)
        for line in head.mark:
            pdf.multi_cell(0, 3.1, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.footer = footer
    pdf.add_page()
    pdf.set_font(FAMILY, "", 8.5)
    for text, style in ((head.authority.upper(), ""), (head.facility.upper(), "B")):
        pdf.set_font(FAMILY, style, 8.5)
        pdf.cell(90, 4.2, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 14)
    pdf.cell(0, 7, "MỤC LỤC HỒ SƠ BỆNH ÁN", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 9.5)
    for label, value in (("Người bệnh", head.patient), ("Số hồ sơ", head.record_number),
                         ("Thời gian điều trị", head.period), ("Tổng số trang", str(total))):
        pdf.cell(0, 5, f"{label}: {value}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    widths = (12, 44, 104, 22)
    pdf.set_font(FAMILY, "B", 9)
    for w, title in zip(widths, ("STT", "Mã số", "Tên", "Trang")):
        pdf.cell(w, 6, title, border=1, align="C")
    pdf.ln(6)
    kind = None
    for i, p in enumerate(parts, 1):
        if p.kind != kind:
            kind = p.kind
            pdf.set_font(FAMILY, "B", 9)
            pdf.cell(sum(widths), 6, KIND_WORDS[kind], border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 9)
        name = p.title if not p.problem else f"{p.title} — không in được: {p.problem}"
        cells = (str(i), p.code, name, str(p.start) if p.start else "—")
        lines = max(len(pdf.multi_cell(w - 2, 4.6, text, dry_run=True, output="LINES"))
                    for w, text in zip(widths, cells))
        h = max(1, lines) * 4.6 + 1.4
        if pdf.get_y() + h > pdf.h - pdf.b_margin:
            pdf.add_page()
        y = pdf.get_y()
        x = pdf.l_margin
        for w, text, align in zip(widths, cells, ("C", "L", "L", "C")):
            pdf.rect(x, y, w, h)
            pdf.set_xy(x + 1, y + 0.7)
            pdf.multi_cell(w - 2, 4.6, text, align=align)
            x += w
        pdf.set_xy(pdf.l_margin, y + h)
    data = bytes(pdf.output())
    _close_fonts(pdf)
    return data


def _numbers(sizes: list[tuple[float, float]], patient: str) -> pikepdf.Pdf:
    """One overlay page per page of the whole, its size, with "Trang x/y" of the whole at the top right."""
    pdf = FPDF(unit="pt")
    add_fonts(pdf)
    pdf.set_auto_page_break(False)
    total = len(sizes)
    for i, (w, h) in enumerate(sizes, 1):
        pdf.add_page(format=(w, h))
        pdf.set_font(FAMILY, "", 6.5)
        pdf.set_xy(w * 0.45, 8)
        pdf.cell(w * 0.55 - 20, 9, f"Hồ sơ bệnh án {patient} — Trang {i}/{total}", align="R")
    data = bytes(pdf.output())
    _close_fonts(pdf)
    return pikepdf.open(io.BytesIO(data))


def _merge(toc: bytes, parts: list[Part], patient: str) -> bytes:
    out = pikepdf.new()
    sources_ = [pikepdf.open(io.BytesIO(toc))]
    out.pages.extend(sources_[0].pages)
    marks = [("Mục lục", 0)]
    for p in parts:
        if p.problem:
            continue
        src = pikepdf.open(io.BytesIO(p.pdf))
        sources_.append(src)
        marks.append((f"{p.code} — {p.title}", len(out.pages)))
        out.pages.extend(src.pages)
    sizes = [(float(pg.mediabox[2]) - float(pg.mediabox[0]), float(pg.mediabox[3]) - float(pg.mediabox[1]))
             for pg in out.pages]
    overlay = _numbers(sizes, patient)
    for page, over in zip(out.pages, overlay.pages):
        page.add_overlay(out.copy_foreign(over.as_form_xobject()))
    with out.open_outline() as outline:
        for title, index in marks:
            outline.root.append(pikepdf.OutlineItem(title, index))
    out.docinfo["/Title"] = f"Hồ sơ bệnh án — {patient}"
    buf = io.BytesIO()
    out.save(buf)
    for s in (*sources_, overlay, out):
        s.close()
    return buf.getvalue()


def record_print(store: Store, actor: Actor, whole: WholeRecord, encounter_id: str, version: int | None,
                 patients: Iterable[str] = ()) -> None:
    """One audit event for the whole record: the patient, the forms included and those not printable."""
    record = AuditRecord(recorded=now_us(), interaction="print", subtype="print", agent=actor.name,
                         source_address=actor.source_address, res_type="Encounter", res_id=encounter_id,
                         version=version, patients=tuple(sorted({whole.patient_id, *patients})),
                         role=" ".join(actor.roles) or None, client_id=actor.client_id,
                         detail=json.dumps({"form": AUDIT_FORM, "format": "pdf", "lookup": whole.lookup_code,
                                            "forms": whole.included, "pages": whole.pages,
                                            "not_printable": [p.key for p in whole.parts if p.problem]},
                                           ensure_ascii=False))
    with store.db.write() as conn:
        audit_log.write(conn, [record])
