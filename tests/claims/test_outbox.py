"""The outbox to the stand-in gateway, on both databases: a claim is received once whatever happens
(5xx, timeouts, an expired token, two workers, a sender killed with SIGKILL mid-send), the receipt
is kept, retries back off with jitter, a refused file is final, a late send is logged."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

import httpx

from benhan.claims import service
from benhan.claims.gateway import Gateway
from benhan.claims.standin import StandIn
from benhan.outbox.queue import Backoff, Outbox
from benhan.signing import xmldsig
from benhan.signing.local_ca import LocalCA
from tests.claims import episodes
from tests.claims.conftest import PASSWORD, USERNAME
from tests.server_process import benhan_command, end, spawn

MADE = datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, start: datetime | None = None):
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fault(standin: StandIn, **spec: object) -> None:
    httpx.post(f"{standin.url}/_standin/faults", json=spec).raise_for_status()


def gateway(standin: StandIn, timeout: float = 10.0) -> Gateway:
    return Gateway(standin.url, USERNAME, PASSWORD, "01013", "01", timeout=timeout)


def queued_claim(outbox: Outbox, seal: xmldsig.XmlKey, episode=episodes.outpatient) -> str:  # noqa: ANN001
    ep, lines = episode()
    pk, new = service.queue_claim(outbox, ep, lines, seal, MADE)
    assert new
    return outbox.get(pk).idem_key


def test_a_claim_is_accepted_and_its_receipt_kept(store, standin, seal) -> None:  # noqa: ANN001
    outbox = Outbox(store.db, clock=Clock())
    key = queued_claim(outbox, seal)
    assert outbox.run_once(service.senders(gateway(standin))) == 1
    item = outbox.by_key(key)
    receipt = json.loads(item.receipt)
    assert (item.state, item.attempts, receipt["maKetQua"]) == ("sent", 1, "200")
    assert len(receipt["maGiaoDich"]) == 20 and len(receipt["thoiGianTiepNhan"]) == 14
    stats = standin.state.stats()
    assert stats["issued"] == {key: 1} and stats["accepted"] == ["01013-KB-20261103-0001"]
    assert outbox.run_once(service.senders(gateway(standin))) == 0        # nothing left to send


def test_queueing_the_same_claim_twice_is_one_message(store, seal) -> None:  # noqa: ANN001
    outbox = Outbox(store.db)
    ep, lines = episodes.outpatient()
    first = service.queue_claim(outbox, ep, lines, seal, MADE)
    again = service.queue_claim(outbox, ep, lines, seal, MADE + timedelta(minutes=5))
    assert first[1] and not again[1] and first[0] == again[0]
    assert len(outbox.items()) == 1


def test_gateway_5xx_is_retried_with_backoff_and_the_claim_received_once(store, standin, seal) -> None:  # noqa: ANN001
    clock = Clock()
    outbox = Outbox(store.db, clock=clock, rng=lambda: 1.0, backoff=Backoff(base_seconds=30, max_seconds=3600))
    key = queued_claim(outbox, seal)
    fault(standin, status=503, count=2)
    senders = service.senders(gateway(standin))
    assert outbox.run_once(senders) == 1
    item = outbox.by_key(key)
    assert (item.state, item.attempts) == ("pending", 1)
    assert item.next_attempt == int(clock.now.timestamp() * 1e6) + 30_000_000      # 30 s × 2⁰
    assert outbox.run_once(senders) == 0                                           # not due yet
    clock.advance(30)
    outbox.run_once(senders)
    item = outbox.by_key(key)
    assert item.next_attempt == int(clock.now.timestamp() * 1e6) + 60_000_000      # 30 s × 2¹
    clock.advance(60)
    outbox.run_once(senders)
    item = outbox.by_key(key)
    assert (item.state, item.attempts) == ("sent", 3)
    assert standin.state.stats()["issued"] == {key: 1}


def test_backoff_is_exponential_capped_and_jittered() -> None:
    b = Backoff(base_seconds=30, max_seconds=600)
    assert [b.delay(n, lambda: 1.0) for n in (1, 2, 3, 4, 5, 6, 7)] == [30, 60, 120, 240, 480, 600, 600]
    assert b.delay(3, lambda: 0.0) == 60          # jitter: between half and all of it
    assert b.delay(3, lambda: 0.5) == 90


def test_a_timeout_after_the_gateway_took_the_file_does_not_make_a_second_receipt(store, standin, seal) -> None:  # noqa: ANN001
    clock = Clock()
    outbox = Outbox(store.db, clock=clock)
    key = queued_claim(outbox, seal)
    fault(standin, delay=2.5, count=1)           # received and recorded, the answer comes too late
    senders = service.senders(gateway(standin, timeout=0.8))
    outbox.run_once(senders)
    item = outbox.by_key(key)
    assert item.state == "pending" and "không trả lời" in item.last_error
    clock.advance(3600)
    outbox.run_once(senders)
    assert outbox.by_key(key).state == "sent"
    stats = standin.state.stats()
    assert stats["received"] == {key: 2} and stats["issued"] == {key: 1}
    assert stats["accepted"] == ["01013-KB-20261103-0001"]


def test_a_file_the_gateway_refuses_is_rejected_with_its_reasons_and_not_retried(store, standin, seal) -> None:  # noqa: ANN001
    other = LocalCA("http://127.0.0.1:9").issue("Không phải cơ sở", organization="Khác")
    stranger = xmldsig.key_from_pkcs12(other.pkcs12("x"), "x")     # a seal the facility did not register
    clock = Clock()
    outbox = Outbox(store.db, clock=clock)
    key = queued_claim(outbox, stranger)
    outbox.run_once(service.senders(gateway(standin)))
    item = outbox.by_key(key)
    assert item.state == "rejected" and "400" in item.last_error
    assert json.loads(item.receipt)["dsLoi"][0]["truong"] == "CHUKYDONVI"
    clock.advance(86400)
    assert outbox.run_once(service.senders(gateway(standin))) == 0
    assert standin.state.stats()["issued"] == {}


def test_an_expired_token_is_taken_again(store, standin, seal) -> None:  # noqa: ANN001
    clock = Clock()
    outbox = Outbox(store.db, clock=clock)
    gw = gateway(standin)
    gw.token()
    standin.state.tokens.clear()                 # the gateway forgot it (expired)
    key = queued_claim(outbox, seal)
    outbox.run_once(service.senders(gw))
    assert outbox.by_key(key).state == "pending" and "401" in outbox.by_key(key).last_error
    clock.advance(3600)
    outbox.run_once(service.senders(gw))
    assert outbox.by_key(key).state == "sent"


def test_a_late_send_is_logged_with_its_reason(store, standin, seal) -> None:  # noqa: ANN001
    clock = Clock(datetime(2026, 11, 4, 12, 0, tzinfo=timezone.utc))
    outbox = Outbox(store.db, clock=clock)
    key = queued_claim(outbox, seal)                       # due 24 h after discharge (03/11 10:40 +07)
    fault(standin, status=503, count=1)
    outbox.run_once(service.senders(gateway(standin)))
    clock.advance(3 * 86400)
    outbox.run_once(service.senders(gateway(standin)))
    item = outbox.by_key(key)
    assert item.state == "sent" and item.late_reason and "503" in item.late_reason


def test_two_workers_never_send_one_claim_twice(store, standin, seal) -> None:  # noqa: ANN001
    import threading
    outbox = Outbox(store.db)
    keys = [queued_claim(outbox, seal, ep) for ep in (episodes.outpatient, episodes.emergency, episodes.thong_tuyen,
                                                      episodes.inpatient_surgery_referral)]
    workers = [Outbox(store.db) for _ in range(2)]
    threads = [threading.Thread(target=w.run_once, args=(service.senders(gateway(standin)),)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stats = standin.state.stats()
    assert stats["received"] == {k: 1 for k in keys} and stats["issued"] == {k: 1 for k in keys}
    assert {i.state for i in outbox.items()} == {"sent"}


def test_the_outbox_survives_kill_9_of_the_sending_process(store, standin, seal, tmp_path) -> None:  # noqa: ANN001
    outbox = Outbox(store.db)
    key = queued_claim(outbox, seal)
    fault(standin, delay=60, count=1)           # the gateway takes the file and is slow to answer
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    env.update(BENHAN_BHXH_GATEWAY_URL=standin.url, BENHAN_BHXH_USERNAME=USERNAME, BENHAN_BHXH_PASSWORD=PASSWORD)
    args = ["claims", "send", "--lease-seconds", "3", "--data-dir", str(store.config.data_dir)]
    if not store.config.sqlalchemy_url.startswith("sqlite"):
        args += ["--database-url", store.config.sqlalchemy_url]
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        sender = spawn(benhan_command(*args), env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while standin.state.stats()["received"].get(key) != 1:
            assert sender.poll() is None, (tmp_path / "err").read_text()
            assert time.monotonic() < deadline, "the sender never reached the gateway"
            time.sleep(0.05)
        assert outbox.by_key(key).state == "sending"
    finally:
        end(sender, graceful=False)              # SIGKILL to its whole process group
    assert sender.returncode == -9
    item = outbox.by_key(key)
    assert (item.state, item.sent_at, item.receipt) == ("sending", None, None)   # the answer never arrived
    # After a restart the lease runs out and the claim goes again with the same key: the gateway
    # recognises it and answers with its first receipt.
    restarted = Outbox(store.db, clock=lambda: datetime.now(timezone.utc) + timedelta(seconds=5))
    assert restarted.run_once(service.senders(gateway(standin))) == 1
    item = outbox.by_key(key)
    assert (item.state, item.attempts) == ("sent", 2)
    stats = standin.state.stats()
    assert stats["received"] == {key: 2} and stats["issued"] == {key: 1}
    assert stats["accepted"] == ["01013-KB-20261103-0001"]


def test_the_desk_report_counts_per_day_and_rejections_by_reason(store, standin, seal) -> None:  # noqa: ANN001
    from benhan.claims import reports
    other = LocalCA("http://127.0.0.1:9").issue("Không phải cơ sở", organization="Khác")
    stranger = xmldsig.key_from_pkcs12(other.pkcs12("x"), "x")
    day1 = Clock(datetime(2026, 11, 5, 2, 0, tzinfo=timezone.utc))           # 09:00 in Viet Nam
    outbox = Outbox(store.db, clock=day1)
    queued_claim(outbox, seal, episodes.outpatient)
    queued_claim(outbox, stranger, episodes.emergency)                          # refused: not the facility's seal
    day1.advance(86400)
    queued_claim(outbox, seal, episodes.thong_tuyen)                             # 06/11, not sent yet
    Outbox(store.db, clock=lambda: day1.now - timedelta(hours=1)).run_once(
        {service.CLAIM: service.senders(gateway(standin))[service.CLAIM]}, limit=2)
    rows = [(d.day.isoformat(), d.queued, d.accepted, d.rejected, d.waiting) for d in reports.per_day(outbox.items())]
    assert rows == [("2026-11-06", 1, 0, 0, 1), ("2026-11-05", 2, 1, 1, 0)]
    assert reports.rejection_reasons(outbox.items()) == [("GIAMDINHHS.CHUKYDONVI", 1)]
