"""The validator remembers short values it found valid, per primitive type: what it answers must
be what it would answer without that memory."""
from __future__ import annotations

from benhan.fhir import validation
from benhan.fhir.validation import Validator, default_validator


def codes(resource: dict, validator: Validator | None = None) -> list[tuple[str, str]]:
    return [(i.code, i.expression) for i in (validator or default_validator()).validate(resource)
            if i.severity == "error"]


def test_a_value_valid_as_a_string_is_still_checked_as_a_date():
    seen_as_string = {"resourceType": "Patient", "name": [{"text": "2021-02-30"}]}
    as_date = {"resourceType": "Patient", "birthDate": "2021-02-30"}
    for _ in range(3):
        assert codes(seen_as_string) == []
        assert codes(as_date) == [("value", "Patient.birthDate")]


def test_an_invalid_value_is_refused_every_time_and_a_control_character_too():
    for _ in range(3):
        assert codes({"resourceType": "Patient", "gender": "femal"}) == [("code-invalid", "Patient.gender")]
        assert codes({"resourceType": "Patient", "name": [{"family": "Lê\x00"}]}) == [
            ("value", "Patient.name[0].family")]
        assert codes({"resourceType": "Patient", "birthDate": "1990-13-01"}) == [("value", "Patient.birthDate")]


def test_a_remembered_value_with_its_extension_sibling_is_checked_whole():
    good = {"resourceType": "Patient", "birthDate": "1990-01-01"}
    with_bad_extension = {"resourceType": "Patient", "birthDate": "1990-01-01", "_birthDate": []}
    assert codes(good) == []
    assert codes(with_bad_extension) == [("structure", "Patient.birthDate")]


def test_the_memory_is_bounded_and_starts_again(monkeypatch):
    monkeypatch.setattr(validation, "GOOD_MAX_VALUES", 3)
    v = Validator()
    for i in range(10):
        assert codes({"resourceType": "Patient", "name": [{"family": f"Nguyễn {i}"}]}, v) == []
    assert max(len(s) for s in v._good.values()) <= 3
    assert codes({"resourceType": "Patient", "name": [{"family": "Nguyễn 9\x01"}]}, v) == [
        ("value", "Patient.name[0].family")]
