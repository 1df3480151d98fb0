"""The technician collects the specimen from the lab worklist: "Lấy mẫu" creates it, the order then
offers its label (a PDF, with the patient's name), a second collection is refused in Vietnamese
without a 500, and the analyser's result sent with the label's accession number (OBR-2) lands on the
order. Both databases."""
from __future__ import annotations

import re

from starlette.testclient import TestClient

from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.lab import simulator, specimens
from benhan.lab.mllp import Listener
from benhan.store.repository import Repository
from benhan.web.app import create_app
from tests.forms import seed
from tests.forms.test_results_web import PASSWORD, _login


def test_collect_on_the_worklist_print_the_label_and_receive_by_accession(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    order = orders.place(repo, seed.DOCTOR, encounter, "lab", {"order_lab": "panel:electrolytes"})
    users.create_user(store, "ktv.mau", "Mạc Thị Huyền Trang", ["lab_technician"], password=PASSWORD)
    with TestClient(create_app(store.config, store), raise_server_exceptions=False) as lab:
        _login(lab, "ktv.mau")
        page = lab.get("/ui/lab")
        block = re.search(rf'<div class="order" id="o-{order}">.*?</form>', page.text, re.S).group(0)
        assert "Lấy mẫu" in block and f"/ui/lab/{order}/specimen" in block
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        done = lab.post(f"/ui/lab/{order}/specimen", data={"csrf": csrf})
        assert done.status_code == 200
        link = re.search(r'href="(/ui/lab/specimens/[^"]+/label\.pdf)"', done.text).group(1)
        pdf = lab.get(link)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        again = lab.post(f"/ui/lab/{order}/specimen", data={"csrf": csrf})
        assert again.status_code == 409 and "Đã lấy mẫu cho chỉ định này" in again.text
        unknown = lab.post("/ui/lab/khong-co/specimen", data={"csrf": csrf})
        assert unknown.status_code == 404 and "Traceback" not in unknown.text
    specimen_id = specimens.specimen_of(repo.read("ServiceRequest", order).json())
    accession = repo.read("Specimen", specimen_id).json()["accessionIdentifier"]["value"]
    assert link == f"/ui/lab/specimens/{specimen_id}/label.pdf"
    assert specimens.label_of(repo, specimen_id).patient == seed.V["name"]
    # The analyser reads the barcode and answers with it in OBR-2: the result is the order's.
    listener = Listener(store, "xn-01", port=0).start()
    try:
        ack = simulator.send("127.0.0.1", listener.port, simulator.oru_r01(
            accession, [simulator.Result("2823-3", "4.1", "mmol/L", "3.5-5.0", "N")], control_id="S1"))
        assert simulator.ack_code(ack)[0] == "AA"
    finally:
        listener.stop()
    assert repo.search_type("DiagnosticReport", [("based-on", f"ServiceRequest/{order}")]).matches
