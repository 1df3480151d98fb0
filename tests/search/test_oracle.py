"""The oracle test: every official R4 example is stored, then a few hundred generated searches
(parameters and values drawn from the stored data) must return exactly the ids that an independent
model computes by evaluating each parameter's FHIRPath with fhirpathpy over every stored resource
and applying the spec's matching rule (tests/search/oracle.py)."""
from __future__ import annotations

import random
from collections import defaultdict

import pytest

from benhan.auth.actor import Actor
from benhan.fhir.searchparams import parameters_for
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests.fhir.test_validation_examples import KNOWN_DEFECTS, resource_files
from tests.search import oracle

SEARCHES = 400
TYPES = ("string", "token", "reference", "date", "number", "quantity", "uri")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request, tmp_path_factory, r4_examples_dir):  # noqa: ANN001, ANN201
    """A store of each kind holding every valid example; and the examples by type as stored."""
    from benhan import config
    url = None
    if request.param == "postgresql":
        from tests.conftest import empty_pg
        url = empty_pg(request.getfixturevalue("pg_database"))
    cfg = config.load(env={}, data_dir=tmp_path_factory.mktemp("oracle"), database_url=url)
    store = Store.open(cfg)
    repo = Repository(store, Actor.system("oracle"))
    by_type: dict[str, dict[str, dict]] = defaultdict(dict)
    batch = []
    for path, resource in resource_files(r4_examples_dir):
        # AuditEvents are not stored resources here: /fhir/AuditEvent is the server's own trail.
        if path.name in KNOWN_DEFECTS or "id" not in resource or resource["resourceType"] == "AuditEvent":
            continue
        batch.append(repo.prepare("PUT", resource["resourceType"], resource["id"], resource))
        by_type[resource["resourceType"]][resource["id"]] = resource
        if len(batch) >= 200:
            repo.commit(_unique(batch), "update")
            batch = []
    if batch:
        repo.commit(_unique(batch), "update")
    yield repo, by_type
    store.close()


def _unique(batch):  # noqa: ANN001, ANN202
    # A few examples share type and id (e.g. ig-r4 and ImplementationGuide-fhir); keep the last.
    return list({(p.res_type, p.res_id): p for p in batch}.values())


def _candidates(by_type):  # noqa: ANN001, ANN202
    """(type, code, param) for every supported parameter that has values somewhere in the data."""
    out = []
    for rtype, resources in sorted(by_type.items()):
        for code, p in sorted(parameters_for(rtype).items()):
            if p.type not in TYPES or not p.expression or code.startswith("_"):
                continue
            out.append((rtype, code, p))
    return out


def _query_for(rng: random.Random, p, value) -> tuple[str, str] | None:  # noqa: ANN001
    """A search value (and modifier) built from one stored value, or None if it yields none."""
    if p.type == "string":
        parts = [s for s in oracle.string_parts(value) if s.strip() and len(s) <= 200]
        if not parts:
            return None
        text = rng.choice(parts)
        kind = rng.random()
        if kind < 0.2:
            return "exact", text
        if kind < 0.35 and len(text) > 4:
            return "contains", text[1:4]
        prefix = text[: rng.randint(1, min(len(text), 12))]
        # Users type without accents and in any case: so do the generated searches.
        return None, rng.choice([prefix, prefix.lower(), prefix.upper(), oracle.fold(prefix)])
    if p.type == "token":
        pairs = [(s, c) for s, c in oracle.token_pairs(value) if c and "|" not in c and "," not in c and "\\" not in c
                 and (s is None or "|" not in s)]
        if not pairs:
            return None
        s, c = rng.choice(pairs)
        if s and rng.random() < 0.5:
            return None, f"{s}|{c}"
        if s is None and rng.random() < 0.3:
            return None, f"|{c}"
        return None, c
    if p.type == "reference":
        text = value.get("reference") if isinstance(value, dict) else None
        m = oracle._REF.search(text) if isinstance(text, str) and not text.startswith(("http", "urn", "#")) else None
        if not m:
            return None
        return None, f"{m.group(1)}/{m.group(2)}" if rng.random() < 0.8 else m.group(2)
    if p.type == "date":
        text = value if isinstance(value, str) else value.get("start") if isinstance(value, dict) else None
        if not isinstance(text, str) or oracle.date_range(text) is None:
            return None
        prefix = rng.choice(["eq", "eq", "ge", "le", "gt", "lt", "sa", "eb"])
        cut = rng.choice([4, 7, 10, len(text)])
        return None, prefix + text[:cut]
    if p.type in ("number", "quantity"):
        number = value.get("value") if isinstance(value, dict) else value
        if oracle._decimal(number) is None or isinstance(number, bool):
            return None
        prefix = rng.choice(["", "", "gt", "lt", "ge", "le"])
        text = str(number)
        if p.type == "quantity" and isinstance(value, dict) and value.get("code") and value.get("system") \
                and "|" not in value["code"] and rng.random() < 0.5:
            text += f"|{value['system']}|{value['code']}"
        return None, prefix + text
    if p.type == "uri":
        if isinstance(value, str) and "," not in value and "|" not in value and "\\" not in value and "$" not in value:
            return None, value
    return None


def _expected(resources: dict, p, modifier, query: str) -> set[str]:  # noqa: ANN001
    out = set()
    for rid, resource in resources.items():
        vals = oracle.values(p.expression, resource)
        if p.type == "string":
            hit = any(oracle.string_matches(v, query, modifier) for v in vals)
        elif p.type == "token":
            hit = any(oracle.token_matches(v, query) for v in vals)
        elif p.type == "reference":
            hit = any(oracle.reference_matches(v, query) for v in vals)
        elif p.type == "date":
            hit = any(oracle.date_matches(v, query[:2], query[2:]) for v in vals)
        elif p.type in ("number", "quantity"):
            prefix, rest = (query[:2], query[2:]) if query[:2] in ("gt", "lt", "ge", "le") else ("eq", query)
            hit = any((oracle.number_matches(v, prefix, rest) if p.type == "number"
                       else oracle.quantity_matches(v, prefix, rest)) for v in vals)
        else:
            hit = any(isinstance(v, str) and v == query for v in vals)
        if hit:
            out.add(rid)
    return out


def _server_ids(repo: Repository, rtype: str, key: str, query: str) -> set[str]:
    found, offset = set(), 0
    while True:
        result = repo.search_type(rtype, [(key, query), ("_count", "500"), ("_offset", str(offset))])
        found |= {m.res_id for m in result.matches}
        if not result.has_next:
            return found
        offset += 500


def test_generated_searches_return_what_the_independent_model_computes(loaded):
    repo, by_type = loaded
    rng = random.Random(20261125)
    candidates = _candidates(by_type)
    # Values per (type, parameter), evaluated by the model; parameters it cannot evaluate are skipped.
    pools: dict[tuple[str, str], list] = {}
    for rtype, code, p in candidates:
        try:
            vals = [v for r in by_type[rtype].values() for v in oracle.values(p.expression, r)]
        except oracle.Unsupported:
            continue
        if vals:
            pools[(rtype, code)] = vals
    keys_by_type: dict[str, list] = defaultdict(list)
    for key in sorted(pools):
        keys_by_type[parameters_for(key[0])[key[1]].type].append(key)
    kinds = sorted(keys_by_type)
    done, mismatches, by_kind = 0, [], defaultdict(int)
    attempts = 0
    while done < SEARCHES and attempts < SEARCHES * 20:
        attempts += 1
        # Each parameter type gets its share, however few parameters of that type there are.
        rtype, code = rng.choice(keys_by_type[rng.choice(kinds)])
        p = parameters_for(rtype)[code]
        made = _query_for(rng, p, rng.choice(pools[(rtype, code)]))
        if made is None:
            continue
        modifier, query = made
        key = f"{code}:{modifier}" if modifier else code
        expected = _expected(by_type[rtype], p, modifier, query)
        actual = _server_ids(repo, rtype, key, _escape(query) if p.type in ("string", "uri") else query)
        if expected != actual:
            mismatches.append(f"{rtype}?{key}={query}: missing {sorted(expected - actual)[:5]}, "
                              f"extra {sorted(actual - expected)[:5]}")
        done += 1
        by_kind[p.type] += 1
    assert done >= SEARCHES
    assert min(by_kind[t] for t in TYPES) >= 20, dict(by_kind)
    assert mismatches == [], "\n".join(mismatches[:40])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")
