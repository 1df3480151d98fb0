"""The imaging result's link to the PACS viewer: built from the `pacs_viewer_url` template with the
order's accession (and the study UID when the report names its ImagingStudy), percent-encoded and
HTML-escaped on the visit page, absent when the setting is empty or not an http(s) URL. Both databases."""
from __future__ import annotations

import html
import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.lab import pacs
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.forms import results_seed, seed
from tests.forms.test_results_web import PASSWORD, _login

TEMPLATE = "https://pacs.local/viewer?accession={accession}&study={study_uid}"


def test_viewer_url_encodes_and_refuses_other_schemes():
    assert pacs.viewer_url(TEMPLATE, "a b&c", "1.2.3") == "https://pacs.local/viewer?accession=a%20b%26c&study=1.2.3"
    assert pacs.viewer_url("javascript:alert(1)//{accession}", "x") is None
    assert pacs.viewer_url("ftp://pacs/{accession}", "x") is None
    assert pacs.viewer_url("", "x") is None
    assert pacs.study_uid({"imagingStudy": [{"identifier": {"system": "urn:dicom:uid",
                                                            "value": "urn:oid:1.2.840.1"}}]}) == "1.2.840.1"
    assert pacs.study_uid({}) == ""


def _links(ui: TestClient, encounter: str) -> list[str]:
    page = ui.get(f"/ui/encounters/{encounter}")
    assert page.status_code == 200
    return [html.unescape(h) for h in re.findall(r'<a class="pacs" href="([^"]+)"', page.text)]


def test_visit_page_links_the_imaging_result_to_the_viewer_when_configured(store):  # noqa: ANN001
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    report = repo.read("DiagnosticReport", ids["imaging_report"]).json()
    report["imagingStudy"] = [{"identifier": {"system": "urn:dicom:uid", "value": "urn:oid:1.2.840.113619.2.55"}}]
    repo.update("DiagnosticReport", ids["imaging_report"], report)
    users.create_user(store, "bs.pacs", seed.V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    saved = store.config.values.get("pacs_viewer_url", "")
    try:
        with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
            _login(ui, "bs.pacs")
            store.config.values["pacs_viewer_url"] = ""
            assert _links(ui, ids["encounter"]) == []
            store.config.values["pacs_viewer_url"] = TEMPLATE
            page = ui.get(f"/ui/encounters/{ids['encounter']}").text
            assert "Xem ảnh (PACS)" in page and "&amp;study=" in page      # escaped in the HTML
            assert _links(ui, ids["encounter"]) == [
                f"https://pacs.local/viewer?accession={ids['imaging_order']}&study=1.2.840.113619.2.55"]
            store.config.values["pacs_viewer_url"] = 'javascript:alert("{accession}")'
            assert _links(ui, ids["encounter"]) == []
    finally:
        store.config.values["pacs_viewer_url"] = saved
