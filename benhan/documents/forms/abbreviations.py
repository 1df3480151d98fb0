"""Abbreviations on printed forms (TT 32/2023 Đ52 k2 c): documents given to the patient or another
facility carry none; other documents only those on the facility's published list.

Checked when printing, on the values (the form's own labels are the paper's wording). The decision:
- on a document given to the patient, a listed abbreviation is printed in its full words (the list
  says what it stands for), so the paper is correct without anyone retyping it;
- an abbreviation not on the list is printed as written and reported as a warning (the web print
  sends it in the X-Benhan-Form-Warnings header and the server log; the signing path keeps it in the
  result). Not a refusal: a transfer slip or a follow-up slip is needed now, and refusing it for a
  word would keep the patient waiting; the warning tells the doctor which word to correct.

An abbreviation here is a word of two or more letters, all capitals, with no digit (HIV, THA, ĐTĐ);
names printed in capitals and codes (ICD-10, card numbers) are not looked at.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent / "abbreviations.toml"
_WORD = re.compile(r"\w+")
_ROMAN = re.compile(r"^[IVXLC]+$")


@cache
def _load(path: str) -> dict[str, str]:
    with open(path, "rb") as f:
        return {str(k): str(v) for k, v in tomllib.load(f).items()}


def allowed(path: Path | str | None = None) -> dict[str, str]:
    """The facility's list (setting form_abbreviations_file), else the shipped one."""
    chosen = Path(path) if path and str(path) not in ("", ".") else DEFAULT
    return _load(str(chosen))


def is_abbreviation(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and not any(ch.isdigit() for ch in word) and not _ROMAN.match(word)


@dataclass
class Checker:
    """Applied to each printed value (key, value) → the value to print."""
    listed: dict[str, str]
    given_to_patient: bool
    warnings: list[str] = field(default_factory=list)

    def __call__(self, key: str, value: str) -> str:
        def one(m: re.Match) -> str:
            word = m.group(0)
            if not is_abbreviation(word):
                return word
            if word in self.listed:
                return self.listed[word] if self.given_to_patient else word
            note = f"{key}: “{word}”"
            if note not in self.warnings:
                self.warnings.append(note)
            return word
        return _WORD.sub(one, value)

    def message(self) -> str:
        if not self.warnings:
            return ""
        where = ("giấy tờ giao người bệnh không được viết tắt" if self.given_to_patient
                 else "chữ viết tắt không có trong danh mục của cơ sở")
        return f"{where}: " + "; ".join(self.warnings)
