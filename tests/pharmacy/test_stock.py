"""Pharmacy stock on real stores (SQLite and PostgreSQL): receipts, transfers, counts, dispensing a
prescription first expiry first out (expired lots never), refusals naming what is short, two
pharmacists handing over the last units at once (real threads: exactly one succeeds), and the
import–export–stock report adding up over periods fixed by an injected clock."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import prescriptions, registration, visits
from benhan.clinical.common import FormInvalid
from benhan.clinical.demo import facility_bundle
from benhan.clinical.demo_catalogue import load_demo_catalogue
from benhan.pharmacy import reports, stock
from benhan.pharmacy.dispense import LOT_EXTENSION, dispense
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")
PHARMACIST = Actor(name="duocsi", display="Trần Văn Dược", roles=("pharmacist",))
TODAY = date(2026, 11, 26)
VN = timezone(timedelta(hours=7))


def at(day: date, hour: int = 9) -> int:
    """An injected clock: microseconds UTC of that local (+07:00) hour."""
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=VN).timestamp()) * 1_000_000


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    system = Repository(store, Actor.system("test"))
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    load_demo_catalogue(store)
    stock.setup_stores(system, (("noi", "Tủ trực khoa Nội"),))
    fac = visits.facility(system)
    repo = Repository(store, DOCTOR)
    para = next(i for i in stock.items(repo) if i.name == "Paracetamol 500mg")
    return store, system, fac, para


def _prescribe(store, system, fac, para, quantity: int, cccd: str = "001090123456") -> str:  # noqa: ANN001
    names = {"6": "Nguyễn Văn An", "7": "Trần Thị Bình", "0": "Lê Văn Cường", "1": "Phạm Thị Dung"}
    patient = registration.PatientForm.from_mapping({"cccd": cccd, "name": names[cccd[-1]],
                                                     "birth_date": f"0{int(cccd[-1]) % 9 + 1}/01/1990",
                                                     "gender": "male"})
    pid = registration.register(system, patient, DOCTOR, TODAY, fac.organization_id).patient_id
    eid = visits.open_visit(system, DOCTOR, pid, "kham-benh", visits.locations(system)[0][0], "Sốt", fac)
    repo = Repository(store, DOCTOR)
    rid = prescriptions.prescribe(repo, DOCTOR, repo.read("Encounter", eid).json(),
                                  {"rx_drug": para.medication_id, "rx_dose": "1", "rx_per_day": "1",
                                   "rx_days": str(quantity), "rx_quantity": str(quantity), "rx_route": "Uống"}, [], [])
    return repo.read("MedicationRequest", rid).json()["groupIdentifier"]["value"]


def _receive(repo, para, lot: str, expiry: str, qty: int, when: int, store: str = "main") -> None:  # noqa: ANN001
    stock.receive(repo, PHARMACIST, {"store": store, "item": para.code, "supplier": "Công ty Dược Hậu Giang",
                                     "invoice": "HD-0012", "lot": lot, "expiry": expiry, "quantity": str(qty),
                                     "price": "450"}, at_us=when)


def _balances(repo, store_code: str = "main") -> dict[str, int]:  # noqa: ANN001
    return {lot.lot_number: lot.balance for row in stock.on_hand(repo, TODAY) if row.store == store_code
            for lot in row.lots}


def test_a_prescription_is_dispensed_first_expiry_first_and_never_from_an_expired_lot(world) -> None:  # noqa: ANN001
    store, system, fac, para = world
    ph = Repository(store, PHARMACIST)
    _receive(ph, para, "EXPIRED", "2026-11-25", 50, at(TODAY - timedelta(days=30)))
    _receive(ph, para, "LATE", "2028-01-31", 100, at(TODAY - timedelta(days=3)))
    _receive(ph, para, "SOON", "2026-12-31", 4, at(TODAY - timedelta(days=2)))
    number = _prescribe(store, system, fac, para, 10)
    ids = dispense(ph, PHARMACIST, number, today=TODAY, at_us=at(TODAY))
    assert _balances(ph) == {"EXPIRED": 50, "LATE": 94}            # SOON emptied; EXPIRED untouched
    given = ph.read("MedicationDispense", ids[0]).json()
    lots = [{e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in x["extension"]}
            for x in given["extension"] if x["url"] == LOT_EXTENSION]
    assert [(lot["lotNumber"], lot["quantity"]["value"]) for lot in lots] == [("SOON", 4), ("LATE", 6)]
    assert given["quantity"]["value"] == 10
    # Usable stock is 94 now (50 are expired): 95 is refused, naming the drug and what is left.
    number = _prescribe(store, system, fac, para, 95, "001090123457")
    with pytest.raises(FormInvalid) as err:
        dispense(ph, PHARMACIST, number, today=TODAY, at_us=at(TODAY))
    key, values = err.value.errors["form"]
    assert key == "ui.stock.short" and values["drug"] == "Paracetamol 500mg"
    assert (values["wanted"], values["available"]) == (95, 94)
    assert _balances(ph) == {"EXPIRED": 50, "LATE": 94}            # nothing taken


def test_a_transfer_moves_lots_to_the_ward_cabinet_and_a_count_corrects_stock_with_an_audit_record(world) -> None:  # noqa: ANN001
    store, _system, _fac, para = world
    ph = Repository(store, PHARMACIST)
    _receive(ph, para, "A1", "2027-03-31", 30, at(TODAY - timedelta(days=5)))
    stock.transfer(ph, PHARMACIST, {"source": "main", "target": "noi", "item": para.code, "quantity": "12"},
                   TODAY, at_us=at(TODAY - timedelta(days=4)))
    assert _balances(ph, "main") == {"A1": 18} and _balances(ph, "noi") == {"A1": 12}
    with pytest.raises(FormInvalid) as err:          # more than the main store holds
        stock.transfer(ph, PHARMACIST, {"source": "main", "target": "noi", "item": para.code, "quantity": "19"}, TODAY)
    assert err.value.errors["form"][0] == "ui.stock.short"
    lot = next(lot for row in stock.on_hand(ph, TODAY) if row.store == "noi" for lot in row.lots)
    with pytest.raises(FormInvalid) as err:          # a correction needs its reason
        stock.count(ph, PHARMACIST, {"lot_id": str(lot.id), "counted": "10", "reason": " "})
    assert list(err.value.errors) == ["reason"]
    assert stock.count(ph, PHARMACIST, {"lot_id": str(lot.id), "counted": "10", "reason": "vỡ 2 viên"},
                       at_us=at(TODAY - timedelta(days=1))) == -2
    assert _balances(ph, "noi") == {"A1": 10}
    from sqlalchemy import select
    from benhan.store.schema import audit_event
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event.c.agent, audit_event.c.detail).where(
            audit_event.c.subtype == "stock-count")).all()
    assert len(rows) == 1 and rows[0][0] == "duocsi" and "vỡ 2 viên" in rows[0][1]
    # Reorder level: at or below it, the drug is on the list.
    stock.set_reorder_level(ph, PHARMACIST, {"store": "main", "item": para.code, "level": "20"})
    assert [(r.store, r.item_code, r.usable) for r in stock.below_reorder(ph, TODAY)] == [("main", para.code, 18)]


def test_the_import_export_stock_report_adds_up_over_consecutive_periods(world) -> None:  # noqa: ANN001
    store, system, fac, para = world
    ph = Repository(store, PHARMACIST)
    d0 = TODAY - timedelta(days=20)
    _receive(ph, para, "L1", "2027-06-30", 40, at(d0))
    _receive(ph, para, "L2", "2027-09-30", 25, at(d0 + timedelta(days=8)))
    stock.transfer(ph, PHARMACIST, {"source": "main", "target": "noi", "item": para.code, "quantity": "7"},
                   TODAY, at_us=at(d0 + timedelta(days=9)))
    dispense(ph, PHARMACIST, _prescribe(store, system, fac, para, 9), today=TODAY, at_us=at(d0 + timedelta(days=12)))
    lot = next(lot for row in stock.on_hand(ph, TODAY) if row.store == "main" for lot in row.lots)
    stock.count(ph, PHARMACIST, {"lot_id": str(lot.id), "counted": str(lot.balance + 1), "reason": "đếm lại"},
                at_us=at(d0 + timedelta(days=15)))
    first = {(x.store, x.item_code): x for x in reports.import_export_stock(ph, d0, d0 + timedelta(days=9))}
    second = {(x.store, x.item_code): x for x in reports.import_export_stock(ph, d0 + timedelta(days=10), TODAY)}
    whole = {(x.store, x.item_code): x for x in reports.import_export_stock(ph, d0, TODAY)}
    main = ("main", para.code)
    assert (first[main].opening, first[main].received, first[main].issued) == (0, 65, 7)
    assert (second[main].opening, second[main].issued, second[main].adjusted) == (58, 9, 1)
    for key, line in whole.items():
        assert first[key].closing == second[key].opening            # one period's closing opens the next
        assert line.opening + line.received - line.issued + line.adjusted == line.closing == second[key].closing
    assert whole[main].closing == sum(lot.balance for lot in stock.on_hand(ph, TODAY)[0].lots
                                      if lot.store == "main") == 50
    assert "Tồn cuối kỳ" in reports.iex_csv(list(whole.values())).splitlines()[0]


def test_controlled_drugs_have_their_own_register_with_the_patient_and_prescription(world) -> None:  # noqa: ANN001
    store, system, fac, para = world
    ph = Repository(store, PHARMACIST)
    stock.receive(ph, PHARMACIST, {"store": "main", "item": para.code, "supplier": "CPC1", "invoice": "HD-9",
                                   "lot": "N1", "expiry": "2027-01-31", "quantity": "20", "price": "1000",
                                   "controlled": "psychotropic"}, at_us=at(TODAY - timedelta(days=1)))
    number = _prescribe(store, system, fac, para, 3)
    dispense(ph, PHARMACIST, number, today=TODAY, at_us=at(TODAY))
    rows = reports.controlled_register(ph, "psychotropic", TODAY - timedelta(days=1), TODAY)
    assert [(r["kind"], r["quantity"], r["balance"]) for r in rows] == [("receipt", 20, 20), ("dispense", -3, 17)]
    assert rows[1]["prescription"] == number and rows[1]["patient_id"]
    assert reports.controlled_register(ph, "narcotic", TODAY - timedelta(days=1), TODAY) == []


def test_two_pharmacists_handing_over_the_last_units_at_once_exactly_one_succeeds(world) -> None:  # noqa: ANN001
    store, system, fac, para = world
    ph = Repository(store, PHARMACIST)
    _receive(ph, para, "LAST", "2027-12-31", 10, at(TODAY - timedelta(days=1)))
    numbers = [_prescribe(store, system, fac, para, 10, f"00109012345{i}") for i in (0, 1)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def hand_over(number: str) -> None:
        repo = Repository(store, PHARMACIST)
        start.wait()
        try:
            dispense(repo, PHARMACIST, number, today=TODAY)
            outcomes.append("ok")
        except FormInvalid as exc:
            outcomes.append(exc.errors["form"][0])
    threads = [threading.Thread(target=hand_over, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok", "ui.stock.short"]
    assert _balances(ph) == {}                                       # empty, not negative
    assert len(ph.search_type("MedicationDispense", []).matches) == 1
