"""Batch and transaction (http://hl7.org/fhir/R4/http.html#transaction): operation entries run the
same handlers as the REST routes; absolute request URLs of this server are taken, other servers'
refused with a clear message; every entry status is "<code> <reason phrase>". On SQLite and
PostgreSQL."""
from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benhan.terminology import admin_units
from benhan.terminology.load import load
from tests.factories import FHIR_JSON, issue_codes, patient

BASE = "http://testserver/fhir"
STATUS = re.compile(r"^[1-5][0-9]{2} [A-Z][A-Za-z -]+$")


def _bundle(kind: str, *entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _parameters(**values: str) -> dict:
    return {"resourceType": "Parameters",
            "parameter": [{"name": k, "valueUri" if k == "url" else "valueString": v} for k, v in values.items()]}


def _stable(result: dict) -> dict:
    """Without what each expansion mints afresh (its identifier and timestamp)."""
    expansion = {k: v for k, v in result.get("expansion", {}).items() if k not in ("identifier", "timestamp")}
    return {**result, "expansion": expansion} if "expansion" in result else result


def test_operation_entries_answer_as_the_rest_routes_do(client, store):
    load(store, ["provinces"])
    cs, vs = admin_units.provinces()
    code = cs["concept"][0]["code"]
    ops = [("ValueSet/$expand", _parameters(url=vs["url"], filter="ha noi")),
           ("CodeSystem/$lookup", {"resourceType": "Parameters", "parameter": [
               {"name": "system", "valueUri": cs["url"]}, {"name": "code", "valueCode": code}]}),
           ("ValueSet/$validate-code", {"resourceType": "Parameters", "parameter": [
               {"name": "url", "valueUri": vs["url"]}, {"name": "system", "valueUri": cs["url"]},
               {"name": "code", "valueCode": code}]}),
           ("CodeSystem/$lookup", {"resourceType": "Parameters", "parameter": [
               {"name": "system", "valueUri": "http://nowhere.example/cs"}, {"name": "code", "valueCode": "x"}]})]
    direct = [client.post(f"/fhir/{url}", json=body, headers=FHIR_JSON) for url, body in ops]
    for kind in ("batch", "transaction"):
        entries = [{"request": {"method": "POST", "url": url}, "resource": body} for url, body in ops]
        entries.append({"fullUrl": "urn:uuid:7f0c1b7e-1111-4000-8000-000000000001", "resource": patient(),
                        "request": {"method": "POST", "url": "Patient"}})
        r = client.post("/fhir", json=_bundle(kind, *entries), headers=FHIR_JSON)
        assert r.status_code == 200, r.text
        answers = r.json()["entry"]
        for answer, rest in zip(answers, direct):
            assert answer["response"]["status"].split()[0] == str(rest.status_code)
            if rest.status_code == 200:
                assert _stable(answer["resource"]) == _stable(rest.json())
            else:
                assert issue_codes(answer["response"]["outcome"]) == issue_codes(rest.json())
        assert answers[-1]["response"]["status"] == "201 Created"
    assert [d.status_code for d in direct] == [200, 200, 200, 404]


def test_an_unknown_operation_entry_is_an_entry_error_not_a_bundle_failure(client):
    r = client.post("/fhir", json=_bundle("batch", {"request": {"method": "POST", "url": "Patient/$frobnicate"},
                                                    "resource": {"resourceType": "Parameters"}}), headers=FHIR_JSON)
    assert r.status_code == 200
    assert r.json()["entry"][0]["response"]["status"] == "405 Method Not Allowed"


def test_an_absolute_url_of_this_server_is_taken_and_another_servers_is_refused_clearly(client):
    for kind in ("batch", "transaction"):
        pid = f"abs-{kind}"
        body = {**patient(), "id": pid}
        r = client.post("/fhir", json=_bundle(kind, {"fullUrl": f"{BASE}/Patient/{pid}", "resource": body,
                                                     "request": {"method": "PUT", "url": f"{BASE}/Patient/{pid}"}}),
                        headers=FHIR_JSON)
        assert r.status_code == 200, r.text
        assert r.json()["entry"][0]["response"]["status"] == "201 Created"
        assert client.get(f"/fhir/Patient/{pid}").status_code == 200
        other = _bundle(kind, {"resource": {**body, "id": "x1"},
                               "request": {"method": "PUT", "url": "http://elsewhere.example/fhir/Patient/x1"}})
        r = client.post("/fhir", json=other, headers=FHIR_JSON)
        outcome = r.json() if kind == "transaction" else r.json()["entry"][0]["response"]["outcome"]
        if kind == "transaction":
            assert r.status_code == 400
        else:
            assert r.json()["entry"][0]["response"]["status"] == "400 Bad Request"
        text = outcome["issue"][0]["diagnostics"]
        assert "not on this server" in text and "url says" not in text
    # Conditional and search forms of an absolute url too.
    r = client.post("/fhir", json=_bundle("batch", {"request": {"method": "GET", "url": f"{BASE}/Patient?_id=abs-batch"}}),
                    headers=FHIR_JSON)
    assert r.json()["entry"][0]["resource"]["entry"][0]["resource"]["id"] == "abs-batch"


_methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", ""])
_urls = st.one_of(st.sampled_from(["Patient", "Patient/nope", "Patient/nope/_history/2", "Nope/1", "",
                                   "Patient?name=x", "Patient?_count=x", "ValueSet/$expand", "Patient/$everything",
                                   f"{BASE}/Patient/x", "http://else.example/Patient/1", "Patient/a b"]),
                  st.text(max_size=20))
_resources = st.one_of(st.none(), st.just(patient()), st.just({"resourceType": "Observation"}),
                       st.just({"resourceType": "Parameters"}), st.just([]), st.just("x"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(_methods, _urls, _resources), min_size=1, max_size=4))
def test_every_batch_entry_status_is_a_code_and_its_reason_phrase(client, entries):
    bundle = _bundle("batch", *({"request": {"method": m, "url": u}, **({"resource": res} if res is not None else {})}
                                for m, u, res in entries))
    r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    for e in r.json()["entry"]:
        assert STATUS.match(e["response"]["status"]), e
