"""Audit rows as R4 AuditEvents: every kind of row renders to a resource the server's own
validator accepts, with the codes docs/audit.md lists."""
from __future__ import annotations

import base64
import json

import pytest

from benhan.audit import fhir_view, trail
from benhan.auth.actor import Actor
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord
from tests.audit.helpers import a_working_day

KINDS = [
    dict(interaction="read", res_type="Observation", res_id="o1", version=2, patients=("p1",)),
    dict(interaction="vread", res_type="Observation", res_id="o1", version=1, patients=("p1",), outcome="4"),
    dict(interaction="create", res_type="Patient", res_id="p1", version=1, patients=("p1",)),
    dict(interaction="update", res_type="Patient", res_id="p1", version=2, patients=("p1",)),
    dict(interaction="patch", res_type="Observation", res_id="o1", version=3, patients=("p1",)),
    dict(interaction="delete", res_type="Observation", res_id="o1", version=4),
    dict(interaction="search-type", res_type="Observation", query="subject=Patient/p1&_count=20",
         patients=("p1", "p2")),
    dict(interaction="search-system", query="_type=Patient&name=Nguyễn"),
    dict(interaction="history-instance", res_type="Patient", res_id="p1", patients=("p1",)),
    dict(interaction="history-type", res_type="Patient"),
    dict(interaction="history-system"),
    dict(interaction="operation", res_type="Patient", res_id="p1", query="$everything?_count=20", patients=("p1",)),
    dict(interaction="read", res_type="Observation", res_id="o9", patients=("p9",), purpose="BTG",
         client_id="smart-app"),
    dict(interaction="login", subtype="login", detail=json.dumps({"user": "bs.lan"})),
    dict(interaction="login", subtype="login", outcome="4", detail=json.dumps({"user": "bs.lan", "reason": "wrong password"})),
    dict(interaction="logout", subtype="logout", detail=json.dumps({"user": "bs.lan", "everywhere": True})),
    dict(interaction="break-glass", subtype="break-glass", patients=("p9",),
         detail=json.dumps({"reason": "cấp cứu", "minutes": 120})),
    dict(interaction="permission", subtype="permission", detail=json.dumps({"user": "dd.hoa", "change": "roles"})),
    dict(interaction="print", subtype="print", res_type="Composition", res_id="c1", version=1, patients=("p1",)),
    dict(interaction="export", subtype="export", patients=("p1",), detail="not json"),
    dict(interaction="sign", subtype="sign", res_type="Composition", res_id="c1", version=2, patients=("p1",)),
    dict(interaction="backup", detail=json.dumps(["a", 1])),
    # issue 11 items 3, 4: a restore, the stand-in for a row the database refused, and a request's
    # unstorable values (escaped, cut) all render as valid AuditEvents.
    dict(interaction="restore", subtype="restore",
         detail=json.dumps({"file": "benhan-manual-x.sqlite.gz", "restored_head": "3:ab", "replaced_head": None})),
    dict(interaction="audit-failure", subtype="audit-failure", outcome="8", patients=("p1",),
         detail=json.dumps({"note": "audit row could not be stored", "interaction": "read", "error": "DataError"})),
    dict(interaction="search-type", res_type="Patient", query="_elements=\x00&name=" + "\ud800é" * 5000,
         res_id="\x01" * 80, patients=("p 1", "\x00" * 70)),
]


@pytest.fixture
def rendered(store):  # noqa: ANN001, ANN201
    records = [AuditRecord(recorded=1_780_000_000_000_000 + i, agent="bs.lan", role="doctor nurse",
                           source_address="192.168.1.20", **k) for i, k in enumerate(KINDS)]
    audit_log.append(store.db, records)
    page = trail.search(store, Actor.system(), [("_count", "100"), ("_sort", "date")])
    return page.events(store.node_id, "Trạm y tế xã An Bình")


def test_every_kind_of_row_is_a_valid_r4_audit_event(store, rendered):
    assert len(rendered) == len(KINDS)
    for event in rendered:
        assert store.validate(event) == [], event


def test_a_working_days_events_are_valid_too(store):
    a_working_day(store)
    page = trail.search(store, Actor.system(), [("_count", "1000")])
    assert page.rows
    for event in page.events(store.node_id):
        assert store.validate(event) == [], event


def test_rest_interactions_are_typed_rest_with_their_interaction_as_subtype(rendered):
    read = rendered[0]
    assert read["type"]["code"] == "rest"
    assert read["subtype"] == [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read"}]
    assert (read["action"], read["outcome"]) == ("R", "0")
    assert read["recorded"] == "2026-05-28T20:26:40.000Z"


def test_the_resource_and_each_patient_are_entities(rendered):
    read = rendered[0]
    assert [e["what"]["reference"] for e in read["entity"]] == ["Observation/o1/_history/2", "Patient/p1"]
    assert read["entity"][1]["role"]["code"] == "1"
    assert [e["what"]["reference"] for e in rendered[2]["entity"]] == ["Patient/p1/_history/1"]


def test_a_search_carries_its_query_in_base64(rendered):
    search = rendered[6]
    query = next(e for e in search["entity"] if e.get("role", {}).get("code") == "24")
    assert base64.b64decode(query["query"]).decode() == "Observation?subject=Patient/p1&_count=20"
    assert [e["what"]["reference"] for e in search["entity"] if "what" in e] == ["Patient/p1", "Patient/p2"]


def test_the_user_is_the_requesting_agent_with_roles_and_address(rendered):
    user = rendered[0]["agent"][0]
    assert user["who"]["identifier"] == {"system": fhir_view.USERNAME_SYSTEM, "value": "bs.lan"}
    assert [r["coding"][0]["code"] for r in user["role"]] == ["doctor", "nurse"]
    assert user["requestor"] is True
    assert user["network"] == {"address": "192.168.1.20", "type": "2"}


def test_an_oauth_client_is_a_second_agent(rendered):
    agents = rendered[12]["agent"]
    assert len(agents) == 2
    assert agents[1]["who"]["identifier"]["value"] == "smart-app"
    assert agents[1]["requestor"] is False


def test_break_the_glass_access_carries_purpose_btg(rendered):
    assert rendered[12]["purposeOfEvent"] == [{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG", "display": "break the glass"}]}]
    assert "purposeOfEvent" not in rendered[0]


@pytest.mark.parametrize("index, type_code, dicom_subtype", [(13, "110114", "110122"), (15, "110114", "110123"),
                                                             (16, "110113", "110127"), (17, "110113", "110137"),
                                                             (18, "110106", None), (20, "110110", None),
                                                             (21, "110100", None)])
def test_events_outside_the_rest_api_have_dicom_types_and_benhan_subtypes(rendered, index, type_code, dicom_subtype):
    event = rendered[index]
    assert event["type"]["code"] == type_code
    codes = [(s["system"], s["code"]) for s in event["subtype"]]
    assert (fhir_view.EVENT_SYSTEM, KINDS[index]["interaction"]) in codes
    if dicom_subtype:
        assert (fhir_view.DCM, dicom_subtype) in codes


def test_a_login_names_the_account_and_its_failure_reason(rendered):
    failed = rendered[14]
    assert failed["outcome"] == "4"
    account = failed["entity"][-1]
    assert account["what"]["identifier"]["value"] == "bs.lan"
    assert account["detail"] == [{"type": "reason", "valueString": "wrong password"}]


def test_the_source_is_this_node_and_the_id_is_node_and_seq(store, rendered):
    assert rendered[0]["source"]["observer"]["identifier"] == {"system": fhir_view.NODE_SYSTEM, "value": store.node_id}
    assert rendered[0]["source"]["site"] == "Trạm y tế xã An Bình"
    assert all(e["id"].startswith(store.node_id + "-") for e in rendered)
    seqs = [int(e["id"].rsplit("-", 1)[1]) for e in rendered]
    assert seqs == sorted(seqs)
