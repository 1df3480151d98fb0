"""PATCH with JSON Merge Patch (RFC 7386, application/merge-patch+json), beside JSON Patch: the same
validation, versioning, If-Match, audit and identifier rules; in a batch or transaction as a Binary
with that contentType. On SQLite and PostgreSQL. The merge itself is checked against RFC 7386's own
examples and, as a property, against its definition."""
from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from benhan.fhir.patch import merge
from benhan.fhir.resource_json import dumps
from tests.factories import FHIR_JSON, issue_codes, patient

MERGE = {"content-type": "application/merge-patch+json"}


def _create(client) -> dict:  # noqa: ANN001
    r = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON)
    assert r.status_code == 201
    return r.json()


def test_a_merge_patch_changes_adds_and_removes_members_and_makes_a_version(client):
    p = _create(client)
    r = client.patch(f"/fhir/Patient/{p['id']}", content=b'{"gender":"female","birthDate":null,'
                     b'"telecom":[{"system":"phone","value":"0912345678"}]}', headers=MERGE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["gender"] == "female" and "birthDate" not in body and body["telecom"][0]["value"] == "0912345678"
    assert body["meta"]["versionId"] == "2" and r.headers["etag"] == 'W/"2"'
    assert body["name"] == p["name"] and body["identifier"] == p["identifier"]
    assert client.get(f"/fhir/Patient/{p['id']}").json() == body


def test_a_merge_patch_honours_if_match_validation_and_the_id(client):
    p = _create(client)
    url = f"/fhir/Patient/{p['id']}"
    r = client.patch(url, content=b'{"gender":"female"}', headers={**MERGE, "if-match": 'W/"7"'})
    assert r.status_code == 412 and issue_codes(r.json()) == ["BENHAN-2004"]
    r = client.patch(url, content=b'{"gender":"neither"}', headers=MERGE)
    assert r.status_code == 422 and issue_codes(r.json())[0] == "BENHAN-3001"
    r = client.patch(url, content=b'{"id":"other"}', headers=MERGE)
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1014"]
    r = client.patch(url, content=b'[{"op":"remove","path":"/gender"}]', headers=MERGE)
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1014"]
    assert client.get(url).json()["meta"]["versionId"] == "1"
    r = client.patch(url, content=b'{"gender":"female"}', headers={**MERGE, "if-match": 'W/"1"'})
    assert r.status_code == 200 and r.json()["gender"] == "female"


def test_a_conditional_merge_patch_and_its_audit_event(client):
    p = _create(client)
    number = p["identifier"][0]["value"]
    r = client.patch("/fhir/Patient", params={"identifier": f"{p['identifier'][0]['system']}|{number}"},
                     content=b'{"gender":"other"}', headers=MERGE)
    assert r.status_code == 200 and r.json()["gender"] == "other"
    events = client.get("/fhir/AuditEvent", params={"entity": f"Patient/{p['id']}", "_count": "50"}).json()
    subtypes = [c.get("code") for e in events.get("entry", []) for c in e["resource"].get("subtype", [])]
    assert "patch" in subtypes, subtypes


def test_a_merge_patch_in_a_batch_and_a_transaction(client):
    for kind in ("batch", "transaction"):
        p = _create(client)
        binary = {"resourceType": "Binary", "contentType": "application/merge-patch+json",
                  "data": base64.b64encode(b'{"gender":"female"}').decode()}
        r = client.post("/fhir", json={"resourceType": "Bundle", "type": kind, "entry": [
            {"resource": binary, "request": {"method": "PATCH", "url": f"Patient/{p['id']}"}}]}, headers=FHIR_JSON)
        assert r.status_code == 200, r.text
        assert r.json()["entry"][0]["response"]["status"] == "200 OK"
        assert client.get(f"/fhir/Patient/{p['id']}").json()["gender"] == "female"


def test_the_examples_of_rfc_7386_appendix_a():
    cases = [({"a": "b"}, {"a": "c"}, {"a": "c"}), ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
             ({"a": "b"}, {"a": None}, {}), ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
             ({"a": ["b"]}, {"a": "c"}, {"a": "c"}), ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
             ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
             ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}), (["a", "b"], ["c", "d"], ["c", "d"]),
             ({"a": "b"}, ["c"], ["c"]), ({"a": "foo"}, None, None), ({"a": "foo"}, "bar", "bar"),
             ({"e": None}, {"a": 1}, {"e": None, "a": 1}), ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
             ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}})]
    for target, patch, result in cases:
        assert merge(target, patch) == result


json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
                           max_leaves=12)


@given(target=st.dictionaries(st.text(max_size=2), json_values, max_size=4),
       patch=st.dictionaries(st.text(max_size=2), json_values, max_size=4))
def test_a_merge_leaves_untouched_members_alone_and_never_changes_its_inputs(target, patch):
    before = (dumps(target), dumps(patch))
    out = merge(target, patch)
    assert (dumps(target), dumps(patch)) == before
    for name, value in target.items():
        if name not in patch:
            assert out[name] == value
    for name, value in patch.items():
        assert (name not in out) if value is None else name in out
