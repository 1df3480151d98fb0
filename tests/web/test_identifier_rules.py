"""A CCCD (and a BHYT card number) is checked and unique on EVERY write path of the API, not only at
the registration desk: create, update, conditional create and update, JSON Patch, merge patch,
batch and transaction entries. An invalid value is 422 (BENHAN-3002); a value another current
Patient holds is 409 (BENHAN-2011) naming that Patient. On SQLite and PostgreSQL; two concurrent
creates of one CCCD: exactly one wins."""
from __future__ import annotations

import base64
import threading
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benhan import errors
from benhan.auth.actor import Actor
from benhan.fhir.resource_json import dumps
from benhan.store.repository import Repository
from benhan.vn.identifiers import BHYT_SYSTEM, CCCD_SYSTEM, cccd_problems, make_cccd
from benhan.vn.provinces import old_provinces
from tests.factories import FHIR_JSON, issue_codes, patient

PROPERTY = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PROVINCE_CODES = sorted(f"0{c}" for c in old_provinces())

valid_cccds = st.builds(lambda province, year, female, serial: make_cccd(province, date(year, 1, 1), female, serial),
                        st.sampled_from(PROVINCE_CODES), st.integers(1930, 2020), st.booleans(),
                        st.integers(0, 999_999))
# Not a CCCD: any text (FHIR-valid strings: non-empty, no control characters), digit strings of
# the wrong length, and 12 digits with no province or a year of birth in the future.
invalid_cccds = st.one_of(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=16),
    st.from_regex(r"[0-9]{1,11}|[0-9]{13,16}", fullmatch=True),
    st.from_regex(r"[0-9]{12}", fullmatch=True),
    st.builds(lambda p, y: f"{p}{'4'}{y:02d}000001", st.sampled_from(PROVINCE_CODES), st.integers(50, 99)),
).filter(lambda s: bool(cccd_problems(s)) and s.strip() == s)


def _with_cccd(value: str, **extra) -> dict:  # noqa: ANN003
    return {**patient(), "identifier": [{"system": CCCD_SYSTEM, "value": value}], **extra}


def _binary(patch: bytes, kind: str) -> dict:
    return {"resourceType": "Binary", "contentType": kind, "data": base64.b64encode(patch).decode()}


def _paths(client, value: str) -> dict:  # noqa: ANN001
    """Each write path, writing a Patient that holds CCCD `value`: name → response (the refusal
    lifted out of a batch entry)."""
    other = client.post("/fhir/Patient", json=patient(), headers=FHIR_JSON).json()     # a patient to change
    oid = other["id"]
    ident = [{"system": CCCD_SYSTEM, "value": value}]
    out = {
        "create": client.post("/fhir/Patient", json=_with_cccd(value), headers=FHIR_JSON),
        "update-as-create": client.put(f"/fhir/Patient/new-{abs(hash(value)) % 10**9}",
                                       json={**_with_cccd(value), "id": f"new-{abs(hash(value)) % 10**9}"},
                                       headers=FHIR_JSON),
        "update": client.put(f"/fhir/Patient/{oid}", json={**other, "identifier": ident}, headers=FHIR_JSON),
        "conditional create": client.post("/fhir/Patient", json=_with_cccd(value),
                                          headers={**FHIR_JSON, "if-none-exist": "family=nobody-by-that-name"}),
        "conditional update": client.put("/fhir/Patient", params={"_id": oid},
                                         json={**other, "identifier": ident}, headers=FHIR_JSON),
        "json patch": client.patch(f"/fhir/Patient/{oid}", content=dumps(
            [{"op": "replace", "path": "/identifier", "value": ident}]),
            headers={"content-type": "application/json-patch+json"}),
        "merge patch": client.patch(f"/fhir/Patient/{oid}", content=dumps({"identifier": ident}),
                                    headers={"content-type": "application/merge-patch+json"}),
        "transaction": client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": _with_cccd(value), "request": {"method": "POST", "url": "Patient"}}]}, headers=FHIR_JSON),
        "transaction patch": client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": _binary(dumps({"identifier": ident}), "application/merge-patch+json"),
             "request": {"method": "PATCH", "url": f"Patient/{oid}"}}]}, headers=FHIR_JSON),
    }
    batch = client.post("/fhir", json={"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": _with_cccd(value), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {**other, "identifier": ident}, "request": {"method": "PUT", "url": f"Patient/{oid}"}}]},
        headers=FHIR_JSON)
    assert batch.status_code == 200
    for i, entry in enumerate(batch.json()["entry"]):
        out[f"batch entry {i}"] = entry["response"]
    return out


def _refused(answer, status: int) -> list[str]:  # noqa: ANN001
    """The codes of a refusal with `status` (a response, or a batch entry's response)."""
    if isinstance(answer, dict):
        assert answer["status"].startswith(f"{status} "), answer
        return issue_codes(answer["outcome"])
    assert answer.status_code == status, answer.text
    return issue_codes(answer.json())


def _text(answer) -> str:  # noqa: ANN001
    outcome = answer["outcome"] if isinstance(answer, dict) else answer.json()
    return " ".join(i.get("diagnostics", "") for i in outcome["issue"])


@PROPERTY
@given(value=invalid_cccds)
def test_any_value_that_is_not_a_cccd_is_refused_on_every_write_path(client, value):
    for path, answer in _paths(client, value).items():
        codes = _refused(answer, 422)
        assert codes[0] in ("BENHAN-3002", "BENHAN-3001"), (path, codes)
        if value.isascii() and value.isdigit():
            assert codes[0] == "BENHAN-3002", path


@PROPERTY
@given(value=valid_cccds)
def test_a_cccd_another_current_patient_holds_is_refused_on_every_path_naming_that_patient(client, value):
    first = client.post("/fhir/Patient", json=_with_cccd(value), headers=FHIR_JSON)
    if first.status_code == 409:        # hypothesis repeated a value of an earlier example
        return
    assert first.status_code == 201, first.text
    holder = first.json()["id"]
    for path, answer in _paths(client, value).items():
        assert _refused(answer, 409)[0] == "BENHAN-2011", path
        assert f"Patient/{holder}" in _text(answer), path
    # Updating the holder itself (its CCCD unchanged) is not a duplicate.
    r = client.put(f"/fhir/Patient/{holder}", json={**first.json(), "gender": "female"}, headers=FHIR_JSON)
    assert r.status_code == 200, r.text


def test_an_inactive_or_replaced_record_does_not_hold_its_cccd(client):
    value = "001085123456"
    first = client.post("/fhir/Patient", json=_with_cccd(value), headers=FHIR_JSON).json()
    client.put(f"/fhir/Patient/{first['id']}", json={**first, "active": False}, headers=FHIR_JSON)
    second = client.post("/fhir/Patient", json=_with_cccd(value), headers=FHIR_JSON)
    assert second.status_code == 201, second.text
    # Reactivating the first would make two current holders: refused, naming the second.
    r = client.put(f"/fhir/Patient/{first['id']}", json={**first, "active": True}, headers=FHIR_JSON)
    assert r.status_code == 409 and second.json()["id"] in r.text
    # Replaced-by the second: the first no longer claims it (patient.html#links).
    link = [{"other": {"reference": f"Patient/{second.json()['id']}"}, "type": "replaced-by"}]
    r = client.put(f"/fhir/Patient/{first['id']}", json={**first, "active": True, "link": link}, headers=FHIR_JSON)
    assert r.status_code == 200, r.text


def test_two_patients_in_one_transaction_with_one_cccd_are_refused(client):
    value = "001085654321"
    entry = {"resource": _with_cccd(value), "request": {"method": "POST", "url": "Patient"}}
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": [entry, entry]},
                    headers=FHIR_JSON)
    assert r.status_code == 409 and issue_codes(r.json())[0] == "BENHAN-2011"
    assert client.get("/fhir/Patient", params={"identifier": f"{CCCD_SYSTEM}|{value}"}).json().get("entry") is None


def test_a_bhyt_card_number_is_checked_and_unique_too(client):
    card = "HT4790123456789"
    bad = client.post("/fhir/Patient", json={**patient(), "identifier": [{"system": BHYT_SYSTEM, "value": "HT47"}]},
                      headers=FHIR_JSON)
    assert bad.status_code == 422 and issue_codes(bad.json())[0] == "BENHAN-3002"
    spaced = client.post("/fhir/Patient", json={**patient(), "identifier": [
        {"system": BHYT_SYSTEM, "value": "HT4 79 0123456789"}]}, headers=FHIR_JSON)
    assert spaced.status_code == 422 and "HT4790123456789" in spaced.text
    first = client.post("/fhir/Patient", json={**patient(), "identifier": [{"system": BHYT_SYSTEM, "value": card}]},
                        headers=FHIR_JSON)
    assert first.status_code == 201
    again = client.post("/fhir/Patient", json={**patient(), "identifier": [{"system": BHYT_SYSTEM, "value": card}]},
                        headers=FHIR_JSON)
    assert again.status_code == 409 and first.json()["id"] in again.text


@pytest.mark.parametrize("round_", range(3))
def test_two_concurrent_creates_of_one_cccd_cannot_both_succeed(store, round_):
    import benhan.clinical  # noqa: F401  (installs the identifier rules, as every entry point does)
    value = make_cccd("001", date(1990, 1, 1), False, 700_000 + round_)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def register() -> None:
        repo = Repository(store, Actor.system("desk"))
        barrier.wait()
        try:
            outcomes.append(repo.create("Patient", _with_cccd(value)).res_id)
        except errors.BenhanError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=register) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if isinstance(o, str)]
    losers = [o for o in outcomes if not isinstance(o, str)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], errors.DuplicateIdentifier) and winners[0] in losers[0].message
