"""SMART scopes: every v2 and v1 form, what each grants, malformed ones refused, and narrowing a
request to what a client is registered for."""
from __future__ import annotations

import pytest

from benhan.auth.scopes import InvalidScope, check, narrow, parse_resource_scope, smart_permissions


def letters(perms: dict, res_type: str, context: str) -> str:
    return "".join(ch for ch in "cruds" if perms.get((res_type, ch)) == context)


@pytest.mark.parametrize("scope, res_type, context, granted", [
    ("patient/*.rs", "*", "patient", "rs"),
    ("patient/Observation.rs", "Observation", "patient", "rs"),
    ("user/Observation.cruds", "Observation", "user", "cruds"),
    ("user/Patient.cu", "Patient", "user", "cu"),
    ("system/*.cruds", "*", "system", "cruds"),
    ("system/Encounter.s", "Encounter", "system", "s"),
    ("patient/Observation.read", "Observation", "patient", "rs"),     # v1
    ("user/*.write", "*", "user", "cud"),                              # v1
    ("system/*.*", "*", "system", "cruds"),                            # v1
    ("patient/MedicationRequest.*", "MedicationRequest", "patient", "cruds"),
])
def test_each_scope_form_grants_its_letters_in_its_context(scope, res_type, context, granted):
    perms = smart_permissions(scope)
    assert letters(perms, res_type, context) == granted
    assert set(perms) == {(res_type, ch) for ch in granted}


def test_the_broadest_context_wins_when_several_grant_the_same_permission():
    perms = smart_permissions("patient/Observation.rs user/Observation.r system/Observation.s")
    assert perms[("Observation", "r")] == "user"
    assert perms[("Observation", "s")] == "system"


def test_wildcard_and_specific_types_are_kept_apart():
    perms = smart_permissions("patient/*.r user/Condition.r")
    assert perms == {("*", "r"): "patient", ("Condition", "r"): "user"}


def test_launch_identity_and_refresh_scopes_are_recognised_and_grant_no_resource_access():
    scope = "launch launch/patient openid fhirUser offline_access online_access"
    assert check(scope) == scope.split()
    assert smart_permissions(scope) == {}


def test_constrained_v2_scopes_are_recognised_but_grant_nothing():
    rs = parse_resource_scope("patient/Observation.rs?category=laboratory")
    assert rs is not None and rs.constrained
    assert smart_permissions("patient/Observation.rs?category=laboratory") == {}


@pytest.mark.parametrize("bad", [
    "patient/Foo.rs",              # not an R4 resource type
    "patient/Observation.sr",      # letters out of order
    "patient/Observation.rr",      # repeated
    "patient/Observation.x",       # unknown letter
    "patient/Observation.",        # nothing granted
    "patient/Observation",         # no permission part
    "user/*.readwrite",
    "system/Observation.read?code=x",   # v1 cannot be constrained
    "patient//Observation.rs",
])
def test_malformed_resource_scopes_are_refused(bad):
    with pytest.raises(InvalidScope):
        check(bad)
    with pytest.raises(InvalidScope):
        check(bad, strict=False)


def test_unknown_words_are_errors_at_registration_and_dropped_from_a_request():
    with pytest.raises(InvalidScope):
        check("patient/*.rs profile")
    assert check("patient/*.rs profile", strict=False) == ["patient/*.rs"]


def test_a_request_within_the_registration_is_granted_as_written():
    assert narrow("patient/Observation.read launch/patient", "patient/*.rs launch/patient") == \
        "patient/Observation.read launch/patient"


def test_a_request_beyond_the_registration_is_narrowed_to_v2_scopes():
    assert narrow("patient/Observation.cruds", "patient/*.rs") == "patient/Observation.rs"
    assert narrow("user/*.write", "user/Patient.cu") == "user/Patient.cu"
    assert narrow("patient/*.rs", "patient/Observation.r patient/Condition.rs") == \
        "patient/Condition.rs patient/Observation.r"


def test_nothing_is_granted_in_another_context_or_beyond_the_registered_scope():
    assert narrow("user/*.rs", "patient/*.rs") == ""
    assert narrow("system/*.rs", "user/*.cruds") == ""
    assert narrow("offline_access", "patient/*.rs") == ""
    assert narrow("patient/*.rs", "patient/*.rs", contexts=("system",)) == ""


def test_constrained_and_unknown_scopes_are_dropped_from_a_grant():
    assert narrow("patient/Observation.rs?category=laboratory patient/Patient.r profile",
                  "patient/*.rs") == "patient/Patient.r"
