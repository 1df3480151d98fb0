"""A small hospital for the access-rule tests: two departments, patients in each, staff of every
kind, built through the repository as the system."""
from __future__ import annotations

from dataclasses import dataclass, field

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from tests import factories
from tests.auth_helpers import token_for

PASSWORD = "mật khẩu đủ dài cho bệnh viện"


def encounter(patient: str, department: str, participant: str | None = None) -> dict:
    body = {"resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"Patient/{patient}"},
            "serviceProvider": {"reference": f"Organization/{department}"}}
    if participant:
        body["participant"] = [{"individual": {"reference": f"Practitioner/{participant}"}}]
    return body


@dataclass
class Ward:
    store: object
    ids: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, users.User] = field(default_factory=dict)

    def create(self, body: dict, name: str) -> str:
        stored = Repository(self.store, Actor.system("test-setup")).create(body["resourceType"], body)
        self.ids[name] = stored.res_id
        return stored.res_id

    def user(self, username: str, roles: list[str], departments: list[str] | None = None,
             practitioner: str | None = None) -> users.User:
        u, _ = users.create_user(self.store, username, username.title(), roles, departments=departments,
                                 practitioner_id=practitioner, password=PASSWORD)
        self.accounts[username] = u
        return u

    def headers(self, username: str, scope: str = "user/*.cruds", patient: str | None = None) -> dict:
        return token_for(self.store, scope, user_pk=self.accounts[username].pk, patient_id=patient)


def build(store) -> Ward:  # noqa: ANN001
    """medicine (khoa nội) holds p1; surgery (khoa ngoại) holds p2 and p3; nurse Lan works in
    medicine and also cares for p3 (a participant of p3's encounter). o1/o2/o3 are observations of
    p1/p2/p3; o1 also names p2 as performer (a reference a careless _include could follow)."""
    w = Ward(store)
    medicine = w.create({"resourceType": "Organization", "name": "Khoa Nội"}, "medicine")
    surgery = w.create({"resourceType": "Organization", "name": "Khoa Ngoại"}, "surgery")
    lan = w.create({"resourceType": "Practitioner", "name": [{"family": "Nguyễn", "given": ["Thị", "Lan"]}]}, "lan")
    for name, family in (("p1", "Trần"), ("p2", "Lê"), ("p3", "Phạm")):
        w.create(factories.patient(family=family), name)
    w.create(encounter(w.ids["p1"], medicine), "e1")
    w.create(encounter(w.ids["p2"], surgery), "e2")
    w.create(encounter(w.ids["p3"], surgery, participant=lan), "e3")
    w.create(factories.observation(f"Patient/{w.ids['p1']}", value=71,
                                   performer=[{"reference": f"Patient/{w.ids['p2']}"}]), "o1")
    w.create(factories.observation(f"Patient/{w.ids['p2']}", value=72), "o2")
    w.create(factories.observation(f"Patient/{w.ids['p3']}", value=73), "o3")
    w.user("lan", ["nurse"], [medicine], practitioner=lan)
    w.user("hung", ["doctor"], [surgery])
    w.user("tiepdon", ["registrar"])
    w.user("thungan", ["cashier"])
    w.user("kiemtra", ["auditor"])
    return w
