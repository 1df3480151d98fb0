"""Search values no index can hold are a 400 OperationOutcome (or simply match nothing), never a
500, on every store: a NUL character anywhere in a query (PostgreSQL takes none in text), values
longer than any column (PostgreSQL's bind casts to varchar(n) raised "value too long"), and huge
LIKE patterns (SQLite's "LIKE or GLOB pattern too complex"). And resource strings with control
characters are refused by validation (422) instead of reaching the database.
"""
from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benhan.fhir.search import MAX_VALUE_LENGTH
from tests.factories import FHIR_JSON, issue_codes, patient
from tests.search.helpers import create

# One parameter of each kind (and the AuditEvent trail, which has its own parser), with a value
# template: {} is where the long or odd text goes.
QUERIES = [
    "Patient?name={}", "Patient?name:exact={}", "Patient?name:contains={}", "Patient?family={}",
    "Patient?identifier={}", "Patient?identifier=urn:x|{}", "Patient?identifier={}|x", "Patient?_id={}",
    "Patient?gender:text={}", "Patient?general-practitioner={}", "Patient?general-practitioner=Practitioner/{}",
    "Patient?organization:identifier={}", "Observation?subject:Patient.name={}",
    "Patient?_has:Observation:subject:code={}", "Observation?value-quantity=5|{}|mg",
    "Observation?code-value-quantity={}$5", "ValueSet?url={}", "ValueSet?url:below={}",
    "ValueSet?url:above={}", "Patient?_tag={}", "Patient?_profile={}", "Patient?_source={}",
    "Patient?_security={}", "Observation?code={}", "Observation?code=http://loinc.org|{}",
    "AuditEvent?agent={}", "AuditEvent?entity={}", "AuditEvent?address={}", "AuditEvent?altid={}",
    "AuditEvent?patient={}", "AuditEvent?agent-name={}", "AuditEvent?purpose={}", "AuditEvent?_id={}",
    "Patient/p1/Observation?code={}", "Patient?_elements={}", "Patient?_sort={}", "Patient?_include={}",
    "_history?_since={}", "Patient/p1/$everything?_type={}", "ValueSet/$expand?url={}",
    "CodeSystem/$lookup?system={}&code=x",
]


def _ok(r) -> None:  # noqa: ANN001
    assert r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/fhir+json"), r.text


@pytest.mark.parametrize("length", [65, 256, MAX_VALUE_LENGTH, MAX_VALUE_LENGTH + 1, 50_001])
def test_a_long_value_of_any_kind_is_answered_not_a_500(client, length):
    create(client, patient(family="Nguyễn"))
    for query in QUERIES:
        r = client.get("/fhir/" + query.format(quote("a" * length)))
        _ok(r)
        if length > MAX_VALUE_LENGTH:
            assert r.status_code == 400, (query, r.text)
            assert "BENHAN" in r.text


def test_a_value_as_long_as_the_cap_searches_normally(client):
    """Up to the cap a long value is simply a value: a string search matches by prefix, a token
    longer than its column matches nothing (200, empty) rather than failing."""
    long_family = "N" + "g" * 900
    pid = create(client, patient(family=long_family))
    r = client.get("/fhir/Patient", params={"family": long_family[:MAX_VALUE_LENGTH]})
    assert r.status_code == 200 and [e["resource"]["id"] for e in r.json()["entry"]] == [pid]
    for query in ("Patient?identifier={}", "Patient?_id={}", "Patient?general-practitioner=Practitioner/{}"):
        r = client.get("/fhir/" + query.format("x" * (MAX_VALUE_LENGTH - 20)))
        assert r.status_code == 200 and "entry" not in r.json(), (query, r.text)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.sampled_from(QUERIES), before=st.text(max_size=5), after=st.text(max_size=5),
       in_key=st.booleans())
def test_a_nul_anywhere_in_a_query_is_a_400(client, query, before, after, in_key):
    odd = before + "\x00" + after
    path, _, q = query.partition("?")
    if in_key:
        key, _, value = q.partition("=")
        url = f"/fhir/{path}?{quote(key + odd)}={value.format('x')}"
    else:
        url = "/fhir/" + query.format(quote(odd, safe=""))
    r = client.get(url)
    _ok(r)
    assert r.status_code == 400, (url, r.text)
    # And the same in a POST _search form body, where there is one.
    if not path.startswith(("_history", "Patient/p1", "ValueSet/", "CodeSystem/")):
        r = client.post(f"/fhir/{path}/_search", content=url.partition("?")[2],
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        _ok(r)
        assert r.status_code == 400, (url, r.text)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(control=st.sampled_from([chr(c) for c in range(32) if chr(c) not in "\t\r\n"]),
       where=st.sampled_from(["family", "text", "id-system", "extension-url", "div", "key"]))
def test_a_resource_string_with_a_control_character_is_refused(client, control, where):
    """FHIR strings take no control characters but tab, CR and LF: any other is a 422 with the
    element's path, on create and update alike — never a 500 from the database."""
    bad = f"a{control}b"
    body = patient(family="Trần")
    if where == "family":
        body["name"][0]["family"] = bad
    elif where == "text":
        body["name"][0]["text"] = bad
    elif where == "id-system":
        body["identifier"] = [{"system": "urn:x" + bad, "value": "1"}]
    elif where == "extension-url":
        body["extension"] = [{"url": "http://x/" + bad, "valueString": "v"}]
    elif where == "div":
        body["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{bad}</div>'}
    else:
        body["name"][0]["family" + control] = "x"
    for r in (client.post("/fhir/Patient", json=body, headers=FHIR_JSON),
              client.put("/fhir/Patient/ctl1", json=body | {"id": "ctl1"}, headers=FHIR_JSON)):
        _ok(r)
        assert r.status_code in (400, 422), r.text
        assert issue_codes(r.json()), r.text
