"""The print route draws the engine's forms: a doctor logged in gets the PDF of each (the slips too,
and their HTML print view), each print is in the audit trail with its form and lookup code, an unknown
form is 404, and an abbreviation not on the facility's list comes back named in a header. Through the
real app (Starlette TestClient, session login with CSRF), on both databases."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from urllib.parse import unquote

import pdfplumber
import sqlalchemy as sa
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from benhan.web.app import create_app
from tests.forms import seed

PASSWORD = "một câu mật khẩu thật dài để in giấy"


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})


def _prints(store) -> list[dict]:  # noqa: ANN001
    with store.db.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_event.c.detail).where(audit_event.c.interaction == "print")).all()
    return [json.loads(r[0]) for r in rows]


def test_the_print_route_serves_the_engines_forms_and_audits_each(store):  # noqa: ANN001
    ids = seed.build(store)
    users.create_user(store, "bs.in", "Đinh Công Tráng", ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    app = create_app(store.config, store)
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.in")
        base = f"/ui/encounters/{ids['encounter']}"
        titles = {"outpatient": "BỆNH ÁN NGOẠI TRÚ", "prescription": "ĐƠN THUỐC", "referral": "PHIẾU CHUYỂN CƠ SỞ",
                  "followup": "GIẤY HẸN KHÁM LẠI"}
        for form, title in titles.items():
            r = ui.get(f"{base}/print.pdf", params={"form": form})
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", (form, r.text[:300])
            with pdfplumber.open(io.BytesIO(r.content)) as doc:
                assert title in doc.pages[0].extract_text()
            assert "x-benhan-form-warnings" not in r.headers
        # The print view is the same form as HTML (layout/html.py), its inline page CSS allowed by its hash.
        slip = ui.get(f"{base}/print", params={"form": "followup"})
        assert slip.status_code == 200 and slip.headers["content-type"].startswith("text/html")
        assert "GIẤY HẸN KHÁM LẠI" in slip.text and 'data-form="followup"' in slip.text
        css = re.search(r"<style>(.*?)</style>", slip.text, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        assert f"style-src 'self' 'sha256-{digest}'" in slip.headers["content-security-policy"]
        assert "size: A5;" in css and "unsafe-inline" not in slip.headers["content-security-policy"]
        assert ui.get(f"{base}/print.pdf", params={"form": "giay-gi-do"}).status_code == 404
        printed = [p["form"] for p in _prints(store)]
        assert sorted(printed) == sorted([*titles, "followup"]) and all(p["lookup"] for p in _prints(store))
        assert [p["format"] for p in _prints(store) if p["form"] == "followup"].count("html") == 1

        # An unlisted abbreviation on a paper for the patient: printed, and named in the answer.
        repo = Repository(store, Actor.system())
        appt = next(m.json() for m in repo.search_type("Appointment", [("supporting-info",
                                                                        f"Encounter/{ids['encounter']}")]).matches)
        appt["description"] = "Khám lại, mang theo kết quả NSDD"
        repo.update("Appointment", appt["id"], appt)
        r = ui.get(f"{base}/print.pdf", params={"form": "followup"})
        assert r.status_code == 200
        assert "NSDD" in unquote(r.headers["x-benhan-form-warnings"])
