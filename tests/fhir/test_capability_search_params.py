"""The CapabilityStatement declares only search parameters the server answers: for every resource
type and every parameter it declares, a search with a plausible value is a 200 (it declared `_text`,
`_content` and `_query` on every type, and Patient `age` and `birthOrderBoolean`, which were 400).
SQLite is enough: what is declared and what the parser takes do not depend on the database.
"""
from __future__ import annotations

import pytest

from benhan.fhir.searchparams import parameters_for

# A value of each type that any parameter of the type takes.
PLAUSIBLE = {"string": "a", "token": "http://x|a", "reference": "x", "date": "ge2020-01-01",
             "number": "gt1", "quantity": "gt1||mg", "uri": "http://x", "special": "x"}


def _value(res_type: str, param: dict) -> str:
    if param["type"] == "reference":
        targets = parameters_for(res_type)[param["name"]].target
        return f"{targets[0]}/x" if targets else "x"
    if param["type"] != "composite":
        return PLAUSIBLE[param["type"]]
    own = parameters_for(res_type)[param["name"]]
    return "$".join(PLAUSIBLE[parameters_for(res_type)[code].type] if code in parameters_for(res_type) else "a"
                    for code, _ in own.component)


@pytest.mark.parametrize("db_config", ["sqlite"], indirect=True)
def test_every_declared_search_parameter_answers_a_search(client):
    statement = client.get("/fhir/metadata").json()
    resources = statement["rest"][0]["resource"]
    assert len(resources) > 140
    refused = []
    for entry in resources:
        names = {p["name"] for p in entry.get("searchParam", [])}
        assert not names & {"_text", "_content", "_query", "_filter", "_list"}, entry["type"]
        if entry["type"] == "Patient":
            assert not names & {"age", "birthOrderBoolean", "part-agree"}
        for param in entry.get("searchParam", []):
            r = client.get(f"/fhir/{entry['type']}", params={param["name"]: _value(entry["type"], param),
                                                             "_count": "1"})
            if r.status_code != 200:
                refused.append((entry["type"], param["name"], r.status_code, r.text[:200]))
    assert not refused, refused[:20]


@pytest.mark.parametrize("db_config", ["sqlite"], indirect=True)
def test_declared_includes_are_taken(client):
    statement = client.get("/fhir/metadata").json()
    bad = []
    for entry in statement["rest"][0]["resource"]:
        for inc in entry.get("searchInclude", [])[:5]:
            r = client.get(f"/fhir/{entry['type']}", params={"_include": inc, "_count": "1"})
            if r.status_code != 200:
                bad.append((entry["type"], inc, r.status_code))
    assert not bad, bad[:20]


@pytest.mark.parametrize("db_config", ["sqlite"], indirect=True)
def test_the_capability_statement_is_valid_fhir(client, store):
    """A client that validates what it reads (HAPI, the IG publisher) must not reject /metadata:
    it once carried empty searchRevInclude arrays, which R4 forbids."""
    statement = client.get("/fhir/metadata").json()
    assert store.validate(statement) == []
