"""Sending a prescription to the national e-prescription system, against a stand-in on a local port
(real HTTP), on both databases: the national code is issued once and written on every line, printed
on the paper, sent with the patient, diagnoses and drugs; sending again keeps the code (and the
stand-in refuses a code twice); a wrong password, no configuration or no answer is one clear error
(BENHAN-7101) and writes no answer."""
from __future__ import annotations

import datetime as dt

import pytest

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms as printouts
from benhan.documents import eprescription, prescription_code
from benhan.outbox.eprescription import HttpNationalPrescriptionSystem
from benhan.documents.prescription_code import NATIONAL_CODE_SYSTEM
from benhan.store.repository import Repository
from tests.forms import seed
from tests.forms.conftest import render, text_in
from tests.forms.eprescription_standin import NationalPrescriptionStandIn

NOW = dt.datetime(2026, 12, 18, 16, 0, tzinfo=seed.ICT)


def _without_code(store, ids) -> Repository:  # noqa: ANN001
    repo = Repository(store, Actor.system())
    for m in repo.search_type("MedicationRequest", [("encounter", f"Encounter/{ids['encounter']}")]).matches:
        body = m.json()
        body.pop("identifier", None)
        repo.update("MedicationRequest", body["id"], body)
    return repo


def test_a_prescription_gets_its_code_once_and_reaches_the_national_system(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = _without_code(store, ids)
    with NationalPrescriptionStandIn() as standin:
        system = HttpNationalPrescriptionSystem(standin.url, standin.linking_code, standin.password)
        ctx = printouts.gather(repo, ids["encounter"], seed.TODAY)
        sent = eprescription.send(repo, seed.DOCTOR, ctx, system, NOW)
        assert prescription_code.valid(sent.code) and sent.code.startswith(seed.V["facility-code"])
        assert sent.code.endswith("-C") and sent.reference == "DTQG-000001"
        got = standin.received[sent.code]
        assert got["ho_ten_benh_nhan"] == seed.V["name"] and got["ma_so_the_bao_hiem_y_te"] == seed.V["bhyt"]
        assert {d["ma_chan_doan"] for d in got["chan_doan"]} == {c for c, _ in (seed.V["dx-ad"], seed.V["dx-ad2"],
                                                                               seed.V["dx-dd"], seed.V["dx-dd2"])}
        assert got["thong_tin_don_thuoc"][0]["ten_thuoc"] == seed.V["drug"] and got["loi_dan"] == seed.V["advice"]
        # Every line carries the code and the answer; the paper prints the same code.
        lines = [m.json() for m in repo.search_type("MedicationRequest", [("encounter", f"Encounter/{ids['encounter']}")]).matches]
        assert {i["value"] for r in lines for i in r["identifier"] if i["system"] == NATIONAL_CODE_SYSTEM} == {sent.code}
        assert all(any(e["url"] == eprescription.SENT_EXT for e in r["extension"]) for r in lines)
        p = render((store, ids), "prescription")
        assert text_in(p.pdf, p.rendered.regions["prescription-code"]) == sent.code
        # The code never changes: sending again sends the same code, which the system refuses as known.
        ctx = printouts.gather(repo, ids["encounter"], seed.TODAY)
        assert eprescription.issue_code(repo, seed.DOCTOR, ctx) == sent.code
        with pytest.raises(errors.PrescriptionSubmissionFailed, match="đã tồn tại"):
            eprescription.send(repo, seed.DOCTOR, ctx, system, NOW)


def test_a_refusal_or_no_connection_is_one_clear_error(store):  # noqa: ANN001
    ids = seed.build(store)
    repo = _without_code(store, ids)
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY)
    with NationalPrescriptionStandIn() as standin:
        wrong = HttpNationalPrescriptionSystem(standin.url, standin.linking_code, "sai")
        with pytest.raises(errors.PrescriptionSubmissionFailed, match="Sai mã liên thông"):
            eprescription.send(repo, seed.DOCTOR, ctx, wrong, NOW)
        assert standin.received == {}
        url = standin.url
    with pytest.raises(errors.PrescriptionSubmissionFailed, match="không kết nối được"):
        HttpNationalPrescriptionSystem(url, "x", "y", timeout=2).submit({})
    with pytest.raises(errors.PrescriptionSubmissionFailed, match="chưa cấu hình"):
        HttpNationalPrescriptionSystem("", "x", "y").submit({})
    with pytest.raises(errors.PrescriptionSubmissionFailed, match="loại đơn"):
        eprescription.issue_code(repo, seed.DOCTOR, ctx, kind="X")
    lines = [m.json() for m in repo.search_type("MedicationRequest", [("encounter", f"Encounter/{ids['encounter']}")]).matches]
    assert not any(e["url"] == eprescription.SENT_EXT for r in lines for e in r.get("extension", []))


def test_benhan_prescription_send_from_the_command_line(tmp_path):  # noqa: ANN001
    # SQLite in a folder of its own: the command runs as another process, as an operator would.
    import os
    import subprocess

    from benhan import config
    from benhan.auth import users
    from benhan.store.store import Store
    from tests.server_process import benhan_command
    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        ids = seed.build(store)
        _without_code(store, ids)
        users.create_user(store, "bs.gui", "Đinh Công Tráng", ["doctor"], practitioner_id=ids["doctor"],
                          password="một câu mật khẩu thật dài để gửi đơn")
    finally:
        store.close()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    with NationalPrescriptionStandIn() as standin:
        env = {**clean, "BENHAN_NATIONAL_PRESCRIPTION_URL": standin.url,
               "BENHAN_NATIONAL_PRESCRIPTION_LINKING_CODE": standin.linking_code,
               "BENHAN_NATIONAL_PRESCRIPTION_PASSWORD": standin.password}
        run = subprocess.run(benhan_command("prescription", "send", ids["encounter"], "--user", "bs.gui",
                                            "--data-dir", str(data)), capture_output=True, text=True, timeout=120,
                             env=env)
        assert run.returncode == 0, run.stderr
        [code] = standin.received
        assert f"mã đơn thuốc {code}" in run.stdout and "DTQG-000001" in run.stdout
        again = subprocess.run(benhan_command("prescription", "send", ids["encounter"], "--user", "bs.gui",
                                              "--data-dir", str(data)), capture_output=True, text=True, timeout=120,
                               env=env)
    assert again.returncode == 1 and "BENHAN-7101" in again.stderr + again.stdout and "Traceback" not in again.stderr
