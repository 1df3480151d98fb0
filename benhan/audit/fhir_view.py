"""An audit row as an R4 AuditEvent (http://hl7.org/fhir/R4/auditevent.html). The codes chosen, and
why, are listed in docs/audit.md "The AuditEvent"; keep the two in step.

A row is rendered when it is read: the trail stores compact rows (a read costs one small insert)
and the AuditEvent is a view of them, so changing this mapping never touches the hashed rows.
"""
from __future__ import annotations

import base64
from typing import Any

import orjson

from benhan.fhir.datetimes import format_instant, from_us

BENHAN = "https://benhan.vn/fhir"
EVENT_SYSTEM = f"{BENHAN}/CodeSystem/audit-event"       # benhan's own event codes (login, print, …)
ROLE_SYSTEM = f"{BENHAN}/CodeSystem/role"               # benhan's user roles (auth.roles)
USERNAME_SYSTEM = f"{BENHAN}/sid/username"
CLIENT_SYSTEM = f"{BENHAN}/sid/oauth-client"
NODE_SYSTEM = f"{BENHAN}/sid/node"

EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
SECURITY_ROLE_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"

# FHIR RESTful interactions, as the repository records them (restful-interaction codes).
REST = frozenset({"read", "vread", "update", "patch", "delete", "history-instance", "history-type",
                  "history-system", "create", "search-type", "search-system", "transaction", "batch",
                  "operation", "capabilities"})


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


_REST_TYPE = _coding(EVENT_TYPE, "rest", "RESTful Operation")
# Events outside the REST API: (AuditEvent.type, a DICOM subtype if one fits).
_OTHER: dict[str, tuple[dict, dict | None]] = {
    "login": (_coding(DCM, "110114", "User Authentication"), _coding(DCM, "110122", "Login")),
    "logout": (_coding(DCM, "110114", "User Authentication"), _coding(DCM, "110123", "Logout")),
    "break-glass": (_coding(DCM, "110113", "Security Alert"), _coding(DCM, "110127", "Emergency Override Started")),
    "permission": (_coding(DCM, "110113", "Security Alert"), _coding(DCM, "110137", "User security Attributes Changed")),
    "print": (_coding(DCM, "110106", "Export"), None),
    "export": (_coding(DCM, "110106", "Export"), None),
    "import": (_coding(DCM, "110107", "Import"), None),       # benhan import, POST $import (one per run)
    "sign": (_coding(DCM, "110110", "Patient Record"), None),
}
_APPLICATION = _coding(DCM, "110100", "Application Activity")    # anything else (backup, restore …)


def event_type(interaction: str) -> dict:
    if interaction in REST:
        return _REST_TYPE
    return _OTHER.get(interaction, (_APPLICATION, None))[0]


def event_subtypes(interaction: str, subtype: str | None) -> list[dict]:
    if interaction in REST:
        return [_coding(RESTFUL, interaction)]
    dicom = _OTHER.get(interaction, (None, None))[1]
    codes = [dicom] if dicom else []
    codes.append(_coding(EVENT_SYSTEM, interaction))
    if subtype and subtype != interaction:
        codes.append(_coding(EVENT_SYSTEM, subtype))
    return codes


def interactions_of_type(system: str | None, code: str) -> tuple[str, frozenset[str]]:
    """The interactions whose events have this type: ("in", names) or ("not-in", names) for the
    catch-all Application Activity. (audit.trail's `type` parameter.)"""
    if code == "rest" and system in (None, EVENT_TYPE):
        return "in", REST
    if system in (None, DCM) and code == _APPLICATION["code"]:
        return "not-in", REST | frozenset(_OTHER)
    names = frozenset(n for n, (t, _) in _OTHER.items() if t["code"] == code and system in (None, DCM))
    return "in", names


def interactions_of_subtype(system: str | None, code: str) -> frozenset[str]:
    """The interactions whose events carry this subtype (audit.trail's `subtype` parameter)."""
    found = set()
    if system in (None, RESTFUL) and code in REST:
        found.add(code)
    if system in (None, RESTFUL) and code in ("history", "search"):
        found |= {n for n in REST if n.startswith(code + "-")}
    if system in (None, DCM):
        found |= {n for n, (_, s) in _OTHER.items() if s and s["code"] == code}
    if system in (None, EVENT_SYSTEM) and code not in REST:
        found.add(code)
    return frozenset(found)


def event_id(node_id: str, seq: int) -> str:
    return f"{node_id}-{seq}"


def render(row: Any, node_id: str, facility: str | None = None) -> dict:
    """The AuditEvent for one trail row (store.audit_query.search's columns)."""
    event: dict[str, Any] = {"resourceType": "AuditEvent", "id": event_id(node_id, row.seq),
                             "type": event_type(row.interaction)}
    event["subtype"] = event_subtypes(row.interaction, row.subtype)
    event["action"] = row.action
    event["recorded"] = format_instant(from_us(row.recorded))
    event["outcome"] = row.outcome
    if row.purpose == "BTG":
        event["purposeOfEvent"] = [{"coding": [_coding(ACT_REASON, "BTG", "break the glass")]}]
    event["agent"] = _agents(row)
    source: dict[str, Any] = {"observer": {"identifier": {"system": NODE_SYSTEM, "value": node_id},
                                           **({"display": facility} if facility else {})},
                              "type": [_coding(SOURCE_TYPE, "4", "Application Server")]}
    if facility:
        source["site"] = facility
    event["source"] = source
    entities = _entities(row)
    if entities:
        event["entity"] = entities
    return event


def _agents(row: Any) -> list[dict]:
    if row.client_id and row.agent == row.client_id:
        # A backend system acting for itself (SMART Backend Services): one agent, the application.
        system: dict[str, Any] = {"type": {"coding": [_coding(DCM, "110150", "Application")]},
                                  "who": {"identifier": {"system": CLIENT_SYSTEM, "value": row.client_id},
                                          "display": row.client_id},
                                  "requestor": True}
        if row.source_address:
            system["network"] = {"address": row.source_address, "type": "2"}
        return [system]
    display = getattr(row, "display_name", None)
    practitioner = getattr(row, "practitioner_id", None)
    who: dict[str, Any] = {"identifier": {"system": USERNAME_SYSTEM, "value": row.agent}}
    if practitioner:
        who["reference"] = f"Practitioner/{practitioner}"
    who["display"] = display or row.agent
    user: dict[str, Any] = {}
    if row.role:
        user["type"] = {"coding": [_coding(SECURITY_ROLE_TYPE, "humanuser", "human user")]}
        user["role"] = [{"coding": [_coding(ROLE_SYSTEM, r)]} for r in row.role.split()]
    user["who"] = who
    user["altId"] = row.agent
    if display:
        user["name"] = display
    user["requestor"] = True
    if row.source_address:
        user["network"] = {"address": row.source_address, "type": "2"}     # 2 = IP address
    agents = [user]
    if row.client_id:
        agents.append({"type": {"coding": [_coding(DCM, "110150", "Application")]},
                       "who": {"identifier": {"system": CLIENT_SYSTEM, "value": row.client_id},
                               "display": row.client_id},
                       "requestor": False})
    return agents


def _entities(row: Any) -> list[dict]:
    out = []
    patients = row.patients.split(" ") if row.patients else []
    if row.res_type and row.res_id:
        ref = f"{row.res_type}/{row.res_id}" + (f"/_history/{row.version}" if row.version else "")
        is_patient = row.res_type == "Patient"
        out.append({"what": {"reference": ref}, "type": _coding(RESOURCE_TYPES, row.res_type),
                    "role": _coding(OBJECT_ROLE, "1", "Patient") if is_patient else
                    _coding(OBJECT_ROLE, "4", "Domain Resource")})
    for pid in patients:
        if row.res_type == "Patient" and row.res_id == pid:
            continue        # the resource entity above is this patient already
        out.append({"what": {"reference": f"Patient/{pid}"}, "type": _coding(RESOURCE_TYPES, "Patient"),
                    "role": _coding(OBJECT_ROLE, "1", "Patient")})
    if row.query is not None:
        # The query as the client could send it again, relative to the FHIR base.
        if row.res_type and row.res_id:
            text = f"{row.res_type}/{row.res_id}/{row.query}"
        else:
            text = f"{row.res_type or ''}?{row.query}"
        query: dict[str, Any] = {"type": _coding(RESOURCE_TYPES, row.res_type) if row.res_type and not row.res_id
                                 else _coding(ENTITY_TYPE, "2", "System Object"),
                                 "role": _coding(OBJECT_ROLE, "24", "Query"),
                                 "query": base64.b64encode(text.encode("utf-8")).decode("ascii")}
        out.append(query)
    elif row.res_type and not row.res_id:
        out.append({"type": _coding(RESOURCE_TYPES, row.res_type), "role": _coding(OBJECT_ROLE, "4", "Domain Resource")})
    detail = _detail(row.detail)
    if detail:
        out.append(detail)
    return out


def _detail(text: str | None) -> dict | None:
    """The event's JSON detail (login reason, the account changed …) as an entity: the account as
    a Security User Entity when one is named, each other key as entity.detail."""
    if not text:
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = {"detail": text}
    if not isinstance(data, dict):
        data = {"detail": data}
    entity: dict[str, Any] = {}
    user = data.pop("user", None)
    if user is not None:
        entity["what"] = {"identifier": {"system": USERNAME_SYSTEM, "value": str(user)}}
        entity["type"] = _coding(ENTITY_TYPE, "1", "Person")
        entity["role"] = _coding(OBJECT_ROLE, "11", "Security User Entity")
    else:
        entity["type"] = _coding(ENTITY_TYPE, "4", "Other")
    details = []
    for key, value in data.items():
        text_value = value if isinstance(value, str) else orjson.dumps(value).decode()
        if text_value == "":
            continue
        details.append({"type": str(key), "valueString": text_value})
    if details:
        entity["detail"] = details
    return entity
