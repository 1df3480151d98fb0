"""The forms' words that are data, not layout (vocabulary.toml): tick-box options, FHIR codes →
options, signers' titles. Read once."""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

FILE = Path(__file__).resolve().parent / "vocabulary.toml"


@cache
def _data() -> dict:
    with FILE.open("rb") as f:
        return tomllib.load(f)


def options(name: str) -> list[tuple[str, str]]:
    return [(str(code), words) for code, words in _data()["options"][name].items()]


def option_for(mapping: str, fhir_code: str | None) -> str:
    return _data()["fhir"][mapping].get(fhir_code or "", "")


def title(name: str) -> str:
    return _data()["titles"][name]


def all_words() -> list[str]:
    """Every option word and title (the literal-value test looks for them in the form definitions)."""
    d = _data()
    return [w for opts in d["options"].values() for w in opts.values()] + list(d["titles"].values())
