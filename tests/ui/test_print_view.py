"""What a user's Ctrl-P gives: the HTML print view of 15/BV1, the prescription, 01/BV1 and the discharge
paper opened in chromium and printed to PDF by the browser itself (page.pdf, the page's own @page size):
the paper is A4 or A5 as the form says, each seeded value is on it, the patient's name and record number
and "Trang i/n" are on every page, and the page loads under the strict CSP with no style refused. Against
the real app under uvicorn, on its own store (tests/forms/seed.py: a visit whose every item has a value)."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pdfplumber
import pytest

from benhan import config as config_mod
from tests.forms import seed
from tests.ui.conftest import PASSWORD, Journey

V = seed.V
SIZES = {"A4": (595.3, 841.9), "A5": (419.5, 595.3)}


@pytest.fixture(scope="module")
def printed_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from benhan.auth import users
    from benhan.store.store import Store
    from tests.live_server import live_server
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path_factory.mktemp("print") / "data"))
    ids = seed.build(store)
    users.create_user(store, "bs.in", V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    with live_server(store) as server:
        yield {"store": store, "url": server.url, "ids": ids}
    store.close()


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


@pytest.mark.parametrize(("form", "size", "values"), [
    ("outpatient", "A4", ["BỆNH ÁN NGOẠI TRÚ", "MS: 15/BV1", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", V["name"].upper(),
                          V["address"], V["reason"], V["history"], V["organ"], V["dx-ad"][1], V["dx-dd"][1],
                          V["course"], V["doctor"], "Ngày 14 tháng 12 năm 2026", "(Ký, ghi rõ họ tên)"]),
    ("prescription", "A5", ["ĐƠN THUỐC", V["rx-code"], V["name"].upper(), V["drug"], V["advice"], V["prescriber"]]),
    ("inpatient", "A4", ["BỆNH ÁN NỘI KHOA", "MS: 01/BV1", V["name"].upper(), V["address"]]),
    ("discharge", "A5", ["GIẤY RA VIỆN", V["name"].upper(), V["address"]]),
])
def test_ctrl_p_of_the_print_view_gives_the_paper(browser, printed_world, form, size, values, request):  # noqa: ANN001
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        refused: list[str] = []
        page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
        j = Journey(page, printed_world["url"], request.node.name)
        j.login("bs.in")
        j.go(f"/ui/encounters/{printed_world['ids']['encounter']}/print?form={form}")
        j.page.wait_for_load_state()
        j.shot(f"{form}-print-view")
        # The paper's items are laid out by the form's CSS: the facility block beside the heading.
        left = page.locator("header.form-head .left").bounding_box()
        right = page.locator("header.form-head .right").bounding_box()
        assert left["x"] + left["width"] <= right["x"] + 1 and abs(left["y"] - right["y"]) < 5
        page.emulate_media(media="print")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        (j.dir / f"{form}-ctrl-p.pdf").write_bytes(pdf)
        assert refused == []
    finally:
        context.close()
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        texts = [p.extract_text() or "" for p in doc.pages]
        sizes = [(p.width, p.height) for p in doc.pages]
    # Chromium sizes the page in whole CSS pixels: within 1 pt of ISO 216.
    assert all(abs(w - SIZES[size][0]) < 1 and abs(h - SIZES[size][1]) < 1 for w, h in sizes), sizes
    whole = squash(" ".join(texts))
    assert [v for v in values if squash(v) not in whole] == []
    assert "Về lần khám" not in whole                          # the page's tools are not printed
    for i, text in enumerate(texts, 1):                          # whose paper it is, on every page
        assert f"Người bệnh: {V['name']} — {V['ma-lk']}" in squash(text), i
        assert f"Trang {i}/{len(texts)}" in text and "NĐ 137/2024/NĐ-CP Điều 5" in squash(text), i
