"""The provincial dashboard's data at the hub (docs/sync.md "The provincial dashboard"): records
per day are the versions the hub applied from each node's pushes, readiness is the node's latest
posted self-assessment, the CSV says the same; only enrolled nodes post, only the hub's director,
auditor and admin see it. Both databases (tests/sync/conftest.py)."""
from __future__ import annotations

import csv
import datetime as dt
import io

from benhan.assess import evaluate, province
from benhan.auth import users
from tests import factories
from tests.sync.harness import HUB_URL


def _post(node) -> dict:  # noqa: ANN001
    sync = node.sync()
    return sync.hub.post_assessment(evaluate.assess(node.store).as_json())


def test_records_per_day_readiness_and_the_csv_follow_what_the_nodes_sent(hub, make_node):  # noqa: ANN001
    a, b = make_node("tyt-a"), make_node("tyt-b")
    for i in range(3):
        a.repo.create("Patient", factories.patient(family=f"Nguyễn {i}"))
    b.repo.create("Patient", factories.patient(family="Trần"))
    sent_a, sent_b = a.round().pushed, b.round().pushed
    assert (sent_a, sent_b) == (3, 1)
    # The answer to a question changes the readiness the hub shows.
    evaluate.answer(a.store, "tt13-d6-k3b-regulation", ref="QĐ số 12/QĐ-TTYT ngày 01/12/2026", by="BS. Lê Văn Hùng")
    report_a, report_b = evaluate.assess(a.store).as_json(), evaluate.assess(b.store).as_json()
    assert _post(a)["met"] == report_a["summary"]["met"]
    _post(b)

    data = province.dashboard(hub.store)
    rows = {f["node"]: f for f in data["facilities"]}
    assert set(rows) == {"tyt-a", "tyt-b"}
    assert rows["tyt-a"]["records_today"] == 3 and rows["tyt-b"]["records_today"] == 1
    assert (rows["tyt-a"]["met"], rows["tyt-a"]["total"]) == (report_a["summary"]["met"], report_a["summary"]["total"])
    assert rows["tyt-a"]["met"] == report_b["summary"]["met"] + 1      # the one answered item
    assert rows["tyt-a"]["last_sync"] is not None
    assert data["history"][-1]["met"] == rows["tyt-a"]["met"] + rows["tyt-b"]["met"]
    assert data["history"][-1]["records"] == 4

    # Replaying the same push applies nothing: the count stays.
    a.round()
    assert {f["node"]: f for f in province.dashboard(hub.store)["facilities"]}["tyt-a"]["records_today"] == 3

    parsed = list(csv.DictReader(io.StringIO(province.to_csv(data).lstrip("\ufeff"))))
    assert [(r["node"], int(r["met"]), int(r["total"]), int(r["records_today"])) for r in parsed] == \
        [(f["node"], f["met"], f["total"], f["records_today"]) for f in data["facilities"]]


def test_the_history_carries_a_report_forward_and_starts_from_earlier_ones(hub, make_node):  # noqa: ANN001
    a = make_node("tyt-a")
    _post(a)
    today = dt.datetime.now(dt.timezone.utc).date()
    later = province.dashboard(hub.store, today=today + dt.timedelta(days=40))
    # Posted 40 days before the window: the chart starts from that report, not from zero.
    assert later["history"][0]["met"] == later["history"][-1]["met"] > 0
    assert later["facilities"][0]["records_today"] == 0


def test_only_enrolled_nodes_post_and_only_hub_officials_see_the_dashboard(hub, make_node):  # noqa: ANN001
    make_node("tyt-a")
    # No token at all / a malformed body from a real node.
    assert hub.client.post(f"{HUB_URL}/sync/assessment", json={"kind": "x"}).status_code in (401, 403)
    a = make_node("tyt-c")
    client = a.sync().hub
    bad = client._send("POST", "/sync/assessment", content=b"{not json",
                       headers={"Authorization": f"Bearer {client.token()}", "Content-Type": "application/json"})
    assert bad.status_code == 400 and "OperationOutcome" in bad.text
    wrong = client._send("POST", "/sync/assessment", json={"kind": "benhan-emr-self-assessment", "summary": {}},
                         headers={"Authorization": f"Bearer {client.token()}"})
    assert wrong.status_code == 400

    password = "một câu mật khẩu thật dài"
    users.create_user(hub.store, "soyte", "Phạm Văn Sở", ["director"], password=password)
    users.create_user(hub.store, "bacsi", "Lê Văn Hùng", ["doctor"], password=password)
    for username, allowed in (("soyte", True), ("bacsi", False)):
        hub.client.cookies.clear()
        page = hub.client.get(f"{HUB_URL}/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        hub.client.post(f"{HUB_URL}/login", data={"username": username, "password": password, "csrf": token})
        got = hub.client.get(f"{HUB_URL}/province")
        assert got.status_code == (200 if allowed else 403), (username, got.status_code)
        if allowed:
            assert "tyt-a" in got.text and "<svg" in got.text
            assert hub.client.get(f"{HUB_URL}/province.csv").text.lstrip("\ufeff").startswith("node,facility")
    hub.client.cookies.clear()
