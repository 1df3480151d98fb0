"""The data dictionary: what every SQL table and column holds, and the FHIR resource types with their
search parameters. Generated from the code (schema.metadata, the comments beside each Column in
schema.py, the search-parameter table of fhir.searchparams), never written by hand:
docs/data-dictionary.md is `benhan export data-dictionary` and a test keeps the two equal;
`benhan export --all` writes one into the export, listing the types that database holds.
"""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Table

from benhan.fhir.definitions import load_structure
from benhan.fhir.searchparams import parameters_for
from benhan.store import schema

_SCHEMA_SOURCE = Path(schema.__file__)
_TABLE_START = re.compile(r'(?:Table|_index_table)\(\s*"(\w+)"')
_COLUMN = re.compile(r'Column\("(\w+)".*#\s*(.+?)\s*$')
# What a column of this name means wherever schema.py says nothing beside it.
_USUAL = {
    "pk": "row key (auto-increment)", "seq": "row key, in commit order", "res_type": "FHIR resource type",
    "res_id": "FHIR resource id", "resource_pk": "→ resource.pk", "version": "FHIR version (meta.versionId)",
    "last_updated": "time of the version (meta.lastUpdated)", "recorded": "when (µs)", "created": "when created (µs)",
    "expires": "when it expires (µs)", "issued": "when issued (µs)", "patient_id": "FHIR Patient id",
    "user_pk": "→ user_account.pk", "client_id": "OAuth client id", "param": "search parameter code",
    "chain_pos": "position in the audit hash chain", "hash": "SHA-256 (hex) of the row chained to the previous one",
    "agent": "who acted (user name, client id, system)", "source_address": "IP address of the request",
    "query": "the query as asked", "deleted": "the version is a deletion", "body": "the resource JSON",
    "content_hash": "SHA-256 of the canonical JSON", "grp": "component group of a composite parameter",
    "key": "setting name", "value": "value", "reason": "reason given", "started": "when started (µs)",
}
_TIMES = ("Times are whole microseconds since the Unix epoch, UTC (BigInteger), so that SQLite and PostgreSQL "
          "compare and order them identically.")


def column_notes() -> dict[tuple[str, str], str]:
    """(table, column) → the comment written beside its Column in schema.py."""
    notes: dict[tuple[str, str], str] = {}
    table = None
    text = _SCHEMA_SOURCE.read_text(encoding="utf-8")
    # A table's name can sit on the line after "Table(": join each call's opening first.
    text = re.sub(r"(Table|_index_table)\(\n\s*", r"\1(", text)
    for line in text.splitlines():
        m = _TABLE_START.search(line)
        if m:
            table = m.group(1)
        c = _COLUMN.search(line)
        if c and table:
            notes[(table, c.group(1))] = c.group(2).replace("|", "\\|")
    return notes


def _index_table_note(table: Table) -> str:
    if table.name.startswith("idx_"):
        return ("One row per search-parameter value of a resource (the search index; "
                f"parameters of type {table.name[4:]}).")
    return ""


def _type_name(column) -> str:  # noqa: ANN001
    return str(column.type.compile(dialect=_dialect())).lower()


def _dialect():  # noqa: ANN202
    from sqlalchemy.dialects import postgresql
    return postgresql.dialect()


def tables_markdown() -> list[str]:
    notes = column_notes()
    out = ["## SQL tables", "", _TIMES, "",
           "Types are PostgreSQL's; on SQLite the same columns hold the same values (a bigint key is "
           "SQLite's INTEGER PRIMARY KEY).", ""]
    for table in sorted(schema.metadata.tables.values(), key=lambda t: t.name):
        out += [f"### `{table.name}`", ""]
        note = _index_table_note(table)
        if note:
            out += [note, ""]
        out += ["| Column | Type | Null | Key | Meaning |", "|---|---|---|---|---|"]
        for col in table.columns:
            key = "PK" if col.primary_key else ""
            if col.foreign_keys:
                targets = ", ".join(sorted(fk.target_fullname for fk in col.foreign_keys))
                key = (key + " " if key else "") + "→ " + targets
            if col.unique:
                key = (key + " " if key else "") + "unique"
            out.append(f"| `{col.name}` | {_type_name(col)} | {'yes' if col.nullable else 'no'} | {key} | "
                       f"{notes.get((table.name, col.name)) or _USUAL.get(col.name, '')} |")
        indexes = sorted(table.indexes, key=lambda i: i.name)
        if indexes:
            out += ["", "Indexes: " + "; ".join(
                f"`{ix.name}` ({', '.join(c.name for c in ix.columns)}{', unique' if ix.unique else ''})"
                for ix in indexes) + "."]
        out.append("")
    return out


def types_markdown(counts: dict[str, int] | None = None) -> list[str]:
    """The FHIR resource types (those of `counts` with their numbers; else every R4 type the
    server serves) and each one's search parameters (code and type)."""
    types = sorted(counts) if counts is not None else sorted(load_structure().resource_types)
    if counts is not None:
        out = ["## FHIR resources in this export", "",
               "Each line of `resources/<Type>.ndjson` is one FHIR R4 resource as stored (its current version, "
               "meta.versionId and meta.lastUpdated included). Search parameters are those of the FHIR R4 "
               "specification (http://hl7.org/fhir/R4/searchparameter-registry.html).", "",
               "| Type | Resources | Search parameters |", "|---|---|---|"]
    else:
        out = ["## FHIR resource types and their search parameters", "",
               "The server stores and searches every FHIR R4 resource type; the search parameters are those of "
               "the specification (http://hl7.org/fhir/R4/searchparameter-registry.html), indexed into the "
               "`idx_*` tables by type. An export (`benhan export --all`) lists the types its database holds, "
               "with their counts.", "",
               "| Type | Search parameters |", "|---|---|"]
    for t in types:
        params = ", ".join(f"`{code}` {p.type}" for code, p in sorted(parameters_for(t).items()))
        out.append(f"| {t} | {counts[t]} | {params} |" if counts is not None else f"| {t} | {params} |")
    out.append("")
    return out


def render(counts: dict[str, int] | None = None) -> str:
    lines = ["# Data dictionary", "",
             "Generated from the code by `benhan export data-dictionary` (the SQL tables from "
             "`benhan/store/schema.py`, the FHIR search parameters from the R4 specification); a test keeps "
             "docs/data-dictionary.md equal to it. `benhan export --all` writes one beside the data.", ""]
    lines += tables_markdown()
    lines += types_markdown(counts)
    return "\n".join(lines).rstrip("\n") + "\n"
