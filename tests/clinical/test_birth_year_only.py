"""Many elderly patients know only their year of birth, and their BHYT card shows only the year. The
desk registers them with the year alone: the record holds "1948" (FHIR birthDate of year precision),
never an invented 1 January; the CCCD is checked against that year; the look-alike check finds the
namesakes born that year; the BHYT claim writes NGAY_SINH with 0000 for month and day
(tests/claims/test_record.py). SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import registration
from benhan.clinical.common import FormInvalid
from benhan.clinical.registration import PatientForm
from benhan.store.repository import Repository

TODAY = date(2026, 12, 8)


def form(**values: str) -> PatientForm:
    return PatientForm.from_mapping({"name": "Lò Văn Páo", "gender": "male", **values})


def test_the_year_alone_is_registered_as_the_year(store):  # noqa: ANN001
    repo = Repository(store, Actor.system())
    problems, birth = registration.check(form(cccd="001048012345", birth_date="1948"), TODAY)
    assert problems.errors == {} and birth == date(1948, 1, 1)
    done = registration.register(repo, form(cccd="001048012345", birth_date=" 1948 "), Actor.system(), TODAY, None)
    assert repo.read("Patient", done.patient_id).json()["birthDate"] == "1948"
    # A namesake born the same year (another card): the desk is asked to confirm a new patient.
    with pytest.raises(FormInvalid) as refused:
        registration.register(repo, form(cccd="001048099999", birth_date="1948"), Actor.system(), TODAY, None)
    assert "confirm_new" in refused.value.errors
    _, similar = registration.duplicates(repo, form(birth_date="1948"), date(1948, 1, 1))
    assert [d.patient_id for d in similar] == [done.patient_id] and similar[0].birth_date == "1948"


@pytest.mark.parametrize("typed,field", [
    ("2027", "birth_date"),        # in the future
    ("0000", "birth_date"),        # not a year
    ("1700", "birth_date"),        # not a living person's
    ("1950", "cccd"),              # the CCCD's digits 5–6 say 48
])
def test_a_year_that_cannot_be_is_refused_by_field(typed, field):  # noqa: ANN001
    problems, _ = registration.check(form(cccd="001048012345", birth_date=typed), TODAY)
    assert field in problems.errors
