"""A hub and facility nodes in one test process: the hub's application served to each node's sync
client through Starlette's TestClient (an httpx client over ASGI, no socket), each end over its own
store. Enrolment is the real one (invite token, key pair, JWT assertion at /auth/token)."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from benhan import config as config_mod
from benhan.auth.actor import Actor
from benhan.store.repository import Repository
from benhan.store.schema import change_log, resource, resource_version
from benhan.store.store import Store
from benhan.store.writer import decode_body
from benhan.sync import enrolment, node as node_mod
from benhan.sync.node import NodeSync
from benhan.sync.transport import HubClient, load_key
from benhan.web.app import create_app

HUB_URL = "http://localhost"     # a loopback name: the OAuth server accepts plain HTTP there


class Fault(Exception):
    """A failure injected by a test."""


@dataclass
class Faults:
    """Raise at the named step the next `times` times it is reached."""
    armed: dict[str, int] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def __call__(self, step: str) -> None:
        self.seen.append(step)
        if self.armed.get(step, 0) > 0:
            self.armed[step] -= 1
            raise Fault(step)


class Hub:
    def __init__(self, tmp: Path, database_url: str | None = None):
        cfg = config_mod.load(env={}, data_dir=tmp / "hub", database_url=database_url, role="hub")
        self.store = Store.open(cfg)
        self.client = TestClient(create_app(cfg, self.store), base_url=HUB_URL, raise_server_exceptions=True)
        self.client.__enter__()
        self.repo = Repository(self.store, Actor.system("hub-clerk"))

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.store.close()


class Node:
    def __init__(self, tmp: Path, hub: Hub, name: str, organization_id: str | None = None,
                 database_url: str | None = None):
        cfg = config_mod.load(env={}, data_dir=tmp / name, role="node", node_id=f"node-{name}",
                              database_url=database_url)
        self.name = name
        self.config = cfg
        self.store = Store.open(cfg)
        self.hub = hub
        token = enrolment.invite(hub.store, name, organization_id=organization_id)
        node_mod.enroll(self.store, HUB_URL, token, http=hub.client)
        self.faults = Faults()
        self.repo = Repository(self.store, Actor.system(f"clerk-{name}"))

    def sync(self, key_client: HubClient | None = None) -> NodeSync:
        from benhan.store import sync_tables as st
        with self.store.db.read() as conn:
            client_id = st.get_setting(conn, "sync.client_id")
        client = key_client or HubClient(HUB_URL, client_id=client_id,
                                         key=load_key(self.store.config.data_dir / "sync-node-key.pem"),
                                         http=self.hub.client)
        return NodeSync(self.store, client, fault=self.faults)

    def round(self):  # noqa: ANN201
        return self.sync().round()

    def reopen(self) -> None:
        """Open the node's database again (after a restore replaced it)."""
        self.store = Store.open(self.config)
        self.repo = Repository(self.store, Actor.system(f"clerk-{self.name}"))

    def close(self) -> None:
        self.store.close()


def versions(store: Store, *, origin: str | None = None) -> dict[tuple[str, str, int], str]:
    """(type, id, version) → SHA-256 of the stored body ("deleted" for a deletion)."""
    with store.db.read() as conn:
        q = (select(resource.c.res_type, resource.c.res_id, resource_version.c.version, resource_version.c.deleted,
                    resource_version.c.encoding, resource_version.c.body, change_log.c.origin_node)
             .select_from(resource.join(resource_version, resource_version.c.resource_pk == resource.c.pk)
                          .join(change_log, (change_log.c.resource_pk == resource.c.pk)
                                & (change_log.c.version == resource_version.c.version))))
        out = {}
        for r in conn.execute(q):
            if origin is not None and r.origin_node != origin:
                continue
            out[(r.res_type, r.res_id, r.version)] = ("deleted" if r.deleted else
                                                      hashlib.sha256(decode_body(r.encoding, r.body)).hexdigest())
    return out


def change_rows(store: Store) -> list[tuple]:
    with store.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(change_log.c.res_type, change_log.c.res_id,
                                                      change_log.c.version, change_log.c.origin_node))]


def new_id() -> str:
    return str(uuid.uuid4())
