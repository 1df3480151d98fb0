"""Browser journeys: Debian's headless chromium driven by Playwright for Python, against the real
application under uvicorn (tests/live_server.py) over a store holding the ICD-10 list, the demo
facility (rooms, staff) and the demo drug catalogue.

Chromium comes from Debian (`apt-get install chromium`, done by scripts/test as root); Playwright's
own browser download is never used. Where chromium is missing the browser tests skip with a loud
message — except under CI=true, where they fail: a CI run must not pass by skipping them.
Screenshots of every step go to $BENHAN_ARTIFACTS (default tests/ui/artifacts/, git-ignored).
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benhan import config as config_mod

CHROMIUM = os.environ.get("BENHAN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("BENHAN_ARTIFACTS") or Path(__file__).resolve().parent / "artifacts")
PASSWORD = "một câu mật khẩu thật dài"
QR = "001090123456||NGUYỄN VĂN AN|01011990|Nam|Số 5, ngõ 12, Phường Ba Đình, Thành phố Hà Nội|15042021"


def _no_browser(reason: str) -> None:
    message = f"BROWSER TESTS NOT RUN: {reason}. Install Debian's chromium (apt-get install -y chromium; scripts/test does it as root)."
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: a missing browser fails the run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _no_browser(f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM,
                               args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One server for the UI tests: ICD-10, the demo facility and drug catalogue, two staff."""
    from benhan.auth import users
    from benhan.auth.actor import Actor
    from benhan.clinical.demo import facility_bundle
    from benhan.clinical.demo_catalogue import load_demo_catalogue
    from benhan.store.bundles import process_bundle
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    from benhan.terminology.load import load
    from tests.live_server import live_server
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path_factory.mktemp("ui") / "data"))
    load(store, ["icd10-tt06"])
    process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
    load_demo_catalogue(store)
    users.create_user(store, "bacsi", "Lê Văn Hùng", ["doctor"], password=PASSWORD)
    users.create_user(store, "tiepdon", "Phạm Thị Lan", ["registrar"], password=PASSWORD)
    users.create_user(store, "dieuduong", "Nguyễn Thị Mai", ["nurse"], password=PASSWORD)
    with live_server(store) as server:
        yield {"store": store, "url": server.url, "server": server}
    store.close()


class Journey:
    """A logged-in browser page that names and keeps a screenshot of every step."""

    def __init__(self, page, base: str, name: str):  # noqa: ANN001
        self.page = page
        self.base = base
        self.dir = ARTIFACTS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.step_no = 0

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, label: str) -> None:
        self.step_no += 1
        self.page.screenshot(path=str(self.dir / f"{self.step_no:02d}-{label}.png"), full_page=True)

    def login(self, username: str, lang: str = "vi", lands: str = "/", password: str = PASSWORD) -> None:
        """Log in; `lands` is the role's home page the login ends on (the desk, or the lab's list …)."""
        self.page.context.add_cookies([{"name": "lang", "value": lang, "url": self.base}])
        self.go("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_url(re.compile(".*" + re.escape(lands) + "$"))

    def errors(self) -> list[str]:
        return [e.strip() for e in self.page.locator(".field-error").all_inner_texts()]

    def fetch(self, path: str) -> bytes:
        """GET with the browser's session (a PDF, a JSON body) and its bytes."""
        response = self.page.context.request.get(self.base + path)
        assert response.status == 200, (path, response.status)
        return response.body()


@pytest.fixture
def journey(browser, world, request):  # noqa: ANN001, ANN201
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    j = Journey(page, world["url"], request.node.name)
    yield j
    context.close()
