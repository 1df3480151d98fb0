"""Issue 11 item 7: no edit is lost through the conflict queue. Two facilities that change
different elements of one patient offline are merged at once (three-way, against the version both
edited from, recorded by a Provenance, a "merged" row and an audit event); only the same element
changed differently is set aside, each pushed version in a row of its own, never replaced; a
resolution at the hub closes the node's row; each merge and conflict is audited per resource.
Every test runs with the hub on SQLite and on PostgreSQL (the `hub` fixture)."""
from __future__ import annotations

import json

from sqlalchemy import select

from benhan.store import sync_tables as st
from benhan.store.schema import audit_event
from benhan.sync import review
from benhan.auth.purposes import SHARE_PROVIDERS, permit
from tests import factories

OLD_PHONE = [{"system": "phone", "value": "0912000111"}]
OLD_ADDRESS = [{"line": ["12 Lê Lợi"], "city": "Huế"}]


def _open(store) -> list:  # noqa: ANN001
    with store.db.read() as conn:
        return st.conflicts(conn, "open")


def _rows(store, pid: str) -> list:  # noqa: ANN001
    with store.db.read() as conn:
        return [r for r in st.conflicts(conn, None) if r.res_id == pid]


def _events(store, subtype: str) -> list:  # noqa: ANN001
    """This end's own events of a subtype (not the node events a hub copies into its trail)."""
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event).where(audit_event.c.subtype == subtype)
                            .order_by(audit_event.c.seq)).all()
    return [r for r in rows if "node_seq" not in json.loads(r.detail or "{}")]


def _two_facilities(hub, make_node):  # noqa: ANN001, ANN202
    """Facility A registers a patient; facility B receives her by referral; both hold version 1."""
    a = make_node("tyt-a")
    b_org = hub.repo.create("Organization", {"resourceType": "Organization", "name": "TTYT huyện"}).res_id
    b = make_node("ttyt-b", organization_id=b_org)
    pid = a.repo.create("Patient", factories.patient(telecom=OLD_PHONE, address=OLD_ADDRESS)).res_id
    a.round()
    hub.repo.create("ServiceRequest", {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                                       "subject": {"reference": f"Patient/{pid}"},
                                       "performer": [{"reference": f"Organization/{b_org}"}]})
    b.round()
    assert b.repo.read("Patient", pid).version == 1
    return a, b, pid


def _edit(node, pid: str, **changes) -> None:  # noqa: ANN001
    body = node.repo.read("Patient", pid).json()
    body.update(changes)
    node.repo.update("Patient", pid, body)


def test_edits_of_different_fields_at_two_facilities_are_merged_and_reach_both(hub, make_node):
    a, b, pid = _two_facilities(hub, make_node)
    new_address = [{"line": ["5 Trần Hưng Đạo"], "city": "Huế"}]
    new_phone = [{"system": "phone", "value": "0988777666"}]
    _edit(a, pid, address=new_address)
    _edit(b, pid, telecom=new_phone)
    a.round()
    result = b.round()
    assert result.conflicts == []
    for end in (hub, b):
        body = end.repo.read("Patient", pid).json()
        assert (body["address"], body["telecom"]) == (new_address, new_phone)
    a.round()
    merged = a.repo.read("Patient", pid)
    assert (merged.json()["address"], merged.json()["telecom"]) == (new_address, new_phone)
    assert merged.version == hub.repo.read("Patient", pid).version == b.repo.read("Patient", pid).version == 3
    # Nothing waits for review anywhere; B's version is kept at the hub as the merged row.
    for end in (a, b, hub):
        assert _open(end.store) == []
    [row] = [r for r in _rows(hub.store, pid) if r.kind == "merged"]
    assert (row.status, row.resolved_version, row.their_versions) == ("merged", 3, "2")
    assert json.loads(row.their_body)["telecom"] == new_phone
    # Recorded as such: a Provenance of version 3 naming both versions, and an audit event.
    found = hub.repo.search_type("Provenance", [("target", f"Patient/{pid}/_history/3")]).matches
    [prov] = [m.json() for m in found]
    assert {e["role"] for e in prov["entity"]} == {"source", "derivation"}
    assert f"Patient/{pid}/_history/2" in [e["what"].get("reference") for e in prov["entity"]]
    [event] = [e for e in _events(hub.store, "sync-merge") if e.res_id == pid]
    assert event.version == 3 and event.outcome == "0" and event.agent.startswith("ttyt-b/")
    assert json.loads(event.detail)["theirs"] == ["telecom"]


def test_a_second_edit_while_a_conflict_is_open_never_erases_the_first(hub, make_node):
    """The reported loss: B's first edit is set aside, B edits again while it waits, the hub used
    to replace the set-aside copy with the second edit; resolving "theirs" lost B's first change."""
    a, b, pid = _two_facilities(hub, make_node)
    a_phone = [{"system": "phone", "value": "0911111111"}]
    b_phone = [{"system": "phone", "value": "0922222222"}]
    b_address = [{"line": ["7 Nguyễn Huệ"], "city": "Huế"}]
    _edit(a, pid, telecom=a_phone)
    _edit(b, pid, telecom=b_phone, address=b_address)      # the phone: a true conflict
    a.round()
    assert b.round().conflicts
    assert b.repo.read("Patient", pid).json()["telecom"] == a_phone     # A's came first
    _edit(b, pid, birthDate="1985-03-16")                  # while the conflict is open
    b.round()
    rows = [r for r in _open(hub.store) if r.res_id == pid]
    assert len(rows) == 2                                  # each pushed version in its own row
    assert [json.loads(r.their_body)["telecom"] for r in sorted(rows, key=lambda r: r.pk)] == [b_phone, a_phone]
    assert all(r.base_body is not None for r in rows)
    with hub.store.db.read() as conn:
        assert st.count_conflicts(conn) == 1                   # one patient waits, with two versions
    events = [e for e in _events(hub.store, "sync-conflict") if e.res_id == pid]
    assert len(events) == 2 and {e.outcome for e in events} == {"4"} and events[0].patients == pid
    review.resolve_conflict(hub.store, rows[0].pk, "theirs", by="so-y-te")
    body = hub.repo.read("Patient", pid).json()
    assert (body["telecom"], body["address"], body["birthDate"]) == (b_phone, b_address, "1985-03-16")
    assert [r for r in _open(hub.store) if r.res_id == pid] == []
    # The resolution reaches both nodes and closes B's row there.
    b.round()
    a.round()
    assert _open(b.store) == [] and _open(a.store) == []
    for node in (a, b):
        got = node.repo.read("Patient", pid).json()
        assert (got["telecom"], got["address"], got["birthDate"]) == (b_phone, b_address, "1985-03-16")


def test_keeping_the_hub_version_closes_the_node_row_even_when_it_holds_that_content(hub, make_node):
    """The node's row stayed open when the hub's resolution matched what the node already held."""
    a, b, pid = _two_facilities(hub, make_node)
    _edit(a, pid, gender="female")
    _edit(b, pid, gender="other")
    a.round()
    b.round()
    _edit(b, pid, gender="other")                           # B insists: the same content, version 3
    b.round()
    rows = sorted((r for r in _open(hub.store) if r.res_id == pid), key=lambda r: r.pk)
    review.resolve_conflict(hub.store, rows[-1].pk, "theirs", by="so-y-te")
    b.round()
    assert _open(b.store) == [] and _open(hub.store) == []
    assert b.repo.read("Patient", pid).json()["gender"] == hub.repo.read("Patient", pid).json()["gender"] == "other"


def test_edits_made_offline_twice_before_the_first_sync_merge_from_the_node_own_base(hub, make_node):
    """B edits twice (versions 2 and 3) and pushes both in one round after A's change reached the
    hub: version 3's base is B's own version 2, which the hub never held — the merge uses it."""
    a, b, pid = _two_facilities(hub, make_node)
    _edit(a, pid, address=[{"line": ["1 Hùng Vương"], "city": "Huế"}])
    a.round()
    _edit(b, pid, telecom=[{"system": "phone", "value": "0933333333"}])
    _edit(b, pid, birthDate="1985-04-01")
    assert b.round().conflicts == []
    body = hub.repo.read("Patient", pid).json()
    assert body["address"][0]["line"] == ["1 Hùng Vương"]
    assert body["telecom"][0]["value"] == "0933333333" and body["birthDate"] == "1985-04-01"
    a.round()
    assert a.repo.read("Patient", pid).json() == b.repo.read("Patient", pid).json() == \
        hub.repo.read("Patient", pid).json()
    assert _open(a.store) == _open(b.store) == _open(hub.store) == []


def test_an_edit_never_pushed_merges_at_the_node_and_goes_up_as_an_ordinary_edit(hub, make_node):
    """A fetch brings the hub's newer version before B pushed its own edit: B merges locally."""
    a, b, pid = _two_facilities(hub, make_node)
    cccd = a.repo.read("Patient", pid).json()["identifier"][0]["value"]
    _edit(a, pid, address=[{"line": ["9 Bà Triệu"], "city": "Huế"}])
    a.repo.create("Consent", permit(pid, SHARE_PROVIDERS, method="otp"))   # a fetch needs the opt-in
    a.round()
    _edit(b, pid, telecom=[{"system": "phone", "value": "0944444444"}])
    b.sync().fetch(cccd, "bs.lan")
    local = b.repo.read("Patient", pid).json()
    assert local["address"][0]["line"] == ["9 Bà Triệu"] and local["telecom"][0]["value"] == "0944444444"
    assert _open(b.store) == []
    b.round()
    body = hub.repo.read("Patient", pid).json()
    assert body["address"][0]["line"] == ["9 Bà Triệu"] and body["telecom"][0]["value"] == "0944444444"
    assert _open(hub.store) == []


def test_merging_one_facility_edit_leaves_another_facility_open_conflict_open(hub, make_node):
    """A's edit waits for review (the hub changed the same element); B's edit of another element
    is merged. The merge reaches A without closing A's row, which still waits at both ends."""
    a, b, pid = _two_facilities(hub, make_node)
    body = hub.repo.read("Patient", pid).json()
    hub.repo.update("Patient", pid, {**body, "gender": "female"})
    _edit(a, pid, gender="other")
    assert a.round().conflicts
    _edit(b, pid, telecom=[{"system": "phone", "value": "0955555555"}])
    assert b.round().conflicts == []
    a.round()
    assert a.repo.read("Patient", pid).json()["telecom"][0]["value"] == "0955555555"
    [mine] = _open(a.store)
    assert json.loads(mine.their_body)["gender"] == "other"
    assert [r.origin_node for r in _open(hub.store)] == [a.store.node_id]
