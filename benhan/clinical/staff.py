"""A staff member's FHIR record: the Practitioner (name, practising licence number — CCHN) and one
PractitionerRole per department, linked from their user account, so that what they write names
them and the care-relationship rules (store.access) can find them in Encounters and CareTeams."""
from __future__ import annotations

from benhan.store.repository import Repository
from benhan.vn.identifiers import CCHN_SYSTEM

ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/practitioner-role"
# benhan role → the FHIR practitioner-role code closest to it (R4 example value set).
ROLE_CODES = {"doctor": "doctor", "nurse": "nurse", "pharmacist": "pharmacist", "lab_technician": "researcher",
              "director": "doctor", "facility_admin": "ict", "registrar": "ict", "cashier": "ict", "auditor": "ict"}


def practitioner(name: str, licence: str | None) -> dict:
    family, _, given = name.strip().partition(" ")
    body: dict = {"resourceType": "Practitioner", "active": True,
                  "name": [{"text": name.strip(), "family": family, **({"given": given.split()} if given else {})}]}
    if licence:
        body["identifier"] = [{"system": CCHN_SYSTEM, "value": licence.strip()}]
    return body


def register(repo: Repository, name: str, *, licence: str | None, roles: list[str],
             departments: list[str]) -> str:
    """Create the Practitioner and its PractitionerRoles; the Practitioner's id."""
    pid = repo.create("Practitioner", practitioner(name, licence)).res_id
    codes = [{"coding": [{"system": ROLE_SYSTEM, "code": ROLE_CODES[r]}]} for r in roles if r in ROLE_CODES]
    for department in [d for d in departments if d != "*"] or [None]:
        role: dict = {"resourceType": "PractitionerRole", "active": True,
                      "practitioner": {"reference": f"Practitioner/{pid}"}, "code": codes}
        if department:
            role["organization"] = {"reference": f"Organization/{department}"}
        repo.create("PractitionerRole", role)
    return pid
