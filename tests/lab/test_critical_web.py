"""A critical potassium from the analyser, seen by the doctor: the visit page shows it at the top in
Vietnamese until the doctor acknowledges it; the acknowledgement is the doctor's audited update and
the banner is gone (and from the ordering doctor's home page, where it was listed too, and not on a namesake's); a flag id that is not this visit's is refused without a 500. Both databases."""
from __future__ import annotations

import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.lab import simulator
from benhan.lab.mllp import Listener
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.audit.helpers import sql
from tests.forms import seed
from tests.forms.test_results_web import PASSWORD, _login


def test_critical_potassium_on_the_visit_page_until_acknowledged(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})
    listener = Listener(store, "xn-01", port=0).start()
    try:
        ack = simulator.send("127.0.0.1", listener.port, simulator.oru_r01(
            order, [simulator.Result("2823-3", "7.1", "mmol/L", "3.5-5.0", "HH")], control_id="K71"))
        assert simulator.ack_code(ack)[0] == "AA"
    finally:
        listener.stop()
    # The order's requester is the account bstrang; a namesake's account (same display name, a
    # common thing) sees the visit's banner, but the home page's list is not theirs.
    users.create_user(store, "bstrang", seed.V["doctor"], ["doctor"], password=PASSWORD)
    users.create_user(store, "bs.xem", seed.V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as other:
        _login(other, "bs.xem")
        assert "Kali (K⁺) 7,1" not in other.get("/").text
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        _login(ui, "bstrang")
        home = ui.get("/")
        assert "Kali (K⁺) 7,1 mmol/L" in home.text and f"/ui/encounters/{ids['encounter']}#lab-flags" in home.text
        page = ui.get(f"/ui/encounters/{ids['encounter']}")
        assert page.status_code == 200
        banner = re.search(r'<section class="card" id="lab-flags".*?</section>', page.text, re.S)
        assert banner and "Giá trị nguy hiểm chờ bác sĩ xác nhận" in banner.group(0)
        assert "Kali (K⁺) 7,1 mmol/L" in banner.group(0)
        flag = re.search(r'name="flag" value="([^"]+)"', banner.group(0)).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        wrong = ui.post(f"/ui/encounters/{ids['encounter']}/lab-flags", data={"csrf": csrf, "flag": "khong-co"})
        assert wrong.status_code in (400, 404) and "Traceback" not in wrong.text
        done = ui.post(f"/ui/encounters/{ids['encounter']}/lab-flags", data={"csrf": csrf, "flag": flag})
        assert done.status_code == 200
        assert 'id="lab-flags"' not in done.text
        assert "Kali (K⁺) 7,1" not in ui.get("/").text      # gone from the doctor's home too
    assert repo.read("Flag", flag).json()["status"] == "inactive"
    assert ("update",) in [tuple(r) for r in sql(
        store, "SELECT interaction FROM audit_event WHERE agent = 'bstrang' AND res_type = 'Flag' AND res_id = :f", f=flag)]


def test_the_technician_validates_the_analysers_results_on_the_worklist(store):  # noqa: ANN001
    from benhan.lab import validation
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})
    listener = Listener(store, "xn-01", port=0).start()
    try:
        ack = simulator.send("127.0.0.1", listener.port, simulator.oru_r01(
            order, [simulator.Result("2951-2", "131", "mmol/L", "135-145", "L")], control_id="NA1"))
        assert simulator.ack_code(ack)[0] == "AA"
    finally:
        listener.stop()
    (report,) = repo.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order}")]).matches
    users.create_user(store, "ktv.huyen", "Mạc Thị Huyền Trang", ["lab_technician"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as lab:
        _login(lab, "ktv.huyen")
        page = lab.get("/ui/lab")
        block = re.search(rf'<div class="analysed" id="a-{report.res_id}">.*?</div>', page.text, re.S)
        assert block and "chờ duyệt kỹ thuật" in block.group(0) and "131" in block.group(0)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = lab.post(f"/ui/lab/reports/{report.res_id}/technical", data={"csrf": csrf})
        assert done.status_code == 200 and f'id="a-{report.res_id}"' not in done.text
        again = lab.post(f"/ui/lab/reports/{report.res_id}/technical", data={"csrf": csrf})
        assert again.status_code == 409 and "đã được duyệt kỹ thuật" in again.text
    stored = repo.read("DiagnosticReport", report.res_id).json()
    assert validation.technical_by(stored) == "ktv.huyen" and stored["status"] == "preliminary"
    # The same person cannot also validate medically (a technician who is also a doctor, say).
    same = Actor(name="ktv.huyen", display="Mạc Thị Huyền Trang")
    try:
        validation.medical(repo, same, report.res_id)
        raise AssertionError("the same user validated twice")
    except validation.ValidationRefused as exc:
        assert exc.key == "ui.lab.err.same_person"


def test_the_doctor_validates_medically_on_the_visit_page_not_the_technician_twice(store):  # noqa: ANN001
    from benhan.lab import validation
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})
    listener = Listener(store, "xn-01", port=0).start()
    try:
        simulator.send("127.0.0.1", listener.port, simulator.oru_r01(
            order, [simulator.Result("2951-2", "131", "mmol/L", "135-145", "L")], control_id="NA2"))
    finally:
        listener.stop()
    (report,) = repo.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order}")]).matches
    users.create_user(store, "bs.xem", seed.V["doctor"], ["doctor"], practitioner_id=ids["doctor"], password=PASSWORD)
    # The doctor validated technically too (a small station): the medical step is then refused.
    validation.technical(Repository(store, Actor(name="bs.xem")), Actor(name="bs.xem", display=seed.V["doctor"]),
                         report.res_id)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        _login(ui, "bs.xem")
        page = ui.get(f"/ui/encounters/{ids['encounter']}")
        assert f'id="validate-{report.res_id}"' in page.text and "chờ bác sĩ duyệt y khoa" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        refused = ui.post(f"/ui/encounters/{ids['encounter']}/lab-validate", data={"csrf": csrf, "report": report.res_id})
        assert refused.status_code == 400 and "phải khác người đã duyệt kỹ thuật" in refused.text
        assert repo.read("DiagnosticReport", report.res_id).json()["status"] == "preliminary"
        wrong = ui.post(f"/ui/encounters/{ids['encounter']}/lab-validate", data={"csrf": csrf, "report": "khong-co"})
        assert wrong.status_code == 404 and "Traceback" not in wrong.text
    # Validated technically by the technician instead: the doctor's medical validation makes it final.
    other = repo.read("DiagnosticReport", report.res_id).json()
    body = {k: v for k, v in other.items() if k != "meta"}
    body["extension"] = [e for e in body["extension"] if e["url"] != validation.TECHNICAL] + [
        {"url": validation.TECHNICAL, "valueString": "ktv.huyen"}]
    repo.update("DiagnosticReport", report.res_id, body)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as ui:
        _login(ui, "bs.xem")
        page = ui.get(f"/ui/encounters/{ids['encounter']}")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = ui.post(f"/ui/encounters/{ids['encounter']}/lab-validate", data={"csrf": csrf, "report": report.res_id})
        assert done.status_code == 200 and f'id="validate-{report.res_id}"' not in done.text
    final = repo.read("DiagnosticReport", report.res_id).json()
    assert final["status"] == "final" and final["resultsInterpreter"][0]["display"] == seed.V["doctor"]
    assert repo.read("ServiceRequest", order).json()["status"] == "completed"
