"""A node's scheduled encrypted backups are copied to its hub (benhan/sync/backup_copy.py): byte for
byte, the newest N kept per node, only encrypted files taken, only from an enrolled node, not
beyond the size limit; a hub that cannot be reached fails the copy, never the backup."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.store import backup_status
from benhan.store.store import Store
from benhan.sync import enrolment
from benhan.web.app import create_app
from benhan.web.backup_runner import BackupRunner
from tests.conftest import empty_pg
from tests.server_process import free_port
from tests.sync.harness import HUB_URL, Hub, Node

T0 = dt.datetime(2026, 3, 9, 10, 30, tzinfo=dt.timezone.utc)


class SmallHub(Hub):
    """The harness's hub with its own backup-copy settings (keep 2, at most 1 MB)."""

    def __init__(self, tmp: Path, database_url: str | None = None):  # noqa: D107 - no super: other settings
        from benhan.auth.actor import Actor
        from benhan.store.repository import Repository
        cfg = config_mod.load(env={}, data_dir=tmp / "hub", database_url=database_url, role="hub",
                              hub_backup_keep=2, hub_backup_max_mb=1)
        self.store = Store.open(cfg)
        self.client = TestClient(create_app(cfg, self.store), base_url=HUB_URL, raise_server_exceptions=True)
        self.client.__enter__()
        self.repo = Repository(self.store, Actor.system("hub-clerk"))


@pytest.fixture(params=["sqlite", "postgresql"])
def small_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmallHub]:
    url = None if request.param == "sqlite" else empty_pg(request.getfixturevalue("pg_database"))
    h = SmallHub(tmp_path, url)
    yield h
    h.close()


@pytest.fixture
def node(small_hub: SmallHub, tmp_path: Path) -> Iterator[Node]:
    n = Node(tmp_path, small_hub, "tyt-a")
    yield n
    n.close()


def runner(node: Node, when: list[dt.datetime]) -> BackupRunner:
    r = BackupRunner(node.store, now=lambda: when[0], wait=lambda s: None)
    r.hub_http = node.hub.client
    return r


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hub_folder(hub: Hub, node: Node) -> Path:
    return hub.store.config.data_dir / "node-backups" / node.config.node_id


def node_token(node: Node) -> str:
    return node.sync().hub.token()


def test_scheduled_backups_land_on_the_hub_byte_identical_newest_two_kept(small_hub: SmallHub, node: Node) -> None:
    when = [T0]
    r = runner(node, when)
    made = []
    for hour in range(3):
        when[0] = T0 + dt.timedelta(hours=hour)
        result = r.run_round()
        assert "hub copy ok" in result, result
        st = backup_status.status(node.config.backups)
        assert st.last_ok and st.hub_copy_ok is True and st.hub_copy_error is None
        assert st.hub_copy_file == st.last_backup_file
        made.append(node.config.backups / st.last_backup_file)
        copy = hub_folder(small_hub, node) / st.last_backup_file
        assert sha(copy) == sha(made[-1])
        assert copy.stat().st_mode & 0o077 == 0
    kept = sorted(p.name for p in hub_folder(small_hub, node).iterdir())
    assert kept == sorted(p.name for p in made[-2:])
    # a round with nothing new uploads nothing again
    assert "hub copy" not in r.run_round()
    # audited at the hub: node, file, size
    import json

    from sqlalchemy import select

    from benhan.store.schema import audit_event
    with small_hub.store.db.read() as conn:
        rows = conn.execute(select(audit_event.c.agent, audit_event.c.detail)
                            .where(audit_event.c.interaction == "hub-backup-copy")).all()
    details = sorted((json.loads(d)["file"], json.loads(d)["size"]) for _, d in rows)
    assert details == sorted((p.name, p.stat().st_size) for p in made)
    assert {a for a, _ in rows} == {f"node:{node.config.node_id}"}

def test_a_plain_file_is_refused(small_hub: SmallHub, node: Node) -> None:
    token = node_token(node)
    answer = small_hub.client.put("/sync/backup/benhan-daily-x.sqlite.enc", content=b"SQLite format 3\0" + b"x" * 500,
                                  headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 415
    assert answer.json()["resourceType"] == "OperationOutcome"
    folder = hub_folder(small_hub, node)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_only_an_enrolled_node_may_copy(small_hub: SmallHub, node: Node) -> None:
    answer = small_hub.client.put("/sync/backup/a.enc", content=b"BENHANBK")
    assert answer.status_code == 401
    token = node_token(node)
    enrolment.revoke(small_hub.store, "tyt-a")
    answer = small_hub.client.put("/sync/backup/a.enc", content=b"BENHANBK",
                                  headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (401, 403)
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert not hub_folder(small_hub, node).exists() or list(hub_folder(small_hub, node).iterdir()) == []


def test_an_oversize_upload_is_refused(small_hub: SmallHub, node: Node) -> None:
    token = node_token(node)
    body = b"BENHANBK" + b"\0" * (1024 * 1024 + 1)
    answer = small_hub.client.put("/sync/backup/big.enc", content=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 413 and answer.json()["resourceType"] == "OperationOutcome"

    def chunks():  # noqa: ANN202 - no Content-Length: the limit holds while streaming too
        for _ in range(3):
            yield b"BENHANBK" + b"\0" * (512 * 1024)
    answer = small_hub.client.put("/sync/backup/big.enc", content=chunks(), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 413
    folder = hub_folder(small_hub, node)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_hub_down_the_backup_still_succeeds(small_hub: SmallHub, node: Node) -> None:
    r = runner(node, [T0])
    r.hub_http = None
    r.hub_url = f"http://127.0.0.1:{free_port()}"      # nothing listens there
    result = r.run_round()
    st = backup_status.status(node.config.backups)
    assert st.last_ok is True and (node.config.backups / st.last_backup_file).is_file()
    assert st.hub_copy_ok is False and st.hub_copy_error, result
    assert st.hub_copy_file is None

    # the facility admin sees it on /admin/backup, in Vietnamese and English
    from benhan.auth import mfa, users
    from tests.web.test_backup_page import PASSWORD, login
    secret = mfa.new_secret()
    users.create_user(node.store, "quantri", "Ngô Văn Quản", ["facility_admin"], password=PASSWORD, mfa_secret=secret)
    app = create_app(node.config, node.store)
    with TestClient(app):
        vi = login(app, "quantri", secret).get("/admin/backup").text
        assert "chép lên hub không được" in vi and st.hub_copy_error[:20] in vi
        en = login(app, "quantri", secret, lang="en").get("/admin/backup").text
        assert "the copy to the hub failed" in en
