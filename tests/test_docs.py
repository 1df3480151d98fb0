"""The docs that are generated from code stay equal to what the code generates."""
from __future__ import annotations

from pathlib import Path

from benhan import config, errors

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_configuration_page_is_what_the_settings_table_generates():
    assert (DOCS / "configuration.md").read_text(encoding="utf-8") == config.docs_markdown()


def test_the_error_code_page_is_what_the_error_tree_generates():
    assert (DOCS / "errors.md").read_text(encoding="utf-8") == errors.docs_markdown()


def test_every_error_code_is_unique_and_well_formed():
    codes = [e.code for e in errors.ALL_ERRORS]
    assert len(codes) == len(set(codes))
    assert all(c.startswith("BENHAN-") and len(c) == 11 and c[7:].isdigit() for c in codes)
