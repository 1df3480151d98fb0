"""Fixtures for the FHIR tests: the official R4 examples package, fetched once into .cache/fhir/."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so that the build tooling in tools/ imports


@pytest.fixture(scope="session")
def r4_examples_dir() -> Path:
    from tools.fhir_packages import examples_dir

    return examples_dir()
