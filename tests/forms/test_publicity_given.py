"""Phiếu công khai thuốc prints what the nurses recorded given (clinical.administration), not what was
prescribed: distinct doses on distinct days, each under its own date, held and refused doses not counted,
a drug whose doses were all held not printed — by position. On SQLite and PostgreSQL."""
from __future__ import annotations

from benhan.auth.actor import Actor
from benhan.clinical import administration as adm
from benhan.documents.forms.publicity_sheet import DRUG_COLUMNS
from benhan.store.repository import Repository
from tests.forms import seed_sheets
from tests.forms.conftest import keep
from tests.forms.sheet_checks import find
from tests.forms.test_publicity_sheet import _cells

W = seed_sheets.W
TZ = "+07:00"


def test_the_sheet_counts_the_doses_given_each_day(store):  # noqa: ANN001
    ids = seed_sheets.build(store)
    repo = Repository(store, Actor.system())
    enc = repo.read("Encounter", ids["stay"]).json()
    orders = {o["medicationCodeableConcept"]["text"]: o["id"] for o in adm.orders_of(repo, ids["stay"])}
    clock = seed_sheets.at(9, 12, 0)

    def give(drug: str, day: int, hour: int, outcome: str = "given", dose: str = "", reason: str = "") -> None:
        at = seed_sheets.at(day, hour, 0)
        adm.record(repo, Actor.system(), enc, {"slot": f"{orders[drug]}/{at:%Y-%m-%dT%H:%M}", "outcome": outcome,
                                               "given_at": f"{at:%d/%m/%Y} {hour:02d}:05", "dose": dose,
                                               "reason": reason}, TZ, clock)
    # Ceftriaxon (written 09:00 on day 1, twice a day: 16:00 that day, then 08:00 and 16:00).
    give(W["drug"], 0, 16)                                   # 1 lọ on the 10th
    give(W["drug"], 1, 8, dose="2")                          # 2 lọ on the 11th …
    give(W["drug"], 1, 16, "refused", reason="Người bệnh từ chối tiêm")   # … the second dose refused
    give(W["drug"], 3, 8)                                    # nothing on the 12th, 1 on the 13th
    # Paracetamol (from 09:00 on day 3, three a day): 12:00 and 16:00 that day, half a tablet at 16:00.
    give(W["drug2"], 2, 12)
    give(W["drug2"], 2, 16, dose="0,5")
    give(W["drug2"], 3, 8, "held", reason="Hết sốt")
    p = seed_sheets.render(store, ids, "publicity")
    keep("publicity-sheet-given", p.pdf)
    dates = find(p.pdf, "10/12")
    assert [_cells(p.pdf, dates[0], DRUG_COLUMNS)[c] for c in range(3, 10)] == [f"{d}/12" for d in range(10, 17)]
    ceftriaxon = [w for w in find(p.pdf, W["drug"]) if w[2] > dates[0][2]]
    paracetamol = [w for w in find(p.pdf, W["drug2"]) if w[2] > dates[0][2]]
    row = _cells(p.pdf, ceftriaxon[0], DRUG_COLUMNS)
    assert row[1] == W["drug"] and row[2] == W["drug-unit"]
    assert [row.get(c, "") for c in range(3, 10)] == ["1", "2", "", "1", "", "", ""] and row[10] == "4"
    row = _cells(p.pdf, paracetamol[0], DRUG_COLUMNS)
    assert row[2] == W["drug2-unit"]
    assert [row.get(c, "") for c in range(3, 10)] == ["", "", "1,5", "", "", "", ""] and row[10] == "1,5"
