"""The later certificate check of a signature made offline (signing_offline = sign-and-recheck), on both
databases: the responder is down, the document is signed and recorded as unchecked; the responder
comes back, the check runs, finds the certificate good at the signing time and stores the answer in a
new Provenance (the signed version is untouched), and the verification shows it. A certificate
revoked before the signing time is flagged; one revoked after it leaves the signature standing.
The server's periodic runner does the same on its own schedule."""
from __future__ import annotations

import base64
import datetime as dt

from benhan.documents import recheck, signing
from benhan.signing import certcheck, keys
from tests.signing.test_documents import DOCTOR_CCCD, _world


def _sign_offline(store, ca, trust, responder, *, not_before: dt.datetime | None = None,  # noqa: ANN001, ANN202
                  world=None, form: str = "discharge"):  # noqa: ANN001
    repo, actor, eid = world or _world(store)
    issued = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}", not_before=not_before)
    key = keys.from_pkcs12(issued.pkcs12("p"), "p")
    responder.answering = False
    done = signing.sign_encounter_document(repo, actor, eid, form, key, trust, offline_policy="sign-and-recheck")
    return repo, issued, done


def test_offline_signature_is_rechecked_when_the_responder_answers_again(store, ca, trust, responder):  # noqa: ANN001
    repo, _, done = _sign_offline(store, ca, trust, responder)
    assert done.pending_recheck and done.check.status == certcheck.OFFLINE
    document_before = repo.read("DocumentReference", done.document_reference_id)
    assert [p["id"] for p in recheck.pending(repo)] == [done.provenance_id]

    # Still no answer: nothing is written, the signature stays pending and says so.
    [still] = recheck.recheck_all(repo, trust)
    assert still.outcome == recheck.PENDING and not still.ok and still.recheck_id == ""
    assert recheck.state_of(repo, done.document_reference_id).outcome == recheck.PENDING
    assert "chưa kiểm tra được trạng thái chứng thư" in still.line()

    responder.answering = True
    [outcome] = recheck.recheck_all(repo, trust)
    assert outcome.outcome == recheck.GOOD and outcome.ok and outcome.document_reference_id == done.document_reference_id
    # The answer is stored in a new Provenance pointing at the signature's own; nothing signed changed.
    stored = repo.read("Provenance", outcome.recheck_id).json()
    assert {"reference": f"Provenance/{done.provenance_id}"} in stored["target"]
    check = {e["url"]: e for e in stored["extension"][0]["extension"]}
    assert check["status"]["valueCode"] == certcheck.GOOD and check["recheck"]["valueBoolean"] is False
    ocsp = [e for e in stored["extension"][0]["extension"] if e["url"] == "ocsp"]
    assert ocsp and base64.b64decode(ocsp[0]["valueBase64Binary"])[:1] == b"\x30"    # a DER OCSP answer
    after = repo.read("DocumentReference", done.document_reference_id)
    assert after.version == document_before.version and after.json() == document_before.json()
    original = repo.read("Provenance", done.provenance_id)
    assert original.version == 1
    # Shown by the verification, and no longer pending.
    state = recheck.state_of(repo, done.document_reference_id)
    assert state.outcome == recheck.GOOD and state.recheck_id == outcome.recheck_id
    assert recheck.pending(repo) == [] and recheck.recheck_all(repo, trust) == []


def test_a_certificate_revoked_before_the_signing_time_is_flagged(store, ca, trust, responder):  # noqa: ANN001
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    repo, issued, done = _sign_offline(store, ca, trust, responder, not_before=past)
    signed_at = dt.datetime.fromisoformat(repo.read("Provenance", done.provenance_id).json()["recorded"])
    ca.revoke(issued.cert, signed_at - dt.timedelta(hours=2))        # it was already revoked when signed
    responder.answering = True
    [outcome] = recheck.recheck_all(repo, trust)
    assert outcome.outcome == recheck.REVOKED_BEFORE and not outcome.ok
    assert "TRƯỚC thời điểm ký" in outcome.line() and outcome.revoked_at
    state = recheck.state_of(repo, done.document_reference_id)
    assert state.outcome == recheck.REVOKED_BEFORE and state.revoked_at == outcome.revoked_at


def test_a_certificate_revoked_after_the_signing_time_leaves_the_signature_standing(store, ca, trust,  # noqa: ANN001
                                                                                    responder):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    repo, issued, done = _sign_offline(store, ca, trust, responder, not_before=past)
    ca.revoke(issued.cert, dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5))   # later than the signing
    responder.answering = True
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)
    [outcome] = recheck.recheck_all(repo, trust, now=later)
    assert outcome.outcome == recheck.REVOKED_AFTER and outcome.ok and outcome.revoked_at


def test_the_servers_runner_rechecks_on_its_schedule(store, ca, trust, responder):  # noqa: ANN001
    repo, _, done = _sign_offline(store, ca, trust, responder)
    responder.answering = True
    waits: list[float] = []
    runner = recheck.RecheckRunner(store, lambda: trust, interval=900.0, wait=waits.append,
                                   now=lambda: dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    [outcome] = runner.run_round()
    assert outcome.outcome == recheck.GOOD
    assert repo.read("Provenance", outcome.recheck_id).json()["recorded"].startswith("2030-01-01T07:00:00")
    assert runner.run_round() == []          # nothing pending: the round is one search, nothing written
    # The loop waits one interval before each round and stops when asked.
    runner._wait = lambda seconds: (waits.append(seconds), runner._stop.set())   # noqa: SLF001
    runner.run()
    assert waits == [900.0] and runner.rounds == 2


def test_benhan_sign_recheck_names_each_document_and_fails_on_a_revoked_certificate(tmp_path, ca, responder):  # noqa: ANN001
    from benhan import config
    from benhan.signing.trust import TrustList, certificates_in
    from benhan.store.store import Store
    from tests.signing.test_cli import _run
    data = tmp_path / "data"
    (data / "trust").mkdir(parents=True)
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    trust = TrustList()
    for cert in certificates_in(ca.trust_pem()):
        trust.add(cert)
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
        world = _world(store)
        repo, issued, revoked_doc = _sign_offline(store, ca, trust, responder, not_before=past, world=world)
        _, _, good_doc = _sign_offline(store, ca, trust, responder, world=world, form="prescription")
        signed_at = dt.datetime.fromisoformat(repo.read("Provenance", revoked_doc.provenance_id).json()["recorded"])
    finally:
        store.close()
    ca.revoke(issued.cert, signed_at - dt.timedelta(hours=1))

    waiting = _run("sign", "recheck", "--data-dir", str(data))             # the responder is still down
    assert waiting.returncode == 1, waiting.stderr
    assert len(waiting.stdout.strip().splitlines()) == 2 and "chưa kiểm tra được" in waiting.stdout

    responder.answering = True
    checked = _run("sign", "recheck", "--data-dir", str(data))
    assert checked.returncode == 1, checked.stderr
    lines = checked.stdout.strip().splitlines()
    assert len(lines) == 2
    [bad] = [line for line in lines if revoked_doc.document_reference_id in line]
    [fine] = [line for line in lines if good_doc.document_reference_id in line]
    assert "CẢNH BÁO" in bad and "TRƯỚC thời điểm ký" in bad and "thu hồi lúc" in bad
    assert "hợp lệ tại thời điểm ký" in fine

    again = _run("sign", "recheck", "--data-dir", str(data))                # both stored: nothing pending
    assert again.returncode == 0 and "không có chữ ký nào chờ kiểm tra lại" in again.stdout


def test_the_server_starts_and_stops_its_runner(store):  # noqa: ANN001
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    with TestClient(create_app(store.config, store)) as client:
        runner = client.app.state.recheck_runner
        assert isinstance(runner, recheck.RecheckRunner)
        assert runner.interval == store.config.signing_recheck_minutes * 60 and runner._thread.is_alive()  # noqa: SLF001
        assert runner.rounds == 0                      # the first round waits one interval
    assert not runner._thread.is_alive()               # noqa: SLF001


def test_a_pending_record_benhan_cannot_read_stays_pending_and_is_named(store, trust):  # noqa: ANN001
    import uuid

    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    repo = Repository(store, Actor.system())
    pid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "Provenance", pid, {
        "resourceType": "Provenance", "meta": {"tag": [signing.RECHECK_PENDING_TAG]},
        "target": [{"reference": "DocumentReference/khong-co"}], "recorded": "2026-12-06T08:00:00+07:00",
        "agent": [{"who": {"display": "?"}}]}, create_only=True)], "create")
    outcomes = recheck.recheck_all(repo, trust)
    [bad] = [o for o in outcomes if o.provenance_id == pid]
    assert bad.outcome == recheck.PENDING and not bad.ok and "KeyError" in bad.line()
    assert pid in [p["id"] for p in recheck.pending(repo)]        # still waiting, nothing written


def test_two_workers_checking_the_same_signature_store_one_result(store, ca, trust, responder):  # noqa: ANN001
    """A hub runs several server workers, each with its runner (and an operator may run `benhan sign
    recheck` beside them): both see the signature pending, both check, one result is kept."""
    repo, _, done = _sign_offline(store, ca, trust, responder)
    [waiting] = recheck.pending(repo)
    responder.answering = True
    first = recheck.recheck_one(repo, waiting, trust)
    second = recheck.recheck_one(repo, waiting, trust)        # the other worker, from the same pending list
    assert first.outcome == second.outcome == recheck.GOOD and first.recheck_id == second.recheck_id
    results = repo.search_type("Provenance", [("target", f"Provenance/{done.provenance_id}")]).matches
    assert [m.res_id for m in results] == [first.recheck_id] and results[0].version == 1
