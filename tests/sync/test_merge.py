"""The three-way merge (benhan/sync/merge.py) as a property, and end to end through a hub and two
nodes: for any two edits of a base Patient, the result holds every change that only one side made
(and every change both made alike), and a conflict is found — and at the hub set aside — exactly
when both sides changed the same element differently. Elements: object members by key, arrays
whole. The oracle below is written independently of the merge (flattened paths, no recursion)."""
from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as s

from benhan.fhir.resource_json import dumps, loads
from benhan.store import sync_tables as st
from benhan.sync import merge
from tests import factories

GONE = object()
# The elements an edit may touch (a path of object keys) and a small pool of valid values for
# each, small so that both sides often make the same change, or change the same element.
ELEMENTS: dict[tuple[str, ...], list[Any]] = {
    ("gender",): ["male", "female", "other"],
    ("birthDate",): ["1985-03-15", "1985-03-16", "1990-01-01"],
    ("telecom",): [[{"system": "phone", "value": "0912000111"}], [{"system": "phone", "value": "0988777666"}],
                   [{"system": "phone", "value": "0912000111"}, {"system": "email", "value": "an@example.vn"}]],
    ("address",): [[{"line": ["12 Lê Lợi"], "city": "Huế"}], [{"line": ["5 Trần Hưng Đạo"], "city": "Huế"}],
                   [{"city": "Đà Nẵng"}]],
    ("maritalStatus", "text"): ["Có gia đình", "Độc thân"],
    ("maritalStatus", "coding"): [[{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                                    "code": "M"}],
                                  [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                                    "code": "S"}]],
    ("active",): [True, False],
    ("communication",): [[{"language": {"text": "Tiếng Việt"}}], [{"language": {"text": "Tiếng Anh"}}]],
}


def _set(doc: dict, path: tuple[str, ...], value: Any) -> None:
    *parents, last = path
    node = doc
    for key in parents:
        if value is GONE and key not in node:
            return
        node = node.setdefault(key, {})
    if value is GONE:
        node.pop(last, None)
    else:
        node[last] = copy.deepcopy(value)
    if value is GONE and parents and not node:        # FHIR has no empty objects
        doc.pop(parents[0], None)


def edits() -> s.SearchStrategy[dict]:
    """Changes to some elements: a value from the pool, or the element removed."""
    return s.dictionaries(s.sampled_from(sorted(ELEMENTS)),
                          s.one_of(s.just(GONE), s.integers(0, 2)), max_size=4).map(
        lambda d: {p: (v if v is GONE else ELEMENTS[p][v % len(ELEMENTS[p])]) for p, v in d.items()})


def bases() -> s.SearchStrategy[dict]:
    return edits().map(lambda e: {p: v for p, v in e.items() if v is not GONE})


def _apply(doc: dict, changes: dict) -> dict:
    out = copy.deepcopy(doc)
    for path, value in changes.items():
        _set(out, path, value)
    return out


def _flat(doc: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    """Leaf paths (objects by key, arrays and scalars as leaves)."""
    if isinstance(doc, dict):
        out: dict[tuple, Any] = {}
        for k, v in doc.items():
            out.update(_flat(v, prefix + (k,)))
        return out
    return {prefix: doc}


def _oracle(base: dict, ours: dict, theirs: dict) -> tuple[bool, dict]:
    """(conflict?, the merge every change of both sides makes when there is none)."""
    fb, fo, ft = _flat(base), _flat(ours), _flat(theirs)
    paths = set(fb) | set(fo) | set(ft)
    get = dict.get
    conflict = any(get(fo, p, GONE) != get(fb, p, GONE) and get(ft, p, GONE) != get(fb, p, GONE)
                   and get(fo, p, GONE) != get(ft, p, GONE) for p in paths)
    expected = {}
    for p in paths:
        value = get(fo, p, GONE) if get(fo, p, GONE) != get(fb, p, GONE) else get(ft, p, GONE)
        if value is not GONE:
            expected[p] = value
    return conflict, expected


def _patient(extra: dict) -> dict:
    body = {"resourceType": "Patient", "id": "p1",
            "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}]}
    body.update(copy.deepcopy(extra))
    return body


def _doc(changes: dict) -> dict:
    return _apply(_patient({}), changes)


@settings(max_examples=400, deadline=None)
@given(bases(), edits(), edits())
def test_a_merge_keeps_every_change_of_both_sides_and_conflicts_only_on_one_element_changed_twice(
        base_changes, ours_changes, theirs_changes):
    base = _doc(base_changes)
    ours, theirs = _apply(base, ours_changes), _apply(base, theirs_changes)
    result = merge.three_way(base, ours, theirs)
    conflict, expected = _oracle(base, ours, theirs)
    assert result.clean == (not conflict)
    if not conflict:
        assert _flat(result.result) == expected
    # Whatever the outcome, a change that only one side made is in the result, unless it sits
    # inside an element the other side changed too.
    fb, fo, ft, fr = _flat(base), _flat(ours), _flat(theirs), _flat(result.result)
    touched = {p[:n] for p in result.conflicts for n in range(1, len(p) + 1)}
    for side, other in ((fo, ft), (ft, fo)):
        for p in set(side) | set(fb):
            mine, was = side.get(p, GONE), fb.get(p, GONE)
            if mine != was and other.get(p, GONE) == was and not any(p[:n] in touched for n in range(1, len(p) + 1)):
                assert fr.get(p, GONE) == mine, p
    # Preferring theirs changes only the conflicting elements.
    flipped = merge.three_way(base, ours, theirs, prefer="theirs")
    assert flipped.conflicts == result.conflicts
    for p in result.conflicts:
        assert merge.value_at(flipped.result, p) == merge.value_at(theirs, p)


def test_decimals_are_compared_by_their_text_and_booleans_are_not_numbers():
    base = loads(b'{"resourceType":"Observation","valueQuantity":{"value":0.40},"x":1}')
    ours = loads(b'{"resourceType":"Observation","valueQuantity":{"value":0.4},"x":1}')
    assert dumps(merge.three_way(base, ours, base).result["valueQuantity"]) == b'{"value":0.4}'
    assert merge.differences(loads(b'{"a":38.5}'), loads(b'{ "a": 38.5 }')) == []     # a float and a JsonDecimal
    assert merge.differences({"a": True}, {"a": 1}) == [("a",)]
    assert merge.differences(base, ours) == [("valueQuantity", "value")]


def test_server_stamps_are_not_changes():
    base = {"resourceType": "Patient", "meta": {"versionId": "1", "lastUpdated": "2026-01-01T00:00:00Z"}}
    ours = {"resourceType": "Patient", "meta": {"versionId": "2", "lastUpdated": "2026-01-02T00:00:00Z"}}
    theirs = {"resourceType": "Patient", "meta": {"versionId": "2", "lastUpdated": "2026-01-03T00:00:00Z",
                                                  "tag": [{"code": "x"}]}}
    result = merge.three_way(base, ours, theirs)
    assert result.clean and result.result["meta"] == {"tag": [{"code": "x"}]}


# --- end to end: two facilities, one patient ------------------------------------------------------

E2E = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _content(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("meta", "id", "resourceType", "identifier", "name")}


@E2E
@given(bases(), edits(), edits())
def test_two_facilities_editing_one_patient_merge_or_set_aside_exactly_the_true_conflicts(
        hub, make_node, base_changes, a_changes, b_changes):
    if not hasattr(hub, "pair"):
        a = make_node("tyt-a")
        b_org = hub.repo.create("Organization", {"resourceType": "Organization", "name": "TTYT"}).res_id
        hub.pair = (a, make_node("ttyt-b", organization_id=b_org), b_org)
    a, b, b_org = hub.pair
    pid = a.repo.create("Patient", _apply({**factories.patient(), "resourceType": "Patient"},
                                          base_changes)).res_id
    a.round()
    hub.repo.create("ServiceRequest", {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                                       "subject": {"reference": f"Patient/{pid}"},
                                       "performer": [{"reference": f"Organization/{b_org}"}]})
    b.round()
    base = b.repo.read("Patient", pid).json()
    ours, theirs = _apply(base, a_changes), _apply(base, b_changes)
    for node, body in ((a, ours), (b, theirs)):
        if _content(body) != _content(base):
            node.repo.update("Patient", pid, body)
    a.round()
    b.round()
    a.round()
    conflict, expected = _oracle(_content(base), _content(ours), _content(theirs))
    at_hub = hub.repo.read("Patient", pid).json()
    with hub.store.db.read() as conn:
        waiting = [r for r in st.conflicts(conn, "open") if r.res_id == pid]
    if conflict:
        # A's came first and keeps its place; B's version waits, whole, in a row of its own.
        assert _flat(_content(at_hub)) == _flat(_content(ours))
        [row] = waiting
        assert _content(json.loads(row.their_body)) == _content(theirs) and row.origin_node == b.store.node_id
    else:
        assert waiting == []
        assert _flat(_content(at_hub)) == expected
        for node in (a, b):
            assert node.repo.read("Patient", pid).json() == at_hub
