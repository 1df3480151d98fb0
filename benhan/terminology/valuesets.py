"""Evaluating a ValueSet's compose (http://hl7.org/fhir/R4/valueset.html#compose) over the indexes:
membership for $validate-code, the ordered, filtered member list for $expand.

What is evaluated: include/exclude by system (and version), by concept list, and by the filters
`concept is-a|descendent-of X` and `property = value`. What is refused with a clear error: includes
of other value sets, other filter operators, and value sets with no compose.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from benhan import errors
from benhan.store.repository import Repository
from benhan.terminology.index import CodeSystemIndex
from benhan.terminology.registry import Registry


@dataclass
class Part:
    """One include: the code system (a resolved version) and which of its concepts it takes."""
    index: CodeSystemIndex
    allowed: set[int] | None            # None: every concept
    displays: dict[int, str] = field(default_factory=dict)


class ValueSetDefinition:
    def __init__(self, registry: Registry, repo: Repository, vs: dict):
        self.vs = vs
        self.url = vs.get("url")
        compose = vs.get("compose")
        if not isinstance(compose, dict) or not compose.get("include"):
            raise errors.ValueSetNotSupported(f"value set {self._name()} has no compose.include to evaluate")
        self._registry, self._repo = registry, repo
        self.parts = [self._part(inc) for inc in compose["include"]]
        self.excluded: set[tuple[str, str]] = set()
        self.excluded_systems: set[str] = set()
        for exc in compose.get("exclude") or []:
            part = self._part(exc)
            if part.allowed is None:
                self.excluded_systems.add(part.index.url)
            else:
                self.excluded |= {(part.index.url, part.index.codes[i]) for i in part.allowed}

    def _name(self) -> str:
        return f"{self.vs.get('url') or self.vs.get('id') or '(inline)'}|{self.vs.get('version', '')}".rstrip("|")

    def _part(self, inc: dict) -> Part:
        if inc.get("valueSet"):
            raise errors.ValueSetNotSupported(f"value set {self._name()} includes other value sets; "
                                              "only includes of code systems are evaluated here")
        system = inc.get("system")
        if not system:
            raise errors.ValueSetNotSupported(f"value set {self._name()} has an include with no system")
        index = self._registry.code_system(self._repo, system, inc.get("version"))
        if index is None:
            wanted = f"{system}|{inc['version']}" if inc.get("version") else system
            raise errors.UnknownCodeSystem(f"value set {self._name()} uses the code system {wanted}, "
                                           "which is not on this server (run `benhan terminology load`?)")
        part = Part(index, None)
        if inc.get("concept"):
            part.allowed = set()
            for c in inc["concept"]:
                i = index.position.get(c.get("code"))
                if i is not None:
                    part.allowed.add(i)
                    if c.get("display"):
                        part.displays[i] = c["display"]
        for f in inc.get("filter") or []:
            chosen = self._filter(index, f)
            part.allowed = chosen if part.allowed is None else part.allowed & chosen
        return part

    def _filter(self, index: CodeSystemIndex, f: dict) -> set[int]:
        prop, op, value = f.get("property"), f.get("op"), f.get("value")
        if op in ("is-a", "descendent-of") and prop == "concept":
            i = index.position.get(value)
            if i is None:
                return set()
            return index.descendants(i) | ({i} if op == "is-a" else set())
        if op == "=" and prop:
            return {i for i in range(len(index))
                    if any(p.get("code") == prop and _text(p) == value for p in index.properties(i))}
        raise errors.ValueSetNotSupported(f"value set {self._name()}: the filter {prop} {op} {value} is not "
                                          "evaluated here (is-a, descendent-of on concept, and = on a property are)")

    # --- questions -----------------------------------------------------------------------------
    def systems(self) -> list[str]:
        return list(dict.fromkeys(p.index.url for p in self.parts))

    def takes(self, part: Part, i: int) -> bool:
        code = part.index.codes[i]
        return ((part.allowed is None or i in part.allowed) and part.index.url not in self.excluded_systems
                and (part.index.url, code) not in self.excluded)

    def parts_for(self, system: str, version: str | None) -> list[Part]:
        return [p for p in self.parts if p.index.url == system and (version is None or p.index.version == version)]

    def members(self, filter_text: str | None, display_language: str | None, *,
                active_only: bool = False) -> list[tuple[Part, int]]:
        """The expansion in order: each include in turn; within one, best filter match first.
        List comprehensions over positions, since an unfiltered ICD-10 expansion walks 15k of them."""
        out, seen = [], set()
        many = len(self.parts) > 1
        for part in self.parts:
            index = part.index
            if index.url in self.excluded_systems:
                continue
            order = index.search(filter_text, index.lang(display_language)) if filter_text else range(len(index))
            blocked = {index.position[c] for u, c in self.excluded if u == index.url and c in index.position}
            allowed = part.allowed
            chosen = [i for i in order if i not in blocked and (allowed is None or i in allowed)]
            if active_only:
                chosen = [i for i in chosen if i not in index.inactive]
            if many:
                keys = [(index.url, index.codes[i]) for i in chosen]
                chosen = [i for i, k in zip(chosen, keys) if k not in seen and not seen.add(k)]
            out += [(part, i) for i in chosen]
        return out


def _text(p: dict) -> str | None:
    for k, v in p.items():
        if k.startswith("value"):
            return str(v).lower() if isinstance(v, bool) else str(v)
    return None
