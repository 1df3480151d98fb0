"""Parameters for all resources and result parameters (http://hl7.org/fhir/R4/search.html#all):
_id, _lastUpdated, _tag, _profile, _security, _source; _count, _total, _summary, _elements, _sort;
POST _search; unknown parameters refused, or ignored with Prefer: handling=lenient — on every store."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, quote, urlsplit

from tests.factories import FHIR_JSON, issue_codes, patient

TAGS = "http://benhan.vn/fhir/CodeSystem/nhan"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PROFILE = "http://benhan.vn/fhir/StructureDefinition/benh-nhan"


def create(client, resource: dict) -> dict:
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    return r.json()


def search(client, query: str, **headers) -> dict:
    r = client.get(f"/fhir/{query}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def found(client, query: str) -> set[str]:
    return {e["resource"]["id"] for e in search(client, query).get("entry", []) if e["search"]["mode"] == "match"}


def link(bundle: dict, relation: str) -> str | None:
    return next((x["url"] for x in bundle["link"] if x["relation"] == relation), None)


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def follow(client, url: str) -> dict:
    return search(client, url.replace("http://testserver/fhir/", ""))


def all_pages(client, query: str) -> list[dict]:
    pages = [search(client, query)]
    while (nxt := link(pages[-1], "next")) is not None:
        pages.append(follow(client, nxt))
    return pages


def entry_ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


# --- parameters for all resources ----------------------------------------------------------------

def test_id_finds_resources_by_their_ids(client):
    a, b, _ = (create(client, patient())["id"] for _ in range(3))
    assert found(client, f"Patient?_id={a}") == {a}
    assert found(client, f"Patient?_id={a},{b}") == {a, b}
    assert found(client, f"Patient?_id={a}&_id={b}") == set()
    assert found(client, "Patient?_id=nobody") == set()


def test_last_updated_compares_the_instant_of_the_last_write(client):
    first = create(client, patient())
    time.sleep(0.005)
    second = create(client, patient())
    at = first["meta"]["lastUpdated"]              # millisecond precision: a 1 ms range
    year = at[:4]
    assert found(client, f"Patient?_lastUpdated={quote(at)}") == {first["id"]}
    assert found(client, f"Patient?_lastUpdated=gt{quote(at)}") == {second["id"]}
    assert found(client, f"Patient?_lastUpdated=le{quote(at)}") == {first["id"]}
    assert found(client, f"Patient?_lastUpdated=ge{quote(at)}") == {first["id"], second["id"]}
    assert found(client, f"Patient?_lastUpdated={year}") == {first["id"], second["id"]}
    assert found(client, "Patient?_lastUpdated=lt2000-01-01") == set()
    assert found(client, f"Patient?_lastUpdated=sa{int(year) - 1}") == {first["id"], second["id"]}


def test_tag_security_profile_and_source_search_the_meta(client):
    vip = create(client, patient(meta={
        "tag": [{"system": TAGS, "code": "vip"}],
        "security": [{"system": CONFIDENTIALITY, "code": "R"}],
        "profile": [PROFILE], "source": "http://benhan.vn/node/ha-noi#req-1"}))["id"]
    plain = create(client, patient(meta={"tag": [{"system": TAGS, "code": "thuong"}],
                                         "profile": [PROFILE + "-khac"]}))["id"]
    untagged = create(client, patient())["id"]
    assert found(client, f"Patient?_tag={TAGS}|vip") == {vip}
    assert found(client, "Patient?_tag=vip,thuong") == {vip, plain}
    assert found(client, f"Patient?_tag:not={TAGS}|vip") == {plain, untagged}
    assert found(client, "Patient?_tag:missing=true") == {untagged}
    assert found(client, f"Patient?_security={CONFIDENTIALITY}|R") == {vip}
    assert found(client, f"Patient?_profile={PROFILE}") == {vip}
    assert found(client, f"Patient?_profile:below={PROFILE}") == {vip, plain}
    assert found(client, "Patient?_source=" + quote("http://benhan.vn/node/ha-noi#req-1")) == {vip}
    assert found(client, "Patient?_source:below=http://benhan.vn/node/") == {vip}


# --- paging, totals, summaries -------------------------------------------------------------------

def test_count_sets_the_page_size_and_next_links_walk_every_match_once(client):
    made = {create(client, patient(family="Hồ"))["id"] for _ in range(5)}
    pages = all_pages(client, "Patient?family=ho&_count=2")
    assert [len(entry_ids(p)) for p in pages] == [2, 2, 1]
    seen = [i for p in pages for i in entry_ids(p)]
    assert sorted(seen) == sorted(made)


def test_count_zero_gives_the_total_alone(client):
    for _ in range(3):
        create(client, patient())
    bundle = search(client, "Patient?_count=0")
    assert bundle["total"] == 3 and "entry" not in bundle and link(bundle, "next") is None


def test_a_count_that_is_not_a_whole_number_is_400(client):
    for value in ("abc", "-1", "1.5", "", "١٢"):
        r = client.get(f"/fhir/Patient?_count={quote(value)}")
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", value


def test_total_accurate_counts_every_match_on_every_page(client):
    for _ in range(5):
        create(client, patient(family="Lâm"))
    create(client, patient(family="Khác"))
    pages = all_pages(client, "Patient?family=lam&_count=2&_total=accurate")
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert all(("_total", "accurate") in query_of(link(p, "self")) for p in pages)
    assert "total" not in search(client, "Patient?family=lam&_total=none")
    r = client.get("/fhir/Patient?_total=all")
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1012"]


def test_summary_count_gives_the_total_without_resources(client):
    for _ in range(2):
        create(client, patient(family="Mai"))
    bundle = search(client, "Patient?family=mai&_summary=count")
    assert bundle["total"] == 2 and "entry" not in bundle


def test_elements_keeps_the_named_elements_and_marks_the_resource_subsetted(client):
    create(client, patient(family="Tô"))
    bundle = search(client, "Patient?family=to&_elements=name,gender")
    resource = bundle["entry"][0]["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "name", "gender"}
    assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"} \
        in resource["meta"]["tag"]


def test_elements_and_summary_carry_over_to_the_self_and_next_links(client):
    for _ in range(3):
        create(client, patient(family="Tô"))
    first = search(client, "Patient?family=to&_elements=name&_count=2")
    assert ("_elements", "name") in query_of(link(first, "self"))
    second = follow(client, link(first, "next"))
    assert set(second["entry"][0]["resource"]) == {"resourceType", "id", "meta", "name"}
    summary = search(client, "Patient?family=to&_summary=true&_count=2")
    assert ("_summary", "true") in query_of(link(summary, "next"))


# --- sorting --------------------------------------------------------------------------------------

def test_sort_orders_by_the_parameter_and_breaks_ties_the_same_way_on_every_page(client):
    ids = {family: create(client, patient(family=family))["id"] for family in ("Bùi", "Đặng", "Vũ")}
    ties = [create(client, patient(family="Cao"))["id"] for _ in range(5)]
    order = [i for p in all_pages(client, "Patient?_sort=family&_count=3") for i in entry_ids(p)]
    assert order[0] == ids["Bùi"] and order[-2:] == [ids["Đặng"], ids["Vũ"]]
    assert sorted(order[1:6]) == sorted(ties)
    again = [i for p in all_pages(client, "Patient?_sort=family&_count=2") for i in entry_ids(p)]
    assert again == order                           # ties keep one order whatever the page size
    backwards = [i for p in all_pages(client, "Patient?_sort=-family&_count=4") for i in entry_ids(p)]
    assert backwards[0] == ids["Vũ"] and backwards[-1] == ids["Bùi"] and len(set(backwards)) == 8


def test_sort_by_several_keys_and_by_id(client):
    a = create(client, patient(family="Lê", birthDate="1990-01-01"))["id"]
    b = create(client, patient(family="Lê", birthDate="1980-01-01"))["id"]
    c = create(client, patient(family="An", birthDate="2000-01-01"))["id"]
    assert entry_ids(search(client, "Patient?_sort=family,-birthdate")) == [c, a, b]
    assert entry_ids(search(client, "Patient?_sort=_id")) == sorted([a, b, c])


# --- POST _search -----------------------------------------------------------------------------------

def test_post_search_takes_form_parameters_and_answers_like_get(client):
    nguyen = create(client, patient(family="Nguyễn", gender="female"))["id"]
    create(client, patient(family="Nguyễn", gender="male"))
    form = {"family": "nguyen", "gender": "female"}
    r = client.post("/fhir/Patient/_search", data=form)
    assert r.status_code == 200, r.text
    assert entry_ids(r.json()) == [nguyen] == entry_ids(search(client, "Patient?family=nguyen&gender=female"))
    mixed = client.post("/fhir/Patient/_search?gender=female", data={"family": "nguyen"})
    assert entry_ids(mixed.json()) == [nguyen]
    assert set(query_of(link(mixed.json(), "self"))) >= {("family", "nguyen"), ("gender", "female")}


def test_post_search_with_a_json_body_is_415(client):
    r = client.post("/fhir/Patient/_search", json={"family": "nguyen"})
    assert r.status_code == 415 and r.json()["resourceType"] == "OperationOutcome"


# --- unknown parameters --------------------------------------------------------------------------

def test_an_unknown_parameter_or_modifier_is_400_with_an_operation_outcome(client):
    for query in ("Patient?foo=bar", "Patient?family:sounds-like=nguyen", "Patient?_sort=foo",
                  "Patient?_has:Foo:patient:code=x", "Patient?near=1|2|3|km"):
        r = client.get(f"/fhir/{query}")
        assert r.status_code == 400, query
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome", query
        assert issue_codes(outcome) == ["BENHAN-1013"], query


def test_lenient_handling_ignores_unknown_parameters_and_the_self_link_shows_what_was_applied(client):
    nguyen = create(client, patient(family="Nguyễn"))["id"]
    create(client, patient(family="Trần"))
    bundle = search(client, "Patient?family=nguyen&foo=bar&given:sounds-like=x&_sort=foo",
                    Prefer="handling=lenient")
    assert entry_ids(bundle) == [nguyen]
    applied = query_of(link(bundle, "self"))
    assert ("family", "nguyen") in applied
    assert not {k for k, _ in applied} & {"foo", "given:sounds-like", "_sort"}
    outcomes = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1 and outcomes[0]["resourceType"] == "OperationOutcome"
    assert "foo" in outcomes[0]["issue"][0]["diagnostics"]


def test_lenient_handling_still_refuses_a_known_parameter_with_a_bad_value(client):
    r = client.get("/fhir/Patient?birthdate=soon", headers={"Prefer": "handling=lenient"})
    assert r.status_code == 400 and issue_codes(r.json()) == ["BENHAN-1012"]
