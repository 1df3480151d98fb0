"""Enrolling facility nodes with the hub, and revoking them (docs/sync.md "Enrolment").

The hub admin invites a node by name (`benhan node invite NAME`): the invite is a one-time bearer
token of a placeholder OAuth client that can do nothing but enrol. The node generates its own key
pair, keeps the private key in its data folder, and presents the invite with its public key
(POST /sync/enroll); the hub registers the node as a backend-services client (private_key_jwt) and
disables the placeholder, so the invite cannot be used again. From then on the node asks for
access tokens with a JWT assertion signed by its key, like any SMART backend service.
"""
from __future__ import annotations

import json
import time
import uuid

from benhan import errors
from benhan.auth import oauth_clients, tokens
from benhan.store import audit_log, oauth_tables
from benhan.store import sync_tables as st
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store

INVITE_DAYS = 7
# The node's client needs a resource scope to be registered at all; this one exposes nothing a
# facility would keep private. The sync endpoints check that the client is an enrolled node.
NODE_SCOPE = "system/CapabilityStatement.r"


def now_us() -> int:
    return time.time_ns() // 1000


def invite(store: Store, name: str, *, organization_id: str | None = None, by: str = "cli") -> str:
    """Register a node name and return its one-time enrolment token."""
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() or c in "/:" for c in name):
        raise errors.InvalidUserSetting("a node name is 1–64 characters without spaces, '/' or ':'")
    invite_client = "invite-" + uuid.uuid4().hex
    now = now_us()
    with store.db.write() as conn:
        if st.node_row(conn, name=name) is not None:
            raise errors.InvalidUserSetting(f"a node named {name!r} already exists")
        oauth_tables.insert_client(conn, {
            "client_id": invite_client, "name": f"enrolment of node {name}", "kind": "system",
            "auth_method": "private_key_jwt", "jwks": '{"keys": []}', "jwks_url": None, "secret_hash": None,
            "redirect_uris": "", "scopes": NODE_SCOPE, "created": now, "disabled_at": None})
        st.insert_node(conn, name=name, invite_client=invite_client, organization_id=organization_id,
                       invited_at=now)
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="permission", agent=by, subtype="sync-invite",
                                           detail=json.dumps({"node": name}))])
    return tokens.issue_token(store, invite_client, NODE_SCOPE, minutes=INVITE_DAYS * 1440)


def pending_invite(store: Store, invite_client: str | None):  # noqa: ANN201
    """The node an unused, unrevoked invite was made for; 403 for anything else."""
    node = None
    if invite_client:
        with store.db.read() as conn:
            node = st.node_row(conn, invite_client=invite_client)
    if node is None or node.enrolled_at is not None or node.revoked_at is not None:
        raise errors.Forbidden("this invite is not valid (unknown, used or revoked)")
    return node


def enroll(store: Store, invite_client: str | None, *, node_id: str, jwks: str,
           source: str | None = None) -> dict:
    """Turn a presented invite into the node's own client; its client id and name."""
    if not node_id or len(node_id) > 64 or ":" in node_id:
        raise errors.Forbidden("enrolment needs a valid invite token and a node id")
    node = pending_invite(store, invite_client)
    try:
        client, _ = oauth_clients.register_client(store, f"sync node {node.name}", oauth_clients.SYSTEM,
                                                  scope=NODE_SCOPE, jwks=jwks)
    except oauth_clients.ClientSetupError as exc:
        raise errors.InvalidUserSetting(str(exc)) from None
    now = now_us()
    with store.db.write() as conn:
        claimed = st.node_row(conn, name=node.name, lock=True)
        if claimed.enrolled_at is not None:
            raise errors.Forbidden("this invite has just been used")
        try:
            st.update_node(conn, node.name, node_id=node_id, client_id=client.client_id, enrolled_at=now)
            # Tokens of the invite client die with it: the invite cannot be presented twice.
            oauth_tables.update_client(conn, invite_client, disabled_at=now)
            oauth_tables.revoke_client_tokens(conn, invite_client, now)
        except Exception:
            raise errors.Conflict(f"node id {node_id!r} is already enrolled under another name") from None
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="permission", agent=node.name,
                                           subtype="sync-enroll", source_address=source,
                                           client_id=client.client_id,
                                           detail=json.dumps({"node": node.name, "node_id": node_id}))])
    return {"client_id": client.client_id, "node": node.name, "hub_node_id": store.node_id}


def revoke(store: Store, name: str, *, by: str = "cli") -> None:
    now = now_us()
    with store.db.read() as conn:
        node = st.node_row(conn, name=name)
    if node is None:
        raise errors.NotFound(f"no node named {name!r}")
    for client_id in (node.client_id, node.invite_client):
        if client_id:
            try:
                oauth_clients.disable_client(store, client_id)
            except LookupError:
                pass
    with store.db.write() as conn:
        st.update_node(conn, name, revoked_at=now)
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="permission", agent=by, subtype="sync-revoke",
                                           detail=json.dumps({"node": name}))])


def allow_authoring(store: Store, name: str, types: list[str], *, by: str = "cli") -> list[str]:
    """Let a node author shared reference data of these types even when it is not its own (a
    central pharmacy keeping Medication, say; "*" for every type); [] takes the permission back, so
    the node may change only what it made and its own facility's (docs/sync.md "What a node may
    write"). The types the node may now author."""
    from benhan.store.access import in_patient_compartment
    wanted = sorted({t.strip() for t in types if t.strip()})
    for t in wanted:
        if t != "*" and (t not in store.resource_types or in_patient_compartment(t)):
            raise errors.InvalidUserSetting(f"{t!r} is not a shared (non-patient) FHIR R4 resource type")
    now = now_us()
    with store.db.write() as conn:
        if st.node_row(conn, name=name) is None:
            raise errors.NotFound(f"no node named {name!r}")
        st.set_node_authoring(conn, name, wanted)
        audit_log.write(conn, [AuditRecord(recorded=now, interaction="permission", agent=by,
                                           subtype="sync-authoring",
                                           detail=json.dumps({"node": name, "may_author": wanted}))])
    return wanted
