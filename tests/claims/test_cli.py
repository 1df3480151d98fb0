"""`benhan claims …` as a clerk runs it (real processes), and the worker `benhan serve` runs."""
from __future__ import annotations

import os
import subprocess
import time

from benhan import config as config_mod
from benhan.claims.runner import ClaimsRunner
from benhan.claims.standin import StandIn, State
from benhan.outbox.queue import Outbox
from benhan.store.store import Store
from tests.claims import episodes
from tests.claims.conftest import PASSWORD, SEAL_PASSWORD, USERNAME
from tests.claims.test_record import bhyt_visit, ma_lk
from tests.billing.charges_world import make_world
from tests.server_process import benhan_command


def run(store, *args: str, **env: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    where = ["--data-dir", str(store.config.data_dir)]
    if not store.config.sqlalchemy_url.startswith("sqlite"):
        where += ["--database-url", store.config.sqlalchemy_url]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    return subprocess.run(benhan_command("claims", *args, *where), capture_output=True, text=True, timeout=120,
                          env={**clean, **env})


def one_line_error(done: subprocess.CompletedProcess, code: str) -> None:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    said = [line for line in done.stderr.splitlines() if line.startswith("benhan: ")]
    assert len(said) == 1 and said[0].startswith(f"benhan: {code}: "), done.stderr


def test_sending_without_a_gateway_is_one_clear_line(store) -> None:  # noqa: ANN001
    one_line_error(run(store, "send"), "BENHAN-8104")
    done = run(store, "status")
    assert done.returncode == 0 and done.stdout.strip() == "outbox empty"


def test_queue_send_and_status_of_a_recorded_visit(store, seal_p12, seal) -> None:  # noqa: ANN001
    world = make_world(store)
    eid = bhyt_visit(world)
    code = world.fac.code
    seal_env = {"BENHAN_FACILITY_SEAL_FILE": str(seal_p12), "BENHAN_SEAL_PASSWORD": SEAL_PASSWORD}
    done = run(store, "check", ma_lk(world, eid))                          # by the MA_LK on the slip
    assert done.returncode == 0 and "đạt, có thể gửi cổng giám định." in done.stdout, done.stderr
    one_line_error(run(store, "queue", eid), "BENHAN-7008")               # no seal configured
    done = run(store, "queue", eid, **seal_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"claim #{done.stdout.split('claim #')[1].split()[0]} {ma_lk(world, eid)}"
    again = run(store, "queue", eid, **seal_env)
    assert "(đã có trong hàng đợi)" in again.stdout                         # the same claim is one message
    standin = StandIn(State(f"{code}_BV", PASSWORD, code, cert_pem=seal.cert_pem)).start()
    try:
        gateway = {"BENHAN_BHXH_GATEWAY_URL": standin.url, "BENHAN_BHXH_PASSWORD": PASSWORD}
        one_line_error(run(store, "send", **gateway), "BENHAN-8104")          # no account name
        done = run(store, "send", BENHAN_BHXH_USERNAME=f"{code}_BV", **gateway)
        assert done.returncode == 0 and done.stdout.startswith("2 attempted"), done.stderr
        assert standin.state.stats()["accepted"] == [ma_lk(world, eid)]
    finally:
        standin.stop()
    status = run(store, "status", "--ma-lk", ma_lk(world, eid)).stdout.splitlines()
    assert len(status) == 2 and all(" sent attempts=1 " in line for line in status)
    assert all("Nguyễn Văn An" in line for line in status)


def test_the_serve_worker_sends_what_is_queued(tmp_path, standin, seal, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("BENHAN_BHXH_PASSWORD", PASSWORD)
    cfg = config_mod.load(env={"BENHAN_BHXH_GATEWAY_URL": standin.url, "BENHAN_BHXH_USERNAME": USERNAME},
                          data_dir=tmp_path / "data")
    store = Store.open(cfg)
    try:
        from benhan.claims import service
        ep, lines = episodes.outpatient()
        service.queue_claim(Outbox(store.db), ep, lines, seal, ep.discharged)
        runner = ClaimsRunner(store, interval=0.1).start()
        try:
            deadline = time.monotonic() + 30
            while standin.state.stats()["accepted"] != [ep.ma_lk]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            runner.stop()
        deadline = time.monotonic() + 10
        while Outbox(store.db).items()[0].state != "sent":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        store.close()


def test_the_desk_report_as_a_clerk_reads_it(store, seal) -> None:  # noqa: ANN001
    from datetime import datetime, timedelta, timezone
    from benhan.claims import service
    vn = timezone(timedelta(hours=7))
    ep, lines = episodes.outpatient()
    before = datetime.now(vn).strftime("%d/%m/%Y")
    service.queue_claim(Outbox(store.db), ep, lines, seal, ep.discharged)
    done = run(store, "report")
    after = datetime.now(vn).strftime("%d/%m/%Y")           # the same day, unless run across midnight
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("ngày")
    day, *counts = done.stdout.splitlines()[1].split()
    assert day in (before, after) and counts == ["1", "0", "0", "1", "0"]
