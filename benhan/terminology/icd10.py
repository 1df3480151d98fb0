"""ICD-10 as used in Vietnam: the QĐ 4469/2020 list and the TT 06/2026 list, as two versions of one
code system (VN Core `vn-icd10-cs`, vietnam.md §2.4): the codes mean the same in both; the names,
the rule flags and the set of codes changed.

The hierarchy is derived from the codes, since the lists have no block rows: a 4- or 5-character
code is under the longest shorter code that exists (B18.00 → B18.0 → B18), a 3-character category
is under its WHO chapter (I–XXII). Chapters are concepts of their own, marked notSelectable, so that
$subsumes can answer "is J18.9 in chapter X"; the value sets leave them out, because a chapter is
not a diagnosis.
"""
from __future__ import annotations

from benhan.terminology import sources
from benhan.terminology.build import (NOT_SELECTABLE, PARENT, VN_CORE, BENHAN, code_system, concept,
                                      describe, prop, prop_def, value_set_for)

URL = f"{VN_CORE}/CodeSystem/vn-icd10-cs"
VS_URL = f"{BENHAN}/ValueSet/vn-icd10"
QD4469 = "qd4469-2020"
TT06 = "tt06-2026"
PUBLISHER = "Bộ Y tế (Ministry of Health of Viet Nam)"

CHAPTER = prop_def("chapter", "string", "WHO ICD-10 chapter (I–XXII), worked out from the code range")
DAGGER = prop_def("dagger-asterisk", "string", "† (aetiology) or * (manifestation) mark of the dagger–asterisk system")
NAME_SOURCE = prop_def("name-source", "string", "QD4469 where the TT 06 name source lacked the code and the "
                                                "QĐ 4469 name was used")
# TT 06/2026 annex columns 24–29 (vietnam.md §6).
FLAGS = {
    "not_primary": "Not to be used as the main diagnosis",
    "primary_discouraged": "Discouraged as the main diagnosis",
    "use_more_specific_code": "Use a more specific code",
    "cause_of_death_only": "For the cause of death only",
    "female_only_or_mainly": "Female only or mainly",
    "male_only_or_mainly": "Male only or mainly",
}


def _parent(code: str, known: set[str]) -> str | None:
    """The code one level up, or None for a 3-character category (its parent is the chapter)."""
    p = code
    while len(p) > 3:
        p = p[:-1].rstrip(".")
        if p in known:
            return p
    return None


def _concepts(rows: list[dict[str, str]], extra) -> list[dict]:  # noqa: ANN001
    """Concepts in code order, each chapter just before its first code."""
    rows = sorted(rows, key=lambda r: r["code"])
    known = {r["code"] for r in rows}
    ranges: dict[str, list[str]] = {}
    for r in rows:
        ranges.setdefault(r["chapter"], []).append(r["code"][:3])
    out, seen = [], set()
    for r in rows:
        code, chapter = r["code"], r["chapter"]
        if chapter not in seen:
            seen.add(chapter)
            first, last = min(ranges[chapter]), max(ranges[chapter])
            out.append(concept(chapter, f"Chương {chapter} ({first}–{last})", en=f"Chapter {chapter} ({first}–{last})",
                               properties=[prop("notSelectable", True, "boolean"), prop("chapter", chapter)]))
        props = [prop("chapter", chapter), prop("parent", _parent(code, known) or chapter, "code")]
        vi, en, more = extra(r)
        out.append(concept(code, vi or None, en=en or None, properties=props + more))
    return out


def _chapters(concepts: list[dict]) -> list[str]:
    return [c["code"] for c in concepts if any(p["code"] == "notSelectable" for p in c.get("property", ()))]


def _english_names() -> dict[str, str]:
    return {r["code"]: r["name_en"] for r in sources.rows(sources.ICD10_QD4469) if r["name_en"]}


def qd4469() -> tuple[dict, dict]:
    def extra(r: dict[str, str]):  # noqa: ANN202
        more = [prop("dagger-asterisk", r["dagger_asterisk"])] if r["dagger_asterisk"] else []
        return r["name_vi"], r["name_en"], more
    concepts = _concepts(sources.rows(sources.ICD10_QD4469), extra)
    cs = code_system(
        id="vn-icd10-cs-qd4469-2020", url=URL, version=QD4469, name="VNICD10",
        title="ICD-10 Việt Nam (QĐ 4469/QĐ-BYT, 2020)", publisher=PUBLISHER, date="2020-10-28",
        status="retired", hierarchy="is-a", value_set=f"{VS_URL}|{QD4469}", concepts=concepts,
        properties=[PARENT, NOT_SELECTABLE, CHAPTER, DAGGER],
        description=describe("ICD-10 codes with Vietnamese names (display) and WHO English names (designation, "
                             "language en). Superseded by TT 06/2026 from 01/07/2026; still the version for "
                             "episodes that ended before then (TT 06/2026 Đ6 k2).", sources.ICD10_QD4469))
    return cs, value_set_for(cs, id="vn-icd10-vs-qd4469-2020", url=VS_URL, exclude=_chapters(concepts))


def tt06() -> tuple[dict, dict]:
    english = _english_names()

    def extra(r: dict[str, str]):  # noqa: ANN202
        more = [prop(flag, True, "boolean") for flag in FLAGS if r[flag] == "1"]
        if r["name_source"] == "QD4469":
            more.append(prop("name-source", "QD4469"))
        return r["name_vi"], english.get(r["code"]), more
    concepts = _concepts(sources.rows(sources.ICD10_TT06), extra)
    cs = code_system(
        id="vn-icd10-cs-tt06-2026", url=URL, version=TT06, name="VNICD10",
        title="ICD-10 Việt Nam (TT 06/2026/TT-BYT)", publisher=PUBLISHER, date="2026-04-02",
        hierarchy="is-a", value_set=f"{VS_URL}|{TT06}", concepts=concepts,
        properties=[PARENT, NOT_SELECTABLE, CHAPTER, NAME_SOURCE]
        + [prop_def(flag, "boolean", text) for flag, text in FLAGS.items()],
        description=describe("ICD-10 codes with the Vietnamese names of TT 06/2026 (display), in force from "
                             "01/07/2026 (for episodes ending from that date), with the coding-rule flags of "
                             "annex columns 24–29 as boolean properties.", sources.ICD10_TT06, sources.ICD10_QD4469))
    return cs, value_set_for(cs, id="vn-icd10-vs-tt06-2026", url=VS_URL, exclude=_chapters(concepts))
