"""Issue 11 item 2: what a node may write at the hub. A node's push is checked version by version
before anything is applied: patient data only about the patients it holds (or creates in the
push), an existing record only when every patient it is about at the hub is one of those, and
shared reference data (registries) only when it is the node's own — created by it, or its
facility's — or the hub admin let it author that type. Everything else is refused: not applied,
audited at the hub, and shown to the node's operator.

The property test plays the attacker with the raw protocol (node A's real token, versions crafted
to apply cleanly: base = what the hub holds), over resource types × who owns the target × what
the new version says."""
from __future__ import annotations

import itertools
import uuid

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from sqlalchemy import select

from benhan.fhir.datetimes import format_instant, from_us
from benhan.store import sync_tables as st
from benhan.store.schema import audit_event
from benhan.sync import status, wire
from benhan.sync.node import now_us
from tests import factories
from tests.server_process import run_benhan

# Patient-compartment types with the element naming their patient, and shared registry types.
COMPARTMENT = {"Observation": "subject", "Condition": "subject", "Encounter": "subject",
               "AllergyIntolerance": "patient", "Procedure": "subject"}
REGISTRY = ("Practitioner", "Location", "Medication", "Organization", "HealthcareService")


def _body(res_type: str, res_id: str, patient: str | None, *, text: str, facility: str | None = None) -> dict:
    """A minimal valid resource of the type; about `patient` (compartment types), managed by
    `facility` (registry types that can say so)."""
    ref = {"reference": f"Patient/{patient}"} if patient else None
    body: dict = {"resourceType": res_type, "id": res_id}
    if res_type == "Patient":
        body.update({k: v for k, v in factories.patient(family=text).items() if k != "resourceType"})
    elif res_type == "Observation":
        body.update(status="final", code={"text": text}, subject=ref)
    elif res_type == "Condition":
        body.update(code={"text": text}, subject=ref)
    elif res_type == "Encounter":
        body.update(status="finished", subject=ref, serviceType={"text": text},
                    **{"class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}})
    elif res_type == "AllergyIntolerance":
        body.update(code={"text": text}, patient=ref)
    elif res_type == "Procedure":
        body.update(status="completed", code={"text": text}, subject=ref)
    elif res_type == "Practitioner":
        body.update(name=[{"family": text}])
    elif res_type == "Location":
        body.update(name=text, **({"managingOrganization": {"reference": f"Organization/{facility}"}}
                                  if facility else {}))
    elif res_type == "Medication":
        body.update(code={"text": text})
    elif res_type == "Organization":
        body.update(name=text, **({"partOf": {"reference": f"Organization/{facility}"}} if facility else {}))
    elif res_type == "HealthcareService":
        body.update(name=text, **({"providedBy": {"reference": f"Organization/{facility}"}} if facility else {}))
    return {k: v for k, v in body.items() if v is not None}


class Attacker:
    """Node A speaking the protocol directly with its own credentials."""

    def __init__(self, node, hub):  # noqa: ANN001
        self.node, self.hub = node, hub
        self.client = node.sync().hub
        with hub.store.db.read() as conn:
            start = st.node_row(conn, name=node.name).push_seq
        self.seqs = itertools.count(start + 1)

    def push(self, *versions: tuple[str, str, int, int | None, dict | None]) -> dict:
        """Push (type, id, version, base, body or None for a deletion) as one batch; the answer."""
        out = []
        for res_type, res_id, version, base, body in versions:
            now = now_us()
            raw = None
            if body is not None:
                body = dict(body, meta={"versionId": str(version), "lastUpdated": format_instant(from_us(now))})
                raw = orjson.dumps(body)
            out.append(wire.Version(next(self.seqs), res_type, res_id, version, base, body is None,
                                    "DELETE" if body is None else "PUT", now, raw, agent="mallory"))
        header = {"kind": "push", "batch": wire.batch_id(self.node.store.node_id, out[0].seq, out[-1].seq),
                  "node": self.node.store.node_id, "first": out[0].seq, "last": out[-1].seq, "backlog": 0}
        return self.client.push(wire.Message(header, out))


def review_page(node) -> str:  # noqa: ANN001
    """The node's /admin/sync page as a doctor sees it (Vietnamese)."""
    from starlette.testclient import TestClient

    from benhan.auth import users
    from benhan.web.app import create_app
    from tests.sync.test_review_page import PASSWORD, _login
    name = f"bs-{uuid.uuid4().hex[:6]}"
    users.create_user(node.store, name, "Bác sĩ Lan", ["doctor"], password=PASSWORD)
    with TestClient(create_app(node.store.config, node.store)) as browser:
        _login(browser, name)
        page = browser.get("/admin/sync")
        assert page.status_code == 200
        return page.text


def _held(hub, res_type: str, res_id: str) -> tuple[int, bytes | None]:  # noqa: ANN001
    """(version, current body) at the hub; (0, None) when absent."""
    found = hub.repo.store.db
    with found.read() as conn:
        slot = st.current(conn, [(res_type, res_id)], lock=False).get((res_type, res_id))
        if slot is None:
            return 0, None
        return slot.version, st.version_body(conn, slot.pk, slot.version)


@pytest.fixture
def world(hub, make_node):  # noqa: ANN001, ANN201
    """Hub, node A (facility org-a) and node B (org-b), each with a patient of its own synced."""
    org_a = hub.repo.create("Organization", {"resourceType": "Organization", "name": "TYT A"}).res_id
    org_b = hub.repo.create("Organization", {"resourceType": "Organization", "name": "TYT B"}).res_id
    a, b = make_node("tyt-a", organization_id=org_a), make_node("tyt-b", organization_id=org_b)
    pa = a.repo.create("Patient", factories.patient()).res_id
    pb = b.repo.create("Patient", factories.patient()).res_id
    a.round()
    b.round()
    return {"hub": hub, "a": a, "b": b, "org_a": org_a, "org_b": org_b, "pa": pa, "pb": pb,
            "attacker": Attacker(a, hub)}


def _make_target(w: dict, owner: str, res_type: str) -> tuple[str, str | None]:
    """A resource of `res_type` held at the hub and made by `owner` (a, b, hub); its id and, for
    compartment types, its patient."""
    res_id = str(uuid.uuid4())
    patient = {"a": w["pa"], "b": w["pb"], "hub": w["pb"]}[owner] if res_type in COMPARTMENT else None
    if res_type == "Patient":
        patient = res_id
    body = _body(res_type, res_id, patient, text="gốc")
    if owner == "a":
        answer = w["attacker"].push((res_type, res_id, 1, None, body))
        assert answer["applied"] == 1 and not answer["refused"], answer
        if res_type == "Patient":
            patient = res_id
    elif owner == "b":
        w["b"].repo.update(res_type, res_id, body)
        w["b"].round()
    else:
        w["hub"].repo.update(res_type, res_id, body)
    return res_id, patient


CASES = hs.fixed_dictionaries({
    "res_type": hs.sampled_from(["Patient", *COMPARTMENT, *REGISTRY]),
    "owner": hs.sampled_from(["new", "a", "b", "hub"]),
    "action": hs.sampled_from(["update", "delete"]),
    "about": hs.sampled_from(["a", "b"]),            # the patient the new version names
    "facility": hs.sampled_from([None, "a", "b"]),   # the Organization a registry version says manages it
    "allowed_types": hs.sampled_from([(), ("Practitioner",), ("*",)]),
})


def _expected(case: dict, target_patient_owner: str | None) -> bool:
    """The oracle, written from the rule as docs/sync.md states it."""
    res_type, owner = case["res_type"], case["owner"]
    if res_type == "Patient":
        return owner in ("new", "a")
    if res_type in COMPARTMENT:
        if owner == "new":
            return case["action"] == "update" and case["about"] == "a"
        if target_patient_owner != "a":
            return False
        return case["action"] == "delete" or case["about"] == "a"
    if owner in ("new", "a"):
        return True
    allowed = case["allowed_types"]
    return "*" in allowed or res_type in allowed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(case=CASES)
def test_a_node_writes_only_what_is_its_own(world, case):  # noqa: ANN001
    w = world
    hub = w["hub"]
    with hub.store.db.write() as conn:
        st.set_node_authoring(conn, "tyt-a", case["allowed_types"])
    res_type = case["res_type"]
    if case["owner"] == "new":
        res_id, patient_owner = str(uuid.uuid4()), None
        if case["action"] == "delete":
            case = dict(case, action="update")     # nothing to delete: a creation
    else:
        res_id, patient = _make_target(w, case["owner"], res_type)
        patient_owner = {w["pa"]: "a", w["pb"]: "b"}.get(patient, "a" if case["owner"] == "a" else None)
    held, before = _held(hub, res_type, res_id)
    about = w["p" + case["about"]]
    facility = {None: None, "a": w["org_a"], "b": w["org_b"]}[case["facility"]]
    body = None if case["action"] == "delete" else _body(
        res_type, res_id, res_id if res_type == "Patient" else about, text=f"sửa {uuid.uuid4().hex[:6]}",
        facility=facility)
    answer = w["attacker"].push((res_type, res_id, held + 1, held or None, body))
    allowed = _expected(case, patient_owner)
    after_version, after = _held(hub, res_type, res_id)
    if allowed:
        assert not answer["refused"], (case, answer)
        assert after_version == held + 1, (case, answer)
    else:
        assert [r["id"] for r in answer["refused"]] == [res_id], (case, str(answer))
        assert (after_version, after) == (held, before), f"refused but applied: {case}"
        with hub.store.db.read() as conn:
            events = conn.execute(select(audit_event.c.outcome, audit_event.c.agent).where(
                (audit_event.c.subtype == "sync-refused") & (audit_event.c.res_id == res_id))).all()
        assert events and events[-1].outcome == "8" and events[-1].agent == "tyt-a/mallory"
    with hub.store.db.read() as conn:
        assert w["pb"] not in st.scope_patients(conn, "tyt-a"), "node A took another facility's patient"


def test_another_facility_s_patient_cannot_be_taken_over_and_nothing_leaks_back(world):  # noqa: ANN001
    """The reproduction: A pushes a new version of B's patient with base = the hub's version."""
    w = world
    obs = w["b"].repo.create("Observation", factories.observation(f"Patient/{w['pb']}")).res_id
    w["b"].round()
    held, before = _held(w["hub"], "Patient", w["pb"])
    answer = w["attacker"].push(("Patient", w["pb"], held + 1, held, _body("Patient", w["pb"], None, text="Kẻ gian")))
    assert answer["refused"][0]["reason"] == "resource-not-held" and answer["applied"] == 0
    assert _held(w["hub"], "Patient", w["pb"]) == (held, before)
    w["a"].round()
    with w["a"].store.db.read() as conn:
        assert st.current(conn, [("Observation", obs), ("Patient", w["pb"])], lock=False) == {}


def test_the_operator_sees_what_the_hub_refused(world):  # noqa: ANN001
    """Through the node's own round: a local edit of the hub's Practitioner (shared data the node
    does not own) is refused, kept in the node's status, and the round says so."""
    w = world
    doctor = w["hub"].repo.create("Practitioner", {"resourceType": "Practitioner", "name": [{"family": "Lê"}]}).res_id
    w["a"].round()                                       # A receives it, as every node does
    mine = w["a"].repo.read("Practitioner", doctor).json()
    mine["name"] = [{"family": "Lê", "given": ["sửa ở A"]}]
    w["a"].repo.update("Practitioner", doctor, mine)
    result = w["a"].round()
    assert [(r["type"], r["id"], r["reason"]) for r in result.refused] == [("Practitioner", doctor, "registry-not-own")]
    seen = status.node_status(w["a"].store)
    assert seen["refused"] == 1 and seen["refused_recent"][0]["id"] == doctor
    assert _held(w["hub"], "Practitioner", doctor)[0] == 1
    assert w["a"].round().pushed == 0                    # acknowledged: not sent again and again
    page = review_page(w["a"])
    assert "Hub từ chối (ngoài phạm vi của cơ sở): 1" in page and f"Practitioner/{doctor}" in page

    # The hub admin lets the node author Practitioners (a patient type is refused in one line):
    # the next edit goes through.
    where = ["--data-dir", str(w["hub"].store.config.data_dir)]
    if not w["hub"].store.db.is_sqlite:
        where += ["--database-url", w["hub"].store.config.sqlalchemy_url]
    wrong = run_benhan("node", "may-author", "tyt-a", "Observation", *where)
    assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr
    done = run_benhan("node", "may-author", "tyt-a", "Practitioner", *where)
    assert done.returncode == 0, done.stderr
    with w["hub"].store.db.read() as conn:
        assert st.node_authoring(conn, "tyt-a") == {"Practitioner"}
    mine = w["a"].repo.read("Practitioner", doctor).json()
    mine["active"] = True
    w["a"].repo.update("Practitioner", doctor, mine)
    result = w["a"].round()
    assert not result.refused


def test_a_facility_s_own_registry_entries_are_its_own_to_edit(world):  # noqa: ANN001
    """Made at the hub but the facility's: its Organization, and a Location it manages."""
    w = world
    ward = w["hub"].repo.create("Location", _body("Location", "x", None, text="Khoa Nội",
                                                  facility=w["org_a"]) | {"id": None}).res_id
    for res_type, res_id, facility in (("Organization", w["org_a"], None), ("Location", ward, w["org_a"])):
        held, _ = _held(w["hub"], res_type, res_id)
        answer = w["attacker"].push((res_type, res_id, held + 1, held,
                                     _body(res_type, res_id, None, text="TYT A mới", facility=facility)))
        assert answer["applied"] == 1 and not answer["refused"], answer
    held, _ = _held(w["hub"], "Organization", w["org_b"])
    answer = w["attacker"].push(("Organization", w["org_b"], held + 1, held,
                                 _body("Organization", w["org_b"], None, text="chiếm")))
    assert answer["refused"] and answer["applied"] == 0
