"""Issue 15 item 4: the check-in (XML0) goes at the first cost of a BHYT visit, not at its end
(vietnam-billing.md §3.4): the serve worker checks in each open BHYT visit that has a charge, once
per visit and visit type whatever the restarts, never a visit without a card; a ward admission (its
own inpatient visit) is checked in again. Both databases, the stand-in gateway."""
from __future__ import annotations

from datetime import timedelta

from benhan.claims import checkin, service
from benhan.claims.gateway import Gateway
from benhan.claims.runner import CHECKIN_SECONDS, ClaimsRunner
from tests.billing.charges_world import AUGMENTIN, at
from tests.claims.conftest import PASSWORD
from tests.claims.test_claims_desk import claims_config, demo_facility_code, desk, standin_for
from tests.claims.test_record import DAY, XRAY, diagnose, ma_lk


def _checkins(outbox, subject: str | None = None) -> list:  # noqa: ANN001
    return outbox.items(kind=service.CHECKIN, subject=subject) if subject else outbox.items(kind=service.CHECKIN)


def test_an_open_bhyt_visit_is_checked_in_at_its_first_cost_once(db_config, tmp_path, seal_p12,
                                                                 seal) -> None:  # noqa: ANN001
    with standin_for(seal.cert_pem) as gateway, desk(claims_config(db_config, tmp_path, gateway=gateway.url,
                                                                   seal=seal_p12)) as (world, _app):
        insured = world.visit(world.patient("001090123401", "Nguyễn Văn An", bhyt="DN4790123456701"), at(DAY, 8))
        world.order(insured, XRAY, at(DAY, 8, 20))                 # the visit is still open
        cash = world.visit(world.patient("001090123404", "Võ Văn Dũng"), at(DAY, 8, 30))
        world.order(cash, XRAY, at(DAY, 8, 40))

        runner = ClaimsRunner(world.store, interval=3600)
        first = runner.check_in_visits(at(DAY, 9))
        code = ma_lk(world, insured)
        assert first.queued == [code] and first.invalid == []
        items = _checkins(runner.outbox)
        assert [(i.subject, i.idem_key) for i in items] == [(code, f"bhyt-checkin:{code}:01")]
        assert _checkins(runner.outbox, ma_lk(world, cash)) == []              # no card, no check-in
        assert world.system.read("Encounter", insured).json()["status"] != "finished"   # before the end

        # More costs, a restart (a new worker, nothing in memory), then the end of the visit and its
        # claim queued by the worker: still one check-in.
        world.prescribe(insured, AUGMENTIN, 10, at(DAY, 9, 30))
        assert runner.check_in_visits(at(DAY, 9) + timedelta(seconds=CHECKIN_SECONDS / 2)) is None   # not yet
        restarted = ClaimsRunner(world.store, interval=3600)
        assert restarted.check_in_visits(at(DAY, 10)).queued == []
        diagnose(world, insured, "I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)")
        world.end(insured, at(DAY, 11))
        assert restarted.queue_finished_visits(at(DAY, 16)).queued == [code]
        assert len(_checkins(restarted.outbox, code)) == 1
        assert restarted.check_in_visits(at(DAY, 16, 5)).queued == []

        # The gateway receives the check-in once, then the claim.
        facility = demo_facility_code()
        restarted.outbox.run_once(service.senders(Gateway(gateway.url, f"{facility}_BV", PASSWORD, facility, "")))
        received = gateway.state.stats()["received"]
        assert {k: n for k, n in received.items() if k.startswith("bhyt-checkin:")} == {f"bhyt-checkin:{code}:01": 1}
        assert sum(1 for k in received if k.startswith(f"bhyt-claim:{code}:")) == 1
        assert {i.kind: i.state for i in restarted.outbox.items()} == {"bhyt-checkin": "sent", "bhyt-claim": "sent"}


def test_the_ward_admission_is_checked_in_again_and_the_desk_does_not_check_in_twice(
        db_config, tmp_path, seal_p12, seal) -> None:  # noqa: ANN001
    with desk(claims_config(db_config, tmp_path, gateway="http://127.0.0.1:9/", seal=seal_p12)) as (world, _app):
        pid = world.patient("001090123401", "Nguyễn Văn An", bhyt="DN4790123456701")
        exam = world.visit(pid, at(DAY, 8))
        world.order(exam, XRAY, at(DAY, 8, 20))
        ward = world.visit(pid, at(DAY, 10), kind="noi-tru")       # admitted after the exam
        other = world.patient("001090123402", "Trần Thị Bình", bhyt="DN4790123456702")
        emergency = world.visit(other, at(DAY, 9), kind="cap-cuu")  # no check-in for an emergency (§3.4)
        world.order(emergency, XRAY, at(DAY, 9, 10))
        runner = ClaimsRunner(world.store, interval=3600)
        scan = runner.check_in_visits(at(DAY, 10, 30))
        assert sorted(scan.queued) == sorted([ma_lk(world, exam), ma_lk(world, ward)])
        assert _checkins(runner.outbox, ma_lk(world, emergency)) == []
        keys = sorted(i.idem_key for i in _checkins(runner.outbox))
        assert keys == sorted([f"bhyt-checkin:{ma_lk(world, exam)}:01", f"bhyt-checkin:{ma_lk(world, ward)}:03"])

        # The desk's and the CLI's way (service.queue_checkin) finds the same message, it does not add one.
        from benhan.claims.record import episode_from_record
        ep, lines = episode_from_record(world.system, exam)
        pk, new = service.queue_checkin(runner.outbox, ep, lines, seal, at(DAY, 12))
        assert not new and pk == runner.outbox.by_key(checkin.key_for(ep.ma_lk, "01")).pk
        assert len(_checkins(runner.outbox)) == 2


def test_without_a_seal_nothing_is_checked_in_and_the_visit_goes_on(db_config, tmp_path) -> None:  # noqa: ANN001
    with desk(claims_config(db_config, tmp_path, gateway="http://127.0.0.1:9/")) as (world, _app):
        eid = world.visit(world.patient("001090123401", "Nguyễn Văn An", bhyt="DN4790123456701"), at(DAY, 8))
        world.order(eid, XRAY, at(DAY, 8, 20))
        runner = ClaimsRunner(world.store, interval=3600)
        assert runner.check_in_visits(at(DAY, 9)) is None
        assert runner.outbox.items() == []
        world.end(eid, at(DAY, 11))                                  # the clinical act is not held up
        assert world.system.read("Encounter", eid).json()["status"] == "finished"
