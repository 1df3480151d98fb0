"""Issue 15, nothing typed again: the serve worker queues the claims of the BHYT visits finished
lately by itself (claims/runner.py), when the seal is configured; a visit that does not validate is
left for the BHYT desk with its report, and closing a visit never depends on any of it. Both databases."""
from __future__ import annotations

from datetime import timedelta

from benhan.claims import service
from benhan.claims.runner import SCAN_SECONDS, ClaimsRunner
from benhan.claims.gateway import Gateway
from tests.billing.charges_world import at
from tests.claims.conftest import PASSWORD
from tests.claims.test_claims_desk import (Staff, claims_config, demo_facility_code, desk, standin_for,
                                           undiagnosed_visit)
from tests.claims.test_record import DAY, bhyt_visit, ma_lk


def test_the_worker_queues_finished_bhyt_visits_and_the_desk_shows_them_sent(db_config, tmp_path, seal_p12,
                                                                           seal) -> None:  # noqa: ANN001
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, app):
        good, to_fix = bhyt_visit(world), undiagnosed_visit(world)
        runner = ClaimsRunner(world.store, interval=3600)           # its rounds called here, not on a timer
        later = at(DAY, 16)
        batch = runner.queue_finished_visits(later)
        assert batch.queued == [ma_lk(world, good)] and [r.ma_lk for r in batch.invalid] == [ma_lk(world, to_fix)]
        assert runner.queue_finished_visits(later + timedelta(seconds=SCAN_SECONDS / 2)) is None   # not yet
        again = runner.queue_finished_visits(later + timedelta(seconds=SCAN_SECONDS))
        assert (again.queued, again.already) == ([], [ma_lk(world, good)])                      # never twice
        code = demo_facility_code()
        runner.outbox.run_once(service.senders(Gateway(gateway.url, f"{code}_BV", PASSWORD, code, "")))
        assert gateway.state.stats()["accepted"] == [ma_lk(world, good)]
        day = Staff(app, "thungan").get(f"/ui/claims?day={DAY.isoformat()}").text
        assert f'data-ma-lk="{ma_lk(world, good)}" class="state-accepted"' in day
        assert f'data-ma-lk="{ma_lk(world, to_fix)}" class="state-to-fix"' in day


def test_without_a_seal_the_worker_queues_nothing_and_keeps_running(db_config, tmp_path) -> None:  # noqa: ANN001
    with desk(claims_config(db_config, tmp_path, gateway="http://127.0.0.1:9/")) as (world, app):
        bhyt_visit(world)
        runner = ClaimsRunner(world.store, interval=3600)
        assert runner.queue_finished_visits(at(DAY, 16)) is None
        assert runner.outbox.items() == []


def test_a_visit_whose_record_cannot_be_read_does_not_stop_the_others_claims(db_config, tmp_path, seal_p12,
                                                                            seal) -> None:  # noqa: ANN001
    """An Encounter whose patient is not in the record (a HIS import that brought the visit without its
    Patient) made the whole round fail, so no claim of the day was queued, round after round. It is now
    named as unreadable (the desk lists it so too) and the others are queued."""
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, app):
        good = bhyt_visit(world)
        orphan = world.system.read("Encounter", good).json()
        orphan = {k: v for k, v in orphan.items() if k not in ("id", "meta", "identifier")}
        orphan["subject"] = {"reference": "Patient/khong-co-trong-ho-so"}
        lost = world.system.create("Encounter", orphan).res_id
        batch = ClaimsRunner(world.store, interval=3600).queue_finished_visits(at(DAY, 16))
        assert ma_lk(world, good) in batch.queued
        assert [e for e, _ in batch.unreadable] == [lost] and "khong-co-trong-ho-so" in batch.unreadable[0][1]
        day = Staff(app, "thungan").get(f"/ui/claims?day={DAY.isoformat()}")
        assert day.status_code == 200 and "Traceback" not in day.text


def test_a_fault_of_ours_on_one_visit_names_it_and_the_others_are_queued(db_config, tmp_path, seal_p12, seal,
                                                                          monkeypatch, caplog) -> None:  # noqa: ANN001
    """A bug of benhan's on one visit's data (a TypeError in the bill had done it) must not stop the day's
    claims either: the visit is named, the fault logged with its traceback, the others queued; the
    BHYT desk and the health-book desk list it as unreadable and the month's report among those it left
    out. The fault is injected into the bill of one visit."""
    import logging

    from benhan.billing import charges
    from benhan.claims import monthly
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, app):
        good, broken = bhyt_visit(world), undiagnosed_visit(world)
        real = charges.compute_many

        def compute_many(repo, encounter_ids, **kw):  # noqa: ANN001, ANN003, ANN202
            if broken in encounter_ids:
                raise TypeError("can't compare offset-naive and offset-aware datetimes")
            return real(repo, encounter_ids, **kw)
        monkeypatch.setattr(charges, "compute_many", compute_many)
        with caplog.at_level(logging.ERROR, logger="benhan.claims"):
            batch = ClaimsRunner(world.store, interval=3600).queue_finished_visits(at(DAY, 16))
        assert batch.queued == [ma_lk(world, good)]
        ((named, why),) = batch.unreadable
        assert named == broken and "TypeError" in why
        assert any(r.exc_info and broken in r.getMessage() for r in caplog.records)
        cashier = Staff(app, "thungan")
        day = cashier.get(f"/ui/claims?day={DAY.isoformat()}")
        assert day.status_code == 200 and f'data-ma-lk="{broken}" class="state-unreadable"' in day.text
        assert f'data-ma-lk="{ma_lk(world, good)}"' in day.text
        books = cashier.get(f"/ui/claims/health-book?day={DAY.isoformat()}")
        assert books.status_code == 200 and f'data-encounter="{broken}" class="hb-unreadable"' in books.text
        assert f'data-encounter="{good}"' in books.text
        left_out: list = []
        claims = monthly.built_claims(world.system, monthly.period(f"{DAY:%Y-%m}"), left_out)
        assert [c.ma_lk for c in claims] == [ma_lk(world, good)]
        assert [x.encounter_id for x in left_out] == [broken]
