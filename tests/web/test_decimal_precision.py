"""A decimal keeps its exact lexical form (R4 datatypes.html#decimal: "the precision of the decimal
value has significance"): 0.40 stays 0.40, 1e2 stays 1e2, 12345678901234567890.123 stays itself —
through create, read, search by value, history, transaction and a pretty-printed read, on SQLite and
PostgreSQL. Any form the spec's regex allows is generated."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benhan.fhir.resource_json import JsonDecimal, content_hash, dumps, loads
from tests.factories import FHIR_JSON, observation, patient

DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
# The spec's lexical space; magnitudes past IEEE double's range (1e400) are refused as numbers no
# index can hold, so the property ranges over what a double can hold (docs/fhir-api.md).


def _within_double(text: str) -> bool:
    exponent = DECIMAL.fullmatch(text).group(3)
    if exponent and abs(int(exponent[1:])) > 250:
        return False
    d = Decimal(text)
    return d == 0 or Decimal("1e-250") < abs(d) < Decimal("1e250")


decimals = st.from_regex(DECIMAL, fullmatch=True).filter(_within_double)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _search_value(text: str) -> str:
    """The value itself, or (past what a double holds) the value at 12 significant digits, whose
    range holds it: a search value is a binary float on both databases."""
    d = Decimal(text)
    if len(d.as_tuple().digits) <= 15:
        return text
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 12, ROUND_HALF_UP
        return str(+d)


def _value_text(body: bytes) -> list[str]:
    return re.findall(rb'"valueQuantity":\{"value":([^,}]+)', body)


@PROPERTY
@given(text=decimals)
def test_any_decimal_survives_every_path_byte_exact(client, text):
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    obs = observation(f"Patient/{pid}")
    raw = dumps(obs).replace(b'"value":72', b'"value":' + text.encode())
    r = client.post("/fhir/Observation", content=raw, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    want = [text.encode()]
    assert _value_text(r.content) == want
    oid = r.json()["id"]
    assert _value_text(client.get(f"/fhir/Observation/{oid}").content) == want
    assert loads(client.get(f"/fhir/Observation/{oid}?_pretty=true").content)["valueQuantity"]["value"].__str__() == text
    found = client.get("/fhir/Observation", params={"subject": f"Patient/{pid}", "value-quantity": _search_value(text)})
    assert found.status_code == 200, found.text
    assert _value_text(found.content) == want
    assert _value_text(client.get(f"/fhir/Observation/{oid}/_history").content) == want
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0b7e5c1e-0000-4000-8000-000000000001", "resource": loads(raw),
         "request": {"method": "POST", "url": "Observation"}},
        {"request": {"method": "GET", "url": f"Observation/{oid}"}}]}
    r = client.post("/fhir", content=dumps(bundle), headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    assert _value_text(r.content) == want
    new_id = r.json()["entry"][0]["response"]["location"].split("/")[1]
    assert _value_text(client.get(f"/fhir/Observation/{new_id}").content) == want


def test_the_examples_of_the_issue_keep_their_text(client):
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    for text in ("0.40", "1e2", "12345678901234567890.123", "-0", "1E-7", "100.000"):
        raw = dumps(observation(f"Patient/{pid}")).replace(b'"value":72', b'"value":' + text.encode())
        r = client.post("/fhir/Observation", content=raw, headers=FHIR_JSON)
        assert r.status_code == 201, r.text
        assert _value_text(client.get(f"/fhir/Observation/{r.json()['id']}").content) == [text.encode()]
    huge_zero = dumps(observation(f"Patient/{pid}")).replace(b'"value":72', b'"value":0E2000000')
    r = client.post("/fhir/Observation", content=huge_zero, headers=FHIR_JSON)
    assert r.status_code == 201 and _value_text(r.content) == [b"0E2000000"]


def test_precision_is_content_so_0_4_to_0_40_is_a_new_version(client):
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    raw = dumps(observation(f"Patient/{pid}")).replace(b'"value":72', b'"value":0.4')
    created = client.post("/fhir/Observation", content=raw, headers=FHIR_JSON).json()
    again = dumps({**loads(raw), "id": created["id"]})
    assert client.put(f"/fhir/Observation/{created['id']}", content=again, headers=FHIR_JSON).json()["meta"]["versionId"] == "1"
    changed = again.replace(b'"value":0.4', b'"value":0.40')
    r = client.put(f"/fhir/Observation/{created['id']}", content=changed, headers=FHIR_JSON)
    assert r.json()["meta"]["versionId"] == "2" and _value_text(r.content) == [b"0.40"]


def test_the_number_index_uses_the_stored_precision(client):
    """0.40 is the range [0.395, 0.405): value-quantity=0.4 (±0.05) finds it, =0.41 does not."""
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    raw = dumps(observation(f"Patient/{pid}")).replace(b'"value":72', b'"value":0.40')
    client.post("/fhir/Observation", content=raw, headers=FHIR_JSON)
    assert client.get(f"/fhir/Observation?subject=Patient/{pid}&value-quantity=0.4").json().get("entry")
    assert client.get(f"/fhir/Observation?subject=Patient/{pid}&value-quantity=gt0.39").json().get("entry")
    assert not client.get(f"/fhir/Observation?subject=Patient/{pid}&value-quantity=0.41").json().get("entry")


def test_an_integer_element_refuses_a_decimal_form_and_a_number_out_of_range_is_a_400(client):
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    raw = dumps(patient()).replace(b'"gender"', b'"multipleBirthInteger":1.0,"gender"')
    r = client.post("/fhir/Patient", content=raw, headers=FHIR_JSON)
    assert r.status_code == 422 and "decimal point" in r.text
    raw = dumps(observation(f"Patient/{pid}")).replace(b'"value":72', b'"value":1e400')
    r = client.post("/fhir/Observation", content=raw, headers=FHIR_JSON)
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


@given(text=st.from_regex(DECIMAL, fullmatch=True))
def test_parse_and_write_keep_any_lexical_form(text):
    raw = b'{"a":[' + text.encode() + b'],"b":{"c" : ' + text.encode() + b'}}'
    try:
        data = loads(raw)
    except ValueError:
        assert not _within_double(text)     # past a double: refused, never rounded
        return
    assert dumps(data) == raw.replace(b" ", b"")
    assert isinstance(data["a"][0], (int, JsonDecimal)) and float(data["a"][0]) == float(text)
    assert content_hash(data) == content_hash(loads(dumps(data)))
