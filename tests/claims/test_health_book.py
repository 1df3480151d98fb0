"""The VNeID health-book push (claims/health_book.py) through the ONE outbox to the stand-in gateway,
on both databases: what is sent for an insured and an uninsured patient, a summary not written yet
(held, nothing sent), the facility's withheld codes (nothing sent), a correction after the close
(a replacement, never a duplicate), a gateway down then up (retried with backoff, the late-sending
log), and a sender killed with SIGKILL mid-send (received once after the restart)."""
from __future__ import annotations

import dataclasses
import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from benhan import errors
from benhan.claims import health_book, service
from benhan.claims.standin import StandIn
from benhan.outbox.queue import Backoff, Outbox
from tests.claims import episodes
from tests.claims.conftest import PASSWORD, USERNAME
from tests.claims.test_outbox import Clock, fault, gateway
from tests.server_process import benhan_command, end, spawn

MADE = datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)
SUMMARY = {"history_summary": "Đau đầu 3 ngày, huyết áp 160/95 mmHg lúc vào",
           "results_summary": "Điện tim: nhịp xoang, không thiếu máu cơ tim",
           "treatment": "Amlodipin 5 mg mỗi ngày", "plan": "Tái khám sau 1 tháng, đo huyết áp tại nhà"}


def written(make=episodes.outpatient, **more):  # noqa: ANN001, ANN201
    """An episode whose doctor wrote the 4-part summary."""
    ep, lines = make()
    return dataclasses.replace(ep, **{**SUMMARY, "departments": ep.departments or ("K01",), **more}), lines


def test_an_insured_visit_sends_the_claims_tables_with_the_summary_in_xml8() -> None:
    ep, lines = written()
    book = health_book.build(ep, lines)
    assert book.state == "ready", book.reasons()
    assert [t.name for t in book.tables] == ["XML1", "XML2", "XML3", "XML4", "XML5", "XML8", "XML14"]
    x8 = next(t for t in book.tables if t.name == "XML8").rows[0]
    assert (x8["QT_BENHLY"], x8["TOMTAT_KQ"], x8["PP_DIEUTRI"]) == (
        SUMMARY["history_summary"], SUMMARY["results_summary"], SUMMARY["treatment"])
    assert x8["GHI_CHU"] == "Hướng điều trị tiếp: Tái khám sau 1 tháng, đo huyết áp tại nhà"
    assert book.tables[0].rows[0]["MA_THE_BHYT"] == "HT4790123456789"


def test_an_uninsured_visit_sends_tables_1_and_8_only_without_a_card() -> None:
    ep, lines = written(episodes.non_bhyt, card="HT4790123456789")      # a card shown, BHYT not used (object 9)
    book = health_book.build(ep, lines)
    assert book.state == "ready", book.reasons()
    assert [t.name for t in book.tables] == ["XML1", "XML8"]
    x1 = book.tables[0].rows[0]
    assert (x1["MA_THE_BHYT"], x1["MA_DKBD"], x1["MA_DOITUONG_KCB"]) == ("", "", "9")
    assert (x1["T_TONGCHI_BV"], x1["T_BNTT"], x1["T_BHTT"]) == ("50600.00", "50600.00", "0.00")
    assert x1["GT_THE_TU"] == "20261103" and x1["GT_THE_DEN"] == "20261103"     # no card: the visit's dates


def test_an_uninsured_inpatient_transferred_out_still_sends_tables_1_and_8_only() -> None:
    ep, lines = written(episodes.inpatient_surgery_referral, card="", object_code="9")
    assert health_book.build(ep, lines).state == "ready"
    insured = health_book.build(*written(episodes.inpatient_surgery_referral))
    assert [t.name for t in insured.tables] == ["XML1", "XML2", "XML3", "XML4", "XML5", "XML7", "XML8", "XML13"]
    book = health_book.build(ep, lines)
    assert [t.name for t in book.tables] == ["XML1", "XML8"], book.reasons()
    assert book.tables[0].rows[0]["MA_NOI_DEN"] == "01001"


def test_a_summary_not_written_holds_the_book_and_names_the_parts_missing(store) -> None:  # noqa: ANN001
    ep, lines = written(results_summary="", plan=" ")
    book = health_book.build(ep, lines)
    assert (book.state, book.missing) == ("held", ("ket-qua-can-lam-sang", "huong-dieu-tri-tiep"))
    assert book.reasons() == ["Chờ bác sĩ viết tóm tắt hồ sơ bệnh án: thiếu kết quả cận lâm sàng chính, "
                              "hướng điều trị tiếp."]
    with pytest.raises(errors.ClaimNotPossible):
        health_book.queue(Outbox(store.db), book, None, MADE)     # type: ignore[arg-type]
    assert Outbox(store.db).items() == []


def test_withheld_codes_are_parsed_matched_and_the_visit_not_queued(store, seal) -> None:  # noqa: ANN001
    rule = health_book.Withheld.parse("B20-B24, F20; O04.9")
    assert [rule.matches(c) for c in ("B20", "B22.7", "B24", "B25", "A99", "F20.0", "F21", "O04.9", "O04.1", "")] == [
        True, True, True, False, False, True, False, True, False, False]
    assert health_book.Withheld.parse("").ranges == ()
    for bad in ("HIV", "B24-B20", "B2"):
        with pytest.raises(errors.ConfigError):
            health_book.Withheld.parse(bad)
    ep, lines = written(other_icd=("B20.9",))
    book = health_book.build(ep, lines, rule)
    assert (book.state, book.withheld) == ("withheld", ("B20.9",))
    with pytest.raises(errors.ClaimNotPossible):
        health_book.queue(Outbox(store.db), book, seal, MADE)
    assert Outbox(store.db).items() == []


def test_both_are_queued_sent_and_their_receipts_kept(store, standin, seal) -> None:  # noqa: ANN001
    outbox = Outbox(store.db, clock=Clock(MADE))
    insured = health_book.build(*written())
    uninsured = health_book.build(*written(episodes.non_bhyt))
    keys = [outbox.get(health_book.queue(outbox, b, seal, MADE)[0]).idem_key for b in (insured, uninsured)]
    assert keys[0].startswith(f"vneid-health-book:{insured.ep.ma_lk}:")
    assert outbox.run_once(service.senders(gateway(standin), outbox)) == 2
    for key in keys:
        item = outbox.by_key(key)
        receipt = json.loads(item.receipt)
        assert (item.state, receipt["maKetQua"]) == ("sent", "200") and len(receipt["maGiaoDich"]) == 20
    got = {b["ma_lk"]: (b["tables"], b["card"]) for b in standin.state.stats()["health_book"]}
    assert got == {insured.ep.ma_lk: (["XML1", "XML2", "XML3", "XML4", "XML5", "XML8", "XML14"], "HT4790123456789"),
                   uninsured.ep.ma_lk: (["XML1", "XML8"], "")}
    assert standin.state.stats()["accepted"] == []           # the health book is not a claim


def test_the_stand_in_refuses_a_book_without_its_summary_or_signed_by_another_seal(store, standin, seal) -> None:  # noqa: ANN001
    from benhan.claims import envelope
    from benhan.signing import xmldsig
    from benhan.signing.local_ca import LocalCA
    outbox = Outbox(store.db, clock=Clock(MADE))
    ep, lines = written(episodes.non_bhyt)
    book = health_book.build(ep, lines)
    book.tables[1].rows[0]["QT_BENHLY"] = ""               # edited by hand after the check
    signed = envelope.sign(envelope.build(ep.facility, MADE, book.tables), seal)
    outbox.put(health_book.KIND, "vneid-health-book:hand-edited", ep.ma_lk, signed)
    other = LocalCA("http://127.0.0.1:9").issue("Không phải cơ sở", organization="Khác")
    stranger = xmldsig.key_from_pkcs12(other.pkcs12("x"), "x")
    good = health_book.build(*written(episodes.non_bhyt, ma_lk="01013-KB-20261103-0008"))
    health_book.queue(outbox, good, stranger, MADE)
    outbox.run_once(service.senders(gateway(standin), outbox))
    rejected = {i.idem_key: json.loads(i.receipt)["dsLoi"] for i in outbox.items()}
    assert all(i.state == "rejected" for i in outbox.items())
    assert [(e["loaiHoSo"], e["truong"]) for e in rejected["vneid-health-book:hand-edited"]] == [("XML8", "QT_BENHLY")]
    assert [e["truong"] for e in rejected[good.key]] == ["CHUKYDONVI"]
    assert standin.state.stats()["health_book"] == []


def test_a_correction_after_the_close_replaces_the_book_never_duplicates_it(store, standin, seal) -> None:  # noqa: ANN001
    outbox = Outbox(store.db, clock=Clock(MADE))
    first = health_book.build(*written())
    assert health_book.queue(outbox, first, seal, MADE)[1]
    again = health_book.queue(outbox, health_book.build(*written()), seal, MADE + timedelta(hours=1))
    assert again[1] is False and len(outbox.items()) == 1               # the same content: one message
    corrected = health_book.build(*written(plan="Tái khám sau 2 tuần"))
    assert corrected.key != first.key
    assert health_book.queue(outbox, corrected, seal, MADE)[1]
    outbox.run_once(service.senders(gateway(standin), outbox))
    states = {i.idem_key: (i.state, i.last_error or "") for i in outbox.items()}
    assert states[corrected.key] == ("sent", "")
    assert states[first.key][0] == "rejected" and "bản sửa mới hơn" in states[first.key][1]
    assert list(standin.state.stats()["issued"]) == [corrected.key]       # the old content never reached BHXH


def test_a_gateway_down_then_up_gets_every_book_once_with_backoff_and_the_late_log(store, standin, seal) -> None:  # noqa: ANN001
    clock = Clock(datetime(2026, 11, 4, 12, 0, tzinfo=timezone.utc))     # due 24 h after the visit ended (03/11)
    outbox = Outbox(store.db, clock=clock, rng=lambda: 1.0, backoff=Backoff(base_seconds=30, max_seconds=3600))
    books = [health_book.build(*written()), health_book.build(*written(episodes.non_bhyt))]
    for b in books:
        health_book.queue(outbox, b, seal, clock.now)
    state, port = standin.state, standin.server_address[1]
    standin.stop()                                                      # the gateway goes down
    assert outbox.run_once(service.senders(gateway(standin), outbox)) == 2
    for b in books:
        item = outbox.by_key(b.key)
        assert (item.state, item.attempts) == ("pending", 1) and "không trả lời" in item.last_error
        assert item.next_attempt == int(clock.now.timestamp() * 1e6) + 30_000_000
    clock.advance(30)
    outbox.run_once(service.senders(gateway(standin), outbox))            # still down: 60 s next
    assert outbox.by_key(books[0].key).next_attempt == int(clock.now.timestamp() * 1e6) + 60_000_000
    back = StandIn(state, port=port).start()                              # up again, same address
    try:
        clock.advance(2 * 86400)
        assert outbox.run_once(service.senders(gateway(back), outbox)) == 2
    finally:
        back.stop()
    for b in books:
        item = outbox.by_key(b.key)
        assert (item.state, item.attempts) == ("sent", 3)
        assert item.late_reason and "không trả lời" in item.late_reason
    assert state.stats()["issued"] == {b.key: 1 for b in books}


def test_the_book_survives_kill_9_of_the_sending_process(store, standin, seal, tmp_path) -> None:  # noqa: ANN001
    outbox = Outbox(store.db)
    book = health_book.build(*written(episodes.non_bhyt))
    key = outbox.get(health_book.queue(outbox, book, seal, MADE)[0]).idem_key
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
    assert (item.state, item.sent_at, item.receipt) == ("sending", None, None)
    restarted = Outbox(store.db, clock=lambda: datetime.now(timezone.utc) + timedelta(seconds=5))
    assert restarted.run_once(service.senders(gateway(standin), restarted)) == 1
    item = outbox.by_key(key)
    assert (item.state, item.attempts) == ("sent", 2)
    stats = standin.state.stats()
    assert stats["received"] == {key: 2} and stats["issued"] == {key: 1}
    assert [b["ma_lk"] for b in stats["health_book"]] == [book.ep.ma_lk]
