"""The result sheets and the vital-signs chart through the real app: the lab technician enters a
blood count on the worklist and prints its sheet from there (a technician reads no diagnoses, yet
prints the laboratory's paper); the doctor's visit page offers each report's sheet; the chart's PDF.
Session login with CSRF (Starlette TestClient), on both databases."""
from __future__ import annotations

import io
import re

import pdfplumber
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.forms import results_seed, seed

PASSWORD = "một câu mật khẩu thật dài để in phiếu"


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})


def _text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


def test_the_technician_prints_the_sheet_from_the_worklist_and_the_doctor_from_the_visit(store):  # noqa: ANN001
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:cbc"})
    users.create_user(store, "ktv.huyen", results_seed.LAB_TECH, ["lab_technician"], password=PASSWORD)
    users.create_user(store, "bs.xem", seed.V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    app = create_app(store.config, store)
    with TestClient(app, raise_server_exceptions=False) as lab:
        _login(lab, "ktv.huyen")
        page = lab.get("/ui/lab")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = lab.post(f"/ui/lab/{order}/results", data={"csrf": csrf, orders.result_field("6690-2"): "11,7",
                                                          orders.result_field("718-7"): "131"})
        link = re.search(r'href="(/ui/encounters/[^"]+/print\.pdf\?form=labresult:[^"]+)"', done.text)
        assert link, done.text[:2000]
        sheet = lab.get(link.group(1).replace("&amp;", "&"))
        assert sheet.status_code == 200 and sheet.headers["content-type"] == "application/pdf", sheet.text[:300]
        text = _text(sheet.content)
        assert "PHIẾU XÉT NGHIỆM HUYẾT HỌC" in text and "11,7" in text and "131" in text
        assert results_seed.LAB_TECH in text                    # who entered it, by full name
        # The technician reads no diagnoses: the sheet says the diagnosis is not shown, never a blank "none".
        assert "không hiển thị: người in không được xem chẩn đoán" in text and seed.V["dx-dd"][1] not in text
        # The visit's other forms stay the doctor's: the technician reads no diagnoses.
        assert lab.get(f"/ui/encounters/{ids['encounter']}/print.pdf", params={"form": "outpatient"}).status_code == 403
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.xem")
        page = ui.get(f"/ui/encounters/{ids['encounter']}")
        assert page.status_code == 200
        assert f"form=labresult:{ids['lab_report']}" in page.text
        assert f"form=imagingresult:{ids['imaging_report']}" in page.text
        imaging = ui.get(f"/ui/encounters/{ids['encounter']}/print.pdf",
                         params={"form": f"imagingresult:{ids['imaging_report']}"})
        assert imaging.status_code == 200 and results_seed.US["conclusion"] in _text(imaging.content)
        chart = ui.get(f"/ui/encounters/{ids['encounter']}/print.pdf", params={"form": "vitalsigns"})
        assert chart.status_code == 200 and "PHIẾU THEO DÕI CHỨC NĂNG SỐNG" in _text(chart.content)
        missing = ui.get(f"/ui/encounters/{ids['encounter']}/print.pdf", params={"form": "labresult:nothing-here"})
        assert missing.status_code == 404 and "Traceback" not in missing.text


def test_the_documents_page_offers_each_report_to_sign(store):  # noqa: ANN001
    ids = results_seed.build(store)
    users.create_user(store, "bs.ky", seed.V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        _login(ui, "bs.ky")
        page = ui.get(f"/ui/encounters/{ids['encounter']}/documents")
        assert page.status_code == 200, page.text[:500]
        options = dict(re.findall(r'<option value="([^"]+)">([^<]*)</option>', page.text))
        assert options[f"labresult:{ids['lab_report']}"].endswith("Tổng phân tích tế bào máu ngoại vi 09:05 15/12/2026")
        assert results_seed.US["name"] in options[f"imagingresult:{ids['imaging_report']}"]
        assert "labresult" not in options and "imagingresult" not in options      # never a sheet without its report
