"""The Sở Y tế's view at the hub, in a browser (issue 17 acceptance): THREE demo facility nodes enrol
with a hub, sync, and post their self-assessment (`benhan assess --post`); the provincial dashboard
shows each with its readiness, last sync and records received per day, and its CSV says the same.

Real processes: the hub is `benhan serve` (role hub) on a free port, each node is driven by its
command line (`benhan node enroll`, `benhan sync now`, `benhan assess --post`); the hub's process
group is ended on the way out, on failure too."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx

from benhan import config as config_mod
from benhan.auth import users
from benhan.store.store import Store
from tests.server_process import benhan_command, free_port, run_benhan, spawn, terminate
from tests.ui.conftest import PASSWORD, Journey

NODES = ("tyt-pu-nhi", "tyt-ba-thuoc", "tyt-muong-lat")


def _toml(data_dir: Path, **settings: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    (data_dir / "benhan.toml").write_text("".join(f"{k} = '{v}'\n" for k, v in settings.items()))
    (data_dir / "benhan.toml").chmod(0o600)


def _demo_node(data_dir: Path, seed: int) -> None:
    """A demo facility (its Organization, rooms, staff) and a few synthetic patients with records."""
    from benhan.clinical.synth.bulk import generate
    store = Store.open(config_mod.load(env={}, data_dir=data_dir))
    try:
        generate(store, patients=2, seed=seed, facilities=1, workers=0, upsert=True)
    finally:
        store.close()


def test_three_facilities_sync_post_their_assessment_and_the_province_sees_them(browser, tmp_path: Path):  # noqa: ANN001
    hub_dir = tmp_path / "hub"
    _toml(hub_dir, role="hub")
    hub_store = Store.open(config_mod.load(env={}, data_dir=hub_dir))
    try:
        users.create_user(hub_store, "soyte", "Phạm Văn Sở", ["director"], password=PASSWORD)
    finally:
        hub_store.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    log_path = tmp_path / "hub.log"
    with open(log_path, "wb") as log:
        process = spawn(benhan_command("serve", "--data-dir", str(hub_dir), "--port", str(port)),
                        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            try:
                if httpx.get(f"{url}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

        pushed: dict[str, int] = {}
        reports: dict[str, dict] = {}
        for seed, name in enumerate(NODES, start=11):
            node_dir = tmp_path / name
            _toml(node_dir, role="node")
            _demo_node(node_dir, seed)
            token = run_benhan("node", "invite", name, "--data-dir", str(hub_dir))
            assert token.returncode == 0, token.stderr
            enrolled = run_benhan("node", "enroll", url, token.stdout.strip(), "--data-dir", str(node_dir))
            assert enrolled.returncode == 0, enrolled.stderr
            synced = run_benhan("sync", "now", "--data-dir", str(node_dir))
            assert synced.returncode == 0, synced.stderr
            assert "refused by the hub" not in synced.stdout, synced.stdout
            pushed[name] = int(re.search(r"pushed (\d+)", synced.stdout).group(1))
            assert pushed[name] > 0
            posted = run_benhan("assess", "--post", "--json", "--data-dir", str(node_dir))
            assert posted.returncode in (0, 1) and "posted to the hub" in posted.stderr, posted.stderr
            reports[name] = json.loads(posted.stdout)

        context = browser.new_context(locale="vi-VN")
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            j = Journey(page, url, "province-dashboard")
            page.context.add_cookies([{"name": "lang", "value": "vi", "url": url}])
            j.go("/login")
            page.fill("input[name=username]", "soyte")
            page.fill("input[name=password]", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            j.go("/province")
            j.shot("dashboard")
            assert page.locator("h1").inner_text() == "Bảng theo dõi của tỉnh: hồ sơ bệnh án điện tử"
            assert page.locator("svg.province-progress").count() == 1
            rows = page.locator("table.province-facilities tbody tr")
            assert rows.count() == 3
            shown = {}
            for i in range(3):
                row = rows.nth(i)
                name = row.get_attribute("data-node")
                shown[name] = {"readiness": row.locator("td.readiness").inner_text(),
                               "last_sync": row.locator("td.last-sync").inner_text(),
                               "records_today": int(row.locator("td.records-today").inner_text())}
            assert set(shown) == set(NODES)
            for name in NODES:
                s = reports[name]["summary"]
                assert shown[name]["readiness"].startswith(f"{s['met']}/{s['total']}"), shown[name]
                assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", shown[name]["last_sync"]), shown[name]
                assert shown[name]["records_today"] == pushed[name]
            # By area: the demo facilities are in Thanh Hóa.
            assert "Tỉnh Thanh Hóa" in page.locator("table.province-areas").inner_text()

            body = j.fetch("/province.csv").decode("utf-8").lstrip("\ufeff")
            table = {r["node"]: r for r in csv.DictReader(io.StringIO(body))}
            assert set(table) == set(NODES)
            for name in NODES:
                s = reports[name]["summary"]
                assert (int(table[name]["met"]), int(table[name]["total"])) == (s["met"], s["total"])
                assert int(table[name]["records_today"]) == shown[name]["records_today"]
                assert table[name]["facility"] == reports[name]["facility"]["name"]
                assert table[name]["last_sync"]
        finally:
            context.close()
    finally:
        terminate(process)
