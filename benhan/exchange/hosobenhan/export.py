"""The `HoSoBenhAn` export (CV 365 III.1.1d): one episode, one patient (all their episodes) or a
period (every episode that ended in it), as XML or JSON, checked against the schema before it is
handed out and written to the audit trail.

One record is the root `HoSoBenhAn`; several are `DanhSachHoSoBenhAn` with one `HoSoBenhAn` each
(JSON: {"HoSoBenhAn": {…}} or {"DanhSachHoSoBenhAn": [{…}, …]}). A value that does not fit the
schema stops the export with RecordExportInvalid naming the episode, group and field: a receiving
system never gets a file that breaks the schema.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from lxml import etree

from benhan import errors
from benhan.claims import tables
from benhan.clinical.common import ref_id
from benhan.exchange.hosobenhan import schema
from benhan.exchange.hosobenhan.fields import BY_NAME, LIST_ROOT, ROOT
from benhan.exchange.hosobenhan.record import episode_tree, require_reads, shared
from benhan.store.repository import Repository

FORMATS = {"xml": "application/xml", "json": "application/json"}
__all__ = ["Export", "check_format", "export_episode", "export_patient", "export_period", "render", "require_reads"]


@dataclass
class Export:
    content: bytes
    media_type: str
    filename: str
    format: str
    encounters: list[str] = field(default_factory=list)
    patients: list[str] = field(default_factory=list)
    what: str = ""           # episode, patient, period


def check_format(fmt: str) -> str:
    fmt = (fmt or "xml").lower()
    if fmt not in FORMATS:
        raise errors.InvalidOperationParameter(f"format must be xml or json, not {fmt!r}")
    return fmt


# --- rendering -------------------------------------------------------------------------------------

def _xml_text(value: object) -> str:
    if isinstance(value, Decimal):
        return tables.number(value)
    return str(value)


def _xml_fill(parent: etree._Element, values: dict, path: str) -> None:
    for name, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            el = etree.SubElement(parent, name)
            if isinstance(one, dict):
                _xml_fill(el, one, f"{path}/{name}")
                continue
            try:
                el.text = _xml_text(one)
            except ValueError as exc:        # a control character XML 1.0 cannot carry
                raise errors.RecordExportInvalid(f"{path}/{name}: {exc}") from None


def _xml_record(tree: dict, parent: etree._Element | None) -> etree._Element:
    rec = etree.Element(ROOT) if parent is None else etree.SubElement(parent, ROOT)
    for group, value in tree.items():
        g = etree.SubElement(rec, group)
        if isinstance(value, list):
            for item in value:
                _xml_fill(etree.SubElement(g, BY_NAME[group].item or ""), item, f"{ROOT}/{group}")
        else:
            _xml_fill(g, value, f"{ROOT}/{group}")
    return rec


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def _label(tree: dict) -> str:
    info = tree.get("ThongTinBenhNhan", {})
    return f"hồ sơ {info.get('sovaovien', '?')} ({info.get('hoten', '')})"


def render(trees: list[dict], fmt: str, *, many: bool) -> bytes:
    """The records as one document, checked against the schema (RecordExportInvalid otherwise)."""
    if fmt == "xml":
        root = etree.Element(LIST_ROOT) if many else None
        docs = []
        for tree in trees:
            try:
                docs.append(_xml_record(tree, root))
            except errors.RecordExportInvalid as exc:
                raise errors.RecordExportInvalid(f"{_label(tree)}: {exc.message}") from None
        doc = root if many else docs[0]
        problems = schema.xml_problems(doc)
        if problems:
            raise errors.RecordExportInvalid(_name_record(problems[0], trees, many) + _more(problems))
        return etree.tostring(doc, xml_declaration=True, encoding="utf-8", pretty_print=True)
    body = {LIST_ROOT: [_json_value(t) for t in trees]} if many else {ROOT: _json_value(trees[0])}
    problems = schema.json_problems(body)
    if problems:
        raise errors.RecordExportInvalid(_name_record(problems[0], trees, many) + _more(problems))
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def _more(problems: list[str]) -> str:
    return f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""


def _name_record(problem: str, trees: list[dict], many: bool) -> str:
    """`DanhSachHoSoBenhAn/HoSoBenhAn[3]/…` or `DanhSachHoSoBenhAn/2/…` → the episode it is."""
    index = 0
    if many:
        parts = problem.split("/")
        for p in parts[:3]:
            if p.startswith(f"{ROOT}[") and p.endswith("]"):
                index = int(p[len(ROOT) + 1:-1]) - 1
            elif p.isdigit():
                index = int(p)
    tree = trees[index] if 0 <= index < len(trees) else trees[0]
    return f"{_label(tree)}: {problem}"


# --- what is exported ------------------------------------------------------------------------------

def _episodes(repo: Repository, items: list[tuple[str, str]]) -> list[dict]:
    return [m.json() for m in repo.search_all("Encounter", items)]


def _start(e: dict) -> str:
    return (e.get("period") or {}).get("start", "")


def _make(repo: Repository, encounters: list[dict], fmt: str, many: bool, name: str, what: str) -> Export:
    fmt = check_format(fmt)
    common = shared(repo)
    trees = []
    for e in encounters:
        try:
            trees.append(episode_tree(repo, e["id"], common))
        except (errors.NotFound, errors.Gone) as exc:
            # A part the episode names is not in the record (its patient: an Encounter imported
            # alone): the episode to fix is named, as for a value the schema refuses — not a 404
            # about a resource the caller never asked for.
            raise errors.RecordExportInvalid(f"Encounter/{e['id']}: {exc.message}") from None
    content = render(trees, fmt, many=many)
    patients = sorted({ref_id(e.get("subject")) or "" for e in encounters} - {""})
    return Export(content, FORMATS[fmt], f"{name}.{fmt}", fmt, [e["id"] for e in encounters], patients, what)


def export_episode(repo: Repository, encounter_id: str, fmt: str = "xml") -> Export:
    fmt = check_format(fmt)
    encounter = repo.read("Encounter", encounter_id).json()
    return _make(repo, [encounter], fmt, False, f"hosobenhan-{encounter_id}", "episode")


def export_patient(repo: Repository, patient_id: str, fmt: str = "xml") -> Export:
    """Every episode of the patient, oldest first (none: an empty DanhSachHoSoBenhAn)."""
    fmt = check_format(fmt)
    repo.read("Patient", patient_id)           # 404 / 403 before anything else
    encounters = sorted(_episodes(repo, [("subject", f"Patient/{patient_id}")]), key=_start)
    return _make(repo, encounters, fmt, True, f"hosobenhan-benhnhan-{patient_id}", "patient")


def _end_day(e: dict) -> date | None:
    end = (e.get("period") or {}).get("end") or ""
    try:
        moment = datetime.fromisoformat(end) if len(end) > 10 else None
    except ValueError:
        return None
    return tables._local(moment).date() if moment else None


def export_period(repo: Repository, first: date, last: date, fmt: str = "xml") -> Export:
    """Every episode that ended (status finished) between `first` and `last`, both included, in the
    facility's zone; by their end."""
    fmt = check_format(fmt)
    if last < first:
        raise errors.InvalidOperationParameter(f"the period ends ({last}) before it starts ({first})")
    # An episode that ended in the period overlaps it: search by overlap, keep those whose end is in it.
    # A day's margin for the zone, except from the first day there is (from=0001-01-01: "all of them").
    since = first - timedelta(days=1) if first > date.min else first
    found = _episodes(repo, [("status", "finished"), ("date", f"ge{since.isoformat()}")])
    encounters = sorted((e for e in found if (d := _end_day(e)) is not None and first <= d <= last),
                        key=lambda e: (e.get("period") or {}).get("end", ""))
    return _make(repo, encounters, fmt, True, f"hosobenhan-{first:%Y%m%d}-{last:%Y%m%d}", "period")
