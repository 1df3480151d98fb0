"""Ranking ICD-10 codes for the diagnosis type-ahead the way a clinician means them.

The terminology service's $expand orders matches by how the words match, then by code order, so
"viem phoi" began with J12 (viral pneumonia) and the everyday J18.9 came 34th. Here the matches of
the same filter are put in this order:

1. the typed code itself ("J18", "j18.9" — with or without the dot), outright first;
2. codes that start with a typed code ("J18" → J18.0 … J18.9);
3. codes whose name holds every typed word as a whole word, in the typed order ("viem phoi" in
   "Viêm phổi, không xác định");
4. … as whole words in any order;
5. the rest (typed words only as prefixes: "vie pho").

Within each group: how often this facility has used the code (Conditions counted by code from the
search index, kept until a Condition changes), then the national prior (clinical/data/
icd10-common-primary-care.csv, see docs/terminology.md for what it is and is not), then the order
$expand gives. Accents and case never matter (fhir.text.fold, as in the index).
"""
from __future__ import annotations

import csv
import threading
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from benhan import errors
from benhan.clinical.common import ICD10, ICD10_VS, FormInvalid
from benhan.store.code_counts import last_change, token_counts
from benhan.store.repository import Repository
from benhan.store.store import Store
from benhan.terminology.index import code_key, words
from benhan.terminology.registry import registry
from benhan.terminology.valuesets import ValueSetDefinition

PRIOR_FILE = Path(__file__).with_name("data") / "icd10-common-primary-care.csv"


LOAD_COMMAND = "benhan terminology load"


class CodeListMissing(FormInvalid):
    """ICD-10 is not in the database: the form says so, with the command that loads it (never a
    404 page naming a value set)."""

    def __init__(self) -> None:
        super().__init__({"dx_query": ("ui.err.icd10_missing", {"command": LOAD_COMMAND})})


@dataclass(frozen=True)
class Ranked:
    code: str
    display: str
    flags: frozenset[str]       # the TT 06 rule flags set on the code (not_primary, female_only_or_mainly …)


@lru_cache(maxsize=1)
def national_prior() -> dict[str, int]:
    """code -> relative weight (1–100) of the curated common primary-care codes."""
    with PRIOR_FILE.open(encoding="utf-8", newline="") as f:
        return {r["code"]: int(r["weight"]) for r in csv.DictReader(f)}


class _Usage:
    """This facility's Condition counts by ICD-10 code, recounted only after a Condition changed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = -1
        self.counts: dict[str, int] = {}

    def get(self, store: Store) -> dict[str, int]:
        seq = last_change(store, "Condition")
        with self.lock:
            if seq == self.seq:
                return self.counts
        counts = token_counts(store, "Condition", "code", ICD10)
        with self.lock:
            self.seq, self.counts = seq, counts
        return counts


_usage: "weakref.WeakKeyDictionary[Store, _Usage]" = weakref.WeakKeyDictionary()
_usage_lock = threading.Lock()


def facility_usage(store: Store) -> dict[str, int]:
    with _usage_lock:
        u = _usage.get(store)
        if u is None:
            u = _usage[store] = _Usage()
    return u.get(store)


def value_set(repo: Repository) -> ValueSetDefinition:
    reg = registry(repo.store)
    vs = reg.value_set(repo, ICD10_VS)
    if vs is None:
        raise CodeListMissing()
    try:
        return ValueSetDefinition(reg, repo, vs)
    except errors.UnknownCodeSystem as exc:
        raise CodeListMissing() from exc


def _word_tier(typed: list[str], display: str) -> int:
    have = words(display)
    if not typed or not all(t in have for t in typed):
        return 4
    return 2 if f" {' '.join(typed)} " in f" {' '.join(have)} " else 3


def rank(repo: Repository, text: str, lang: str = "vi", count: int = 40) -> list[Ranked]:
    """The best `count` codes for what was typed (see the module doc for the order)."""
    text = text.strip()
    if len(text) < 2:
        return []
    definition = value_set(repo)
    members = definition.members(text, lang, active_only=True)
    typed = words(text)
    whole = code_key("".join(text.split()))
    whole_nodot = whole.replace(".", "")
    has_digit = any(ch.isdigit() for ch in whole)
    usage, prior = facility_usage(repo.store), national_prior()
    keyed = []
    for order, (part, i) in enumerate(members):
        index = part.index
        code = index.codes[i]
        key = code_key(code)
        nodot = key.replace(".", "")
        if key == whole or nodot == whole_nodot:
            tier = 0
        elif has_digit and (key.startswith(whole) or nodot.startswith(whole_nodot)):
            tier = 1
        else:
            tier = _word_tier(typed, index.display(i, index.lang(lang)) or "")
        keyed.append(((tier, -usage.get(code, 0), -prior.get(code, 0), order), part, i))
    keyed.sort(key=lambda k: k[0])
    out = []
    for _, part, i in keyed[:count]:
        index = part.index
        flags = frozenset(p["code"] for p in index.properties(i) if p.get("valueBoolean") is True)
        out.append(Ranked(index.codes[i], index.display(i, index.lang(lang)) or "", flags))
    return out


def loaded(repo: Repository) -> bool:
    """Whether ICD-10 is in the database (the visit page says how to load it when not)."""
    return registry(repo.store).value_set(repo, ICD10_VS) is not None
