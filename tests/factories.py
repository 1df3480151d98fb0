"""Test data builders: small valid resources with Vietnamese content."""
from __future__ import annotations

import itertools

from benhan.vn.identifiers import CCCD_SYSTEM

_serial = itertools.count(1)
FHIR_JSON = {"content-type": "application/fhir+json"}


def patient(family: str = "Nguyễn", given: tuple[str, ...] = ("Văn", "An"), cccd: str | None = None,
            **extra) -> dict:
    cccd = cccd or f"001085{next(_serial):06d}"
    return {"resourceType": "Patient",
            "identifier": [{"system": CCCD_SYSTEM, "value": cccd}],
            "name": [{"family": family, "given": list(given)}],
            "gender": "male", "birthDate": "1985-03-15", **extra}


def observation(subject: str, code: str = "8867-4", value: float = 72, **extra) -> dict:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": subject},
            "effectiveDateTime": "2026-11-20T08:30:00+07:00",
            "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
            **extra}


def issue_codes(outcome: dict) -> list[str]:
    return [c["code"] for i in outcome["issue"] for c in i.get("details", {}).get("coding", [])]


def issue_expressions(outcome: dict) -> list[str]:
    return [e for i in outcome["issue"] for e in i.get("expression", [])]
