"""Identifier rules the store enforces on every write it makes, whoever writes (the REST API,
batch and transaction entries, PATCH, the clinician app, the CLI): the format of an identifier
system's values, and that an active, not-replaced Patient holds a value no other such Patient
holds (a CCCD is one person's).

The rules themselves are Vietnamese (benhan.vn knows a CCCD), and store may not import vn: the
layer that knows them installs them here (benhan.clinical.identifier_rules, at import, which every
entry point does), and the repository calls `check_format` before its transaction and
`check_unique` inside it — one place, on the one write path (docs/architecture.md).

Uniqueness is decided inside the write transaction, race-free: on PostgreSQL each value is first
taken under a transaction-scoped advisory lock, so of two concurrent writers of the same value the
second waits for the first to commit and then sees its index rows; SQLite writes are serialised
(BEGIN IMMEDIATE, one writer), so the check already sees every earlier write.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection

from benhan import errors
from benhan.errors import Detail
from benhan.fhir.references import replaced_by
from benhan.fhir.resource_json import loads
from benhan.store.writer import decode_body, fetch_all

PATIENT = "Patient"


@dataclass(frozen=True)
class IdentifierRule:
    system: str
    label: str                                   # what people call it: "CCCD"
    problems: Callable[[str], list[str]]         # why a value is not valid; [] when it is
    unique: bool = True                          # one active Patient per value


_RULES: dict[str, IdentifierRule] = {}


def install(rule: IdentifierRule) -> None:
    _RULES[rule.system] = rule


def installed() -> tuple[IdentifierRule, ...]:
    return tuple(_RULES.values())


def _identifiers(resource_body: dict) -> list[tuple[int, dict]]:
    found = resource_body.get("identifier")
    return [(i, x) for i, x in enumerate(found) if isinstance(x, dict)] if isinstance(found, list) else []


def check_format(res_type: str, body: dict) -> None:
    """422 (InvalidIdentifier) naming each identifier whose value its system's rule refuses."""
    if res_type != PATIENT or not _RULES:
        return
    details = []
    for i, ident in _identifiers(body):
        rule = _RULES.get(ident.get("system"))
        if rule is None:
            continue
        value = ident.get("value")
        problems = rule.problems(value) if isinstance(value, str) else [f"a {rule.label} needs a value"]
        details += [Detail(f"{rule.label} {value!r}: {p}", f"Patient.identifier[{i}].value", code="value")
                    for p in problems]
    if details:
        raise errors.InvalidIdentifier(details[0].message, expression=details[0].expression, details=details)


def claims(res_type: str, body: dict | None) -> list[tuple[str, str, int]]:
    """(system, value, index) of the unique identifiers this version holds as a current record:
    an inactive or replaced Patient (a merged duplicate) claims none."""
    if res_type != PATIENT or body is None or not _RULES:
        return []
    if body.get("active") is False or replaced_by(body) is not None:
        return []
    return [(x["system"], x["value"], i) for i, x in _identifiers(body)
            if (rule := _RULES.get(x.get("system"))) is not None and rule.unique and isinstance(x.get("value"), str)]


def check_unique(conn: Connection, writes: list[tuple[str, str, dict | None]], *, postgres: bool) -> None:
    """409 (DuplicateIdentifier) if a (type, id, body) written here claims a value another current
    Patient holds — stored or written in this same transaction. Called inside the write transaction."""
    wanted = [(res_id, system, value, i) for res_type, res_id, body in writes
              for system, value, i in claims(res_type, body)]
    if not wanted:
        return
    written = {res_id for res_type, res_id, _ in writes if res_type == PATIENT}
    if postgres:
        for key in sorted({f"{system}|{value}" for _, system, value, _ in wanted}):   # sorted: no deadlock
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)",
                                 (int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True),))
    seen: dict[tuple[str, str], str] = {}
    for res_id, system, value, i in wanted:
        other = seen.get((system, value))
        if other is not None and other != res_id:
            _refuse(system, value, other, i)
        seen[(system, value)] = res_id
        holders = _stored_holders(conn, system, value)
        if res_id in holders:
            continue     # it held this value already (a pair under "same person" review may be edited)
        for holder in sorted(set(holders) - written):
            _refuse(system, value, holder, i)


# On the DBAPI cursor: built with SQLAlchemy per call this cost ~0.5 ms of CPU per Patient create
# (two identifiers), most of the create's own work; a prebuilt select still ~0.2 ms.
_HOLDERS = ("SELECT r.res_id, v.encoding, v.body FROM idx_token t "
            "JOIN resource r ON r.pk = t.resource_pk "
            "JOIN resource_version v ON v.resource_pk = r.pk AND v.version = r.version "
            "WHERE t.res_type = ? AND t.param = ? AND t.system = ? AND t.code = ? AND r.deleted = ?")


def _stored_holders(conn: Connection, system: str, value: str) -> list[str]:
    """Current, active, not-replaced Patients whose stored version holds system|value."""
    out = []
    for res_id, encoding, body in fetch_all(conn, _HOLDERS, (PATIENT, "identifier", system, value, False)):
        if claims(PATIENT, loads(decode_body(encoding, body))):
            out.append(res_id)
    return out


def _refuse(system: str, value: str, holder: str, index: int) -> None:
    rule = _RULES[system]
    raise errors.DuplicateIdentifier(
        f"{rule.label} {value} is already held by Patient/{holder}; one person has one record — "
        f"update Patient/{holder}, or mark one of the two as replaced by the other",
        expression=f"Patient.identifier[{index}].value",
        details=[Detail(f"Patient/{holder}", f"Patient.identifier[{index}].value", code="duplicate")])
