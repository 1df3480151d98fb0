"""The whole record as one PDF (CV 365 III.1.1a; benhan.documents.whole_record): the contents page lists
each included form with the page it starts on (checked on that page by text extraction), a bookmark per
form, the pages of the whole = the parts' + the contents', "Trang x/y" of the whole on every page, one
audit event naming the patient and the forms; a form that fails to render is listed as not printable and
the rest still prints. Through the web route (both databases, a role that may not read the record gets
403) and the CLI as a real process."""
from __future__ import annotations

import io
import json
import re

import pdfplumber
import pikepdf
import sqlalchemy as sa
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms as printouts
from benhan.documents import whole_record
from benhan.documents.forms import FORMS
from benhan.documents.layout.model import Field, Form
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from benhan.web.app import create_app
from tests.clinical.test_inpatient_record import ward  # noqa: F401 - the ward fixture
from tests.forms import seed
from tests.forms.conftest import keep

PASSWORD = "một câu mật khẩu thật dài để in hồ sơ"
V = seed.V


def _build(store, ids):  # noqa: ANN001, ANN202
    repo = Repository(store, Actor.system())
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    return whole_record.build(repo, ctx, seed.DOCTOR, seed.PRINTED, "http://benhan.test")


def _texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [p.extract_text() or "" for p in doc.pages]


def _prints(store) -> list[dict]:  # noqa: ANN001
    with store.db.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_event.c.detail, audit_event.c.patients)
                            .where(audit_event.c.interaction == "print")).all()
    return [{**json.loads(r[0]), "patients": r[1]} for r in rows]


def check_whole(whole: whole_record.WholeRecord, name: str = V["name"]) -> list[str]:
    texts = _texts(whole.pdf)
    printed = [p for p in whole.parts if not p.problem]
    assert len(texts) == whole.pages == whole.toc_pages + sum(p.pages for p in printed)
    toc = "\n".join(texts[:whole.toc_pages])
    assert "MỤC LỤC HỒ SƠ BỆNH ÁN" in toc and name in toc and f"Tổng số trang: {whole.pages}" in toc
    rows = toc.splitlines()
    for i, p in enumerate(whole.parts, 1):
        # The contents row (its number, the code's first words): the page it starts on, "—" when not printed.
        row = next(line for line in rows if line.startswith(f"{i} {(p.code.split() or [''])[0]}".strip()))
        assert row.endswith(f" {p.start}" if p.start else " —"), (p.key, row)
    for p in printed:
        # That page is the form's first: its title, page 1 of it.
        first = texts[p.start - 1]
        assert p.title.split()[0] in first and f"Trang 1/{p.pages}" in first, p.key
    for i, text in enumerate(texts, 1):
        assert f"Trang {i}/{whole.pages}" in text           # of the whole, on every page
    with pikepdf.open(io.BytesIO(whole.pdf)) as pdf, pdf.open_outline() as outline:
        marks = [(item.title, pdf.pages.index(item.destination[0]) if isinstance(item.destination, pikepdf.Array)
                  else None) for item in outline.root]
    assert marks[0] == ("Mục lục", 0)
    assert [(f"{p.code} — {p.title}", p.start - 1) for p in printed] == marks[1:]
    return texts


def test_the_whole_record_of_a_visit_in_the_paper_records_order(store):  # noqa: ANN001
    ids = seed.build(store)
    whole = _build(store, ids)
    keep("whole-record", whole.pdf)
    # The record first, the papers last; every paper this visit has (a prescription, a referral, a
    # follow-up, a sick-leave certificate), the specialty variants not (a general visit).
    assert whole.included[0] == "outpatient"
    assert set(whole.included) == {"outpatient", "prescription", "referral", "followup", "sickleave"}, whole.included
    assert [p.kind for p in whole.parts] == sorted(p.kind for p in whole.parts)
    assert not any(p.problem for p in whole.parts)
    check_whole(whole)


def test_a_visit_without_papers_prints_only_its_record(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    # The seed's papers are removed to make a visit without them. A record's resources may not be
    # deleted before its retention end (TT 33/2025, store.retention_guard): the test releases exactly
    # these, as a council decision would.
    from benhan.store import retention_guard
    found = [(t, m.res_id) for t in ("MedicationRequest", "Appointment", "ServiceRequest", "Basic")
             for m in repo.search_type(t, [("patient", f"Patient/{ids['patient']}")]).matches]
    with retention_guard.releasing(set(found)):
        for t, res_id in found:
            repo.delete(t, res_id)
    whole = _build(store, ids)
    assert whole.included == ["outpatient"]
    check_whole(whole)


def test_a_form_that_fails_is_listed_as_not_printable_and_the_rest_prints(store, monkeypatch):  # noqa: ANN001
    ids = seed.build(store)

    def broken(d):  # noqa: ANN001, ANN202
        raise KeyError("thiếu dữ liệu")
    bad = Form(key="hong", code="99/BV2", title="PHIẾU THỬ HỎNG", body=(Field("Giá trị", broken, key="x"),),
               record_number=broken)
    monkeypatch.setitem(FORMS, "hong", bad)
    whole = _build(store, ids)
    [part] = [p for p in whole.parts if p.key == "hong"]
    assert part.problem and part.start == 0 and "hong" not in whole.included
    texts = check_whole(whole)
    assert "PHIẾU THỬ HỎNG — không in được" in " ".join(texts[:whole.toc_pages])
    assert len(whole.included) == 5


def test_a_form_registered_later_takes_part_without_a_change(store, monkeypatch):  # noqa: ANN001
    # A sheet another module adds to FORMS: included when it prints something of this visit, after the
    # record and before the papers; left out when it has nothing beyond the patient's lines.
    from benhan.documents.forms import sources as s
    ids = seed.build(store)
    sheet = Form(key="phieu-thu", code="16/BV2", title="PHIẾU XÉT NGHIỆM THỬ",
                 body=(Field("Họ và tên", s.name, key="name"), Field("Lý do", s.text("ly-do-vao-vien"), key="r")))
    empty = Form(key="phieu-rong", code="17/BV2", title="PHIẾU RỖNG",
                 body=(Field("Họ và tên", s.name, key="name"), Field("Khác", s.nobody, key="k")))
    monkeypatch.setitem(FORMS, "phieu-thu", sheet)
    monkeypatch.setitem(FORMS, "phieu-rong", empty)
    whole = _build(store, ids)
    assert whole.included.index("outpatient") < whole.included.index("phieu-thu") < whole.included.index("prescription")
    assert "phieu-rong" not in whole.included
    check_whole(whole)


def test_the_whole_record_of_a_ten_day_stay_holds_the_record_the_sheets_and_the_papers(ward):  # noqa: ANN001, F811
    # The forms other modules registered take part by themselves: 01/BV1 first, then the stay's sheets (a
    # surgery sheet per Procedure, not the one-day views), then the papers; no outpatient paper it lacks.
    from tests.forms import stay_seed
    eid = stay_seed.stay(ward)
    repo = Repository(ward["repo"].store, Actor.system())
    whole = whole_record.build(repo, stay_seed.context(ward, eid), seed.DOCTOR, stay_seed.PRINTED, "http://b")
    keep("whole-record-stay", whole.pdf)
    kinds = {p.key.split(":")[0]: p.kind for p in whole.parts}
    assert whole.included[0] == "inpatient" and kinds["inpatient"] == whole_record.RECORD
    assert {"treatment", "nursing", "vitalsigns", "publicity", "discharge"} <= set(kinds)
    surgeries = [k for k in whole.included if k.startswith("surgery:")]
    assert len(surgeries) == len(stay_seed.context(ward, eid).procedures) > 0
    assert not {"outpatient", "treatment-day", "nursing-day", "sickleave", "death"} & set(kinds)
    assert [p.kind for p in whole.parts] == sorted(p.kind for p in whole.parts)
    assert kinds["discharge"] == whole_record.PAPER and kinds["treatment"] == whole_record.SHEET
    assert not any(p.problem for p in whole.parts), [(p.key, p.problem) for p in whole.parts]
    check_whole(whole, name=stay_seed.S["name"])


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})


def test_the_web_route_prints_and_audits_once_and_refuses_a_role_without_the_record(store):  # noqa: ANN001
    ids = seed.build(store)
    users.create_user(store, "bs.hoso", "Đinh Công Tráng", ["doctor"], practitioner_id=ids["doctor"],
                      password=PASSWORD)
    users.create_user(store, "thungan", "Lê Thu Ngân", ["cashier"], password=PASSWORD)
    users.create_user(store, "duocsi", "Phạm Văn Dược", ["pharmacist"], password=PASSWORD)
    app = create_app(store.config, store)
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.hoso")
        page = ui.get(f"/ui/encounters/{ids['encounter']}")
        assert f"/ui/encounters/{ids['encounter']}/record.pdf" in page.text
        r = ui.get(f"/ui/encounters/{ids['encounter']}/record.pdf")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:300]
        texts = _texts(r.content)
        assert "MỤC LỤC HỒ SƠ BỆNH ÁN" in texts[0] and f"Trang 1/{len(texts)}" in texts[0]
        [event] = _prints(store)
        assert event["form"] == "whole-record" and ids["patient"] in event["patients"]
        assert event["forms"][0] == "outpatient"
        assert set(event["forms"]) == {"outpatient", "prescription", "referral", "followup", "sickleave"}
        assert event["pages"] == len(texts)
        assert ui.get("/ui/encounters/khong-co/record.pdf").status_code == 404
    for account in ("thungan", "duocsi"):
        # The cashier reads no diagnosis; the pharmacist reads the prescription but not the record itself.
        with TestClient(app, raise_server_exceptions=False) as other:
            _login(other, account)
            assert other.get(f"/ui/encounters/{ids['encounter']}/record.pdf").status_code == 403, account
    assert len(_prints(store)) == 1


def test_benhan_record_pdf_from_the_command_line(tmp_path):  # noqa: ANN001
    import os
    import subprocess

    from benhan import config
    from benhan.store.store import Store
    from tests.server_process import benhan_command
    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        ids = seed.build(store)
        users.create_user(store, "bs.hoso", "Đinh Công Tráng", ["doctor"], practitioner_id=ids["doctor"],
                          password=PASSWORD)
    finally:
        store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    out = tmp_path / "ho-so.pdf"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(benhan_command("record", "pdf", *args, "--data-dir", str(data)), capture_output=True,
                              text=True, timeout=180, env=env)
    ok = run(ids["encounter"], "--user", "bs.hoso", "--out", str(out))
    assert ok.returncode == 0, ok.stderr
    texts = _texts(out.read_bytes())
    assert f"{len(texts)} trang" in ok.stdout and "MỤC LỤC HỒ SƠ BỆNH ÁN" in texts[0]
    missing = run("khong-co-luot-kham", "--user", "bs.hoso", "--out", str(tmp_path / "x.pdf"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    lines = [ln for ln in (missing.stderr + missing.stdout).splitlines() if ln.strip()]
    assert len(lines) == 1 and "BENHAN-" in lines[0], lines
    assert not (tmp_path / "x.pdf").exists()
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        [event] = _prints(store)
        assert event["form"] == "whole-record" and "outpatient" in event["forms"]
    finally:
        store.close()
