"""Issue 11 item 3: the audit row of a request can never be refused, and a refused row never holds
the others back. On PostgreSQL a NUL in `_elements` used to block every later read event forever."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import text

from benhan import errors
from benhan.audit.verify import verify
from benhan.store import audit_log
from benhan.store.audit_log import AuditRecord, ReadAuditBuffer
from benhan.store.repository import Repository
from tests import factories
from tests.audit.helpers import DOCTOR, chain_length, sql

# Any text: every code point including NUL, C0/C1 controls and lone surrogates, short or huge.
ANY_TEXT = st.one_of(
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=80),
    st.builds(lambda c, n: c * n, st.sampled_from(["\x00", "\ud800", "é", "x", " "]), st.integers(60, 20_000)),
)
TEXT_FIELDS = ("interaction", "agent", "outcome", "source_address", "res_type", "res_id", "query", "subtype",
               "role", "client_id", "purpose", "detail")


def _read_events(store) -> int:  # noqa: ANN001
    return sql(store, "SELECT count(*) FROM audit_event WHERE interaction = 'read'")[0][0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(TEXT_FIELDS + ("patients",)), value=ANY_TEXT,
       version=st.one_of(st.none(), st.integers()))
def test_any_value_in_any_field_is_stored_and_later_reads_are_audited(store, field, value, version):
    before = chain_length(store)
    doc = Repository(store, DOCTOR)
    pid = doc.create("Patient", factories.patient()).res_id
    fields = {"interaction": "search-type", "agent": "x", field: (value, "p1") if field == "patients" else value}
    bad = AuditRecord(recorded=1, version=version, **fields)
    store.read_audit.add(bad)
    doc.read("Patient", pid)                   # a normal read behind the odd one
    store.read_audit.flush()
    assert store.read_audit.health().ok and store.read_audit.health().pending == 0
    assert chain_length(store) == before + 3    # the create, the odd row (as it is), the read
    assert sql(store, "SELECT count(*) FROM audit_event WHERE interaction = 'read' AND res_id = :p", p=pid)[0][0] == 1
    assert sql(store, "SELECT count(*) FROM audit_event WHERE interaction = 'audit-failure'")[0][0] == 0
    assert verify(store).intact


def test_nasty_requests_over_http_do_not_stop_read_auditing(client, store):
    pid = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    for params in ({"_elements": "\x00"}, {"_elements": "id\x01\x7f"}, {"family": "é" * 9000},
                   {"_id": "\x00" * 70}, {"name": "\x1b[31m"}):
        assert client.get("/fhir/Patient", params=params).status_code < 500
    assert client.get("/fhir/Patient/%00x").status_code < 500
    assert client.get(f"/fhir/Patient/{pid}").status_code == 200
    store.read_audit.flush()
    assert sql(store, "SELECT count(*) FROM audit_event WHERE interaction = 'read' AND res_id = :p", p=pid)[0][0] == 1
    assert store.read_audit.health().pending == 0 and verify(store).intact


def _refuse_agent(store, agent: str) -> None:  # noqa: ANN001
    """A real database refusal of one particular row (a trigger / check), as a bad row would get."""
    if store.db.is_sqlite:
        sql(store, f"CREATE TRIGGER refuse_it BEFORE INSERT ON audit_event WHEN NEW.agent = '{agent}' "
                   "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    else:
        sql(store, f"ALTER TABLE audit_event ADD CONSTRAINT refuse_it CHECK (agent <> '{agent}')")


def _allow_again(store) -> None:  # noqa: ANN001
    sql(store, "DROP TRIGGER refuse_it" if store.db.is_sqlite else
        "ALTER TABLE audit_event DROP CONSTRAINT refuse_it")


def test_a_refused_row_is_split_out_and_left_as_an_audit_failure_event(store):
    _refuse_agent(store, "mallory")
    try:
        _split_out(store)
    finally:
        _allow_again(store)


def _split_out(store) -> None:  # noqa: ANN001
    for i in range(9):
        store.read_audit.add(AuditRecord(recorded=10 + i, interaction="read", agent="bob" if i != 4 else "mallory",
                                         res_type="Patient", res_id=f"p{i}", patients=(f"p{i}",)))
    store.read_audit.flush()
    assert store.read_audit.health().pending == 0
    assert _read_events(store) == 8                  # the 8 good ones, not blocked
    (failed,) = sql(store, "SELECT agent, outcome, patients, detail FROM audit_event "
                           "WHERE interaction = 'audit-failure'")
    # The refused row's agent is what was refused, so the minimal event falls back further still.
    assert failed.outcome == "8" and "audit row could not be stored" in failed.detail
    assert verify(store).intact


def test_when_nothing_can_be_written_reads_are_refused_with_503_and_health_says_so(store):
    buffer = ReadAuditBuffer(store.db, flush_seconds=3600, capacity=5)
    sql(store, "ALTER TABLE audit_event RENAME TO audit_event_away")   # every audit row is now refused
    try:
        for i in range(4):
            buffer.add(AuditRecord(recorded=i, interaction="read", agent="bob"))
        with pytest.raises(errors.AuditUnavailable) as refused:
            for i in range(2):
                buffer.add(AuditRecord(recorded=9, interaction="read", agent="bob"))
        assert refused.value.status == 503
        health = buffer.health()
        assert not health.ok and health.pending == 5 and "FAILING" in health.line()
    finally:
        sql(store, "ALTER TABLE audit_event_away RENAME TO audit_event")
    buffer.close()                                   # the trail is back: what waited is written
    assert buffer.health().ok and buffer.health().pending == 0
    assert verify(store).intact


def test_close_writes_what_waits(store):
    buffer = ReadAuditBuffer(store.db, flush_seconds=3600)
    for i in range(7):
        buffer.add(AuditRecord(recorded=i, interaction="read", agent="bob"))
    before = _read_events(store)
    buffer.close()
    assert _read_events(store) == before + 7


def test_recordable_escapes_and_cuts():
    assert audit_log.recordable("a\x00b\ud800", 64) == "a\\u0000b\\ud800"
    cut = audit_log.recordable("x" * 100, 64)
    assert len(cut) == 64 and cut.endswith("…[cut 100]")


def test_health_and_reads_over_http_while_the_trail_cannot_be_written(client, anonymous_client, store):
    pid = client.post("/fhir/Patient", json=factories.patient()).json()["id"]
    assert anonymous_client.get("/health").json()["status"] == "ok"
    store.read_audit.flush()
    store.read_audit._capacity = 3                  # a small buffer, so it fills within the test
    sql(store, "ALTER TABLE audit_event RENAME TO audit_event_away")
    try:
        answers = [client.get(f"/fhir/Patient/{pid}") for _ in range(5)]
        refused = [r for r in answers if r.status_code == 503]
        assert refused and all(r.status_code in (200, 503) for r in answers)
        assert refused[0].json()["issue"][0]["details"]["coding"][0]["code"] == "BENHAN-4006"
        r = anonymous_client.get("/health")
        assert r.status_code == 503 and r.json()["status"] == "failing"
    finally:
        sql(store, "ALTER TABLE audit_event_away RENAME TO audit_event")
    store.read_audit.flush()
    assert anonymous_client.get("/health").status_code == 200
    assert client.get(f"/fhir/Patient/{pid}").status_code == 200
