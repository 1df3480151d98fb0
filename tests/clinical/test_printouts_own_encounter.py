"""Every printout takes its data from its own encounter (issue 12.5), and 01/BV1's treatment sheet
holds only the doctor's progress notes and orders — the nurses' notes go to the nursing care sheet
(issue 12.6). On a patient with an inpatient stay (follow-up 20/12) overlapping an outpatient visit
(follow-up 13/12), each form of each encounter; on SQLite and PostgreSQL (the follow-up is found
by a search on Appointment.supportingInformation). The clock is injected: no real dates."""
from __future__ import annotations

from datetime import date

import pytest

from benhan.auth.actor import Actor
from benhan.clinical.printouts import forms, pdf
from benhan.store.repository import Repository
from tests.ui import chart_world

OWN = {"inpatient": ("20/12/2026", "Tái khám sau ra viện", "J18.9", "Amoxicilin"),
       "outpatient": ("13/12/2026", "Tái khám ngoại trú huyết áp", "I10", "Amlodipin")}


def printed(store, eid: str, form: str) -> forms.Printout:  # noqa: ANN001
    repo = Repository(store, Actor.system())
    ctx = forms.gather(repo, eid, date(2026, 12, 10))
    return forms.build(ctx, form, chart_world.DOCTOR, chart_world.at(10, 12), "http://benhan.test")


def text_of(p: forms.Printout) -> str:
    parts = []
    for b in p.blocks:
        parts += [f"{r.label}: {r.value}" for r in b.rows]
        parts += [" | ".join(row) for row in b.table or []]
    return "\n".join(parts)


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    return chart_world.build(store)


@pytest.mark.parametrize("form", forms.FORMS)
def test_each_form_of_each_encounter_prints_its_own_follow_up_diagnosis_and_drugs(store, world, form):  # noqa: ANN001
    for kind, other in (("inpatient", "outpatient"), ("outpatient", "inpatient")):
        p = printed(store, world[kind], form)
        text = text_of(p)
        rows = {r.label: r.value for b in p.blocks for r in b.rows}
        if "Hẹn tái khám" in rows:
            assert OWN[kind][0] in rows["Hẹn tái khám"] and OWN[kind][1] in rows["Hẹn tái khám"], (kind, form)
        for foreign in OWN[other]:
            assert foreign not in text, (kind, form, foreign)
        if form in ("prescription", "outpatient"):
            assert OWN[kind][3] in text
        if form != "inpatient":
            assert OWN[kind][2] in text


def test_the_treatment_sheet_holds_the_doctors_notes_and_the_care_sheet_the_nurses(store, world):  # noqa: ANN001
    # A note of no known kind (written through the API, no note-kind code) is on no one's sheet.
    repo = Repository(store, Actor.system())
    repo.create("ClinicalImpression", {"resourceType": "ClinicalImpression", "status": "completed",
                                       "subject": {"reference": f"Patient/{world['patient']}"},
                                       "encounter": {"reference": f"Encounter/{world['inpatient']}"},
                                       "date": "2026-12-03T09:00:00+07:00", "summary": "GHI CHÉP KHÔNG RÕ LOẠI"})
    p = printed(store, world["inpatient"], "inpatient")
    sheets = {b.heading: b for b in p.blocks}
    treatment = " ".join(" ".join(r) for r in sheets["TỜ ĐIỀU TRỊ"].table)
    care = " ".join(" ".join(r) for r in sheets[forms.NURSING_SHEET].table)
    assert "Y LỆNH BÁC SĨ J18.9" in treatment
    assert "CHĂM SÓC ĐIỀU DƯỠNG" not in treatment and "KHÔNG RÕ LOẠI" not in treatment
    assert "CHĂM SÓC ĐIỀU DƯỠNG J18.9" in care and "Y LỆNH BÁC SĨ" not in care
    assert sheets[forms.NURSING_SHEET].new_page                      # a sheet of its own
    assert "KHÔNG RÕ LOẠI" in text_of(p)                              # still printed, apart
    assert pdf.render(p).startswith(b"%PDF")


def test_printed_numbers_use_the_decimal_comma_and_units_their_written_form(store, world):  # noqa: ANN001
    text = text_of(printed(store, world["inpatient"], "inpatient"))
    assert "38,5 °C" in text and "38.5" not in text
    assert "12,5 10⁹/L" in text and "10*9" not in text
