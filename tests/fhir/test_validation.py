"""Validation of FHIR R4 JSON against the base definitions: one kind of problem per test."""
from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benhan.fhir.definitions import load_structure
from benhan.fhir.validation import MAX_DEPTH, Issue, Validator, default_validator

OBSERVATION_STATUS = "http://hl7.org/fhir/ValueSet/observation-status"


def patient(**fields) -> dict:
    return {"resourceType": "Patient", "id": "p1", **fields}


def observation(**fields) -> dict:
    base = {"resourceType": "Observation", "status": "final", "code": {"text": "Heart rate"}}
    base.update(fields)
    return base


def errors(resource: object) -> list[tuple[str, str]]:
    return [(i.code, i.expression) for i in default_validator().validate(resource) if i.severity == "error"]


def only_error(resource: object) -> Issue:
    found = [i for i in default_validator().validate(resource) if i.severity == "error"]
    assert len(found) == 1, found
    return found[0]


# -- the definitions ---------------------------------------------------------------------------


def test_every_r4_resource_type_is_known():
    types = load_structure().resource_types
    assert len(types) == 146
    assert {"Patient", "Observation", "Bundle", "Parameters", "MedicinalProductPackaged"} <= types
    assert not {"Resource", "DomainResource"} & types


def test_a_content_reference_leads_to_the_referenced_elements():
    structure = load_structure()
    assert structure.children("Questionnaire.item.item") == structure.children("Questionnaire.item")


def test_the_fhir_package_imports_nothing_of_benhan_outside_itself():
    for name in ("definitions", "primitives", "shapes", "validation"):
        tree = ast.parse((Path(__file__).parents[2] / "benhan" / "fhir" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("benhan"):
                assert node.module.startswith("benhan.fhir"), (name, node.module)


# -- valid resources ---------------------------------------------------------------------------


def test_a_minimal_valid_resource_has_no_issues():
    assert default_validator().validate(patient(birthDate="1950-02-03", gender="female")) == []


def test_the_default_validator_is_compiled_once():
    assert default_validator() is default_validator()


# -- resourceType --------------------------------------------------------------------------------


def test_a_resource_without_resource_type_is_rejected():
    assert errors({"id": "x"}) == [("invalid", "Resource")]


def test_an_unknown_resource_type_is_rejected():
    issue = only_error({"resourceType": "Patientt"})
    assert (issue.code, issue.message) == ("invalid", "Unknown resource type 'Patientt'")


def test_an_abstract_resource_type_is_rejected():
    assert errors({"resourceType": "DomainResource"}) == [("invalid", "Resource")]


@pytest.mark.parametrize("junk", [None, 1, 2.5, True, "Patient", [], [{"resourceType": "Patient"}]])
def test_input_that_is_not_an_object_is_reported_not_raised(junk):
    assert errors(junk) == [("structure", "Resource")]


# -- unknown elements ----------------------------------------------------------------------------


def test_an_unknown_element_is_rejected_with_its_path():
    issue = only_error(patient(foo=1))
    assert (issue.code, issue.expression, issue.message) == ("structure", "Patient.foo", "Unknown element 'foo'")


def test_an_unknown_element_deep_inside_a_backbone_element_has_its_full_path():
    resource = patient(contact=[{"name": {"family": "Le"}}, {"name": {"family": "Tran", "nickname": "T"}}])
    assert errors(resource) == [("structure", "Patient.contact[1].name.nickname")]


def test_a_primitive_extension_sibling_is_legal():
    resource = patient(birthDate="1950", _birthDate={"id": "b", "extension": [{"url": "http://x", "valueString": "y"}]})
    assert errors(resource) == []


def test_a_primitive_extension_sibling_may_stand_alone():
    assert errors(patient(_birthDate={"extension": [{"url": "http://x", "valueCode": "unknown"}]})) == []


def test_an_underscore_sibling_of_a_complex_element_is_unknown():
    assert errors(patient(name=[{"family": "Le"}], _name=[{"id": "x"}])) == [("structure", "Patient._name")]


def test_an_underscore_sibling_may_hold_only_id_and_extension():
    assert errors(patient(birthDate="1950", _birthDate={"value": "1950"})) == [("structure", "Patient.birthDate.value")]


def test_resource_type_inside_a_datatype_is_an_unknown_element():
    assert errors(patient(name=[{"resourceType": "HumanName"}])) == [("structure", "Patient.name[0].resourceType")]


# -- JSON types and the FHIR JSON rules -------------------------------------------------------------


def test_a_number_where_a_string_belongs_is_rejected():
    issue = only_error(patient(birthDate=19500203))
    assert (issue.code, issue.expression) == ("structure", "Patient.birthDate")
    assert "expected a string, found a number" in issue.message


def test_a_string_where_a_boolean_belongs_is_rejected():
    assert errors(patient(active="true")) == [("structure", "Patient.active")]


def test_a_string_where_a_number_belongs_is_rejected():
    resource = observation(valueQuantity={"value": "72"})
    assert errors(resource) == [("structure", "Observation.value.ofType(Quantity).value")]


def test_an_object_where_a_primitive_belongs_is_rejected():
    assert errors(patient(gender={"code": "male"})) == [("structure", "Patient.gender")]


def test_a_string_where_an_object_belongs_is_rejected():
    assert errors(patient(maritalStatus="M")) == [("structure", "Patient.maritalStatus")]


def test_a_repeating_element_must_be_an_array():
    assert errors(patient(name={"family": "Le"})) == [("structure", "Patient.name")]


def test_a_single_element_must_not_be_an_array():
    assert errors(patient(birthDate=["1950"])) == [("structure", "Patient.birthDate")]
    assert errors(patient(maritalStatus=[{"text": "M"}])) == [("structure", "Patient.maritalStatus")]


def test_an_empty_array_is_rejected():
    assert errors(patient(name=[])) == [("structure", "Patient.name")]


def test_an_empty_object_is_rejected():
    assert errors(patient(maritalStatus={})) == [("structure", "Patient.maritalStatus")]


def test_an_empty_string_is_rejected():
    assert errors(patient(name=[{"family": ""}])) == [("value", "Patient.name[0].family")]


def test_null_is_rejected():
    assert errors(patient(birthDate=None)) == [("structure", "Patient.birthDate")]
    assert errors(patient(name=[None])) == [("structure", "Patient.name[0]")]


def test_nulls_in_a_primitive_array_pair_with_the_extension_array():
    ext = {"extension": [{"url": "http://x", "valueString": "y"}]}
    assert errors(patient(name=[{"given": ["An", None], "_given": [None, ext]}])) == []


def test_a_null_in_a_primitive_array_without_its_extension_is_rejected():
    assert errors(patient(name=[{"given": ["An", None]}])) == [("structure", "Patient.name[0].given[1]")]


def test_a_primitive_array_and_its_extension_array_must_match_in_length():
    ext = {"extension": [{"url": "http://x", "valueString": "y"}]}
    assert errors(patient(name=[{"given": ["An", "Bình"], "_given": [ext]}])) == [("structure", "Patient.name[0].given")]


# -- cardinality ---------------------------------------------------------------------------------


def test_a_missing_required_element_is_rejected():
    resource = observation()
    del resource["status"]
    issue = only_error(resource)
    assert (issue.code, issue.expression) == ("required", "Observation.status")
    assert issue.message == "Minimum cardinality of 'Observation.status' is 1"


def test_a_missing_required_element_inside_a_backbone_element_is_rejected():
    assert errors(patient(link=[{"type": "seealso"}])) == [("required", "Patient.link[0].other")]


def test_a_required_primitive_given_only_as_an_extension_is_present():
    resource = observation(_status={"extension": [{"url": "http://x", "valueCode": "unknown"}]})
    del resource["status"]
    assert errors(resource) == []


def test_a_missing_required_choice_is_reported_without_the_x():
    resource = {"resourceType": "Questionnaire", "status": "draft",
                "item": [{"linkId": "1", "type": "boolean", "enableWhen": [{"question": "0", "operator": "exists"}]}]}
    assert errors(resource) == [("required", "Questionnaire.item[0].enableWhen[0].answer")]


# -- primitive formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birthDate", "2020-13-01"),
        ("birthDate", "2021-02-29"),
        ("birthDate", "20200101"),
        ("deceasedDateTime", "2020-01-01T10:00:00"),  # a time needs a zone
        ("deceasedDateTime", "2020-01-01T25:00:00Z"),
        ("implicitRules", "http://example.org/has space"),
    ],
)
def test_a_badly_formatted_primitive_is_rejected(field, value):
    issue = only_error(patient(**{field: value}))
    expression = "Patient.deceased.ofType(dateTime)" if field == "deceasedDateTime" else f"Patient.{field}"
    assert (issue.code, issue.expression) == ("value", expression)
    assert value in issue.message


def test_an_invalid_date_names_the_value():
    assert only_error(patient(birthDate="2020-13-01")).message == "Invalid date '2020-13-01'"


def test_a_leap_day_in_a_leap_year_is_a_date():
    assert errors(patient(birthDate="2000-02-29")) == []


def test_an_instant_needs_seconds_and_a_zone():
    assert errors(patient(meta={"lastUpdated": "2020-01-01T10:00Z"})) == [("value", "Patient.meta.lastUpdated")]
    assert errors(patient(meta={"lastUpdated": "2020-01-01T10:00:00.123+07:00"})) == []


@pytest.mark.parametrize("bad", ["has space", "x" * 65, "ü", ""])
def test_a_resource_id_follows_the_id_rule(bad):
    assert errors(patient(id=bad)) == [("value", "Patient.id")]


def test_a_64_character_id_is_fine():
    assert errors(patient(id="a" * 64)) == []


@pytest.mark.parametrize(
    ("element", "value", "code"),
    [
        ("valueInteger", 2**31, "value"),
        ("valueInteger", -(2**31) - 1, "value"),
        ("valueInteger", 1.0, "value"),
        ("valueInteger", "1", "structure"),
        ("valueInteger", True, "structure"),
        ("valuePositiveInt", 0, "value"),
        ("valueUnsignedInt", -1, "value"),
        ("valueDecimal", "1.5", "structure"),
        ("valueBoolean", 1, "structure"),
        ("valueCode", "two  spaces", "value"),
        ("valueCode", " lead", "value"),
        ("valueOid", "1.2.3", "value"),
        ("valueUuid", "urn:uuid:ABC", "value"),
        ("valueTime", "24:00:00", "value"),
        ("valueBase64Binary", "abc", "value"),
        ("valueBase64Binary", "ab!=", "value"),
        ("valueCanonical", "http://x y", "value"),
        ("valueUrl", "http:// x", "value"),
    ],
)
def test_an_extension_value_of_each_primitive_type_is_checked(element, value, code):
    resource = patient(extension=[{"url": "http://example.org/e", element: value}])
    kind = element[5].lower() + element[6:]
    assert errors(resource) == [(code, f"Patient.extension[0].value.ofType({kind})")]


@pytest.mark.parametrize(
    ("element", "value"),
    [("valueInteger", -(2**31)), ("valueDecimal", 1.5), ("valueDecimal", 3), ("valueOid", "urn:oid:1.2.3"),
     ("valueBase64Binary", "aGVs\n bG8="), ("valueUuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"),
     ("valueMarkdown", "# Title\n\n* item"), ("valueTime", "23:59:60")],
)
def test_well_formed_primitives_are_accepted(element, value):
    assert errors(patient(extension=[{"url": "http://example.org/e", element: value}])) == []


def test_a_string_longer_than_one_megabyte_is_too_long():
    issue = only_error(patient(name=[{"text": "a" * (1024 * 1024 + 1)}]))
    assert (issue.code, issue.expression) == ("too-long", "Patient.name[0].text")


def test_a_whitespace_only_string_is_a_warning():
    issues = default_validator().validate(patient(name=[{"text": "   "}]))
    assert [(i.severity, i.expression) for i in issues] == [("warning", "Patient.name[0].text")]


def test_a_non_breaking_space_is_an_ordinary_character():
    assert errors(patient(name=[{"family": "\u00a0Seul\u00a0"}])) == []


def test_a_vertical_tab_in_a_string_is_rejected():
    assert errors(patient(name=[{"text": "a\x0bb"}])) == [("value", "Patient.name[0].text")]


# -- choice types --------------------------------------------------------------------------------


def test_a_choice_allows_only_one_of_its_types():
    issue = only_error(observation(valueString="72", valueQuantity={"value": 72}))
    assert (issue.code, issue.expression) == ("structure", "Observation.value")


def test_a_choice_of_a_type_it_does_not_allow_is_unknown():
    assert errors(observation(valueUri="http://x")) == [("structure", "Observation.valueUri")]


def test_a_choice_value_and_its_extension_sibling_count_once():
    assert errors(observation(valueString="72", _valueString={"id": "v"})) == []


# -- resources inside resources ---------------------------------------------------------------------


def test_a_contained_resource_is_validated_as_its_own_type():
    resource = patient(contained=[{"resourceType": "Organization", "id": "o", "active": "yes"}])
    assert errors(resource) == [("structure", "Patient.contained[0].ofType(Organization).active")]


def test_a_contained_resource_must_not_contain_resources():
    inner = {"resourceType": "Organization", "id": "o2"}
    resource = patient(contained=[{"resourceType": "Organization", "id": "o", "contained": [inner]}])
    assert errors(resource) == [("invalid", "Patient.contained[0].ofType(Organization).contained")]


def test_a_contained_entry_of_unknown_type_is_rejected():
    assert errors(patient(contained=[{"resourceType": "Nope"}])) == [("invalid", "Patient.contained[0]")]


def test_a_bundle_entry_is_validated_as_its_resource_type():
    bad = observation(status="bogus")
    resource = {"resourceType": "Bundle", "type": "collection",
                "entry": [{"resource": patient()}, {"resource": patient()}, {"resource": bad}]}
    issue = only_error(resource)
    assert (issue.code, issue.expression) == ("code-invalid", "Bundle.entry[2].resource.ofType(Observation).status")


def test_a_resource_inside_a_bundle_may_contain_resources():
    resource = {"resourceType": "Bundle", "type": "collection",
                "entry": [{"resource": patient(contained=[{"resourceType": "Organization", "id": "o"}])}]}
    assert errors(resource) == []


def test_a_parameters_resource_is_validated_recursively():
    resource = {"resourceType": "Parameters", "parameter": [{"name": "p", "resource": patient(foo=1)}]}
    assert errors(resource) == [("structure", "Parameters.parameter[0].resource.ofType(Patient).foo")]


def test_nested_parameter_parts_follow_the_content_reference():
    resource = {"resourceType": "Parameters", "parameter": [{"name": "a", "part": [{"name": "b", "valueDate": "2020-02-30"}]}]}
    assert errors(resource) == [("value", "Parameters.parameter[0].part[0].value.ofType(date)")]


def test_questionnaire_items_nest_through_the_content_reference():
    item = {"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "strin"}]}
    resource = {"resourceType": "Questionnaire", "status": "draft", "item": [item]}
    assert errors(resource) == [("code-invalid", "Questionnaire.item[0].item[0].type")]


# -- Extension, Reference, Narrative ----------------------------------------------------------------


def test_an_extension_needs_a_url():
    assert errors(patient(extension=[{"valueString": "x"}])) == [("required", "Patient.extension[0].url")]


def test_an_extension_needs_a_value_or_extensions():
    assert errors(patient(extension=[{"url": "http://x"}])) == [("invalid", "Patient.extension[0]")]


def test_an_extension_must_not_have_both_a_value_and_extensions():
    ext = {"url": "http://x", "valueString": "a", "extension": [{"url": "y", "valueString": "b"}]}
    assert errors(patient(extension=[ext])) == [("invalid", "Patient.extension[0]")]


def test_a_nested_extension_is_checked():
    ext = {"url": "http://x", "extension": [{"url": "y", "valueDate": "yesterday"}]}
    assert errors(patient(extension=[ext])) == [("value", "Patient.extension[0].extension[0].value.ofType(date)")]


def test_a_reference_has_only_reference_elements():
    assert errors(observation(subject={"reference": "Patient/p1", "id_": 1})) == [("structure", "Observation.subject.id_")]


def test_a_narrative_div_must_start_with_a_div():
    text = {"status": "generated", "div": "<p>hello</p>"}
    assert errors(patient(text=text)) == [("value", "Patient.text.div")]


def test_a_narrative_div_must_be_a_string():
    assert errors(patient(text={"status": "generated", "div": {"p": 1}})) == [("structure", "Patient.text.div")]


def test_a_narrative_div_has_no_extension_sibling():
    text = {"status": "generated", "div": "<div/>", "_div": {"id": "x"}}
    assert errors(patient(text=text)) == [("structure", "Patient.text._div")]


# -- required bindings ---------------------------------------------------------------------------


def test_a_code_outside_its_required_value_set_is_rejected():
    issue = only_error(observation(status="xyz"))
    assert (issue.code, issue.expression) == ("code-invalid", "Observation.status")
    assert issue.message == f"Code 'xyz' is not in the required value set {OBSERVATION_STATUS}"


def test_a_codeable_concept_with_no_coding_in_its_required_value_set_is_rejected():
    status = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "gone"}]}
    resource = {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "clinicalStatus": status}
    assert errors(resource) == [("code-invalid", "Condition.clinicalStatus")]


def test_a_codeable_concept_needs_only_one_coding_from_the_value_set():
    status = {"coding": [{"system": "http://snomed.info/sct", "code": "55561003"},
                         {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
    resource = {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "clinicalStatus": status}
    assert errors(resource) == []


def test_a_code_from_the_value_set_under_another_system_is_rejected():
    status = {"coding": [{"system": "http://example.org", "code": "active"}]}
    resource = {"resourceType": "Condition", "subject": {"reference": "Patient/p"}, "clinicalStatus": status}
    assert errors(resource) == [("code-invalid", "Condition.clinicalStatus")]


def test_a_binding_to_a_value_set_the_package_cannot_expand_is_not_checked():
    # Attachment.contentType is bound to BCP-13 mime types, which no package enumerates.
    resource = patient(photo=[{"contentType": "made/up"}])
    assert errors(resource) == []


def test_a_required_binding_on_a_datatype_applies_wherever_it_is_used():
    resource = patient(telecom=[{"system": "pager-ish", "value": "1"}])
    assert errors(resource) == [("code-invalid", "Patient.telecom[0].system")]


# -- hostile input ------------------------------------------------------------------------------


def test_deep_nesting_is_reported_not_raised():
    item: dict = {"linkId": "x", "type": "group"}
    root = item
    for _ in range(MAX_DEPTH * 3):
        child = {"linkId": "x", "type": "group"}
        item["item"] = [child]
        item = child
    issues = default_validator().validate({"resourceType": "Questionnaire", "status": "draft", "item": [root]})
    assert [i.message for i in issues] == [f"Nested deeper than {MAX_DEPTH} levels"]


def test_deeply_nested_extensions_are_reported_not_raised():
    ext: dict = {"url": "x", "valueString": "leaf"}
    for _ in range(2000):
        ext = {"url": "x", "extension": [ext]}
    assert any("deeper" in i.message for i in default_validator().validate(patient(extension=[ext])))


def test_a_validator_can_be_built_from_given_definitions():
    assert Validator(load_structure()).validate(patient()) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "name", "given", "_given", "extension", "url", "valueString",
                                      "resourceType", "contained", "status", "text", "div", "x", "_x"]),
                      children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(["Patient", "Observation", "Bundle", "Questionnaire", "Nope", None]))
def test_any_json_at_all_gives_issues_and_never_raises(junk, resource_type):
    resource = copy.deepcopy(junk) if isinstance(junk, dict) else junk
    if isinstance(resource, dict) and resource_type is not None:
        resource["resourceType"] = resource_type
    issues = default_validator().validate(resource)
    assert all(isinstance(i, Issue) and i.severity in ("error", "warning") for i in issues)
