"""Consent per purpose (opt-in, withdrawal, the older "do not share" still a refusal), the register of
data-subject requests (deadlines from the day received, overdue), the breach record (form 08, 72 h).
SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from benhan import errors
from benhan.auth import breach, purposes, subject_requests
from benhan.auth.actor import Actor
from benhan.auth.consent import do_not_share
from benhan.store.repository import Repository
from tests.factories import patient


def test_sharing_is_opt_in_per_purpose_and_a_withdrawal_or_an_old_refusal_stops_it(store):
    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient()).res_id
    assert purposes.decide(store, p, purposes.SHARE_PROVIDERS) == purposes.Decision(False, "no-consent")
    assert purposes.decide(store, p, purposes.TREATMENT).allowed          # by law
    assert purposes.decide(store, p, purposes.HEALTH_BOOK).allowed        # a legal obligation
    with pytest.raises(errors.InvalidUserSetting):                        # written: the signed form is the evidence
        purposes.permit(p, purposes.SHARE_PROVIDERS, method="written")
    cid = purposes.record(repo, p, purposes.SHARE_PROVIDERS, method="otp", verified_by=None)
    assert purposes.decide(store, p, purposes.SHARE_PROVIDERS).allowed
    assert not purposes.decide(store, p, purposes.RESEARCH).allowed       # one purpose does not give another
    stored = repo.read("Consent", cid).json()
    assert stored["provision"]["purpose"][0]["code"] == purposes.SHARE_PROVIDERS and stored["dateTime"]
    purposes.withdraw(repo, cid)
    assert purposes.decide(store, p, purposes.SHARE_PROVIDERS).reason == "withdrawn"
    assert len(repo.history("Consent", cid).entries) == 2                # the consent kept as evidence
    # An existing "do not share" refusal stays a refusal even after an earlier opt-in.
    q = repo.create("Patient", patient()).res_id
    purposes.record(repo, q, purposes.SHARE_PROVIDERS, method="otp",
                    when=datetime.now(timezone.utc) - timedelta(days=2))
    repo.create("Consent", do_not_share(q, method="written"))
    assert purposes.decide(store, q, purposes.SHARE_PROVIDERS).reason == "refused"
    assert "refused" in purposes.refusal_text(purposes.decide(store, q, purposes.SHARE_PROVIDERS))


def test_request_deadlines_count_from_the_day_received():
    friday = date(2026, 12, 4)
    assert friday.weekday() == 4
    assert subject_requests.deadlines("access", friday) == (date(2026, 12, 8), date(2026, 12, 14))
    assert subject_requests.deadlines("objection", friday)[1] == date(2026, 12, 19)
    assert subject_requests.deadlines("deletion", friday)[1] == date(2026, 12, 24)


def test_the_register_keeps_requests_with_deadlines_answers_and_overdue_ones(store):
    repo = Repository(store, Actor.system("dpo"))
    p = repo.create("Patient", patient()).res_id
    received = date.today() - timedelta(days=12)
    late = subject_requests.receive(repo, kind="correction", requester="Nguyễn An", received=received, patient_id=p)
    fresh = subject_requests.receive(repo, kind="deletion", requester="Lê Bình", received=date.today())
    with pytest.raises(errors.InvalidUserSetting):
        subject_requests.receive(repo, kind="everything", requester="x", received=date.today())
    with pytest.raises(errors.NotFound):
        subject_requests.receive(repo, kind="access", requester="x", received=date.today(), patient_id="khong-co")
    found = {r.id: r for r in subject_requests.register(repo)}
    assert set(found) == {late, fresh}
    assert found[late].due == received + timedelta(days=10) and found[late].overdue(date.today())
    assert not found[fresh].overdue(date.today()) and found[fresh].due == date.today() + timedelta(days=20)
    with pytest.raises(errors.InvalidUserSetting):
        subject_requests.answer(repo, late, status="completed")
    subject_requests.answer(repo, late, status="completed", answer_text="Đã sửa địa chỉ", evidence="Phiếu 3")
    done = {r.id: r for r in subject_requests.register(repo)}[late]
    assert (done.status, done.answer, done.evidence) == ("completed", "Đã sửa địa chỉ", "Phiếu 3")
    assert not done.overdue(date.today())


def test_a_breach_record_has_four_sections_and_its_72_hour_deadline(store):
    repo = Repository(store, Actor.system("dpo"))
    now = datetime(2026, 12, 6, 15, 0, tzinfo=timezone(timedelta(hours=7)))
    values = {"discovered": "2026-12-06T09:30", "occurred": "2026-12-05T22:00", "what": "USB sao lưu bị mất",
              "data_kinds": "Họ tên, chẩn đoán", "people": "40", "measures": "Đổi khóa mã hóa", "contact": "Bảo"}
    bid = breach.record(repo, values, author="Trần Văn Bảo", now=now)
    body = repo.read("Composition", bid).json()
    assert [s["code"]["coding"][0]["code"] for s in body["section"]] == ["breach", "consequences", "measures", "contact"]
    b = breach.all_breaches(repo)[0]
    assert b.id == bid and b.notify_by == datetime(2026, 12, 9, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    assert b.values["people"] == "40"
    for bad in ({"discovered": ""}, {"discovered": "2026-12-07T09:00"}, {"occurred": "2026-12-06T10:00"},
                {"people": "nhiều"}):
        with pytest.raises(errors.InvalidUserSetting):
            breach.record(repo, dict(values, **bad), author="x", now=now)


def test_benhan_dsr_list_marks_the_overdue_and_exits_3(tmp_path):
    import subprocess
    import sys

    from benhan import config as config_mod
    from benhan.store.store import Store
    data = tmp_path / "data"
    store = Store.open(config_mod.load(env={}, data_dir=data))
    try:
        repo = Repository(store, Actor.system("dpo"))
        late = subject_requests.receive(repo, kind="access", requester="Nguyễn An",
                                        received=date.today() - timedelta(days=11))
        fresh = subject_requests.receive(repo, kind="deletion", requester="Lê Bình", received=date.today())
    finally:
        store.close()
    out = subprocess.run([sys.executable, "-m", "benhan.cli", "dsr", "list", "--data-dir", str(data)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    lines = {line.split("\t")[0]: line for line in out.stdout.splitlines() if line.startswith("Task/")}
    assert "OVERDUE" in lines[f"Task/{late}"] and "OVERDUE" not in lines[f"Task/{fresh}"]
    assert (date.today() + timedelta(days=20)).isoformat() in lines[f"Task/{fresh}"]
