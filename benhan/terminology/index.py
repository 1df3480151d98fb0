"""An in-memory index of one stored CodeSystem, built at first use: codes, displays per language,
hierarchy, and a word index for type-ahead filtering.

A type-ahead box sends a request per keystroke, so a filter must not scan 15k displays (nor run a
SQL LIKE over them). Each display is folded (fhir.text.fold: no case, no accents, đ→d) and cut into
words; the distinct words are kept sorted, so the words starting with a typed prefix are one bisect
range, and each word points at the (sorted) concepts using it. A filter is the intersection over its
typed words, rarest first.

Storage is by column (a list of codes, a list of displays, tuples and JSON text) rather than an object
per concept: the garbage collector walks every container object on each full collection, and 150k
small dicts and lists made that a 70 ms pause every few dozen requests.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from benhan.fhir.resource_json import dumps, loads
from benhan.fhir.text import fold

_WORD = re.compile(r"[a-z0-9]+")
_END = "{"      # sorts after every character a folded word or display is made of ([a-z0-9 ])


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def code_key(code: str) -> str:
    return code.strip().casefold()


def same_language(wanted: str | None, have: str | None) -> bool:
    """'en' matches 'en-US' and back: the primary subtag decides (BCP 47)."""
    return bool(wanted and have) and wanted.split("-")[0].lower() == have.split("-")[0].lower()


def _primary(lang: str) -> str:
    return lang.split("-")[0].lower()


@dataclass(frozen=True)
class Concept:
    """One concept, rebuilt on demand for the cold paths ($lookup, $validate-code, a page of $expand)."""
    code: str
    display: str | None
    designations: list[dict]
    properties: list[dict]
    parents: tuple[int, ...]
    abstract: bool
    inactive: bool


@dataclass
class _Text:
    words: list[str]                    # sorted distinct folded words
    postings: dict[str, tuple[int, ...]]  # word -> concept positions, ascending
    folded: list[str]                   # the folded shown display of each concept, for ranking
    display_keys: list[str]             # the folded displays sorted, so "starts with" is a bisect range
    display_pos: list[int]              # … and the concept each belongs to


class CodeSystemIndex:
    def __init__(self, cs: dict[str, Any], res_id: str = "", res_version: int = 0):
        self.res_id, self.res_version = res_id, res_version
        self.url, self.version = cs.get("url"), cs.get("version")
        self.name = cs.get("title") or cs.get("name") or self.url
        self.language = cs.get("language") or "vi"
        self.languages = {_primary(self.language)}     # those we hold names in
        self.codes: list[str] = []
        self.displays: list[str | None] = []
        self.names: list[tuple[tuple[str, str], ...]] = []     # (language, value) of each designation
        self._raw: list[str] = []                               # designations and properties, as JSON
        self.parents: list[tuple[int, ...]] = []
        self.abstract: set[int] = set()
        self.inactive: set[int] = set()
        self.position: dict[str, int] = {}
        nested_parent: list[int | None] = []
        self._flatten(cs.get("concept") or [], None, nested_parent)
        self._link_parents(nested_parent)
        keys = sorted([(code_key(c), i) for i, c in enumerate(self.codes)]
                      + [(code_key(c).replace(".", ""), i) for i, c in enumerate(self.codes) if "." in c])
        self._by_key = {k: i for k, i in reversed(keys)}
        self._code_keys = [k for k, _ in keys]
        self._code_pos = [i for _, i in keys]
        self._texts: dict[str, _Text] = {}
        self._children: dict[int, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.codes)

    def _flatten(self, concepts: list[dict], parent: int | None, nested_parent: list[int | None]) -> None:
        for raw in concepts:
            i = len(self.codes)
            code = raw.get("code", "")
            props = raw.get("property") or []
            designations = raw.get("designation") or []
            self.codes.append(code)
            self.displays.append(raw.get("display"))
            self.names.append(tuple((_primary(d.get("language") or self.language), d.get("value") or "")
                                    for d in designations))
            self.languages.update(_primary(d["language"]) for d in designations if d.get("language"))
            # decode(): a str of the exact size; orjson's bytes keep a ~4 KB buffer each (60 MB for ICD-10).
            # resource_json: a valueDecimal property keeps its text (0.40 stays 0.40).
            self._raw.append(dumps({"designation": designations, "property": props}).decode())
            if _flag(props, "notSelectable"):
                self.abstract.add(i)
            if _flag(props, "inactive") or _value(props, "status") in ("retired", "inactive"):
                self.inactive.add(i)
            self.position.setdefault(code, i)
            nested_parent.append(parent)
            self._flatten(raw.get("concept") or [], i, nested_parent)

    def _link_parents(self, nested_parent: list[int | None]) -> None:
        parents: list[list[int]] = [[p] if p is not None else [] for p in nested_parent]
        for i, raw in enumerate(self._raw):
            for p in loads(raw)["property"]:
                j = self.position.get(p.get("valueCode")) if p.get("code") == "parent" else None
                if j is not None and j not in parents[i]:
                    parents[i].append(j)
        self.parents = [tuple(p) for p in parents]

    def concept(self, i: int) -> Concept:
        raw = loads(self._raw[i])
        return Concept(self.codes[i], self.displays[i], raw["designation"], raw["property"], self.parents[i],
                       i in self.abstract, i in self.inactive)

    # --- displays ------------------------------------------------------------------------------
    def lang(self, wanted: str | None) -> str:
        """The language an answer is given in: the one asked for when we hold names in it, else ours."""
        primary = _primary(wanted or "")
        return primary if primary in self.languages else _primary(self.language)

    def display(self, i: int, lang: str) -> str | None:
        if lang != _primary(self.language):
            for language, value in self.names[i]:
                if language == lang and value:
                    return value
        return self.displays[i]

    def _text(self, lang: str) -> _Text:
        text = self._texts.get(lang)
        if text is None:
            postings: dict[str, list[int]] = {}
            folded = []
            for i in range(len(self.codes)):
                shown = self.display(i, lang) or ""
                folded.append(" ".join(words(shown)))
                # Other names in the same language (ethnic groups' other spellings) are found too.
                extra = [value for language, value in self.names[i] if language == lang]
                for w in set(words(" ".join([shown, *extra]))):
                    postings.setdefault(w, []).append(i)
            by_display = sorted((f, i) for i, f in enumerate(folded))
            text = self._texts[lang] = _Text(sorted(postings), {w: tuple(p) for w, p in postings.items()}, folded,
                                             [f for f, _ in by_display], [i for _, i in by_display])
        return text

    # --- matching ------------------------------------------------------------------------------
    def code_prefix(self, prefix: str) -> set[int]:
        key = code_key(prefix)
        lo = bisect_left(self._code_keys, key)
        hi = bisect_left(self._code_keys, key + "\U0010ffff")
        return set(self._code_pos[lo:hi])

    def display_prefix(self, prefix: str, lang: str) -> set[int]:
        text = self._text(lang)
        lo, hi = bisect_left(text.display_keys, prefix), bisect_left(text.display_keys, prefix + _END)
        return set(text.display_pos[lo:hi])

    def word_prefix(self, prefix: str, lang: str) -> set[int]:
        text = self._text(lang)
        lo, hi = bisect_left(text.words, prefix), bisect_left(text.words, prefix + _END)
        if hi - lo == 1:
            return set(text.postings[text.words[lo]])
        return set().union(*(text.postings[w] for w in text.words[lo:hi]))

    def search(self, filter_text: str, lang: str) -> list[int]:
        """Concepts matching a type-ahead filter, best first: every typed word prefixes a word of
        the display or the code; or the whole filter prefixes the code ("J18.9", "j189").

        Order: the code itself; codes starting with what was typed (when it has a digit); displays
        starting with the typed words; displays holding them as a phrase; displays whose first word
        starts with the first typed word; the rest — each group in code-system order. The groups are
        set operations, not a Python sort key per match: a one-letter filter matches thousands."""
        typed = words(filter_text)
        whole = code_key("".join(filter_text.split()))
        if not typed and not whole:
            return list(range(len(self.codes)))
        per_word = [(self.word_prefix(t, lang), self.code_prefix(t)) for t in typed]
        sets = sorted((w | c for w, c in per_word), key=len)
        found = set.intersection(*sets) if sets else set()
        code_hits = self.code_prefix(whole) if whole else set()
        found |= code_hits
        phrase = " ".join(typed)
        exact = {i for i in (self._by_key.get(whole), self._by_key.get(whole.replace(".", ""))) if i is not None}
        groups = [exact, code_hits if any(ch.isdigit() for ch in whole) else set()]
        if phrase:
            groups.append(self.display_prefix(phrase, lang))
            if len(typed) == 1:     # "a word starts with it" is the word index itself
                groups.append(per_word[0][0])
            else:
                folded = self._text(lang).folded
                groups.append({i for i in found if f" {phrase}" in f" {folded[i]}"})
            groups.append(self.display_prefix(typed[0], lang))      # the first word starts with it
        out, taken = [], set()
        for g in groups:
            g = (g & found) - taken
            out += sorted(g)
            taken |= g
        out += sorted(found - taken)
        return out

    # --- hierarchy -----------------------------------------------------------------------------
    def ancestors(self, i: int) -> set[int]:
        return self._walk(i, lambda j: self.parents[j])

    def descendants(self, i: int) -> set[int]:
        if self._children is None:
            children: dict[int, list[int]] = {}
            for j, ps in enumerate(self.parents):
                for p in ps:
                    children.setdefault(p, []).append(j)
            self._children = children
        kids = self._children
        return self._walk(i, lambda j: kids.get(j, ()))

    @staticmethod
    def _walk(start: int, step) -> set[int]:  # noqa: ANN001
        seen: set[int] = set()
        todo = list(step(start))
        while todo:
            j = todo.pop()
            if j not in seen:
                seen.add(j)
                todo.extend(step(j))
        return seen

    def properties(self, i: int) -> list[dict]:
        return loads(self._raw[i])["property"]


def _flag(props: list[dict], code: str) -> bool:
    return any(p.get("code") == code and p.get("valueBoolean") is True for p in props)


def _value(props: list[dict], code: str) -> Any:
    for p in props:
        if p.get("code") == code:
            return next((v for k, v in p.items() if k.startswith("value")), None)
    return None
