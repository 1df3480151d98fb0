"""The forms' golden tests: one seeded visit, rendered per form; PDFs and PNGs kept in
.artifacts/forms (or BENHAN_FORM_ARTIFACTS) for a person to look at."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pdfplumber
import pypdfium2
import pytest

from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import printing
from benhan.store.repository import Repository
from tests.forms import seed

ARTIFACTS = Path(os.environ.get("BENHAN_FORM_ARTIFACTS", Path(__file__).resolve().parents[2] / ".artifacts" / "forms"))


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    return store, seed.build(store)


def render(world, key: str, settings: dict | None = None, signed: dict | None = None) -> printing.Printed:  # noqa: ANN001
    store, ids = world
    repo = Repository(store, Actor.system())
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    return printing.print_form(repo, ctx, key, seed.DOCTOR, seed.PRINTED, "http://benhan.test", settings, signed)


def keep(name: str, pdf: bytes) -> list[Path]:
    """The PDF and one PNG per page, as artefacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
    doc = pypdfium2.PdfDocument(pdf)
    out = []
    for i in range(len(doc)):
        path = ARTIFACTS / f"{name}-{i + 1}.png"
        doc[i].render(scale=2).to_pil().save(path)
        out.append(path)
    doc.close()
    return out


def words_in(pdf: bytes, region) -> list[dict]:  # noqa: ANN001
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[region.page - 1]
        return [w for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)
                if region.holds((w["x0"] + w["x1"]) / 2, w["top"], w["bottom"])]


def text_in(pdf: bytes, region) -> str:  # noqa: ANN001
    return " ".join(w["text"] for w in words_in(pdf, region))


def pages(pdf: bytes) -> list[tuple[float, float, str]]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [(p.width, p.height, p.extract_text() or "") for p in doc.pages]
