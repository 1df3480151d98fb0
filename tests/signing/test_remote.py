"""Remote signing (the key in the service's HSM, approval on the phone) against a stand-in service, on
both databases: the certificate is checked before any request is sent; the pending signature is kept
in the database and survives a restart (the test drops every in-memory object between start and
finish); approved → the PDF verifies long-term and the Bundle's JWS verifies, Provenance stored;
refused or expired at the phone → BENHAN-7010 and nothing stored; a service that returns a signature
by another key is caught. No real sleeps: polling gets a fake clock and sleep."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings, strategies as st

from benhan import errors
from benhan.documents import remote_signing, signing, verify
from benhan.signing import certcheck, remote
from benhan.store.repository import Repository
from tests.signing.remote_standin import RemoteSigningStandIn
from tests.signing.test_documents import DOCTOR_CCCD, _world


@pytest.fixture
def service() -> RemoteSigningStandIn:
    with RemoteSigningStandIn() as s:
        yield s


def _client(stand_in: RemoteSigningStandIn) -> remote.RemoteSigningService:
    return remote.RemoteSigningService(stand_in.url, stand_in.key)


class FakeTime:
    """A clock and a sleep for polling (no real waiting); `on_sleep(n)` plays the phone after the n-th wait."""

    def __init__(self, on_sleep=None):  # noqa: ANN001
        self.now, self.sleeps, self.on_sleep = 0.0, 0, on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        if self.on_sleep:
            self.on_sleep(self.sleeps)


def test_remote_signature_survives_a_restart_and_verifies(store, ca, trust, service, responder):  # noqa: ANN001
    repo, actor, eid = _world(store)
    user_id = f"smartca-{uuid.uuid4().hex[:6]}"
    service.users[user_id] = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    with _client(service) as client:
        pending = remote_signing.start_remote(repo, actor, eid, "discharge", client, user_id, trust)
    # One request with two digests (the PDF's signed attributes, the Bundle's JWS input), one approval.
    [(tid, transaction)] = service.transactions.items()
    assert tid == pending.transaction_id and len(transaction["digests"]) == 2
    assert transaction["description"].startswith("GIẤY RA VIỆN") or "ra viện" in transaction["description"].lower()
    assert signing.signed_documents(repo, eid) == []          # nothing signed until the phone says so

    # A restart: nothing of the above survives but the database and the ids.
    store_kept, user_pk = repo.store, actor.user_pk
    del repo, actor, pending, client
    from benhan.auth import policy, users
    actor = policy.actor_for_user(store_kept, users.get_user(store_kept, user_pk))
    repo = Repository(store_kept, actor)

    time = FakeTime(on_sleep=lambda n: service.settle(tid, "approved") if n == 3 else None)
    with _client(service) as client:
        done = remote_signing.finish_remote(repo, client, tid, interval=2.0, timeout=600.0, sleep=time.sleep,
                                            clock=time.clock)
    assert time.sleeps == 3 and done.check.status == certcheck.GOOD
    [document] = signing.signed_documents(repo, eid)
    assert signing.pdf_of(document) == done.pdf
    responder.answering = False                               # judged with only what was kept
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok and check.long_term and check.holder_uid == f"CCCD:{DOCTOR_CCCD}"
    bundle = signing.bundle_of(document)
    assert verify.verify_bundle(bundle, trust).ok
    provenance = repo.read("Provenance", done.provenance_id).json()
    assert provenance["signature"][0]["sigFormat"] == "application/jose"
    fields = {e["url"]: e for e in provenance["extension"][0]["extension"]}
    assert fields["status"]["valueCode"] == "good"
    assert base64.b64decode(fields["certificate"]["valueBase64Binary"]) == \
        service.users[user_id].cert.public_bytes(serialization.Encoding.DER)
    # Finished once: a second finish is refused, nothing is stored twice.
    with _client(service) as client, pytest.raises(errors.RemoteSignatureRefused):
        remote_signing.finish_remote(repo, client, tid, sleep=time.sleep, clock=time.clock)
    assert len(signing.signed_documents(repo, eid)) == 1


@pytest.mark.parametrize("answer", ["refused", "expired"])
def test_refused_or_expired_at_the_phone_signs_nothing(store, ca, trust, service, answer):  # noqa: ANN001
    repo, actor, eid = _world(store)
    user_id = f"mysign-{uuid.uuid4().hex[:6]}"
    service.users[user_id] = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    time = FakeTime()
    with _client(service) as client:
        pending = remote_signing.start_remote(repo, actor, eid, "prescription", client, user_id, trust)
        # Not yet answered: benhan's own wait runs out, the pending signature is kept.
        with pytest.raises(errors.RemoteSignatureRefused, match="within the waiting time") as waited:
            remote_signing.finish_remote(repo, client, pending.transaction_id, interval=5, timeout=20,
                                         sleep=time.sleep, clock=time.clock)
        assert waited.value.code == "BENHAN-7010" and time.sleeps == 4
        service.settle(pending.transaction_id, answer)
        with pytest.raises(errors.RemoteSignatureRefused, match="refused on the phone" if answer == "refused"
                           else "expired") as refused:
            remote_signing.finish_remote(repo, client, pending.transaction_id, sleep=time.sleep, clock=time.clock)
        assert "không được ký" in str(refused.value)
        # Closed: it cannot be finished afterwards either.
        with pytest.raises(errors.RemoteSignatureRefused, match="no remote signature is waiting"):
            remote_signing.finish_remote(repo, client, pending.transaction_id, sleep=time.sleep, clock=time.clock)
    assert signing.signed_documents(repo, eid) == []


def test_a_revoked_certificate_is_refused_before_any_request(store, ca, trust, service):  # noqa: ANN001
    repo, actor, eid = _world(store)
    revoked = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    ca.revoke(revoked.cert)
    service.users["revoked"] = revoked
    service.users["someone-else"] = ca.issue("Người khác", uid="CCCD:001099000001")
    with _client(service) as client:
        with pytest.raises(errors.CertificateRefused, match="thu hồi"):
            remote_signing.start_remote(repo, actor, eid, "discharge", client, "revoked", trust)
        with pytest.raises(errors.CertificateRefused, match="someone else"):
            remote_signing.start_remote(repo, actor, eid, "discharge", client, "someone-else", trust)
        with pytest.raises(errors.RemoteSigningUnavailable, match="does not know the user"):
            remote_signing.start_remote(repo, actor, eid, "discharge", client, "nobody", trust)
    assert service.transactions == {} and not any(c.startswith("POST") for c in service.calls)
    assert signing.signed_documents(repo, eid) == []


def test_a_signature_by_another_key_is_not_embedded(store, ca, trust, service):  # noqa: ANN001
    """A service (or adapter) that signs with a key other than the certificate checked is caught."""
    repo, actor, eid = _world(store)
    service.users["bs"] = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    with _client(service) as client:
        pending = remote_signing.start_remote(repo, actor, eid, "discharge", client, "bs", trust)
        service.users["bs"] = type(service.users["bs"])(ca.issue("x").key, service.users["bs"].cert,
                                                         service.users["bs"].chain)
        service.settle(pending.transaction_id, "approved")
        with pytest.raises(errors.RemoteSigningUnavailable, match="does not match"):
            remote_signing.finish_remote(repo, client, pending.transaction_id)
    assert signing.signed_documents(repo, eid) == []


# --- the client against the contract, without a database ---------------------------------------

def test_the_client_reports_an_unreachable_or_unconfigured_service():
    with pytest.raises(errors.RemoteSigningUnavailable, match="remote_signing_url"):
        remote.RemoteSigningService("", "k")
    transport = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ConnectError("down")))
    with remote.RemoteSigningService("http://service.invalid", "k", transport=transport) as client, \
            pytest.raises(errors.RemoteSigningUnavailable, match="could not be reached"):
        client.certificates("u")


def test_a_wrong_key_is_reported(service):  # noqa: ANN001
    with remote.RemoteSigningService(service.url, "wrong") as client, \
            pytest.raises(errors.RemoteSigningUnavailable, match="remote_signing_key"):
        client.certificates("u")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(digests=st.lists(st.binary(min_size=0, max_size=64), min_size=0, max_size=12))
def test_only_lists_of_sha256_digests_are_sent(service, ca, digests):  # noqa: ANN001
    """Any list of byte strings: 1–10 values of exactly 32 bytes are accepted by client and stand-in
    alike; anything else is refused by the client before it reaches the service."""
    service.users.setdefault("u", ca.issue("U", uid="CCCD:001090000009"))
    sent_before = len(service.requests)
    with _client(service) as client:
        if 1 <= len(digests) <= 10 and all(len(d) == 32 for d in digests):
            tid = client.submit("u", digests, "mô tả")
            assert service.transactions[tid]["digests"] == digests
        else:
            with pytest.raises(errors.InvalidOperationParameter):
                client.submit("u", digests, "mô tả")
            assert len(service.requests) == sent_before


def test_the_stand_in_checks_like_a_real_service(service, ca):  # noqa: ANN001
    service.users["u"] = ca.issue("U", uid="CCCD:001090000009")
    headers = {"Authorization": f"Bearer {service.key}"}
    good = {"request_id": "r1", "user_id": "u", "description": "d", "hash_algorithm": "SHA-256",
            "digests": [base64.b64encode(hashlib.sha256(b"x").digest()).decode()]}
    with httpx.Client(headers=headers) as http:
        assert http.post(f"{service.url}/sign", json={**good, "digests": ["AAAA"]}).status_code == 400
        assert http.post(f"{service.url}/sign", json={**good, "user_id": "nobody"}).status_code == 404
        assert http.post(f"{service.url}/sign", json=good).status_code == 200
        assert http.post(f"{service.url}/sign", json=good).status_code == 409     # one transaction per request id
        assert http.get(f"{service.url}/transactions/nope").status_code == 404


def test_the_waiting_time_is_benhans_own_and_needs_no_real_sleep(service, ca):  # noqa: ANN001
    service.users["u"] = ca.issue("U", uid="CCCD:001090000009")
    time = FakeTime()
    with _client(service) as client:
        tid = client.submit("u", [hashlib.sha256(b"a").digest()], "d")
        answer = client.wait(tid, 1, interval=1.5, timeout=6, sleep=time.sleep, clock=time.clock)
    assert answer.status == remote.PENDING and time.sleeps == 4 and time.now == pytest.approx(6.0)


def test_a_stored_draft_round_trips(ca):  # noqa: ANN001
    check = certcheck.CertCheck("good", dt.datetime(2026, 11, 26, 3, tzinfo=dt.timezone.utc), [b"o"], [b"c"], "d")
    draft = signing.Draft("discharge", "author", dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone(dt.timedelta(hours=7))),
                          "GIẤY RA VIỆN", "BV", "p", "e", "Lê Văn Hùng",
                          {"resourceType": "Bundle", "entry": [{"resource": {"valueDecimal": 1.50}}]}, b"%PDF", check,
                          False)
    again = signing.Draft.from_json(draft.to_json())
    assert again.to_json() == draft.to_json() and again.check.ocsp == [b"o"] and again.when == draft.when


def test_sign_remote_from_the_command_line(tmp_path, ca, service):  # noqa: ANN001
    """`benhan sign --remote USER` says to approve on the phone, waits, and stores the signed document;
    a refusal at the phone is one line with BENHAN-7010 and exit 1."""
    import os
    import subprocess
    import threading

    from benhan import config
    from benhan.store.store import Store
    from tests.server_process import benhan_command

    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        _, actor, eid = _world(store)
    finally:
        store.close()
    (data / "trust").mkdir()
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    service.users["bs-hung"] = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")},
           "BENHAN_REMOTE_SIGNING_URL": service.url, "BENHAN_REMOTE_SIGNING_KEY": service.key}

    def phone(answer: str, stop: threading.Event) -> None:
        """The signer's phone: answers the first request that arrives."""
        while not stop.wait(0.05):
            for tid, transaction in list(service.transactions.items()):
                if transaction["status"] == "pending":
                    service.settle(tid, answer)
                    return

    for answer, code in (("approved", 0), ("refused", 1)):
        stop = threading.Event()
        thread = threading.Thread(target=phone, args=(answer, stop), daemon=True)
        thread.start()
        try:
            done = subprocess.run(benhan_command("sign", eid, "--form", "prescription", "--user", actor.name,
                                                 "--remote", "bs-hung", "--data-dir", str(data)),
                                  capture_output=True, text=True, timeout=180, env=env)
        finally:
            stop.set()
            thread.join(timeout=5)
        assert done.returncode == code, done.stdout + done.stderr
        assert "approve the signing request on your phone" in done.stdout
        if code == 0:
            assert "signed: DocumentReference/" in done.stdout and "PAdES-B-LT" in done.stdout
        else:
            assert done.stderr.startswith("benhan: BENHAN-7010: ") and len(done.stderr.strip().splitlines()) == 1


_decimals = st.from_regex(r"-?(0|[1-9][0-9]{0,6})\.[0-9]{1,6}", fullmatch=True)
_values = st.recursive(
    st.one_of(st.text(max_size=12), st.integers(-2**53, 2**53), st.booleans(), _decimals.map(lambda d: ("#d", d))),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)),
    max_leaves=12)


def _with_decimals(value):  # noqa: ANN001, ANN202
    """Decimals written as text in JSON (0.40 stays 0.40), the way a FHIR body carries them."""
    if isinstance(value, tuple):
        return f"__D{value[1]}__"
    if isinstance(value, list):
        return [_with_decimals(v) for v in value]
    if isinstance(value, dict):
        return {k: _with_decimals(v) for k, v in value.items()}
    return value


@settings(max_examples=60, deadline=None)
@given(content=st.dictionaries(st.text(min_size=1, max_size=8), _values, max_size=5))
def test_any_bundle_waits_for_its_remote_signature_byte_exact(content):  # noqa: ANN001
    """The Bundle kept while the signer approves gives the same signed bytes afterwards, whatever it holds
    (decimals as written, Vietnamese text, nesting): otherwise the JWS signed on the phone would not verify."""
    import json
    import re

    from benhan.documents.composition import canonical
    from benhan.fhir import resource_json
    text = json.dumps({"resourceType": "Bundle", "type": "document", "entry": [{"resource": _with_decimals(content)}]},
                      ensure_ascii=False)
    text = re.sub(r'"__D(-?[0-9.]+)__"', r"\1", text)
    bundle = resource_json.loads(text.encode())
    check = certcheck.CertCheck("good", dt.datetime(2026, 11, 26, 3, tzinfo=dt.timezone.utc))
    draft = signing.Draft("discharge", "author", dt.datetime(2026, 11, 26, 10, tzinfo=dt.timezone.utc), "t", "f",
                          "p", "e", "Lê Văn Hùng", bundle, b"", check, False)
    kept = signing.Draft.from_json(json.loads(json.dumps(draft.to_json())))
    assert canonical(kept.bundle) == canonical(bundle)
