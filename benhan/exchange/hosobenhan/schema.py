"""The XSD and the JSON Schema of `HoSoBenhAn`, both generated from the field table (fields.py), and
the checks of an export against them. The committed files (hosobenhan.xsd, hosobenhan.schema.json)
are what a receiving system reads; a test keeps them equal to what this module generates.

A value that does not fit is reported by its path (`HoSoBenhAn/ThongTinBenhNhan/cccd_so`) and the
rule it breaks, so the person fixing the record knows which field of which group.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from lxml import etree

from benhan.exchange.hosobenhan.fields import GROUPS, LIST_ROOT, ROOT, Field, Group

HERE = Path(__file__).resolve().parent
XSD_FILE = HERE / "hosobenhan.xsd"
JSON_SCHEMA_FILE = HERE / "hosobenhan.schema.json"
XS = "http://www.w3.org/2001/XMLSchema"
PATTERNS = {"C": "[0-9]{{1,{size}}}", "T": "[0-9]{{12}}", "D": "[0-9]{{8}}"}


# --- XSD -------------------------------------------------------------------------------------------

def _x(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XS}}}{tag}", {k: v for k, v in attrs.items()})


def _doc(el: etree._Element, text: str) -> None:
    if text:
        _x(_x(el, "annotation"), "documentation").text = text


def _simple(el: etree._Element, f: Field) -> None:
    st = _x(el, "simpleType")
    if f.kind == "N":
        r = _x(st, "restriction", base="xs:nonNegativeInteger")
        _x(r, "totalDigits", value=str(f.size))
    elif f.kind == "Q":
        r = _x(st, "restriction", base="xs:decimal")
        _x(r, "totalDigits", value=str(f.size))
        _x(r, "fractionDigits", value="3")
        _x(r, "minInclusive", value="0")
    else:
        r = _x(st, "restriction", base="xs:string")
        if f.kind in PATTERNS:
            _x(r, "pattern", value=PATTERNS[f.kind].format(size=f.size))
        else:
            _x(r, "minLength", value="1")
            _x(r, "maxLength", value=str(f.size))
    for v in f.values:
        _x(r, "enumeration", value=v)


def _field(seq: etree._Element, f: Field) -> None:
    attrs = {"name": f.name, "minOccurs": "1" if f.required else "0"}
    if f.repeat:
        attrs["maxOccurs"] = "unbounded"
    el = _x(seq, "element", **attrs)
    _doc(el, f"{'' if f.known else '(inferred) '}{f.source}{f' [{f.maps}]' if f.maps else ''}")
    if f.kind == "G":
        inner = _x(_x(el, "complexType"), "sequence")
        for child in f.children:
            _field(inner, child)
    else:
        _simple(el, f)


def _group(seq: etree._Element, g: Group) -> None:
    el = _x(seq, "element", name=g.name, minOccurs="1" if g.numeral == "I" else "0")
    _doc(el, f"{g.numeral}. {g.title} — {g.source}")
    inner = _x(_x(el, "complexType"), "sequence")
    if g.item is None:
        for f in g.fields:
            _field(inner, f)
        return
    item = _x(inner, "element", name=g.item, maxOccurs="unbounded")
    fields = _x(_x(item, "complexType"), "sequence")
    for f in g.fields:
        _field(fields, f)


def xsd_text() -> bytes:
    root = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS}, elementFormDefault="qualified")
    _doc(root, "HoSoBenhAn (CV 365/TTYQG-GPQLCL, appendix) as benhan writes it; generated from "
               "benhan/exchange/hosobenhan/fields.py — see docs/hosobenhan.md for the fields marked inferred.")
    rec = _x(root, "complexType", name="HoSoBenhAnType")
    seq = _x(rec, "sequence")
    for g in GROUPS:
        _group(seq, g)
    _x(root, "element", name=ROOT, type="HoSoBenhAnType")
    many = _x(root, "element", name=LIST_ROOT)
    _x(_x(_x(many, "complexType"), "sequence"), "element", name=ROOT, type="HoSoBenhAnType", minOccurs="0",
       maxOccurs="unbounded")
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="utf-8")


@cache
def xml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(XSD_FILE.read_bytes()))


# --- JSON Schema -----------------------------------------------------------------------------------

def _json_field(f: Field) -> dict:
    desc = f"{'' if f.known else '(inferred) '}{f.source}"
    if f.kind == "G":
        one = {"type": "object", "additionalProperties": False, "description": desc,
               "properties": {c.name: _json_field(c) for c in f.children},
               "required": [c.name for c in f.children if c.required]}
        return {"type": "array", "items": one, "minItems": 1} if f.repeat else one
    if f.kind == "N":
        out: dict = {"type": "integer", "minimum": 0, "maximum": 10 ** f.size - 1}
    elif f.kind == "Q":
        out = {"type": "number", "minimum": 0, "exclusiveMaximum": 10 ** (f.size - 3)}
    elif f.kind in PATTERNS:
        out = {"type": "string", "pattern": "^" + PATTERNS[f.kind].format(size=f.size) + "$"}
    else:
        out = {"type": "string", "minLength": 1, "maxLength": f.size}
    if f.values:
        out["enum"] = [int(v) for v in f.values] if f.kind == "N" else list(f.values)
    out["description"] = desc
    return out


def _json_group(g: Group) -> dict:
    one = {"type": "object", "additionalProperties": False,
           "properties": {f.name: _json_field(f) for f in g.fields},
           "required": [f.name for f in g.fields if f.required]}
    if g.item is None:
        return {**one, "description": f"{g.numeral}. {g.title}"}
    return {"type": "array", "minItems": 1, "items": one, "description": f"{g.numeral}. {g.title} ({g.item})"}


def json_schema() -> dict:
    record = {"type": "object", "additionalProperties": False,
              "properties": {g.name: _json_group(g) for g in GROUPS}, "required": [GROUPS[0].name]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://benhan.vn/schema/hosobenhan.schema.json",
            "title": "HoSoBenhAn (CV 365/TTYQG-GPQLCL) as benhan writes it",
            "description": "Generated from benhan/exchange/hosobenhan/fields.py; one record under HoSoBenhAn, "
                           "several under DanhSachHoSoBenhAn (docs/hosobenhan.md).",
            "$defs": {"HoSoBenhAn": record},
            "type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
            "properties": {ROOT: {"$ref": "#/$defs/HoSoBenhAn"},
                           LIST_ROOT: {"type": "array", "items": {"$ref": "#/$defs/HoSoBenhAn"}}}}


def json_schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=1) + "\n"


@cache
def json_validator():  # noqa: ANN201
    import jsonschema
    schema = json.loads(JSON_SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


# --- the checks ------------------------------------------------------------------------------------

def xml_problems(doc: etree._Element) -> list[str]:
    """Each way the document breaks the XSD: `path: message`."""
    schema = xml_schema()
    if schema.validate(doc):
        return []
    return [f"{(e.path or '').lstrip('/')}: {e.message}" for e in schema.error_log]


def json_problems(data: dict) -> list[str]:
    out = []
    for e in sorted(json_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = "/".join(str(p) for p in e.absolute_path)
        out.append(f"{path}: {e.message}")
    return out
