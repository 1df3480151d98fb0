"""The CapabilityStatement: built from what the server really does (its interactions, the
resource types it validates, the search parameters it indexes), never a hand-kept list."""
from __future__ import annotations

from benhan import FHIR_VERSION, __version__
from benhan.fhir.search import supported
from benhan.fhir.searchparams import parameters_for

def _reference_params(resource_types: frozenset[str]) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """For each type: its reference parameters (source type, code, targets)."""
    return {t: [(t, code, p.target) for code, p in sorted(parameters_for(t).items()) if p.type == "reference"]
            for t in resource_types}


TYPE_INTERACTIONS = ["read", "vread", "update", "patch", "delete", "history-instance", "history-type",
                     "create", "search-type"]
# The audit trail is served read-only from its own table (audit/trail.py), with these parameters.
AUDIT_TRAIL_TYPE = "AuditEvent"
AUDIT_TRAIL_PARAMETERS = ("_id", "patient", "agent", "agent-name", "altid", "date", "entity", "entity-type",
                          "action", "outcome", "subtype", "type", "address", "purpose")
# FHIR Bulk Data Access IG v2 ($export: web/bulk_export_api.py).
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"
# benhan's own operations ($hosobenhan: the MoH record export, docs/hosobenhan.md; $import:
# NDJSON in, web/import_api.py) have no published definition: benhan's canonical names them.
OWN_OPERATION = "https://benhan.vn/fhir/OperationDefinition/"
HOSOBENHAN = ("hosobenhan", OWN_OPERATION + "hosobenhan")
# Operations the server answers, per resource type (definitions from the R4 spec).
OPERATIONS = {
    "Patient": [("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
                ("export", f"{BULK_DATA}/OperationDefinition/patient-export"), HOSOBENHAN],
    "Encounter": [HOSOBENHAN],
    "Group": [("export", f"{BULK_DATA}/OperationDefinition/group-export")],
    "CodeSystem": [("lookup", "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup"),
                   ("subsumes", "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes"),
                   ("validate-code", "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code")],
    "ValueSet": [("expand", "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"),
                 ("validate-code", "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code")],
}
SYSTEM_OPERATIONS = [("export", f"{BULK_DATA}/OperationDefinition/export"), ("import", OWN_OPERATION + "import"),
                     HOSOBENHAN]
SEARCH_RESULT_PARAMS = [("_count", "number"), ("_sort", "string"), ("_total", "token"),
                        ("_summary", "token"), ("_elements", "string")]


def _audit_trail_entry(params: list[dict]) -> dict:
    """AuditEvent: read and search only — the trail is append-only, written by the server."""
    wanted = set(AUDIT_TRAIL_PARAMETERS)
    return {"type": AUDIT_TRAIL_TYPE, "profile": f"http://hl7.org/fhir/StructureDefinition/{AUDIT_TRAIL_TYPE}",
            "interaction": [{"code": "read"}, {"code": "search-type"}], "readHistory": False,
            "updateCreate": False, "conditionalCreate": False, "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            # R4's own parameters of the trail ("purpose" is benhan's and documented in docs/audit.md).
            "searchParam": [p for p in params if p["name"] in wanted]}


def capability_statement(base_url: str, resource_types: frozenset[str], software_date: str) -> dict:
    rest_resources = []
    references = _reference_params(resource_types)
    for t in sorted(resource_types):
        # Only what a search answers (_text, _content, _query have no expression: refused, so not declared).
        params = [{"name": code, "definition": p.url, "type": p.type}
                  for code, p in sorted(parameters_for(t).items()) if supported(p)]
        includes = ["*"] + [f"{t}:{code}" for _, code, _ in references[t]]
        revincludes = sorted(f"{src}:{code}" for src in resource_types for _, code, targets in references[src]
                             if t in targets)
        if t == AUDIT_TRAIL_TYPE:
            rest_resources.append(_audit_trail_entry(params))
            continue
        rest_resources.append({
            "type": t,
            "profile": f"http://hl7.org/fhir/StructureDefinition/{t}",
            "interaction": [{"code": i} for i in TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "referencePolicy": ["literal", "logical"],
            "searchInclude": includes,
            # An empty list is not valid FHIR (a type nothing points at has no revincludes).
            **({"searchRevInclude": revincludes} if revincludes else {}),
            "searchParam": params,
            **({"operation": [{"name": n, "definition": d} for n, d in OPERATIONS[t]]} if t in OPERATIONS else {}),
        })
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": software_date,
        "publisher": "benhan",
        "kind": "instance",
        "instantiates": [f"{BULK_DATA}/CapabilityStatement/bulk-data"],
        "software": {"name": "benhan", "version": __version__},
        "implementation": {"description": "benhan FHIR R4 server", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "resource": rest_resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"},
                            {"code": "search-system"}],
            "searchParam": [{"name": n, "type": t} for n, t in SEARCH_RESULT_PARAMS],
            "operation": [{"name": n, "definition": d} for n, d in SYSTEM_OPERATIONS],
            "security": _security(base_url),
        }],
    }


def _security(base_url: str) -> dict:
    """SMART on FHIR: the OAuth endpoints (paths served by web/oauth_api.py) in the oauth-uris
    extension, for clients that read them here rather than from .well-known/smart-configuration."""
    root = base_url[: -len("/fhir")] if base_url.endswith("/fhir") else base_url
    uris = [("authorize", "/auth/authorize"), ("token", "/auth/token"), ("revoke", "/auth/revoke"),
            ("introspect", "/auth/introspect")]
    return {
        "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                 "code": "SMART-on-FHIR"}], "text": "OAuth2 using SMART-on-FHIR profile"}],
        "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                       "extension": [{"url": name, "valueUri": root + path} for name, path in uris]}],
    }
