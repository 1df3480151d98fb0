"""String search (http://hl7.org/fhir/R4/search.html#string): starts-with by default, ignoring case
and accents; :exact and :contains; OR by comma, AND by repetition; escaping; :missing — on every store."""
from __future__ import annotations

from tests.factories import patient
from tests.search.helpers import create, found




def test_a_string_matches_values_that_start_with_it_in_any_case_and_without_accents(client):
    nguyen = create(client, patient(family="Nguyễn"))
    create(client, patient(family="Trần"))
    for value in ("Nguyễn", "nguyễn", "nguyen", "NGUYEN", "Ngu", "n"):
        assert found(client, f"Patient?family={value}") == {nguyen}, value
    assert found(client, "Patient?family=guyen") == set()          # starts with, not contains
    assert found(client, "Patient?family=nguyenx") == set()


def test_name_matches_any_part_of_a_human_name(client):
    an = create(client, patient(family="Phạm", given=("Minh", "Khôi"),
                                name=[{"text": "BS. Phạm Minh Khôi", "family": "Phạm", "given": ["Minh", "Khôi"],
                                       "prefix": ["BS."], "suffix": ["CKI"]}]))
    create(client, patient(family="Lý", given=("Thu",)))
    for value in ("pham", "minh", "khoi", "bs", "cki", "bs. pham minh"):
        assert found(client, f"Patient?name={value}") == {an}, value


def test_exact_matches_the_whole_string_with_its_case_and_accents(client):
    nguyen = create(client, patient(family="Nguyễn"))
    create(client, patient(family="Nguyen"))
    assert found(client, "Patient?family:exact=Nguyễn") == {nguyen}
    for value in ("nguyễn", "NGUYỄN", "Nguyễ", "Nguyễn%20", "Nguy"):
        assert found(client, f"Patient?family:exact={value}") == set(), value


def test_contains_matches_anywhere_in_the_string_ignoring_case_and_accents(client):
    nguyen = create(client, patient(family="Nguyễn"))
    hoang = create(client, patient(family="Hoàng"))
    assert found(client, "Patient?family:contains=uyê") == {nguyen}
    assert found(client, "Patient?family:contains=YEN") == {nguyen}
    assert found(client, "Patient?family:contains=n") == {nguyen, hoang}
    assert found(client, "Patient?family:contains=oang") == {hoang}
    assert found(client, "Patient?family:contains=xyz") == set()


def test_values_separated_by_commas_are_alternatives(client):
    tran = create(client, patient(family="Trần"))
    le = create(client, patient(family="Lê"))
    create(client, patient(family="Vũ"))
    assert found(client, "Patient?family=tran,le") == {tran, le}
    assert found(client, "Patient?family:exact=Trần,Lê") == {tran, le}
    assert found(client, "Patient?family:contains=ra,xyz") == {tran}


def test_a_repeated_parameter_must_match_every_time(client):
    van_an = create(client, patient(given=("Văn", "An")))
    create(client, patient(given=("Văn", "Bình")))
    create(client, patient(given=("Thị", "An")))
    assert found(client, "Patient?given=van&given=an") == {van_an}
    assert found(client, "Patient?given=van&given=an&family=tran") == set()


def test_an_escaped_comma_is_part_of_the_value_not_a_separator(client):
    with_comma = create(client, patient(family="Lê,Hoa"))
    hoa = create(client, patient(family="Hoa"))
    assert found(client, r"Patient?family=le\,hoa") == {with_comma}
    assert found(client, "Patient?family=le,hoa") == {with_comma, hoa}
    assert found(client, r"Patient?family:exact=Lê\,Hoa") == {with_comma}


def test_escaped_pipe_dollar_and_backslash_are_taken_literally(client):
    pipe = create(client, patient(family="Trần|Lý"))
    dollar = create(client, patient(family="A$B"))
    backslash = create(client, patient(family="C\\D"))
    assert found(client, r"Patient?family=tran\|ly") == {pipe}
    assert found(client, "Patient?family=tran%7Cly") == {pipe}      # a string has no system: | is text
    assert found(client, r"Patient?family=a\$b") == {dollar}
    assert found(client, r"Patient?family=c\\d") == {backslash}
    assert found(client, r"Patient?family:exact=C\\D") == {backslash}


def test_sql_wildcards_in_a_value_are_plain_characters(client):
    create(client, patient(family="Nguyễn"))
    percent = create(client, patient(family="50%"))
    underscore = create(client, patient(family="a_b"))
    assert found(client, "Patient?family=%25") == set()
    assert found(client, "Patient?family=_") == set()
    assert found(client, "Patient?family=50%25") == {percent}
    assert found(client, "Patient?family:contains=_") == {underscore}
    assert found(client, "Patient?family:contains=0%25") == {percent}


def test_address_matches_any_of_its_parts(client):
    hanoi = create(client, patient(address=[{"line": ["12 Phố Huế"], "district": "Hai Bà Trưng",
                                             "city": "Hà Nội", "country": "VN"}]))
    create(client, patient(address=[{"city": "Đà Nẵng"}]))
    assert found(client, "Patient?address=ha%20noi") == {hanoi}
    assert found(client, "Patient?address=12%20pho") == {hanoi}
    assert found(client, "Patient?address=hai%20ba") == {hanoi}
    assert found(client, "Patient?address-city=HÀ%20NỘI") == {hanoi}
    assert found(client, "Patient?address-city=noi") == set()


def test_missing_true_finds_resources_without_the_element_and_false_those_with_it(client):
    named = create(client, patient(family="Đỗ"))
    nameless = create(client, {k: v for k, v in patient().items() if k != "name"})
    assert found(client, "Patient?family:missing=true") == {nameless}
    assert found(client, "Patient?family:missing=false") == {named}
    r = client.get("/fhir/Patient?family:missing=maybe")
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_strings_longer_than_the_index_column_are_matched_whole(client):
    long_family = "Nguyễn" + "x" * 300 + "Tail"
    long_one = create(client, patient(family=long_family))
    create(client, patient(family="Nguyễn" + "x" * 300 + "Other"))
    assert found(client, "Patient?family=" + "nguyen" + "x" * 300 + "tail") == {long_one}
    assert found(client, "Patient?family:exact=" + long_family) == {long_one}
    assert found(client, "Patient?family:exact=" + long_family[:-1]) == set()
    assert found(client, "Patient?family:contains=xtail") == {long_one}


def test_a_prefix_finds_what_like_finds_at_the_edges_of_the_range(client, store):
    """On SQLite a prefix is also an index range (value >= p AND value < p'): the matches are the
    LIKE's, whatever the prefix's last character (the range's upper bound) or a wildcard in it."""
    from benhan.fhir.text import fold
    families = ["Ab", "Abz", "Ab z", "Ab~", "Ab\u00ff", "Ab\u4e00x", "Ac", "Aa\U0010ffff", "Ab%c", "Ab_c", "Ab\\c",
                "Abc", "AB", "A"]
    made = {f: create(client, patient(family=f)) for f in families}
    from urllib.parse import quote
    for prefix in ("ab", "a", "ab ", "ab~", "ab\u00ff", "ab\u4e00", "aa\U0010ffff", "ab%", "ab_", "ab\\\\", "abc"):
        term = prefix.replace("\\\\", "\\")
        expected = {made[f] for f in families if fold(f).startswith(fold(term))}
        assert found(client, f"Patient?family={quote(prefix)}") == expected, (prefix, store.db.is_sqlite)
