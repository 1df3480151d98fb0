"""How stored values are written on a page, in the reader's language — the Jinja filters every
clinician template uses instead of slicing strings or printing codes (issue 12.10):

- dates and times: FHIR's ISO 8601 (`1989-03-15`, `2026-12-13T08:00:00+07:00`, or only a year or
  year-month, all valid) as dd/MM/yyyy and HH:mm; a missing value is "" (never an error: issue 11.10);
- numbers: a decimal comma in Vietnamese (38,5), a point in English (38.5), and units as people
  write them (`10*9/L` → 10⁹/L, `Cel` → °C) — vn/display.py, which the paper forms use too;
- status codes (active, completed, in-progress …) and FHIR type names (Condition, Observation …)
  as words of the reader's language; an unknown code is shown as it is (no guessing).

Each filter takes the language from the render context (`lang`), so a template just writes
`{{ x | vn_date }}`, `{{ v | number }}`, `{{ o.status | status }}`, `{{ "Condition" | type_name }}`.
"""
from __future__ import annotations

import re

import jinja2

from benhan.vn import display
from benhan.web import i18n

_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}))?)?)?")


def vn_date(value: object) -> str:
    """'1989-03-15…' → '15/03/1989'; '1989-03' → '03/1989'; '1989' → '1989'; nothing → ''."""
    m = _ISO.match(str(value or ""))
    if not m:
        return str(value or "")
    year, month, day = m.group(1), m.group(2), m.group(3)
    return "/".join(x for x in (day, month, year) if x)


def hm(value: object) -> str:
    """The time of day of an ISO date-time ('' for a date alone or nothing)."""
    m = _ISO.match(str(value or ""))
    return f"{m.group(4)}:{m.group(5)}" if m and m.group(4) else ""


def vn_datetime(value: object) -> str:
    """'2026-12-13T08:05:00+07:00' → '08:05 13/12/2026' (the time first, as on the paper forms)."""
    return " ".join(x for x in (hm(value), vn_date(value)) if x)


def day_month(value: object) -> str:
    """'2026-12-13T08:05…' → '08:05 13/12' (a table of one visit's rounds)."""
    m = _ISO.match(str(value or ""))
    if not m:
        return ""
    return " ".join(x for x in (hm(value), "/".join(x for x in (m.group(3), m.group(2)) if x)) if x)


def status_text(code: object, lang: str) -> str:
    """A FHIR status code (any resource's) in the reader's language; an unknown code as it is."""
    key = f"ui.status.{code}"
    return i18n.translate(key, lang) if key in i18n.MESSAGES else str(code or "")


def type_text(res_type: object, lang: str) -> str:
    """A FHIR resource type's name in the reader's language ("Condition" → "Chẩn đoán")."""
    key = f"ui.type.{res_type}"
    return i18n.translate(key, lang) if key in i18n.MESSAGES else str(res_type or "")


def _lang(ctx: jinja2.runtime.Context) -> str:
    return ctx.get("lang") or "vi"


@jinja2.pass_context
def _number(ctx: jinja2.runtime.Context, value: object) -> str:
    return display.number(value, _lang(ctx))


@jinja2.pass_context
def _numbers_in(ctx: jinja2.runtime.Context, text: object) -> str:
    """The decimal points of the numbers in a text ("3.5 – 5.5") as the language writes them."""
    return display.numbers_in(text, _lang(ctx))


@jinja2.pass_context
def _status(ctx: jinja2.runtime.Context, code: object) -> str:
    return status_text(code, _lang(ctx))


@jinja2.pass_context
def _type_name(ctx: jinja2.runtime.Context, res_type: object) -> str:
    return type_text(res_type, _lang(ctx))


@jinja2.pass_context
def _version(ctx: jinja2.runtime.Context, resource: object) -> str:
    """'phiên bản 2' / 'version 2' for a resource (or its meta.versionId) — never 'v2' alone."""
    vid = resource.get("meta", {}).get("versionId", "") if isinstance(resource, dict) else resource
    return i18n.translate("ui.version_n", _lang(ctx), n=vid or "1")


FILTERS = {"vn_date": vn_date, "hm": hm, "vn_datetime": vn_datetime, "day_month": day_month, "number": _number, "numbers_in": _numbers_in,
           "unit": display.unit, "status": _status, "type_name": _type_name, "version": _version}


def install(env: jinja2.Environment) -> None:
    env.filters.update(FILTERS)
