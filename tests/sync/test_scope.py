"""What a node receives: its own patients, patients referred to it (while their Consent allows),
patients it fetched on demand, shared registries — never another facility's patients otherwise.
Enrolment: an invite works once; a revoked node is refused."""
from __future__ import annotations

import pytest

from benhan.auth.consent import do_not_share
from benhan.auth.purposes import SHARE_PROVIDERS, permit, withdraw
from benhan.store import sync_tables as st
from benhan.sync.transport import SyncFailed
from tests import factories
from tests.sync.harness import HUB_URL


def _ids(store, res_type: str) -> set[str]:  # noqa: ANN001
    from sqlalchemy import select

    from benhan.store.schema import resource
    with store.db.read() as conn:
        return set(conn.execute(select(resource.c.res_id).where(resource.c.res_type == res_type)).scalars())


def _referral(hub, pid: str, org: str) -> None:  # noqa: ANN001
    hub.repo.create("ServiceRequest", {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                                       "subject": {"reference": f"Patient/{pid}"},
                                       "performer": [{"reference": f"Organization/{org}"}]})


def test_a_node_never_receives_another_facility_s_patients(hub, make_node):
    a, b = make_node("tyt-a"), make_node("tyt-b")
    pa = a.repo.create("Patient", factories.patient()).res_id
    a.repo.create("Observation", factories.observation(f"Patient/{pa}"))
    ph = hub.repo.create("Patient", factories.patient()).res_id       # registered at the hub itself
    a.round()
    b.round()
    assert _ids(b.store, "Patient") == set() and _ids(b.store, "Observation") == set()
    assert ph not in _ids(a.store, "Patient")


def test_a_referred_patient_s_record_follows_the_referral(hub, make_node):
    a = make_node("tyt-a")
    org = hub.repo.create("Organization", {"resourceType": "Organization", "name": "TTYT"}).res_id
    b = make_node("ttyt-b", organization_id=org)
    pa = a.repo.create("Patient", factories.patient()).res_id
    obs = a.repo.create("Observation", factories.observation(f"Patient/{pa}")).res_id
    a.round()
    _referral(hub, pa, org)
    b.round()
    assert pa in _ids(b.store, "Patient") and obs in _ids(b.store, "Observation")


def test_a_patient_who_refused_sharing_is_not_sent_on_referral_nor_fetched(hub, make_node):
    a = make_node("tyt-a")
    org = hub.repo.create("Organization", {"resourceType": "Organization", "name": "TTYT"}).res_id
    b = make_node("ttyt-b", organization_id=org)
    pa = a.repo.create("Patient", factories.patient(cccd="038090004321")).res_id
    a.repo.create("Consent", do_not_share(pa, method="written"))
    a.round()
    _referral(hub, pa, org)
    b.round()
    assert pa not in _ids(b.store, "Patient")
    with pytest.raises(SyncFailed, match="403"):
        b.sync().fetch("038090004321", "bs.hoa")
    with hub.store.db.read() as conn:
        from sqlalchemy import select

        from benhan.store.schema import audit_event
        refused = conn.execute(select(audit_event.c.agent, audit_event.c.outcome)
                               .where(audit_event.c.subtype == "sync-fetch")).all()
    assert [(r.agent, r.outcome) for r in refused] == [("ttyt-b/bs.hoa", "4")]


def test_a_patient_fetched_by_cccd_comes_with_their_record_and_later_changes(hub, make_node):
    a, b = make_node("tyt-a"), make_node("tyt-b")
    pa = a.repo.create("Patient", factories.patient(cccd="038090005555")).res_id
    a.repo.create("Observation", factories.observation(f"Patient/{pa}"))
    # Sharing with another provider is opt-in (Luật 91/2025 Đ26): the patient confirmed by OTP.
    a.repo.create("Consent", permit(pa, SHARE_PROVIDERS, method="otp"))
    a.round()
    assert b.sync().fetch("038090005555", "bs.hoa") == [pa]
    assert pa in _ids(b.store, "Patient") and len(_ids(b.store, "Observation")) == 1
    a.repo.create("Observation", factories.observation(f"Patient/{pa}", value=90))
    a.round()
    b.round()
    assert len(_ids(b.store, "Observation")) == 2
    for store, agent in ((hub.store, "tyt-b/bs.hoa"), (b.store, "bs.hoa")):
        with store.db.read() as conn:
            from sqlalchemy import select

            from benhan.store.schema import audit_event
            agents = set(conn.execute(select(audit_event.c.agent).where(audit_event.c.subtype == "sync-fetch")).scalars())
        assert agent in agents


def test_without_an_opt_in_or_after_its_withdrawal_the_record_is_not_fetched(hub, make_node):
    a, b = make_node("tyt-a"), make_node("tyt-b")
    pa = a.repo.create("Patient", factories.patient(cccd="038090006666")).res_id
    a.repo.create("Observation", factories.observation(f"Patient/{pa}"))
    a.round()
    with pytest.raises(SyncFailed, match="chưa có đồng ý bằng văn bản"):
        b.sync().fetch("038090006666", "bs.hoa")
    assert pa not in _ids(b.store, "Patient")
    cid = a.repo.create("Consent", permit(pa, SHARE_PROVIDERS, method="otp")).res_id
    a.round()
    assert b.sync().fetch("038090006666", "bs.hoa") == [pa]
    withdraw(a.repo, cid)
    a.round()
    c = make_node("tyt-c")
    with pytest.raises(SyncFailed, match="đã rút lại đồng ý"):
        c.sync().fetch("038090006666", "bs.lan")
    assert pa not in _ids(c.store, "Patient")


def test_an_invite_enrols_once_and_a_revoked_node_is_refused(hub, make_node):
    from benhan.sync import enrolment
    from benhan.sync.transport import HubClient
    node = make_node("tyt-a")
    token = enrolment.invite(hub.store, "tyt-x")
    client = HubClient(HUB_URL, http=hub.client)
    from benhan.sync.transport import generate_key
    jwk = generate_key(hub.store.config.data_dir / "x.pem")
    client.enroll(token, "node-x", jwk)
    with pytest.raises(SyncFailed):
        client.enroll(token, "node-y", jwk)
    node.repo.create("Patient", factories.patient())
    node.round()
    token = {"Authorization": f"Bearer {node.sync().hub.token()}"}
    assert hub.client.get("/sync/status", headers=token).status_code == 200       # an enrolled node may look
    enrolment.revoke(hub.store, "tyt-a")
    assert hub.client.get("/sync/status", headers=token).status_code in (401, 403)
    node.repo.create("Patient", factories.patient())
    with pytest.raises(SyncFailed):
        node.round()
    with hub.store.db.read() as conn:
        assert st.node_row(conn, name="tyt-a").revoked_at is not None


def test_status_counts_pending_changes_and_conflicts(hub, make_node):
    from benhan.sync import status
    node = make_node()
    node.repo.create("Patient", factories.patient())
    before = status.node_status(node.store)
    assert before["pending"] == 1 and before["enrolled"] and before["last_sync"] is None
    node.round()
    after = status.node_status(node.store)
    assert after["pending"] == 0 and after["last_sync"] and after["bytes_today"] > 0
    [row] = status.hub_dashboard(hub.store)
    assert row["name"] == "tyt-a" and row["last_contact"] and not row["silent"] and row["bytes_today"] > 0
    assert hub.client.get("/sync/status").status_code == 401


def test_an_earlier_version_about_another_patient_is_not_pulled(hub, make_node):
    """A record moved from a patient the node does not hold to one it holds: the pull sends its
    versions about the held patient only (each version judged by whose it was, as history is)."""
    a = make_node("tyt-a")
    pa = a.repo.create("Patient", factories.patient()).res_id
    a.round()
    other = hub.repo.create("Patient", factories.patient(family="Khác")).res_id     # not a's patient
    obs = hub.repo.create("Observation", factories.observation(f"Patient/{other}", value=123)).res_id
    moved = hub.repo.read("Observation", obs).json()
    moved["subject"] = {"reference": f"Patient/{pa}"}
    hub.repo.update("Observation", obs, moved)
    a.round()
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    held = Repository(a.store, Actor.system()).history("Observation", obs).entries
    bodies = [e.json() for e in held if not e.deleted]
    assert bodies and all(b["subject"]["reference"] == f"Patient/{pa}" for b in bodies)
    assert other not in _ids(a.store, "Patient")
