"""Retention (TT 33/2025): each visit's class and end date; no deletion of a record before its end on
any write path (API DELETE, batch, repository); destruction only by a council decision past the end
date, audited, content purged. The day is injected. SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

import benhan.clinical  # noqa: F401  (installs the rules, as every entry point does)
from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical import retention
from benhan.store.repository import Repository
from benhan.store.schema import audit_event
from tests.factories import patient


@pytest.fixture
def day():
    current = {"d": date(2026, 12, 6)}
    retention.set_clock(lambda: current["d"])
    yield current
    retention.set_clock(None)


def _visit(repo, pid, *, cls="AMB", end="2026-03-10", status="finished", extra=None):
    enc = {"resourceType": "Encounter", "status": status,
           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls},
           "subject": {"reference": f"Patient/{pid}"},
           "period": {"start": end + "T08:00:00+07:00", "end": end + "T10:00:00+07:00"}}
    enc.update(extra or {})
    return repo.create("Encounter", enc).res_id


def _obs(repo, pid, eid):
    return repo.create("Observation", {
        "resourceType": "Observation", "status": "final", "code": {"text": "Mạch"},
        "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"},
        "valueQuantity": {"value": 80, "unit": "/min"}}).res_id


def _condition(repo, pid, eid, code):
    repo.create("Condition", {"resourceType": "Condition", "subject": {"reference": f"Patient/{pid}"},
                              "encounter": {"reference": f"Encounter/{eid}"},
                              "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]}})


def test_classes_and_end_dates(store, day):
    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient()).res_id
    out = _visit(repo, p)
    inp = _visit(repo, p, cls="IMP", end="2025-07-01")
    dead = _visit(repo, p, cls="IMP", extra={"hospitalization": {"dischargeDisposition": {"coding": [{"code": "exp"}]}}})
    psy = _visit(repo, p)
    _condition(repo, p, psy, "F20.0")
    inc = _visit(repo, p, extra={"extension": [{"url": retention.INCIDENT_EXT, "valueBoolean": True}]})
    open_ = _visit(repo, p, status="in-progress")
    got = {r.encounter_id: r for r in retention.report(store)}
    assert (got[out].klass.code, got[out].keep_until) == ("outpatient", date(2036, 12, 31))
    assert (got[inp].klass.code, got[inp].keep_until) == ("inpatient", date(2035, 12, 31))
    assert (got[dead].klass.code, got[dead].keep_until) == ("death", date(2056, 12, 31))
    assert (got[psy].klass.code, got[psy].keep_until) == ("psychiatric", date(2046, 12, 31))
    assert got[inc].permanent and got[inc].keep_until is None
    assert got[open_].keep_until is None
    # the report until a day lists only what ends by then, soonest first
    assert [r.encounter_id for r in retention.report(store, until=date(2036, 12, 31))] == [inp, out]


def test_no_deletion_before_the_end_on_any_path_and_destruction_by_decision(store, client, day):
    repo = Repository(store, Actor.system())
    p = repo.create("Patient", patient()).res_id
    eid = _visit(repo, p, end="2020-05-04")
    oid = _obs(repo, p, eid)
    # repository (the CLI's path), the REST API, a batch: all refused while the record is kept
    for attempt in (lambda: repo.delete("Observation", oid), lambda: repo.delete("Encounter", eid),
                    lambda: repo.delete("Patient", p)):
        with pytest.raises(errors.Conflict, match="2030"):
            attempt()
    r = client.delete(f"/fhir/Observation/{oid}")
    assert r.status_code == 409 and "Thông tư 33/2025" in r.text
    batch = {"resourceType": "Bundle", "type": "batch",
             "entry": [{"request": {"method": "DELETE", "url": f"Encounter/{eid}"}}]}
    r = client.post("/fhir", json=batch)
    assert r.json()["entry"][0]["response"]["status"].startswith("409")
    assert repo.read("Observation", oid).json()["valueQuantity"]["value"] == 80
    decision = {"number": "15/QĐ-TTYT", "date": "2026-12-01", "members": ["Nguyễn Văn A", "Trần Thị B"],
                "records": [f"Encounter/{eid}"]}
    # a decision before the end date is refused, naming the record, and destroys nothing
    with pytest.raises(errors.Conflict, match=eid):
        retention.destroy(store, retention.Decision.parse(decision))
    assert repo.read("Observation", oid)
    # past the end date a plain DELETE is still refused (only a council decision destroys)
    day["d"] = date(2031, 1, 2)
    with pytest.raises(errors.Conflict, match="council"):
        repo.delete("Observation", oid)
    decision["date"] = "2031-01-02"
    done = retention.destroy(store, retention.Decision.parse(decision), agent="cli:test")
    assert done["records"] == [{"record": f"Encounter/{eid}", "resources": 2}]
    with pytest.raises(errors.Gone):
        repo.read("Observation", oid)
    # earlier versions' content is purged: only a tombstone naming type and id remains
    old = repo.vread("Observation", oid, "1").json()
    assert "valueQuantity" not in old and old["meta"]["tag"][0]["code"] == "destroyed"
    with store.db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(audit_event))]
    destroyed = [r for r in rows if r["subtype"] == "retention-destroy"]
    assert [r["res_id"] for r in destroyed] == [eid] and "15/QĐ-TTYT" in destroyed[0]["detail"]
    assert [json.loads(r["detail"])["records"] for r in rows if r["subtype"] == "retention-decision"] == [[f"Encounter/{eid}"]]
    deletes = {(r["res_type"], r["res_id"]) for r in rows if r["action"] == "D" and r["subtype"] is None}
    assert {("Observation", oid), ("Encounter", eid)} <= deletes


@pytest.mark.parametrize("bad", [{"number": "1", "date": "x", "members": ["a", "b"], "records": ["Encounter/e"]},
                                 {"number": "1", "date": "2026-01-01", "members": ["a"], "records": ["Encounter/e"]},
                                 {"number": "1", "date": "2026-01-01", "members": ["a", "b"], "records": []}])
def test_a_decision_without_its_parts_is_refused(bad, day):
    with pytest.raises(errors.InvalidUserSetting):
        retention.Decision.parse(bad)


def test_the_cli_reports_and_refuses_an_early_destruction(tmp_path):
    """`benhan retention report` lists the record with its end; `destroy` of a record still kept is one
    line and exit 1, nothing destroyed (the real clock: a visit of today is kept ten more years)."""
    import subprocess
    import sys

    from benhan import config as config_mod
    from benhan.store.store import Store
    data = tmp_path / "data"
    store = Store.open(config_mod.load(env={}, data_dir=data))
    try:
        repo = Repository(store, Actor.system())
        p = repo.create("Patient", patient()).res_id
        eid = _visit(repo, p, end=date.today().isoformat())
    finally:
        store.close()

    def run(*args):
        return subprocess.run([sys.executable, "-m", "benhan.cli", "retention", *args, "--data-dir", str(data)],
                              capture_output=True, text=True, timeout=120)
    out = run("report")
    assert out.returncode == 0 and f"Encounter/{eid}" in out.stdout and str(date.today().year + 10) in out.stdout
    decision = tmp_path / "d.json"
    decision.write_text(json.dumps({"number": "2/QĐ", "date": date.today().isoformat(), "members": ["A", "B"],
                                    "records": [f"Encounter/{eid}"]}), encoding="utf-8")
    out = run("destroy", "--decision", str(decision))
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1 and eid in out.stderr
    assert "Traceback" not in out.stderr
    assert f"Encounter/{eid}" in run("report").stdout
