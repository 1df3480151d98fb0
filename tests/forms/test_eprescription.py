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
    lines = [m.json() for m in repo.search_type("MedicationRequest", [("encounter", f"Encounter/{ids['encounter']}")]).matches]
    assert not any(e["url"] == eprescription.SENT_EXT for r in lines for e in r.get("extension", []))
