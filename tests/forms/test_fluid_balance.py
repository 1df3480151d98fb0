"""Fluid balance (clinical.fluids): the nurse's shift entries summed per local day (across midnight, in the
facility's zone and another), a 24-hour total taking the place of the day's entries, bad input refused field by
field; and the vital-signs chart printing each day's intake and urine output in its rows under the grid,
read back from the PDF by position. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, timedelta, timezone

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import fluids
from benhan.clinical.common import FormInvalid
from benhan.clinical.printouts import forms as printouts
from benhan.documents.forms import printing
from benhan.store.repository import Repository
from tests.forms import results_seed, seed
from tests.forms.conftest import text_in

HCM = timezone(timedelta(hours=7))
NURSE = Actor(name="ddmai", display="Nguyễn Thị Mai")
# (time, kind, mL): the 16th's shifts, one ending 00:30 on the 17th (the 17th's, not the 16th's), a shift on
# the 15th that the 15th's 24-hour totals (results_seed.FLUIDS) replace.
SHIFTS = (("2026-12-16T13:00:00+07:00", "intake", "800"), ("2026-12-16T13:00:00+07:00", "urine", "450"),
          ("2026-12-16T23:30:00+07:00", "intake", "650,5"), ("2026-12-16T23:30:00+07:00", "urine", "500"),
          ("2026-12-16T23:30:00+07:00", "other-output", "120"),
          ("2026-12-17T00:30:00+07:00", "intake", "200"), ("2026-12-15T13:00:00+07:00", "intake", "999"))


@pytest.fixture
def stay(store):  # noqa: ANN001, ANN201
    ids = results_seed.build(store)
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    for when, kind, ml in SHIFTS:
        fluids.record(repo, NURSE, encounter, {"fluid_kind": kind, "fluid_ml": ml}, when)
    return repo, encounter


def observations(repo: Repository, eid: str) -> list[dict]:
    return [m.json() for m in repo.search_type("Observation", [("encounter", f"Encounter/{eid}"),
                                                               ("_count", "1000")]).matches]


def test_each_days_totals_and_balance(stay):  # noqa: ANN001
    repo, enc = stay
    got = {d.day: (d.intake, d.output, d.balance) for d in fluids.days(observations(repo, enc["id"]), HCM)}
    assert got[date(2026, 12, 15)] == (1850, 1320, 530)          # the 24-hour totals, not the 999 mL shift
    assert got[date(2026, 12, 16)] == (1450.5, 1070, 380.5)
    assert got[date(2026, 12, 17)] == (200, 0, 200)
    # Seen from UTC−5 the 16th's 13:00 and 23:30 entries fall on the 16th's 01:00 and 11:30; 00:30 on the 17th too.
    west = {d.day: d.intake for d in fluids.days(observations(repo, enc["id"]), timezone(timedelta(hours=-5)))}
    assert west[date(2026, 12, 16)] == 1650.5


def test_bad_input_refused_field_by_field(stay):  # noqa: ANN001
    repo, enc = stay
    for values, fields in (({"fluid_kind": "blood", "fluid_ml": "abc"}, {"fluid_kind", "fluid_ml"}),
                           ({"fluid_kind": "urine", "fluid_ml": "-5"}, {"fluid_ml"}),
                           ({"fluid_kind": "urine", "fluid_ml": "25000"}, {"fluid_ml"}),
                           ({"fluid_kind": "intake", "fluid_ml": ""}, {"fluid_ml"})):
        with pytest.raises(FormInvalid) as caught:
            fluids.record(repo, NURSE, enc, values, "2026-12-16T13:00:00+07:00")
        assert set(caught.value.errors) == fields


def test_the_chart_prints_each_days_intake_and_urine(stay):  # noqa: ANN001
    repo, enc = stay
    ctx = printouts.gather(repo, enc["id"], seed.TODAY, head_title=seed.V["head-title"])
    done = printing.print_form(repo, ctx, "vitalsigns", seed.DOCTOR, seed.PRINTED, "http://benhan.test")
    regions, pdf = done.rendered.regions, done.pdf
    # Column = day − 14: the 15th (24-hour totals), the 16th (its shifts summed), the 17th.
    assert text_in(pdf, regions["chart.fluid-in.1"]) == "1850" and text_in(pdf, regions["chart.urine-out.1"]) == "1320"
    assert text_in(pdf, regions["chart.fluid-in.2"]) == "1450,5" and text_in(pdf, regions["chart.urine-out.2"]) == "950"  # urine only
    assert text_in(pdf, regions["chart.fluid-in.3"]) == "200" and "chart.urine-out.3" not in regions
