"""The terminology operations, transport-free (http://hl7.org/fhir/R4/terminology-service.html):
CodeSystem/$lookup, ValueSet/$expand, ValueSet/$validate-code, CodeSystem/$validate-code and
CodeSystem/$subsumes. Each takes the repository (whose actor the audit records) and the call's
parameters, and returns the FHIR resource to answer with.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from benhan import errors
from benhan.store.repository import Repository
from benhan.terminology.index import CodeSystemIndex
from benhan.terminology.params import Inputs, Param, canonical
from benhan.terminology.registry import registry, require
from benhan.terminology.valuesets import ValueSetDefinition

MAX_COUNT = 1000        # one page of an expansion
MAX_UNPAGED = 5000      # an expansion larger than this must be paged (ICD-10 is ~15k codes)

_EXPAND = {"url", "valueSet", "valueSetVersion", "filter", "offset", "count", "displayLanguage", "activeOnly",
           "includeDesignations"}
_EXPAND_IGNORED = {"context", "contextDirection", "date", "designation", "includeDefinition", "excludeNested",
                   "excludeNotForUI", "excludePostCoordinated", "exclude-system", "system-version",
                   "check-system-version", "force-system-version"}
_VS_VALIDATE = {"url", "valueSet", "valueSetVersion", "code", "system", "systemVersion", "display", "coding",
                "codeableConcept", "abstract", "displayLanguage"}
_CS_VALIDATE = {"url", "code", "version", "display", "coding", "codeableConcept", "abstract", "displayLanguage"}
_LOOKUP = {"code", "system", "version", "coding", "displayLanguage", "property"}
_SUBSUMES = {"codeA", "codeB", "system", "version", "codingA", "codingB"}


def _parameters(*parts: tuple[str, str, Any]) -> dict:
    return {"resourceType": "Parameters",
            "parameter": [{"name": n, k: v} for n, k, v in parts if v is not None]}


# --- $expand ---------------------------------------------------------------------------------------

def _value_set(repo: Repository, inp: Inputs, vs_id: str | None) -> ValueSetDefinition:
    reg = registry(repo.store)
    url, version = canonical(inp.text("url"))
    version = inp.text("valueSetVersion") or version
    inline = inp.complex("valueSet", "resource")
    if vs_id is not None:
        vs = reg.by_id(repo, "ValueSet", vs_id)
        if url and url != vs.get("url"):
            raise errors.InvalidOperationParameter(f"url {url} is not that of ValueSet/{vs_id}", expression="url")
    elif inline is not None:
        if inline.get("resourceType") != "ValueSet":
            raise errors.InvalidOperationParameter("valueSet must be a ValueSet resource", expression="valueSet")
        vs = inline
    elif url:
        vs = require(reg.value_set(repo, url, version), f"value set {url}" + (f"|{version}" if version else ""))
    else:
        raise errors.InvalidOperationParameter("say which value set: url, valueSet, or ValueSet/{id}/$…",
                                               expression="url")
    return ValueSetDefinition(reg, repo, vs)


def expand(repo: Repository, params: list[Param], vs_id: str | None = None) -> dict:
    inp = Inputs(params, "$expand", _EXPAND, _EXPAND_IGNORED)
    definition = _value_set(repo, inp, vs_id)
    filter_text = inp.text("filter")
    language = inp.text("displayLanguage")
    offset = inp.integer("offset") or 0
    count = inp.integer("count", maximum=MAX_COUNT)
    designations = bool(inp.boolean("includeDesignations"))
    members = definition.members(filter_text, language, active_only=bool(inp.boolean("activeOnly")))
    if count is None and len(members) - offset > MAX_UNPAGED:
        raise errors.ExpansionTooLarge(
            f"{definition._name()} has {len(members)} matching codes; ask for pages with count (at most "
            f"{MAX_COUNT}) and offset, or narrow it with filter", expression="count")
    page = members[offset:] if count is None else members[offset:offset + count]
    vs = definition.vs
    used = dict.fromkeys(f"{p.index.url}|{p.index.version}" for p in definition.parts)
    parameters = [{"name": "used-codesystem", "valueUri": u} for u in used]
    for name, key, value in (("filter", "valueString", filter_text), ("displayLanguage", "valueCode", language),
                             ("offset", "valueInteger", offset if offset else None),
                             ("count", "valueInteger", count)):
        if value is not None:
            parameters.append({"name": name, key: value})
    expansion = {"identifier": f"urn:uuid:{uuid.uuid4()}",
                 "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "total": len(members), "offset": offset, "parameter": parameters}
    contains = [_entry(part, i, language, designations) for part, i in page]
    if contains:
        expansion["contains"] = contains
    out = {"resourceType": "ValueSet"}
    out.update({k: vs[k] for k in ("id", "url", "version", "name", "title", "status") if k in vs})
    out["expansion"] = expansion
    return out


def _entry(part, i: int, language: str | None, designations: bool) -> dict:  # noqa: ANN001
    index = part.index
    c = index.concept(i)
    e: dict[str, Any] = {"system": index.url}
    if index.version:
        e["version"] = index.version
    if c.abstract:
        e["abstract"] = True
    if c.inactive:
        e["inactive"] = True
    e["code"] = c.code
    display = part.displays.get(i) or index.display(i, index.lang(language))
    if display:
        e["display"] = display
    if designations and c.designations:
        e["designation"] = [{k: d[k] for k in ("language", "use", "value") if k in d} for d in c.designations]
    return e


# --- $validate-code --------------------------------------------------------------------------------

def _codings(inp: Inputs, version_param: str) -> list[dict]:
    concept = inp.complex("codeableConcept", "valueCodeableConcept")
    if concept is not None:
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        if not codings:
            raise errors.InvalidOperationParameter("codeableConcept has no coding", expression="codeableConcept")
        return codings
    coding = inp.complex("coding", "valueCoding")
    if coding is not None:
        return [coding]
    code = inp.text("code")
    if code is None:
        raise errors.InvalidOperationParameter(f"{inp.operation} needs code, coding or codeableConcept",
                                               expression="code")
    c = {"code": code, "system": inp.text("system"), "version": inp.text(version_param),
         "display": inp.text("display")}
    return [{k: v for k, v in c.items() if v is not None}]


def _check_concept(index: CodeSystemIndex, i: int, coding: dict, abstract_ok: bool, lang: str | None,
                   name: str) -> tuple[bool, str | None, str | None]:
    c = index.concept(i)
    shown = index.display(i, index.lang(lang))
    if c.abstract and not abstract_ok:
        return False, f"{c.code} is a grouping concept of {name} (notSelectable), not a code to record", shown
    given = coding.get("display")
    if given is not None and not _display_ok(index, i, given):
        return False, f"the display {given!r} is not that of {c.code} in {name}: {shown!r}", shown
    return True, None, shown


def _display_ok(index: CodeSystemIndex, i: int, given: str) -> bool:
    names = [index.displays[i]] + [value for _, value in index.names[i]]
    norm = " ".join(given.split()).casefold()
    return any(n and " ".join(n.split()).casefold() == norm for n in names)


def _result(results: list[tuple[bool, str | None, str | None]]) -> dict:
    ok = next((r for r in results if r[0]), None)
    chosen = ok or results[0]
    return _parameters(("result", "valueBoolean", chosen[0]), ("message", "valueString", chosen[1]),
                       ("display", "valueString", chosen[2]))


def validate_code_in_value_set(repo: Repository, params: list[Param], vs_id: str | None = None) -> dict:
    inp = Inputs(params, "ValueSet/$validate-code", _VS_VALIDATE, {"context", "date"})
    definition = _value_set(repo, inp, vs_id)
    abstract_ok, lang = bool(inp.boolean("abstract")), inp.text("displayLanguage")
    results = []
    for coding in _codings(inp, "systemVersion"):
        system, code = coding.get("system"), coding.get("code")
        if not code:
            raise errors.InvalidOperationParameter("a coding to validate needs a code", expression="code")
        if not system:
            systems = definition.systems()
            if len(systems) != 1:
                raise errors.InvalidOperationParameter(
                    f"say which system {code} is from: the value set draws on {len(systems)}", expression="system")
            system = systems[0]
        parts = definition.parts_for(system, coding.get("version"))
        if not parts:
            wanted = f"{system}|{coding['version']}" if coding.get("version") else system
            results.append((False, f"{wanted} is not a code system of the value set {definition._name()}", None))
            continue
        index = parts[0].index
        name = f"{index.name} ({index.url}|{index.version})"
        i = index.position.get(code)
        if i is None:
            results.append((False, f"{code} is not a code of {name}", None))
            continue
        if not any(definition.takes(p, i) for p in parts if p.index is index):
            results.append((False, f"{code} is a code of {name} but not in the value set {definition._name()}",
                            index.display(i, index.lang(lang))))
            continue
        results.append(_check_concept(index, i, coding, abstract_ok, lang, name))
    return _result(results)


def _code_system(repo: Repository, url: str | None, version: str | None, cs_id: str | None,
                 param: str = "url") -> CodeSystemIndex:
    reg = registry(repo.store)
    if cs_id is not None:
        index = reg.by_id(repo, "CodeSystem", cs_id)
        if url and url != index.url:
            raise errors.InvalidOperationParameter(f"{url} is not the url of CodeSystem/{cs_id}", expression=param)
        return index
    if not url:
        raise errors.InvalidOperationParameter(f"say which code system ({param})", expression=param)
    return require(reg.code_system(repo, url, version), f"code system {url}" + (f"|{version}" if version else ""))


def validate_code_in_code_system(repo: Repository, params: list[Param], cs_id: str | None = None) -> dict:
    inp = Inputs(params, "CodeSystem/$validate-code", _CS_VALIDATE, {"date"})
    url, version = canonical(inp.text("url"))
    version = inp.text("version") or version
    codings = _codings(inp, "version")
    url = url or next((c.get("system") for c in codings if c.get("system")), None)
    index = _code_system(repo, url, version, cs_id)
    name = f"{index.name} ({index.url}|{index.version})"
    results = []
    for coding in codings:
        if coding.get("system") not in (None, index.url):
            results.append((False, f"{coding['system']} is not the code system {index.url}", None))
            continue
        i = index.position.get(coding.get("code"))
        if i is None:
            results.append((False, f"{coding.get('code')} is not a code of {name}", None))
            continue
        results.append(_check_concept(index, i, coding, bool(inp.boolean("abstract")), inp.text("displayLanguage"), name))
    return _result(results)


# --- $lookup ---------------------------------------------------------------------------------------

def lookup(repo: Repository, params: list[Param]) -> dict:
    inp = Inputs(params, "$lookup", _LOOKUP, {"date"})
    coding = inp.complex("coding", "valueCoding") or {}
    code = inp.text("code") or coding.get("code")
    system = inp.text("system") or coding.get("system")
    version = inp.text("version") or coding.get("version")
    if not code:
        raise errors.InvalidOperationParameter("$lookup needs code (and system) or coding", expression="code")
    index = _code_system(repo, system, version, None, "system")
    i = index.position.get(code)
    if i is None:
        raise errors.UnknownCode(f"{code} is not a code of {index.name} ({index.url}|{index.version})",
                                 expression="code")
    c = index.concept(i)
    lang = index.lang(inp.text("displayLanguage"))
    wanted = set(inp.texts("property"))
    parts = _parameters(("name", "valueString", index.name), ("version", "valueString", index.version),
                        ("display", "valueString", index.display(i, lang)))
    for d in c.designations:
        part = [{"name": "language", "valueCode": d["language"]}] if d.get("language") else []
        if d.get("use"):
            part.append({"name": "use", "valueCoding": d["use"]})
        part.append({"name": "value", "valueString": d.get("value")})
        parts["parameter"].append({"name": "designation", "part": part})
    props = list(c.properties)
    if not any(p.get("code") == "parent" for p in props):
        props += [{"code": "parent", "valueCode": index.codes[j]} for j in c.parents]
    for p in props:
        if wanted and p.get("code") not in wanted:
            continue
        value = next(((k, v) for k, v in p.items() if k.startswith("value")), None)
        part = [{"name": "code", "valueCode": p.get("code")}] + ([{"name": "value", value[0]: value[1]}] if value else [])
        parts["parameter"].append({"name": "property", "part": part})
    return parts


# --- $subsumes -------------------------------------------------------------------------------------

def subsumes(repo: Repository, params: list[Param], cs_id: str | None = None) -> dict:
    inp = Inputs(params, "$subsumes", _SUBSUMES)
    coding_a = inp.complex("codingA", "valueCoding") or {}
    coding_b = inp.complex("codingB", "valueCoding") or {}
    a, b = inp.text("codeA") or coding_a.get("code"), inp.text("codeB") or coding_b.get("code")
    if not a or not b:
        raise errors.InvalidOperationParameter("$subsumes needs codeA and codeB (or codingA and codingB)",
                                               expression="codeA" if not a else "codeB")
    system = inp.text("system") or coding_a.get("system") or coding_b.get("system")
    for coding in (coding_a, coding_b):
        if coding.get("system") and coding["system"] != system:
            raise errors.InvalidOperationParameter("codingA and codingB must be from the one code system",
                                                   expression="system")
    version = inp.text("version") or coding_a.get("version") or coding_b.get("version")
    index = _code_system(repo, system, version, cs_id, "system")
    positions = []
    for name, code in (("codeA", a), ("codeB", b)):
        i = index.position.get(code)
        if i is None:
            raise errors.UnknownCode(f"{code} is not a code of {index.name} ({index.url}|{index.version})",
                                     expression=name)
        positions.append(i)
    ia, ib = positions
    if ia == ib:
        outcome = "equivalent"
    elif ia in index.ancestors(ib):
        outcome = "subsumes"
    elif ib in index.ancestors(ia):
        outcome = "subsumed-by"
    else:
        outcome = "not-subsumed"
    return _parameters(("outcome", "valueCode", outcome))
