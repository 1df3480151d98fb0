"""Printing a form of a visit with the layout engine: the data gathered once (the printout Context
and the extra reads of data.py), the abbreviation check (abbreviations.py), the header and the
electronic-to-paper mark, the PDF. Used by the web print route and by the signing path."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benhan import __version__
from benhan.auth.actor import Actor
from benhan.clinical.common import name_of, who
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import FORMS, abbreviations, sources, vocabulary
from benhan.documents.forms.data import gather_extra
from benhan.documents.layout import html as layout_html, model as layout_model, render as layout
from benhan.documents.layout.model import Form, Table
from benhan.store.repository import Repository


@dataclass
class Printed:
    form: Form
    rendered: layout.Rendered
    printout: printouts.Printout          # what the audit records (form, patient, lookup code); no blocks
    warnings: list[str]                   # abbreviations (TT 32 Đ52 k2 c)
    message: str

    @property
    def pdf(self) -> bytes:
        return self.rendered.pdf

    def as_printout(self) -> printouts.Printout:
        """The printed values as the old printout structure (one block of "label: value" rows), which
        the signed document's Composition is made from."""
        rows = [printouts.Row(f.label, self.rendered.values.get(f.name, "")) for f in self.form.fields()]
        rows += [printouts.Row(t.key, self.rendered.values.get(t.key, "")) for t in self.form.body
                 if isinstance(t, Table)]
        p = self.printout
        return printouts.Printout(p.form, p.form_code, p.title, p.facility, p.department, p.patient_id,
                                  p.patient_name, [printouts.Block(self.form.title, rows)], [], p.mark)


def split(form: str) -> tuple[str, str]:
    """"labresult:<id>" → ("labresult", "<id>"): a form with a sheet per item names the item after ":"."""
    key, _, part = form.partition(":")
    return key, part


def handles(form: str) -> bool:
    return split(form)[0] in FORMS


def hidden_parts(form: str, ctx: printouts.Context) -> list[str]:
    return [t for t in FORMS[split(form)[0]].needs if not ctx.rec.permitted(t)]


def mark(ctx: printouts.Context, form: str, actor: Actor, printed: dt.datetime, base_url: str) -> printouts.Mark:
    fac = ctx.facility
    return printouts.Mark(system=f"benhan {__version__}", facility=fac.name + (f" (mã {fac.code})" if fac.code else ""),
                          lookup_code=printouts.lookup_code(ctx, form),
                          lookup_url=f"{base_url.rstrip('/')}/ui/encounters/{ctx.encounter['id']}",
                          printed_at=printed.strftime("%H:%M %d/%m/%Y"), printed_by=who(actor))


def _constant(value: str):  # noqa: ANN202 - a field source that prints `value` whatever the record
    return lambda _data: value


@dataclass
class _Prepared:
    form: Form
    sheet: layout.Sheet
    checker: abbreviations.Checker
    stub: printouts.Printout


def _prepare(repo: Repository, ctx: printouts.Context, form_key: str, actor: Actor, printed: dt.datetime,
             base_url: str, settings: Mapping[str, Any] | None, signed: dict[str, list[str]] | None,
             appended: Sequence[tuple[str, str]], appended_title: str) -> _Prepared:
    settings = settings or {}
    key, part = split(form_key)
    form = FORMS[key]
    data = gather_extra(repo, ctx, printed, settings.get("facility_authority"), signed)
    data.part = part
    if hasattr(form, "for_item"):        # a sheet per item, its code and title those of the item (results.py)
        form = form.for_item(data)
    if appended:
        form = dataclasses.replace(form, body=form.body + (
            layout_model.Heading(appended_title),
            *(layout_model.Field(label, _constant(value), key=f"appended-{n}", code=True)
              for n, (label, value) in enumerate(appended))))
    checker = abbreviations.Checker(abbreviations.allowed(settings.get("form_abbreviations_file")),
                                    form.given_to_patient)
    m = mark(ctx, form_key, actor, printed, base_url)
    sheet = layout.Sheet(data=data, authority=data.authority, facility=ctx.facility.name,
                         facility_code=ctx.facility.code, department=sources.department(data),
                         patient_name=name_of(ctx.patient), mark_lines=m.lines(), options=vocabulary.options,
                         signed=data.signed, transform=checker)
    stub = printouts.Printout(form_key, f"MS: {form.code}", form.title, ctx.facility.name, sheet.department,
                              ctx.patient["id"], sheet.patient_name, [], [], m)
    return _Prepared(form, sheet, checker, stub)


def print_form(repo: Repository, ctx: printouts.Context, form_key: str, actor: Actor, printed: dt.datetime,
               base_url: str, settings: Mapping[str, Any] | None = None,
               signed: dict[str, list[str]] | None = None,
               appended: Sequence[tuple[str, str]] = (), appended_title: str = "") -> Printed:
    """`settings`: the node's settings (facility_authority, form_abbreviations_file); `signed`: the
    signing mark's lines by signature role ("author", "seal"); `appended`: (label, value) rows printed
    after the form's body under `appended_title` (a correction after signing says what it replaces)."""
    p = _prepare(repo, ctx, form_key, actor, printed, base_url, settings, signed, appended, appended_title)
    rendered = layout.render(p.form, p.sheet)
    return Printed(p.form, rendered, p.stub, p.checker.warnings, p.checker.message())


@dataclass
class PrintedHtml:
    """The same form as HTML (benhan.documents.layout.html): what the browser prints."""
    form: Form
    rendered: layout_html.HtmlRendered
    printout: printouts.Printout
    warnings: list[str]
    message: str


def print_html(repo: Repository, ctx: printouts.Context, form_key: str, actor: Actor, printed: dt.datetime,
               base_url: str, settings: Mapping[str, Any] | None = None,
               signed: dict[str, list[str]] | None = None) -> PrintedHtml:
    """The form's HTML print view, from the same data, definition and checks as its PDF."""
    p = _prepare(repo, ctx, form_key, actor, printed, base_url, settings, signed, (), "")
    rendered = layout_html.render(p.form, p.sheet)
    return PrintedHtml(p.form, rendered, p.stub, p.checker.warnings, p.checker.message())
