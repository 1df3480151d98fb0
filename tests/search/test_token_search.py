"""Token search (http://hl7.org/fhir/R4/search.html#token): system|code, |code, system|, code; :not,
:text, :missing; on Coding, CodeableConcept, Identifier, ContactPoint, boolean and code — on every store."""
from __future__ import annotations

from benhan.vn.identifiers import CCCD_SYSTEM
from tests.factories import patient
from tests.search.helpers import create, found

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"




def observation(*codings: dict, text: str | None = None, **extra) -> dict:
    code: dict = {}
    if codings:
        code["coding"] = list(codings)
    if text:
        code["text"] = text
    return {"resourceType": "Observation", "status": "final", "code": code, **extra}


def coding(system: str | None, code: str, display: str | None = None) -> dict:
    return {k: v for k, v in (("system", system), ("code", code), ("display", display)) if v is not None}


def without(resource: dict, key: str) -> dict:
    return {k: v for k, v in resource.items() if k != key}


def test_system_and_code_together_match_only_that_system(client):
    loinc = create(client, observation(coding(LOINC, "8867-4")))
    local = create(client, observation(coding("http://benhan.vn/cs/local", "8867-4")))
    bare = create(client, observation(coding(None, "8867-4")))
    create(client, observation(coding(LOINC, "8310-5")))
    assert found(client, f"Observation?code={LOINC}|8867-4") == {loinc}
    assert found(client, "Observation?code=8867-4") == {loinc, local, bare}     # any system
    assert found(client, "Observation?code=|8867-4") == {bare}                  # no system at all
    assert found(client, f"Observation?code={LOINC}|") == {loinc, found(client, "Observation?code=8310-5").pop()}
    assert found(client, f"Observation?code={SNOMED}|8867-4") == set()


def test_any_coding_of_a_codeable_concept_may_match(client):
    both = create(client, observation(coding(LOINC, "8867-4"), coding(SNOMED, "364075005")))
    create(client, observation(coding(LOINC, "8310-5")))
    assert found(client, f"Observation?code={SNOMED}|364075005") == {both}
    assert found(client, f"Observation?code={LOINC}|8867-4") == {both}


def test_values_separated_by_commas_are_alternatives_and_repeats_must_all_match(client):
    pulse = create(client, observation(coding(LOINC, "8867-4")))
    temp = create(client, observation(coding(LOINC, "8310-5")))
    both = create(client, observation(coding(LOINC, "8867-4"), coding(LOINC, "8310-5")))
    assert found(client, f"Observation?code={LOINC}|8867-4,{LOINC}|8310-5") == {pulse, temp, both}
    assert found(client, "Observation?code=8867-4&code=8310-5") == {both}


def test_codes_are_case_sensitive(client):
    # administrative-gender (like most code systems) is case-sensitive: MALE is not a code of it.
    male = create(client, patient(gender="male"))
    assert found(client, "Patient?gender=male") == {male}
    assert found(client, "Patient?gender=MALE") == set()


def test_not_finds_resources_whose_value_differs_including_those_without_the_element(client):
    male = create(client, patient(gender="male"))
    female = create(client, patient(gender="female"))
    unknown = create(client, without(patient(), "gender"))
    assert found(client, "Patient?gender:not=male") == {female, unknown}
    assert found(client, "Patient?gender:not=male,female") == {unknown}
    assert found(client, "Patient?gender:not=other") == {male, female, unknown}


def test_not_excludes_a_resource_if_any_of_its_codings_matches(client):
    both = create(client, observation(coding(LOINC, "8867-4"), coding(SNOMED, "364075005")))
    temp = create(client, observation(coding(LOINC, "8310-5")))
    assert found(client, f"Observation?code:not={SNOMED}|364075005") == {temp}
    assert found(client, f"Observation?code:not={LOINC}|8310-5") == {both}


def test_text_matches_the_start_of_a_display_or_the_concepts_text_ignoring_case_and_accents(client):
    pulse = create(client, observation(coding(LOINC, "8867-4", "Heart rate"), text="Mạch"))
    temp = create(client, observation(coding(LOINC, "8310-5", "Body temperature")))
    only_text = create(client, observation(text="Nhịp thở"))
    assert found(client, "Observation?code:text=heart") == {pulse}
    assert found(client, "Observation?code:text=HEART%20RATE") == {pulse}
    assert found(client, "Observation?code:text=mach") == {pulse}      # the concept's text, beside displays
    assert found(client, "Observation?code:text=body") == {temp}
    assert found(client, "Observation?code:text=nhip%20tho") == {only_text}
    assert found(client, "Observation?code:text=rate") == set()      # starts with, like a string
    assert found(client, "Observation?code:text=heart,nhip") == {pulse, only_text}


def test_missing_true_finds_resources_without_the_element_and_false_those_with_it(client):
    with_gender = create(client, patient(gender="other"))
    without_gender = create(client, without(patient(), "gender"))
    assert found(client, "Patient?gender:missing=true") == {without_gender}
    assert found(client, "Patient?gender:missing=false") == {with_gender}


def test_an_identifier_matches_by_system_and_value_or_by_value(client):
    cccd = create(client, patient(cccd="001085000123"))
    bare = create(client, patient(identifier=[{"value": "001085000123"}]))
    other = create(client, patient(identifier=[{"system": "http://benhan.vn/mrn", "value": "BN-7"}]))
    assert found(client, f"Patient?identifier={CCCD_SYSTEM}|001085000123") == {cccd}
    assert found(client, "Patient?identifier=001085000123") == {cccd, bare}
    assert found(client, "Patient?identifier=|001085000123") == {bare}
    assert found(client, "Patient?identifier=http://benhan.vn/mrn|") == {other}
    assert found(client, "Patient?identifier=00108500012") == set()      # no partial match on tokens


def test_identifier_text_matches_the_identifier_type_text(client):
    mrn = create(client, patient(identifier=[{"type": {"text": "Mã bệnh nhân"}, "system": "http://benhan.vn/mrn",
                                              "value": "BN-8"}]))
    create(client, patient())
    assert found(client, "Patient?identifier:text=ma%20benh") == {mrn}


def test_an_escaped_pipe_is_part_of_the_code(client):
    odd = create(client, patient(identifier=[{"system": "http://benhan.vn/mrn", "value": "A|B"}]))
    assert found(client, r"Patient?identifier=A\|B") == {odd}
    assert found(client, r"Patient?identifier=http://benhan.vn/mrn|A\|B") == {odd}
    assert found(client, "Patient?identifier=A|B") == set()            # system A, code B


def test_a_contact_point_matches_by_its_value(client):
    an = create(client, patient(telecom=[{"system": "phone", "value": "0912345678", "use": "mobile"},
                                         {"system": "email", "value": "an@benhan.vn"}]))
    binh = create(client, patient(telecom=[{"system": "phone", "value": "0987654321"}]))
    assert found(client, "Patient?telecom=0912345678") == {an}
    assert found(client, "Patient?phone=0912345678") == {an}
    assert found(client, "Patient?phone=0987654321") == {binh}
    assert found(client, "Patient?email=an@benhan.vn") == {an}
    assert found(client, "Patient?phone=an@benhan.vn") == set()       # phone looks at phones only
    assert found(client, "Patient?email:missing=true") == {binh}


def test_a_boolean_matches_true_or_false(client):
    active = create(client, patient(active=True))
    inactive = create(client, patient(active=False))
    unknown = create(client, patient())
    assert found(client, "Patient?active=true") == {active}
    assert found(client, "Patient?active=false") == {inactive}
    assert found(client, "Patient?active:not=true") == {inactive, unknown}
    assert found(client, "Patient?active:missing=true") == {unknown}


def test_deceased_is_true_for_a_date_of_death_or_a_true_flag(client):
    died = create(client, patient(deceasedDateTime="2024-02-01T10:00:00+07:00"))
    flagged = create(client, patient(deceasedBoolean=True))
    alive = create(client, patient(deceasedBoolean=False))
    assert found(client, "Patient?deceased=true") == {died, flagged}
    assert found(client, "Patient?deceased:not=true") >= {alive}


def test_a_code_element_matches_its_code(client):
    final = create(client, observation(coding(LOINC, "8867-4"), status="final"))
    prelim = create(client, observation(coding(LOINC, "8867-4"), status="preliminary"))
    assert found(client, "Observation?status=final") == {final}
    assert found(client, "Observation?status=final,preliminary") == {final, prelim}
    assert found(client, "Observation?status:not=final") == {prelim}


def test_an_unsupported_token_modifier_is_400_and_ignored_when_lenient(client):
    male = create(client, patient(gender="male"))
    # :of-type (Identifier.type system|code|value) is not indexed yet; :below/:above/:in need
    # terminology. Each is refused rather than misread.
    for query in ("gender:below=male", "gender:in=http://hl7.org/fhir/ValueSet/administrative-gender",
                  "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053"):
        r = client.get(f"/fhir/Patient?{query}")
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", query
        lenient = client.get(f"/fhir/Patient?{query}", headers={"Prefer": "handling=lenient"})
        assert lenient.status_code == 200
        assert {e["resource"]["id"] for e in lenient.json()["entry"] if e["search"]["mode"] == "match"} == {male}
