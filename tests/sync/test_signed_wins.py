"""Signed documents and sync (issue 13 item 8), the hub on both databases: a signed document (its
DocumentReference with the signed PDF and Bundle, its Provenance) and its amendment reach the hub
byte for byte and verify there; and a signed version is never replaced by a conflicting edit — the
signed side is kept at both ends, the other edit set aside for review, whichever end signed."""
from __future__ import annotations

import re
import uuid

import pytest
from starlette.testclient import TestClient

from benhan import errors
from benhan.auth import policy, users
from benhan.documents import amendment, signing, verify
from benhan.signing import keys
from benhan.store import sync_tables as st
from benhan.store.repository import Repository
from benhan.sync import merge
from benhan.sync.node import RoundResult
from benhan.vn.identifiers import CCCD_SYSTEM
from benhan.web.app import create_app
from tests.signing.conftest import ca, responder, trust  # noqa: F401 - the signing tests' CA and trust list
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.sync.harness import versions

NODE_TEXT = "Sốt cao, ho khan (tuyến xã)"
HUB_TEXT = "Sốt, ho, khó thở (sửa ở tuyến trên)"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _open(store) -> list:  # noqa: ANN001
    with store.db.read() as conn:
        return st.conflicts(conn, "open")


def _key(ca):  # noqa: ANN001, ANN202
    return keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")


def _node_with_visit(make_node):  # noqa: ANN001, ANN202
    """A node where a doctor registered a patient and opened a visit, all pushed to the hub."""
    node = make_node()
    repo, actor, eid = _world(node.store)
    node.round()
    return node, repo, actor, eid


def _edit(repo: Repository, eid: str, **changes) -> int:  # noqa: ANN003
    body = repo.read("Encounter", eid).json()
    body.pop("meta", None)
    body.update(changes)
    return repo.update("Encounter", eid, body).version


def _reason(repo: Repository, eid: str) -> str:
    return (repo.read("Encounter", eid).json().get("reasonCode") or [{}])[0].get("text", "")


def _signed_encounter(document: dict) -> dict:
    return next(e["resource"] for e in signing.bundle_of(document)["entry"]
                if e["resource"]["resourceType"] == "Encounter")


def test_a_signed_document_and_its_amendment_reach_the_hub_and_verify_there(hub, make_node, ca, trust):  # noqa: ANN001, F811
    node, repo, actor, eid = _node_with_visit(make_node)
    key = _key(ca)
    v1 = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)
    v2 = amendment.amend_document(repo, actor, v1.document_reference_id, key, trust, reason="Sửa lời dặn")
    node.round()
    here, there = versions(node.store), versions(hub.store)
    for res_type, res_id in (("DocumentReference", v1.document_reference_id), ("Provenance", v1.provenance_id),
                             ("DocumentReference", v2.document_reference_id), ("Provenance", v2.provenance_id)):
        assert there[(res_type, res_id, 1)] == here[(res_type, res_id, 1)]        # the same bytes
    document = hub.repo.read("DocumentReference", v1.document_reference_id).json()
    assert signing.pdf_of(document) == v1.pdf
    assert all(c.ok for c in verify.verify_pdf(signing.pdf_of(document), trust))
    assert verify.verify_bundle(signing.bundle_of(document), trust).ok
    chain = amendment.chain(hub.repo, v1.document_reference_id, trust)
    assert chain.ok and [v.document_reference_id for v in chain.versions] == [v1.document_reference_id,
                                                                               v2.document_reference_id]
    # Signed at the hub too: nobody there changes it.
    with pytest.raises(errors.SignedDocumentImmutable):
        hub.repo.update("DocumentReference", v1.document_reference_id, {**document, "status": "superseded"})


def test_node_signs_while_the_hub_edited_the_same_element_the_signed_version_wins_at_both_ends(hub, make_node, ca, trust):  # noqa: ANN001, F811
    node, repo, actor, eid = _node_with_visit(make_node)
    _edit(hub.repo, eid, reasonCode=[{"text": HUB_TEXT}])
    _edit(repo, eid, reasonCode=[{"text": NODE_TEXT}])
    done = signing.sign_encounter_document(repo, actor, eid, "discharge", _key(ca), trust)
    result = node.round()
    assert any(c["id"] == eid and c.get("signed") for c in result.conflicts), result.conflicts
    # The signed content is the current version at both ends, under the same number, same bytes.
    assert _reason(hub.repo, eid) == _reason(node.repo, eid) == NODE_TEXT
    signed_copy = _signed_encounter(hub.repo.read("DocumentReference", done.document_reference_id).json())
    assert merge.same(hub.repo.read("Encounter", eid).json(), signed_copy)     # what was signed, stamps aside
    current = hub.repo.read("Encounter", eid).version
    assert versions(hub.store)[("Encounter", eid, current)] == versions(node.store)[("Encounter", eid, current)]
    # The hub's edit is set aside for review there, not lost.
    [row] = [c for c in _open(hub.store) if c.res_id == eid]
    assert HUB_TEXT.encode() in row.their_body and row.kept_version == current
    assert row.origin_node == hub.store.node_id
    # It waits on the hub's review page, where a reviewer can bring it back on top (a new version;
    # the signed one stays in the history).
    users.create_user(hub.store, "bs.soyte", "Bác sĩ Sở Y tế", ["doctor"], password=PASSWORD)
    with TestClient(create_app(hub.store.config, hub.store)) as browser:
        browser.post("/login", data={"username": "bs.soyte", "password": PASSWORD,
                                     "csrf": _csrf(browser.get("/login").text)})
        page = browser.get("/admin/sync")
        assert page.status_code == 200 and f"Encounter/{eid}" in page.text and HUB_TEXT in page.text
        answer = browser.post(f"/admin/sync/conflict/{row.pk}", data={"csrf": _csrf(page.text), "choice": "theirs"},
                              follow_redirects=False)
        assert answer.status_code == 303
    node.round()
    assert _reason(node.repo, eid) == HUB_TEXT and _open(hub.store) == [] and _open(node.store) == []
    assert verify.verify_bundle(signing.bundle_of(node.repo.read("DocumentReference", done.document_reference_id)
                                                  .json()), trust).ok


def _hub_doctor(hub) -> tuple[Repository, object]:  # noqa: ANN001
    """A doctor account at the hub, on the Practitioner the node pushed (same CCCD)."""
    found = hub.repo.search_type("Practitioner", [("identifier", f"{CCCD_SYSTEM}|{DOCTOR_CCCD}")])
    user, _ = users.create_user(hub.store, f"bs{uuid.uuid4().hex[:6]}", "Lê Văn Hùng", ["doctor"],
                                practitioner_id=found.matches[0].res_id, password=PASSWORD)
    actor = policy.actor_for_user(hub.store, user)
    return Repository(hub.store, actor), actor


def test_hub_signs_while_the_node_edited_the_signed_version_wins_and_is_not_merged_into(hub, make_node, ca, trust):  # noqa: ANN001, F811
    node, repo, _, eid = _node_with_visit(make_node)
    hub_repo, hub_actor = _hub_doctor(hub)
    _edit(hub.repo, eid, reasonCode=[{"text": HUB_TEXT}])
    done = signing.sign_encounter_document(hub_repo, hub_actor, eid, "discharge", _key(ca), trust)
    signed_version = hub.repo.read("Encounter", eid).version
    # The node changed another element: without a signature the two edits would merge.
    _edit(repo, eid, priority={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
                                           "code": "EM"}]})
    result = node.round()
    assert [c["id"] for c in result.conflicts].count(eid) == 2           # at the hub, then here
    for end in (hub, node):
        current = end.repo.read("Encounter", eid)
        assert current.version == signed_version and _reason(end.repo, eid) == HUB_TEXT
        assert "priority" not in current.json()
        [row] = [c for c in _open(end.store) if c.res_id == eid]
        assert b'"EM"' in row.their_body and row.kind == "conflict"
    document = node.repo.read("DocumentReference", done.document_reference_id).json()   # pulled, verifies
    assert node.repo.read("Provenance", done.provenance_id).json()["signature"]          # with its Provenance
    assert verify.verify_bundle(signing.bundle_of(document), trust).ok


def test_a_node_keeps_its_signed_version_when_the_hubs_edit_arrives_first(hub, make_node, ca, trust):  # noqa: ANN001, F811
    """The node signed offline and pulls before pushing: the hub's version takes its number, the
    signed content is written again on top (and pushed), the hub's edit is set aside here."""
    node, repo, actor, eid = _node_with_visit(make_node)
    _edit(hub.repo, eid, reasonCode=[{"text": HUB_TEXT}])
    _edit(repo, eid, reasonCode=[{"text": NODE_TEXT}])
    signing.sign_encounter_document(repo, actor, eid, "discharge", _key(ca), trust)
    pulled = RoundResult()
    node.sync().pull_all(pulled)
    assert any(c["id"] == eid and c.get("signed") for c in pulled.conflicts), pulled.conflicts
    assert _reason(node.repo, eid) == NODE_TEXT
    [row] = [c for c in _open(node.store) if c.res_id == eid]
    assert HUB_TEXT.encode() in row.their_body and row.origin_node != node.store.node_id
    node.round()
    assert _reason(hub.repo, eid) == NODE_TEXT
    current = hub.repo.read("Encounter", eid).version
    assert versions(hub.store)[("Encounter", eid, current)] == versions(node.store)[("Encounter", eid, current)]


def test_a_nodes_unpushed_edit_is_not_merged_into_a_signed_version_arriving_from_the_hub(hub, make_node, ca, trust):  # noqa: ANN001, F811
    """The hub signed; the node changed another element and pulls before pushing: without the
    signature the two would merge here and the merge be pushed; signed, the edit waits for review."""
    node, repo, _, eid = _node_with_visit(make_node)
    hub_repo, hub_actor = _hub_doctor(hub)
    _edit(hub.repo, eid, reasonCode=[{"text": HUB_TEXT}])
    signing.sign_encounter_document(hub_repo, hub_actor, eid, "discharge", _key(ca), trust)
    signed_version = hub.repo.read("Encounter", eid).version
    _edit(repo, eid, priority={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority",
                                           "code": "EM"}]})
    pulled = RoundResult()
    node.sync().pull_all(pulled)
    current = node.repo.read("Encounter", eid)
    assert current.version == signed_version and "priority" not in current.json()
    [row] = [c for c in _open(node.store) if c.res_id == eid]
    assert b'"EM"' in row.their_body and row.kind == "conflict"
    node.round()                                   # nothing of the edit reaches the hub unreviewed
    assert "priority" not in hub.repo.read("Encounter", eid).json()
    assert hub.repo.read("Encounter", eid).version == signed_version
