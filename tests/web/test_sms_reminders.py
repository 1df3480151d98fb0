"""SMS appointment reminders (issue 18.6) through the one durable outbox and a stand-in SMS gateway
that checks what it receives (bearer key, a Vietnamese mobile number in the 0… form, one ASCII
GSM-7 segment of ≤ 160 characters, a request id not seen before). The clock is injected, in the
facility's +07:00 zone: nothing is queued before the configured hour of the day before; then one
reminder per appointment (queued once however many rounds run); none for a patient without a
mobile number or one who refused reminders; a cancelled or rescheduled appointment's old
reminder is not sent, the rescheduled one gets its own. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import appointments as ap
from benhan.clinical.common import zone
from benhan.outbox import reminders
from benhan.outbox.queue import Outbox
from benhan.store.repository import Repository
from benhan.web.reminder_runner import ReminderRunner
from tests.signing.sms_standin import SmsStandIn

TZ = "+07:00"


def patient(repo: Repository, name: str, phone: str | None = None, refused: bool = False) -> str:
    body: dict = {"resourceType": "Patient", "name": [{"text": name}]}
    if phone:
        body["telecom"] = [{"system": "phone", "value": phone}]
    pid = repo.create("Patient", body).res_id
    if refused:
        ap.set_reminder_choice(repo, Actor.system(), pid, False)
    return pid


@pytest.fixture
def world(store):  # noqa: ANN001, ANN201
    repo = Repository(store, Actor.system())
    room = repo.create("Location", {"resourceType": "Location", "status": "active",
                                    "name": "Phòng khám Nội tiết – Đái tháo đường"}).res_id
    booked_at = datetime(2026, 12, 9, 8, 0, tzinfo=zone(TZ))
    pats = {"plus84": patient(repo, "Nguyễn Thị Hoa", "+84 912 345 678"),
            "zero": patient(repo, "Trần Văn Bình", "0987654321"),
            "nophone": patient(repo, "Lê Văn Cường"),
            "refused": patient(repo, "Phạm Thị Dung", "0901234567", refused=True),
            "cancel": patient(repo, "Hoàng Văn Em", "0911111111"),
            "move": patient(repo, "Vũ Thị Gấm", "0922222222")}
    appts = {k: ap.book(repo, Actor.system(), pid, room, ap.parse_slot("2026-12-10", "08:30", TZ), "",
                        now=booked_at) for k, pid in pats.items()}
    return repo, appts, room


def runner(store, clock, url: str) -> ReminderRunner:  # noqa: ANN001
    cfg = store.config.replace(sms_gateway_url=url, sms_gateway_key="sms-test-key", timezone=TZ)
    return ReminderRunner(store, interval=3600, clock=clock, config=cfg)


def test_reminders_are_queued_once_at_the_hour_and_sent_through_the_gateway(store, world):  # noqa: ANN001
    repo, appts, room = world
    moment = [datetime(2026, 12, 9, 9, 0, tzinfo=timezone.utc)]          # 16:00 in Hà Nội: before the hour
    with SmsStandIn() as sms:
        r = runner(store, lambda: moment[0], sms.url)
        first = r.round()
        assert (first.queued, sms.sent) == (0, [])
        moment[0] = datetime(2026, 12, 9, 10, 5, tzinfo=timezone.utc)    # 17:05 local, the day before
        # Cancelled and moved after being queued: their old reminders must not go out.
        done = r.queue_due()
        assert (done.queued, done.no_phone, done.refused) == (4, 1, 1)
        ap.set_status(repo, Actor.system(), appts["cancel"], "cancelled")
        ap.reschedule(repo, Actor.system(), appts["move"], ap.parse_slot("2026-12-10", "10:00", TZ),
                      now=moment[0].astimezone(zone(TZ)))
        again = r.round()
        assert again.queued == 1                      # the moved one, at its new start; nothing else again
        r.round()
        assert r.round().queued == 0
    to = sorted(m["to"] for m in sms.sent)
    assert to == ["0912345678", "0922222222", "0987654321"]           # +84 sent in the national form
    texts = {m["to"]: m["text"] for m in sms.sent}
    assert "08:30 ngay 10/12/2026" in texts["0912345678"] and "10:00 ngay 10/12/2026" in texts["0922222222"]
    assert all(t.isascii() and len(t) <= 160 for t in texts.values())
    box = Outbox(store.db)
    items = box.items(kind=reminders.KIND)
    assert len(items) == 5 and len({i.idem_key for i in items}) == 5
    by_subject = {}
    for i in items:
        by_subject.setdefault(i.subject, []).append(i)
    assert [i.state for i in by_subject[appts["cancel"]]] == ["rejected"]
    assert sorted(i.state for i in by_subject[appts["move"]]) == ["rejected", "sent"]
    assert by_subject[appts["plus84"]][0].state == "sent"
    assert appts["nophone"] not in by_subject and appts["refused"] not in by_subject
    sent_move = next(i for i in by_subject[appts["move"]] if i.state == "sent")
    assert json.loads(sent_move.payload)["start"] == "2026-12-10T10:00:00+07:00"


def test_the_day_list_shows_who_gets_no_reminder(store, world):  # noqa: ANN001
    repo, appts, _ = world
    day = {e.appointment_id: e for e in ap.day_list(repo, datetime(2026, 12, 10).date(), TZ)}
    assert day[appts["nophone"]].phone == "" and not day[appts["nophone"]].reminders_refused
    assert day[appts["refused"]].reminders_refused
    assert day[appts["plus84"]].phone == "0912345678"


def test_a_long_clinic_name_still_makes_one_sms():
    long = "Bệnh viện Đa khoa Trung ương Thành phố Hồ Chí Minh cơ sở hai " * 3
    t = reminders.text(long, "Phòng khám Nội tiết – Đái tháo đường – Tuyến giáp " * 3,
                       datetime(2026, 12, 10, 8, 30, tzinfo=zone(TZ)))
    assert t.isascii() and len(t) <= 160 and "08:30 ngay 10/12/2026" in t and t.endswith("BHYT.")
