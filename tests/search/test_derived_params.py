"""Parameters answered from other parameters' index rows (fhir/derived_params.py): Observation's
combo-* unions and its code-value-* composites have no rows of their own, and every search by them
must return what it returned when they had. The oracle: the same Observations stored twice, once
indexed the old way (derivation switched off: every parameter's own rows) and once the new, and
the same few hundred generated searches asked of both."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from benhan import config
from benhan.auth.actor import Actor
from benhan.fhir import derived_params
from benhan.store.repository import Repository
from benhan.store.schema import INDEX_TABLES
from benhan.store.store import Store

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
# What the definitions make derived on Observation, and one composite that must not be:
# code-value-string's value is value.as(string) alone, while value-string also holds a
# CodeableConcept's text.
DERIVED = {"combo-code", "combo-value-quantity", "combo-value-concept", "combo-data-absent-reason",
           "code-value-quantity", "code-value-concept", "code-value-date",
           "combo-code-value-quantity", "combo-code-value-concept"}
CODES = ["8867-4", "8310-5", "85354-9", "8480-6", "8462-4", "2339-0", "718-7", "94500-6", "72166-2"]
CONCEPTS = [(SNOMED, "260373001", "Detected"), (SNOMED, "260415000", "Not detected"), (SNOMED, "8517006", "Ex-smoker")]


def full_rows():  # noqa: ANN201
    """Index and search as before derivation: every parameter with rows of its own."""
    return derived_params.derivations_off()


def _coding(rng: random.Random) -> dict:
    return {"coding": [{"system": LOINC, "code": rng.choice(CODES)}], "text": "đo"}


def _value(rng: random.Random) -> dict:
    kind = rng.random()
    if kind < 0.45:
        return {"valueQuantity": {"value": rng.choice([36.5, 60, 98, 120, 130, 140.5, 12]),
                                  "unit": "u", "system": UCUM, "code": rng.choice(["/min", "mm[Hg]", "Cel", "g/dL"])}}
    if kind < 0.6:
        s, c, d = rng.choice(CONCEPTS)
        return {"valueCodeableConcept": {"coding": [{"system": s, "code": c}], "text": d}}
    if kind < 0.7:
        return {"valueDateTime": rng.choice(["2026-11-02", "2026-11-20T08:30:00+07:00", "2025-01"])}
    if kind < 0.75:
        return {"valuePeriod": {"start": "2026-10-01", "end": "2026-10-15"}}
    if kind < 0.8:
        return {"valueString": rng.choice(["Detected", "dương tính"])}
    if kind < 0.85:
        return {"valueSampledData": {"origin": {"value": 0, "unit": "mV"}, "period": 10, "dimensions": 1,
                                     "data": "1 2 3"}}
    return {"dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                             "code": rng.choice(["unknown", "asked-unknown"])}]}}


def observations(n: int, seed: int) -> list[dict]:
    """Vital signs, panels with components (a blood pressure has two), coded, dated and absent
    values, a SampledData: every shape the derived parameters read."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        obs = {"resourceType": "Observation", "id": f"o{i}", "status": "final", "code": _coding(rng),
               "subject": {"reference": "Patient/p1"}, **_value(rng)}
        if rng.random() < 0.4:
            obs["component"] = [{"code": _coding(rng), **_value(rng)} for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.1:
            obs["code"] = {"text": "không mã"}      # a code in words only: no token row
        out.append(obs)
    return out


def _queries(rng: random.Random, n: int) -> list[tuple[str, str]]:
    def token() -> str:
        code = rng.choice(CODES + ["999-9"])
        return rng.choice([code, f"{LOINC}|{code}", f"|{code}"])

    def quantity() -> str:
        text = rng.choice(["", "gt", "lt", "ge", "le"]) + str(rng.choice([12, 60, 98, 120, 130, 140.5, 200]))
        return text + (f"|{UCUM}|{rng.choice(['/min', 'mm[Hg]'])}" if rng.random() < 0.3 else "")

    def concept() -> str:
        s, c, _ = rng.choice(CONCEPTS)
        return rng.choice([c, f"{s}|{c}"])

    def date() -> str:
        return rng.choice(["", "ge", "le", "gt", "lt"]) + rng.choice(["2026-11", "2026-11-02", "2025", "2026-10-05"])

    makers = {
        "combo-code": token, "combo-value-quantity": quantity, "combo-value-concept": concept,
        "combo-data-absent-reason": lambda: rng.choice(["unknown", "asked-unknown"]),
        "code-value-quantity": lambda: f"{token()}${quantity()}",
        "code-value-concept": lambda: f"{token()}${concept()}",
        "code-value-date": lambda: f"{token()}${date()}",
        "combo-code-value-quantity": lambda: f"{token()}${quantity()}",
        "combo-code-value-concept": lambda: f"{token()}${concept()}",
    }
    out = []
    for _ in range(n):
        code = rng.choice(sorted(makers))
        value = ",".join(makers[code]() for _ in range(rng.choice([1, 1, 2])))
        kind = rng.random()
        if code in ("combo-code", "combo-value-concept") and kind < 0.15:
            out.append((f"{code}:not", value.split(",")[0]))
        elif code in ("combo-code", "combo-value-quantity") and kind < 0.25:
            out.append((f"{code}:missing", rng.choice(["true", "false"])))
        elif code == "combo-code" and kind < 0.35:
            out.append(("combo-code:text", "đo"))
        else:
            out.append((code, value))
    return out


def _store(tmp_path, url: str | None, name: str) -> Repository:  # noqa: ANN001
    cfg = config.load(env={}, data_dir=tmp_path / name, database_url=url)
    return Repository(Store.open(cfg), Actor.system("derived-params-test"))


def _load(repo: Repository, resources: list[dict]) -> None:
    pending = []
    for r in resources:
        try:
            pending.append(repo.prepare("PUT", "Observation", r["id"], r))
        except Exception:  # noqa: BLE001 — a generated shape the validator refuses: not stored in either
            continue
    repo.commit(pending, "update")


def _ids(repo: Repository, key: str, value: str, sort: str | None = None) -> list[str]:
    items = [(key, value), ("_count", "1000")] + ([("_sort", sort)] if sort else [])
    result = repo.search_type("Observation", items)
    ids = [m.res_id for m in result.matches]
    return ids if sort else sorted(ids)


def _index_rows(repo: Repository) -> dict[str, int]:
    counts = {}
    with repo.store.db.read() as conn:
        for table in INDEX_TABLES.values():
            for param, n in conn.execute(select(table.c.param, func.count()).group_by(table.c.param)):
                counts[param] = counts.get(param, 0) + n
    return counts


@pytest.fixture(params=["sqlite", "postgresql"])
def both(request, tmp_path):  # noqa: ANN001, ANN201
    """(the old way, the new way): repositories over two databases of the backend."""
    urls = [None, None]
    if request.param == "postgresql":
        from tests.conftest import own_pg_database
        dbs = [own_pg_database("benhan_derived"), own_pg_database("benhan_derived")]
        urls = [next(d) for d in dbs]
        request.addfinalizer(lambda: [next(d, None) for d in dbs])
    with full_rows():
        old = _store(tmp_path, urls[0], "old")
    new = _store(tmp_path, urls[1], "new")
    yield old, new
    old.store.close()
    new.store.close()


def test_the_derived_parameters_are_the_ones_the_definitions_allow():
    assert set(derived_params.derivations("Observation")) == DERIVED
    assert derived_params.derivation("Observation", "code-value-string") is None
    assert derived_params.derivations("Patient") == {}


def test_searches_by_derived_parameters_find_what_their_own_rows_found(both):
    old, new = both
    corpus = observations(160, seed=7)
    with full_rows():
        _load(old, corpus)
    _load(new, corpus)

    old_rows, new_rows = _index_rows(old), _index_rows(new)
    stored_derived = {p for p in new_rows if p.split("#")[0] in DERIVED}
    assert stored_derived == set(), "derived parameters must have no rows of their own"
    assert {p.split("#")[0] for p in old_rows} >= {"combo-code", "code-value-quantity"}     # the oracle had them
    assert sum(new_rows.values()) < 0.8 * sum(old_rows.values())

    rng = random.Random(20261207)
    mismatches, nonempty = [], 0
    for key, value in _queries(rng, 300):
        with full_rows():
            expected = _ids(old, key, value)
        actual = _ids(new, key, value)
        nonempty += bool(expected)
        if expected != actual:
            mismatches.append(f"{key}={value}: missing {sorted(set(expected) - set(actual))[:5]}, "
                              f"extra {sorted(set(actual) - set(expected))[:5]}")
    assert mismatches == [], "\n".join(mismatches[:30])
    assert nonempty >= 100          # the searches found things: equal empty answers prove nothing

    # Sorting by a union reads both parameters' rows, as it read its own.
    for sort in ("combo-code", "-combo-code"):
        with full_rows():
            expected = _ids(old, "status", "final", sort)
        assert _ids(new, "status", "final", sort) == expected, sort


def test_code_value_string_keeps_its_own_rows_and_meaning(client):
    from tests.factories import FHIR_JSON
    coded = {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/p1"},
             "code": {"coding": [{"system": LOINC, "code": "94500-6"}]},
             "valueCodeableConcept": {"text": "Detected"}}
    plain = {**coded, "valueString": "Detected"}
    plain.pop("valueCodeableConcept")
    a = client.post("/fhir/Observation", json=coded, headers=FHIR_JSON).json()["id"]
    b = client.post("/fhir/Observation", json=plain, headers=FHIR_JSON).json()["id"]

    def ids(query: str) -> set[str]:
        r = client.get(f"/fhir/Observation?{query}")
        assert r.status_code == 200, r.text
        return {e["resource"]["id"] for e in r.json().get("entry", [])}
    assert ids("value-string=Detected") == {a, b}
    assert ids("code-value-string=94500-6$Detected") == {b}


def _all_index_rows(repo: Repository) -> list[tuple]:
    out = []
    with repo.store.db.read() as conn:
        for name, table in sorted(INDEX_TABLES.items()):
            out += sorted((name, *(str(v) for v in row)) for row in conn.execute(select(table)))
    return out


def test_an_index_of_the_revision_before_is_brought_up_to_date_by_deleting_rows(both, monkeypatch):
    """An upgraded server does not re-read every resource for this revision: it deletes the
    derived parameters' rows, window by window, and the index is then what a full rebuild gives."""
    from benhan.fhir.searchparams import index_version
    from benhan.store import index_version as iv
    from benhan.store.reindex import reindex
    from benhan.store.schema import node_setting
    from sqlalchemy import delete, insert

    old, _ = both
    with full_rows():
        _load(old, observations(60, seed=11))
    revision, _, digest = index_version().partition(":")
    assert revision == "2"
    with old.store.db.write() as conn:
        conn.execute(delete(node_setting).where(node_setting.c.key == iv.KEY))
        conn.execute(insert(node_setting).values(key=iv.KEY, value=f"1:{digest}"))
    monkeypatch.setattr(iv, "DROP_WINDOW", 7)          # several windows, one ending mid-way
    before = _index_rows(old)
    assert any(p.startswith("combo-code") for p in before)

    assert iv.reindex_if_stale(old.store) == 0            # no resource re-read
    assert iv.stored(old.store) == index_version() and not iv.is_stale(old.store)
    upgraded = _all_index_rows(old)
    assert not {r[3] for r in upgraded if r[3].split("#")[0] in DERIVED}
    assert reindex(old.store) == 60
    assert _all_index_rows(old) == upgraded               # exactly what a rebuild writes


def test_another_revision_or_other_definitions_are_rebuilt_in_full(both):
    from benhan.fhir.searchparams import index_version
    from benhan.store import index_version as iv
    from benhan.store.schema import node_setting
    from sqlalchemy import delete, insert

    _, new = both
    _load(new, observations(5, seed=3))
    digest = index_version().partition(":")[2]
    for older in ("1:0000000000000000", f"0:{digest}", None):
        with new.store.db.write() as conn:
            conn.execute(delete(node_setting).where(node_setting.c.key == iv.KEY))
            if older:
                conn.execute(insert(node_setting).values(key=iv.KEY, value=older))
        assert iv.reindex_if_stale(new.store) == 5, older
