"""Reading a previous HIS's BHYT XML files for an import (docs/operations.md "Coming into benhan"):
a GIAMDINHHS envelope (each table base64 in a FILEHOSO) or a table's own XML file (XML1.xml …).

The tables are read with the claims builder's own reader (tables.from_xml, whose roots and record
tags are fields.ROOTS), so the import knows exactly the tags the export writes. A table whose
base64 or XML is broken is reported and the other tables of the file are still read; a file that
is not XML, or not one of these, is one error for the whole file.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from benhan import errors
from benhan.claims.fields import ROOTS
from benhan.claims.tables import Table, from_xml

ENVELOPE = "GIAMDINHHS"
_TABLE_BY_ROOT = {root: name for name, (root, _, _) in ROOTS.items()}
MAX_FILE = 512 * 1024 * 1024
_PARSER = dict(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass
class ReadFile:
    path: Path
    facility: str = ""                      # MACSKCB of the envelope ("" for a plain table file)
    envelope: bool = False                  # a GIAMDINHHS (its episodes are whole in it)
    tables: list[Table] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)   # (table, reason): a table not read


def xml_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".xml")
        elif p.is_file():
            found.append(p)
        else:
            raise errors.ImportUnreadable(f"{p}: không có tệp hay thư mục này | no such file or folder")
    if not found:
        raise errors.ImportUnreadable("không có tệp XML nào | no XML file found")
    return found


def read(path: Path) -> ReadFile:
    """The tables of one file; ImportUnreadable when the file is not BHYT XML at all."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise errors.ImportUnreadable(f"{path.name}: larger than {MAX_FILE} bytes")
        data = path.read_bytes()
        root = etree.fromstring(data, parser=etree.XMLParser(**_PARSER))
    except OSError as exc:
        raise errors.ImportUnreadable(f"{path.name}: {exc.strerror or exc}") from None
    except etree.XMLSyntaxError as exc:
        raise errors.ImportUnreadable(f"{path.name}: không phải XML | not XML ({exc})") from None
    out = ReadFile(path, envelope=root.tag == ENVELOPE)
    if out.envelope:
        out.facility = (root.findtext("THONGTINDONVI/MACSKCB") or "").strip()
        for item in root.iterfind("THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO"):
            _read_item(out, (item.findtext("LOAIHOSO") or "").strip(), item.findtext("NOIDUNGFILE") or "")
        return out
    name = _TABLE_BY_ROOT.get(root.tag)
    if name is None:
        raise errors.ImportUnreadable(f"{path.name}: thẻ gốc | root element <{root.tag}> is not GIAMDINHHS "
                                      "nor a BHYT table (XML1 … XML14)")
    out.tables.append(from_xml(name, data))
    return out


def _read_item(out: ReadFile, name: str, content: str) -> None:
    if name not in ROOTS:
        out.problems.append((name or "?", f"LOAIHOSO {name!r} không được hỗ trợ | is not a known table"))
        return
    try:
        data = base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        out.problems.append((name, "NOIDUNGFILE không phải base64 | is not base64"))
        return
    try:
        out.tables.append(from_xml(name, data))
    except etree.XMLSyntaxError as exc:
        out.problems.append((name, f"nội dung không phải XML | the content is not XML ({exc})"))
    except ValueError as exc:
        out.problems.append((name, str(exc)))
