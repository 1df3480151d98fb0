"""Issue 11 item 4: backup and restore are audit events, and a trail wiped afterwards (head row
included) no longer verifies as "intact: 0 events": its head is noted in the node setting and
beside every backup, and `benhan audit verify` checks the chain against them."""
from __future__ import annotations

import json
import subprocess
import sys

from benhan import config as config_mod
from benhan.audit.verify import verify
from benhan.store import backup
from benhan.store.backup_audit import SIDECAR, read_sidecars
from benhan.store.repository import Repository
from benhan.store.store import Store
from tests import factories
from tests.audit.helpers import DOCTOR, a_working_day, sql

WIPE = ("DELETE FROM audit_patient", "DELETE FROM audit_event", "DELETE FROM audit_chain_head")


def events(store, interaction: str) -> list:  # noqa: ANN001
    return sql(store, "SELECT agent, detail, chain_pos FROM audit_event WHERE interaction = :i ORDER BY seq",
               i=interaction)


def test_a_backup_is_an_event_and_keeps_the_chain_head_beside_it(store, tmp_path):
    a_working_day(store)
    made = backup.backup(store.db, tmp_path / "backups", by="cli:operator")
    (event,) = events(store, "backup")
    assert event.agent == "cli:operator" and json.loads(event.detail)["file"] == made.name
    noted = json.loads(made.with_name(made.name + SIDECAR).read_text())
    (anchor,) = read_sidecars(tmp_path / "backups")
    assert (anchor.chain_pos, anchor.hash) == (noted["chain_pos"], noted["hash"])
    assert verify(store, anchors=[anchor]).intact


def test_a_wiped_trail_is_reported_from_the_node_setting_and_from_the_backups(store, tmp_path):
    a_working_day(store)
    backup.backup(store.db, tmp_path / "backups", by="cli:operator")
    anchors = read_sidecars(tmp_path / "backups")
    for statement in WIPE:
        sql(store, statement)
    report = verify(store)                      # the node setting still says how far the chain went
    assert not report.intact and report.first.kind == "truncated"
    assert "node setting" in report.line() and "wiped" in report.line()
    sql(store, "DELETE FROM node_setting WHERE key = 'audit_head_seen'")     # a wiper who knows
    report = verify(store, anchors=anchors)
    assert not report.intact and report.first.kind == "truncated" and "the backup benhan-" in report.line()
    # A trail cut (not wiped) shows the same way.


def test_a_cut_tail_is_reported_even_with_the_head_row_moved_back(store):
    a_working_day(store)
    store.read_audit.flush()
    last = sql(store, "SELECT max(chain_pos) FROM audit_event")[0][0]
    sql(store, "DELETE FROM audit_patient WHERE seq IN (SELECT seq FROM audit_event WHERE chain_pos > :p)", p=last - 3)
    sql(store, "DELETE FROM audit_event WHERE chain_pos > :p", p=last - 3)
    head = sql(store, "SELECT chain_pos, hash FROM audit_event WHERE chain_pos = :p", p=last - 3)[0]
    sql(store, "UPDATE audit_chain_head SET chain_pos = :p, hash = :h", p=head.chain_pos, h=head.hash)
    report = verify(store)
    assert not report.intact and report.first.kind == "truncated"


def test_restore_is_an_event_and_the_chain_stays_verifiable(tmp_path):
    cfg = config_mod.load(data_dir=tmp_path / "data", env={})
    store = Store.open(cfg)
    try:
        a_working_day(store)
        first = backup.backup(store.db, cfg.backups, by="cli:operator")
        Repository(store, DOCTOR).create("Patient", factories.patient())     # after the backup
        a_working_day(store)
        backup.backup(store.db, cfg.backups, by="cli:operator")               # a later head, replaced below
        before = verify(store)
    finally:
        store.close()
    backup.restore(cfg.sqlalchemy_url, first, by="cli:operator")
    store = Store.open(cfg)
    try:
        (event,) = events(store, "restore")
        detail = json.loads(event.detail)
        assert event.agent == "cli:operator" and detail["file"] == first.name
        assert detail["replaced_head"] == f"{before.head[0]}:{before.head[1]}"
        report = verify(store, anchors=read_sidecars(cfg.backups))
        assert report.intact, report.line()
    finally:
        store.close()
    # The CLI says the same, reading the backups' heads itself.
    done = subprocess.run([sys.executable, "-m", "benhan.cli", "audit", "verify", "--data-dir", str(cfg.data_dir)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "audit chain intact" in done.stdout, done.stderr


def test_the_cli_reports_a_wiped_trail(tmp_path):
    data = tmp_path / "data"
    cfg = config_mod.load(data_dir=data, env={})
    store = Store.open(cfg)
    try:
        a_working_day(store)
    finally:
        store.close()
    benhan = [sys.executable, "-m", "benhan.cli"]
    assert subprocess.run([*benhan, "backup", "--data-dir", str(data)], capture_output=True).returncode == 0
    store = Store.open(cfg)
    try:
        for statement in (*WIPE, "DELETE FROM node_setting WHERE key = 'audit_head_seen'"):
            sql(store, statement)
    finally:
        store.close()
    done = subprocess.run([*benhan, "audit", "verify", "--data-dir", str(data)], capture_output=True, text=True)
    assert done.returncode == 1 and "truncated" in done.stderr and "wiped" in done.stderr, done.stderr
