"""OperationOutcome builders (http://hl7.org/fhir/R4/operationoutcome.html)."""
from __future__ import annotations

from benhan.errors import BenhanError

ERROR_SYSTEM = "https://benhan.vn/fhir/CodeSystem/error"


def issue(severity: str, code: str, message: str, expression: str | None = None,
          error_code: str | None = None) -> dict:
    out: dict = {"severity": severity, "code": code}
    if error_code:
        out["details"] = {"coding": [{"system": ERROR_SYSTEM, "code": error_code}], "text": message}
    else:
        out["details"] = {"text": message}
    out["diagnostics"] = message
    if expression:
        out["expression"] = [expression]
    return out


def from_error(err: BenhanError) -> dict:
    issues = [issue("error" if err.status >= 400 else "information", err.issue_type, err.message,
                    err.expression, err.code)]
    for d in err.details:
        issues.append(issue(d.severity, d.code, d.message, d.expression, err.code))
    return {"resourceType": "OperationOutcome", "issue": issues}


def information(message: str, code: str = "informational") -> dict:
    return {"resourceType": "OperationOutcome", "issue": [issue("information", code, message)]}
