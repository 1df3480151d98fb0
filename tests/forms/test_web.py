"""The print route draws the engine's forms: a doctor logged in gets the PDF of each (the slips too,
which have no HTML view), each print is in the audit trail with its form and lookup code, an unknown
form is 404, and an abbreviation not on the facility's list comes back named in a header. Through the
real app (Starlette TestClient, session login with CSRF), on both databases."""
from __future__ import annotations

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
        slip = ui.get(f"{base}/print", params={"form": "followup"})       # no HTML view: its PDF
        assert slip.status_code == 200 and slip.headers["content-type"] == "application/pdf"
        assert ui.get(f"{base}/print.pdf", params={"form": "giay-gi-do"}).status_code == 404
        printed = [p["form"] for p in _prints(store)]
        assert sorted(printed) == sorted([*titles, "followup"]) and all(p["lookup"] for p in _prints(store))

        # An unlisted abbreviation on a paper for the patient: printed, and named in the answer.
        repo = Repository(store, Actor.system())
        appt = next(m.json() for m in repo.search_type("Appointment", [("supporting-info",
                                                                        f"Encounter/{ids['encounter']}")]).matches)
        appt["description"] = "Khám lại, mang theo kết quả NSDD"
        repo.update("Appointment", appt["id"], appt)
        r = ui.get(f"{base}/print.pdf", params={"form": "followup"})
        assert r.status_code == 200
        assert "NSDD" in unquote(r.headers["x-benhan-form-warnings"])
