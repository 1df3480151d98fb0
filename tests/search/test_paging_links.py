"""Every link the server writes is the same search again.

The class: a `self` or `next` link that reads back as a different query (it wrote `system|code` as
`system\\|code`, so page 2 of `code=http://loinc.org|8867-4` was empty, and a quantity or composite
page 2 was a 400). The property: for any query of any parameter kind, parse → the link the server
writes → parse gives the same request. And end to end, on both databases: following `next` to the
end delivers exactly `total` distinct resources, for searches, compartment searches, history and
$everything.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benhan.fhir import bundle as fhir_bundle
from benhan.fhir.search import PREFIXES, escape, parse
from tests.factories import FHIR_JSON, patient
from tests.search.helpers import create

BASE = "http://testserver/fhir"

# Text with everything that has a meaning somewhere: the search escapes, URL syntax, spaces, plus
# signs, percent signs, non-ASCII (Vietnamese) and other Unicode.
ODD = ",|$\\:&=+%#?/ .-_'\"<>"
text = st.text(alphabet=st.one_of(st.sampled_from(ODD), st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))),
               min_size=1, max_size=12)
uri_text = st.text(alphabet=st.one_of(st.sampled_from(ODD.replace(" ", "")),
                                      st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"))),
                   min_size=1, max_size=12)
literal = text.map(escape)                     # a value meant literally, escaped as FHIR says
raw = text                                     # whatever a client may send, escaped or not
prefix = st.sampled_from(("",) + PREFIXES)
number = st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?(e[0-9])?", fullmatch=True)
date = st.from_regex(r"20[0-9]{2}(-0[1-9](-1[0-9](T0[0-9]:[0-5][0-9](:[0-5][0-9])?(Z|[+-]07:00))?)?)?",
                     fullmatch=True)
token = st.one_of(literal, st.tuples(literal, literal).map("|".join), literal.map(lambda c: "|" + c),
                  literal.map(lambda s: s + "|"), raw)
quantity = st.tuples(prefix, number, st.one_of(st.just(""), st.tuples(st.sampled_from(["|", "||"]), literal)
                                              .map("".join), st.tuples(literal, literal).map(lambda sc: f"|{sc[0]}|{sc[1]}"))
                     ).map("".join)


def _or(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(values, min_size=1, max_size=3).map(",".join)


# (resource type, parameter key, value strategy): every kind of parameter and modifier.
CRITERIA = [
    ("Patient", "name", _or(raw)), ("Patient", "family:exact", _or(literal)), ("Patient", "address:contains", _or(raw)),
    ("Observation", "code", _or(token)), ("Patient", "identifier", _or(token)), ("Observation", "code:text", _or(raw)),
    ("Observation", "code:not", _or(token)), ("Patient", "gender:missing", st.sampled_from(["true", "false"])),
    ("Patient", "identifier:of-type", _or(token)),       # refused (lenient: ignored, and out of the link)
    ("Observation", "value-quantity", _or(quantity)),
    ("Observation", "code-value-quantity", _or(st.tuples(token, quantity).map("$".join))),
    ("Observation", "component-code-value-quantity", _or(st.tuples(token, quantity).map(lambda p: f"{p[0]}${p[1]}"))),
    ("Observation", "subject", _or(st.one_of(literal.map(lambda i: "Patient/" + i), literal))),
    ("Observation", "subject:Patient", _or(literal)), ("Observation", "subject:identifier", _or(token)),
    ("Observation", "subject:Patient.name", _or(raw)), ("Observation", "subject.identifier", _or(token)),
    ("Observation", "encounter.subject:Patient.family", _or(raw)),
    ("Patient", "_has:Observation:patient:code", _or(token)),
    ("Observation", "date", _or(st.tuples(prefix, date).map("".join))),
    ("Patient", "_lastUpdated", _or(st.tuples(prefix, date).map("".join))),
    ("RiskAssessment", "probability", _or(st.tuples(prefix, number).map("".join))),
    ("ValueSet", "url", _or(raw)), ("ValueSet", "url:below", _or(raw)), ("ValueSet", "url:above", _or(raw)),
    ("Patient", "_id", _or(literal)), ("Patient", "_tag", _or(token)), ("Patient", "_profile", _or(raw)),
    ("Patient", "_security", _or(token)), ("Patient", "_source", _or(raw)),
]
RESULT = {
    "Patient": [("_sort", st.lists(st.sampled_from(["name", "-birthdate", "_id", "-_lastUpdated", "gender"]),
                                   min_size=1, max_size=3).map(",".join)),
                ("_include", st.sampled_from(["Patient:general-practitioner", "Patient:organization", "*"])),
                ("_revinclude", st.sampled_from(["Observation:subject", "Encounter:subject:Patient"])),
                ("_include:iterate", st.sampled_from(["Observation:subject", "Encounter:subject:Patient"]))],
    "Observation": [("_sort", st.sampled_from(["date", "-date,code", "value-quantity"])),
                    ("_include", st.sampled_from(["Observation:subject", "Observation:subject:Patient"]))],
}
COMMON_RESULT = [("_count", st.integers(0, 2000).map(str)), ("_total", st.sampled_from(["none", "accurate"])),
                 ("_summary", st.sampled_from(["true", "data", "text", "count", "false"])),
                 ("_elements", st.lists(st.sampled_from(["id", "name", "code", "subject", " meta "]), min_size=1,
                                        max_size=3).map(",".join))]


@st.composite
def queries(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    res_type = draw(st.sampled_from(sorted({t for t, _, _ in CRITERIA})))
    mine = [(k, v) for t, k, v in CRITERIA if t == res_type]
    items = [(k, draw(v)) for k, v in draw(st.lists(st.sampled_from(mine), min_size=1, max_size=4))]
    for key, values in draw(st.lists(st.sampled_from(RESULT.get(res_type, []) + COMMON_RESULT), max_size=3)):
        items.append((key, draw(values)))
    return res_type, draw(st.permutations(items))


def _link_items(req, path: str) -> list[tuple[str, str]]:  # noqa: ANN001
    """What a client that follows the link sends back: the link's query, decoded as Starlette does."""
    url = fhir_bundle.url_with(BASE, path, req.applied_query())
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _same(a, b) -> bool:  # noqa: ANN001
    # The link leaves out what a lenient search ignored (and reports once): all else must be equal.
    a.ignored, b.ignored = [], []
    return a == b


@settings(max_examples=600, deadline=None, derandomize=True)
@given(query=queries())
def test_a_link_reads_back_as_the_same_search(query):
    res_type, items = query
    first = parse(res_type, items, lenient=True)
    again = parse(res_type, _link_items(first, res_type), lenient=True)
    assert _same(again, first), (items, first.applied_query())
    # And the link is a fixed point: written twice, it is the same text.
    assert again.applied_query() == first.applied_query()


# --- end to end, on both databases ------------------------------------------------------------------

def _pages(client, url: str) -> tuple[list[str], int | None]:  # noqa: ANN001
    """Follow `next` from url to the end: every resource id delivered (match and history entries),
    and the total of the first page."""
    ids, total, seen_urls = [], None, set()
    while url:
        assert url not in seen_urls, f"the next link loops: {url}"
        seen_urls.add(url)
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        bundle = r.json()
        total = bundle.get("total") if total is None else total
        ids += [e["fullUrl"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode", "match") == "match"]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        # The self link reads back as this very page.
        self_url = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
        assert client.get(self_url).json().get("entry") == bundle.get("entry")
    return ids, total


ODD_SYSTEM = "urn:tx,a|b$c\\d"          # a system with every escaped character in it
ODD_VALUE = "7,8|9$0\\"


def test_following_next_delivers_exactly_total_for_every_kind_of_query(client):
    pid = create(client, patient(family="Lê, Thị|Hoa$"))
    for i in range(5):
        create(client, patient(family="Lê, Thị|Hoa$", identifier=[{"system": ODD_SYSTEM, "value": f"{ODD_VALUE}{i}"},
                                                                   {"system": "urn:tx", "value": str(i)}]))
        create(client, {"resourceType": "Observation", "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                        "subject": {"reference": f"Patient/{pid}"},
                        "effectiveDateTime": f"2026-11-2{i}T08:30:00+07:00",
                        "valueQuantity": {"value": 70 + i, "system": "http://unitsofmeasure.org", "code": "/min"},
                        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                                       "valueQuantity": {"value": 140 + i, "system": "http://unitsofmeasure.org",
                                                         "code": "mm[Hg]"}}]})
    odd = escape(ODD_SYSTEM)
    searches = {
        "Observation?code=http://loinc.org|8867-4": 5,
        "Observation?code=http://loinc.org|8867-4,http://loinc.org|8310-5": 5,
        "Patient?identifier=urn:tx|": 5,
        f"Patient?identifier={odd}|": 5,
        f"Patient?identifier={odd}|{escape(ODD_VALUE)}3": 1,
        "Patient?identifier=|nothing,urn:tx|1,urn:tx|2": 2,
        "Observation?value-quantity=gt70|http://unitsofmeasure.org|/min": 4,
        "Observation?value-quantity=ge70||/min": 5,
        "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt141": 3,
        "Observation?date=ge2026-11-21T00:00:00+07:00&_sort=-date": 4,
        f"Observation?subject:Patient.identifier={odd}|,urn:none|": 0,
        "Observation?subject:Patient.family=" + escape("Lê, Thị|Hoa$"): 5,
        "Patient?family:exact=" + escape("Lê, Thị|Hoa$"): 6,
        "Patient?_has:Observation:subject:code=http://loinc.org|8867-4": 1,
        f"Patient/{pid}/Observation?code=http://loinc.org|8867-4": 5,
    }
    for query, expected in searches.items():
        for extra in ("&_count=2&_total=accurate", "&_count=1&_total=accurate&_sort=_id"):
            ids, total = _pages(client, f"/fhir/{query}{extra}")
            where = query + extra
            if not query.startswith("Patient/"):
                assert total == expected, where
            assert len(ids) == expected, (where, ids)
            assert len(set(ids)) == len(ids), where
    # History and $everything write their own links: paged to the end, they deliver it all.
    ids, total = _pages(client, "/fhir/Patient/_history?_count=2&_total=accurate&_since=2000-01-01T00:00:00%2B07:00")
    assert len(ids) == total == 6
    ids, _ = _pages(client, f"/fhir/Patient/{pid}/$everything?_count=2&_type=Patient,Observation")
    assert len(ids) == len(set(ids)) == 6


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(system=uri_text, value=text)
def test_any_identifier_is_found_on_every_page(client, system, value):
    """Whatever characters a system or value holds, written with FHIR's escapes the search finds it,
    and page 2 (from the next link) finds it too."""
    for _ in range(2):
        create(client, patient(identifier=[{"system": "urn:p:" + system, "value": value}]))
    ids, total = _pages(client, f"/fhir/Patient?identifier={_q(escape('urn:p:' + system))}|{_q(escape(value))}"
                                "&_count=1&_total=accurate")
    assert total is not None and total >= 2 and len(ids) == len(set(ids)) == total


def _q(s: str) -> str:
    from urllib.parse import quote
    return quote(s, safe="")
