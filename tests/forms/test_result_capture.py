"""What the result sheets printed blank until the result entry asked for it, through the real app:
the lab technician gives, with a blood count on the worklist, the time the specimen was taken and
the validating doctor — printed "Lấy mẫu lúc" and "Bác sĩ duyệt kết quả" on 17/BV2, each in its own
box (PDF by position, HTML print view by item); the doctor gives an ultrasound's description with its
conclusion on the visit page — printed "Mô tả". A specimen time in the future or before the order,
or a validator who is not on the staff, is refused beside its field and nothing is written. Both
databases; the reports are stored as FHIR (DiagnosticReport.effective, resultsInterpreter, presentedForm)."""
from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

import lxml.html
from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.clinical.common import vn_datetime, zone
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import printing
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.forms import results_seed, seed
from tests.forms.conftest import text_in
from tests.forms.test_html_view import value_of
from tests.forms.test_results_web import PASSWORD, _login

DESCRIPTION = "Gan bờ đều, nhu mô đồng nhất.\nTúi mật có một hình tăng âm 12 mm kèm bóng cản, thành không dày."
CONCLUSION = "Sỏi túi mật đơn độc"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _active(repo: Repository, pid: str) -> None:
    """The seed's doctor on the staff list (the facility's active Practitioners)."""
    body = repo.read("Practitioner", pid).json()
    repo.update("Practitioner", pid, {**body, "active": True})


def _reports(repo: Repository, order: str) -> list[dict]:
    return [m.json() for m in repo.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order}")]).matches]


def test_specimen_time_and_validating_doctor_land_in_their_boxes(store):  # noqa: ANN001
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:cbc"})
    _active(repo, ids["doctor"])
    authored = datetime.fromisoformat(repo.read("ServiceRequest", order).json()["authoredOn"])
    taken = authored.astimezone(zone(store.config.timezone)).replace(second=0, microsecond=0)
    users.create_user(store, "ktv.huyen", results_seed.LAB_TECH, ["lab_technician"], password=PASSWORD)
    users.create_user(store, "bs.xem", seed.V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    app = create_app(store.config, store)
    results = {orders.result_field("6690-2"): "11,7", orders.result_field("718-7"): "131"}
    with TestClient(app, raise_server_exceptions=False) as lab:
        _login(lab, "ktv.huyen")
        page = lab.get("/ui/lab")
        assert 'name="specimen_at"' in page.text and f'value="{ids["doctor"]}"' in page.text
        csrf = _csrf(page.text)
        for when, words in (((taken + timedelta(days=2)).strftime("%d/%m/%Y %H:%M"), "ở tương lai"),
                            ((taken - timedelta(days=1)).strftime("%d/%m/%Y %H:%M"), "trước lúc chỉ định"),
                            ("hôm qua", "Thời điểm không hợp lệ")):
            r = lab.post(f"/ui/lab/{order}/results", data={"csrf": csrf, **results, "specimen_at": when,
                                                           "validator": ids["doctor"]})
            assert r.status_code == 400 and words in r.text, when
        r = lab.post(f"/ui/lab/{order}/results", data={"csrf": csrf, **results, "specimen_at": "",
                                                       "validator": "khong-co-nguoi-nay"})
        assert r.status_code == 400 and 'id="e-validator"' in r.text
        assert _reports(repo, order) == []                                  # nothing written
        done = lab.post(f"/ui/lab/{order}/results", data={"csrf": csrf, **results,
                                                          "specimen_at": taken.strftime("%d/%m/%Y %H:%M"),
                                                          "validator": ids["doctor"]})
        assert done.status_code == 200, done.text[:500]
    [report] = _reports(repo, order)
    assert datetime.fromisoformat(report["effectiveDateTime"]) == taken
    assert report["resultsInterpreter"] == [{"reference": f"Practitioner/{ids['doctor']}", "display": seed.V["doctor"]}]
    # The PDF: each in its own box.
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    p = printing.print_form(repo, ctx, f"labresult:{report['id']}", seed.DOCTOR, seed.PRINTED, "http://benhan.test")
    assert vn_datetime(taken.isoformat()) in text_in(p.pdf, p.rendered.regions["specimen-at"])
    assert seed.V["doctor"] in text_in(p.pdf, p.rendered.regions["validator"])
    assert results_seed.LAB_TECH in text_in(p.pdf, p.rendered.regions["technician"])
    assert vn_datetime(report["issued"]) in text_in(p.pdf, p.rendered.regions["reported-at"])
    # The HTML print view, as the doctor opens it.
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.xem")
        view = ui.get(f"/ui/encounters/{ids['encounter']}/print", params={"form": f"labresult:{report['id']}"})
        doc = lxml.html.fromstring(view.text)
        assert value_of(doc, "specimen-at") == vn_datetime(taken.isoformat())
        assert value_of(doc, "validator") == seed.V["doctor"] and value_of(doc, "technician") == results_seed.LAB_TECH


def test_the_imaging_description_is_printed_under_mo_ta(store):  # noqa: ANN001
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "imaging", {"order_query": results_seed.US["name"],
                                                                   "order_other": "yes", "order_kind": "imaging"})
    users.create_user(store, "bs.xem", seed.V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        _login(ui, "bs.xem")
        base = f"/ui/encounters/{ids['encounter']}"
        page = ui.get(base)
        assert 'name="description"' in page.text
        r = ui.post(f"{base}/results", data={"csrf": _csrf(page.text), "order": order, "description": "x" * 20_001,
                                             "conclusion": CONCLUSION})
        assert r.status_code == 400 and 'id="e-description"' in r.text and _reports(repo, order) == []
        r = ui.post(f"{base}/results", data={"csrf": _csrf(page.text), "order": order, "description": DESCRIPTION,
                                             "conclusion": CONCLUSION}, follow_redirects=False)
        assert r.status_code == 303, r.text[:500]
        [report] = _reports(repo, order)
        [form] = report["presentedForm"]
        assert form["contentType"].startswith("text/plain") and base64.b64decode(form["data"]).decode() == DESCRIPTION
        view = ui.get(f"{base}/print", params={"form": f"imagingresult:{report['id']}"})
        doc = lxml.html.fromstring(view.text)
        assert value_of(doc, "description") == " ".join(DESCRIPTION.split())
        assert value_of(doc, "conclusion") == CONCLUSION
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    p = printing.print_form(repo, ctx, f"imagingresult:{report['id']}", seed.DOCTOR, seed.PRINTED, "http://benhan.test")
    described = " ".join(text_in(p.pdf, p.rendered.regions["description"]).split())
    assert "Gan bờ đều, nhu mô đồng nhất." in described and "12 mm kèm bóng cản" in described
    assert CONCLUSION not in described and CONCLUSION in text_in(p.pdf, p.rendered.regions["conclusion"])


def test_a_specimen_time_equal_to_the_minute_of_entry_is_printed(store):  # noqa: ANN001
    """The technician enters the results at hh:mm:00 and types hh:mm as the specimen time: the sheet
    prints it (it told the two apart by comparing them, and left "Lấy mẫu lúc" blank)."""
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order_id = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:cbc"})
    order = repo.read("ServiceRequest", order_id).json()
    entry = (datetime.fromisoformat(order["authoredOn"]) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    report_id = orders.enter_results(
        repo, Actor(name="ktv", display=results_seed.LAB_TECH), order, True,
        {orders.result_field("718-7"): "131", "specimen_at": entry.strftime("%d/%m/%Y %H:%M")}, clock=entry)
    report = repo.read("DiagnosticReport", report_id).json()
    assert datetime.fromisoformat(report["effectiveDateTime"]) == datetime.fromisoformat(report["issued"]) == entry
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=seed.V["head-title"])
    p = printing.print_form(repo, ctx, f"labresult:{report_id}", seed.DOCTOR, seed.PRINTED, "http://benhan.test")
    assert vn_datetime(entry.isoformat()) in text_in(p.pdf, p.rendered.regions["specimen-at"])
