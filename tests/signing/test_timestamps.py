"""RFC 3161 timestamps from the facility's TSA (a local stand-in on a free port, its certificate from the
local CA with the critical timeStamping EKU): a signed discharge paper carries a signature timestamp
and a document timestamp (PAdES-B-LTA) that pyHanko's validator accepts with only what the file
embeds; the verification shows the TSA's time and name; the Provenance records them. A TSA that does
not answer: signed without, recorded and said. No TSA configured: recorded as "không có dấu thời gian"."""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import warnings
from collections.abc import Iterator

import pytest

from benhan.documents import signing, timestamping, verify
from benhan.signing import certcheck, keys, pades, timestamps
from benhan.signing.local_tsa import LocalTSA, TsaServer
from tests.signing.test_documents import DOCTOR_CCCD, _world
from tests.signing.test_signing_core import a_pdf

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
    from pyhanko.sign.validation.dss import DocumentSecurityStore


@pytest.fixture(scope="module")
def tsa_server(responder) -> Iterator[TsaServer]:  # noqa: ANN001
    with TsaServer(LocalTSA(responder.ca, name="Dịch vụ dấu thời gian thử nghiệm")) as server:
        yield server


@pytest.fixture
def tsa(tsa_server: TsaServer) -> Iterator[timestamps.Tsa]:
    tsa_server.answering = True
    yield timestamps.Tsa(tsa_server.url)
    tsa_server.answering = True


def _pyhanko_says(pdf: bytes, trust) -> tuple:  # noqa: ANN001
    """pyHanko's own validation of the signature, its timestamp and the document timestamp, with
    nothing but the file (fetching off)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    dss = DocumentSecurityStore.read_dss(reader)

    def context():  # noqa: ANN202
        return dss.as_validation_context({"trust_roots": trust.anchors, "allow_fetching": False,
                                          "revocation_mode": "hard-fail"})
    [signature] = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    [document] = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    status = asyncio.run(async_validate_pdf_signature(signature, context(), ts_validation_context=context()))
    doc_status = asyncio.run(async_validate_pdf_timestamp(document, validation_context=context()))
    return status, doc_status


def test_a_signature_with_a_tsa_is_pades_lta_and_the_verification_shows_the_tsa(store, ca, trust, responder, tsa,  # noqa: ANN001
                                                                                 tsa_server):
    repo, actor, eid = _world(store)
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    before = tsa_server.requests
    done = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust, tsa=tsa)
    assert tsa_server.requests - before >= 2 and done.timestamp_note == ""      # signature + document timestamp
    responder.answering = False                                                # judged with the file alone
    status, doc_status = _pyhanko_says(done.pdf, trust)
    assert status.bottom_line and status.timestamp_validity is not None
    tv = status.timestamp_validity
    assert tv.intact and tv.valid and tv.trusted
    assert tv.signing_cert.subject.native["common_name"] == "Dịch vụ dấu thời gian thử nghiệm"
    assert doc_status.intact and doc_status.valid and doc_status.trusted and doc_status.timestamp >= tv.timestamp

    recorded = timestamping.recorded(repo.read("Provenance", done.provenance_id).json())
    assert [r["kind"] for r in recorded] == ["signature", "document"]
    assert {r["tsa"] for r in recorded} == {"Dịch vụ dấu thời gian thử nghiệm"}

    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok and check.long_term and check.timestamps_valid
    shown = tv.timestamp.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert check.timestamp.startswith(shown.strftime("%H:%M:%S %d/%m/%Y"))
    assert "Dịch vụ dấu thời gian thử nghiệm" in check.timestamp and "hợp lệ" in check.timestamp
    assert len(check.archive_timestamps) == 1
    lines = "\n".join(check.lines())
    assert "dấu thời gian | timestamp: " in lines and "dấu thời gian lưu trữ | document timestamp: " in lines


def test_an_unreachable_tsa_signs_without_a_timestamp_and_says_so(store, ca, trust, tsa, tsa_server):  # noqa: ANN001
    repo, actor, eid = _world(store)
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    tsa_server.answering = False
    done = signing.sign_encounter_document(repo, actor, eid, "prescription", key, trust, tsa=tsa)
    assert done.timestamp_note == timestamps.UNAVAILABLE and "không trả lời" in done.timestamp_note
    [record] = timestamping.recorded(repo.read("Provenance", done.provenance_id).json())
    assert record["kind"] == "none" and record["note"] == timestamps.UNAVAILABLE
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok and check.long_term and check.timestamp == "" and check.archive_timestamps == []
    assert "  không có dấu thời gian | no timestamp" in check.lines()


def test_without_a_tsa_the_record_says_there_is_no_timestamp(store, ca, trust):  # noqa: ANN001
    repo, actor, eid = _world(store)
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    done = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)
    [record] = timestamping.recorded(repo.read("Provenance", done.provenance_id).json())
    assert record["kind"] == "none" and "không có dấu thời gian" in record["note"]
    assert done.timestamp_note == timestamps.NO_TIMESTAMP


def test_an_offline_check_with_a_tsa_still_timestamps_the_signature(ca, trust, responder, tsa):  # noqa: ANN001
    """B-T without embedded status (nothing to embed): the timestamp proves when it was signed, for the
    later check to judge the certificate at that time."""
    issued = ca.issue("Ngoại tuyến", uid="CCCD:001090000017")
    key = keys.from_pkcs12(issued.pkcs12("x" * 8), "x" * 8)
    responder.answering = False
    check = certcheck.check(key.cert, key.chain, trust)
    assert check.status == certcheck.OFFLINE
    signed = pades.sign_pdf(a_pdf(), key, check, trust, field_name="Sig", reason="ký", tsa=tsa)
    kinds = [kind for kind, _, _ in timestamping.found(signed)]
    assert kinds == ["signature"]


def test_the_local_tsa_refuses_what_is_not_a_timestamp_request(tsa_server):  # noqa: ANN001
    import requests
    from asn1crypto import tsp
    answer = requests.post(tsa_server.url, data=b"not DER", timeout=5,
                           headers={"Content-Type": "application/timestamp-query"})
    assert answer.headers["Content-Type"] == "application/timestamp-reply"
    from asn1crypto import core
    status = tsp.PKIStatusInfo.load(core.Sequence.load(answer.content).contents)
    assert status["status"].native == "rejection" and status["fail_info"].native == {"bad_data_format"}


def test_a_tsa_that_refuses_is_one_clear_error_and_signing_goes_on_without(store, ca, trust, tsa, tsa_server):  # noqa: ANN001
    from benhan import errors
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    tsa_server.refusing = True
    try:
        check = certcheck.check(key.cert, key.chain, trust)
        with pytest.raises(errors.TimestampUnavailable, match="out of service"):
            pades.sign_pdf(a_pdf(), key, check, trust, field_name="Sig", reason="ký", tsa=tsa)
        repo, actor, eid = _world(store)
        done = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust, tsa=tsa)
        assert done.timestamp_note == timestamps.UNAVAILABLE and timestamping.found(done.pdf) == []
    finally:
        tsa_server.refusing = False


def test_sign_and_verify_from_the_command_line_with_a_tsa(tmp_path, ca, tsa):  # noqa: ANN001
    from benhan import config
    from benhan.store.store import Store
    from tests.signing.test_cli import _run
    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        _, actor, eid = _world(store)
    finally:
        store.close()
    (data / "trust").mkdir()
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    p12 = tmp_path / "bacsi.p12"
    p12.write_bytes(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("mật khẩu tệp"))
    out = tmp_path / "giay-ra-vien.pdf"
    done = _run("sign", eid, "--user", actor.name, "--pkcs12", str(p12), "--out", str(out), "--data-dir", str(data),
                BENHAN_PKCS12_PASSWORD="mật khẩu tệp", BENHAN_SIGNING_TSA_URL=tsa.url)
    assert done.returncode == 0, done.stderr
    assert "(PAdES-B-LTA)" in done.stdout
    checked = _run("verify", str(out), "--data-dir", str(data))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "  dấu thời gian | timestamp: " in checked.stdout and "Dịch vụ dấu thời gian thử nghiệm" in checked.stdout


def test_a_tsa_whose_certificate_is_not_trusted_is_said_and_signing_goes_on_without(store, ca, trust, responder):  # noqa: ANN001
    """A misconfiguration (the TSA's CA is not on the trust list): the signer and the record say why
    there is no timestamp, rather than an error or a timestamp nobody can validate."""
    from benhan import errors
    from benhan.signing.local_ca import LocalCA
    stranger = LocalCA(ca.base_url, name="CA lạ")
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    with TsaServer(LocalTSA(stranger)) as server:
        tsa = timestamps.Tsa(server.url)
        with pytest.raises(errors.TimestampUnavailable, match="could not be validated"):
            pades.sign_pdf(a_pdf(), key, certcheck.check(key.cert, key.chain, trust), trust, field_name="Sig",
                           reason="ký", tsa=tsa)
        repo, actor, eid = _world(store)
        done = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust, tsa=tsa)
    assert done.timestamp_note == timestamps.TSA_UNTRUSTED
    [record] = timestamping.recorded(repo.read("Provenance", done.provenance_id).json())
    assert record["kind"] == "none" and "danh sách tin cậy" in record["note"]
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok and check.timestamp == ""


def test_the_facility_seal_is_timestamped_and_a_seal_made_offline_waits_for_the_later_check(store, ca, trust, responder,  # noqa: ANN001
                                                                                            tsa, tsa_server):
    from benhan.documents import recheck, seal as sealing
    from tests.signing.test_seal_and_pad import _director, _seal_key, _signed
    _, _, _, done = _signed(store, ca, trust)
    director = _director(store)
    before = tsa_server.requests
    responder.answering = False          # the seal is checked offline: signed, recorded as to be checked later
    try:
        sealed = sealing.seal_document(director, director.actor, done.document_reference_id, _seal_key(ca), trust,
                                       offline_policy="sign-and-recheck", tsa=tsa)
    finally:
        responder.answering = True
    assert sealed.pending_recheck and tsa_server.requests > before
    provenance = director.read("Provenance", sealed.provenance_id).json()
    assert [r["kind"] for r in timestamping.recorded(provenance)][0] == "signature"
    assert sealed.provenance_id in {p["id"] for p in recheck.pending(director)}
    checks = verify.verify_pdf(sealed.pdf, trust)
    assert [c.sig_field.split("-")[0] for c in checks] == ["author", "seal"]
    assert checks[1].timestamp and "Dịch vụ dấu thời gian thử nghiệm" in checks[1].timestamp


def test_a_paper_conversion_is_timestamped_and_one_sealed_offline_waits_for_the_later_check(store, ca, trust,  # noqa: ANN001
                                                                                           responder, tsa):
    from benhan.documents import paper, recheck
    from tests.signing.test_paper import jpeg, seal
    repo, actor, _ = _world(store)
    pid = repo.search_type("Patient", [("_count", "1")]).matches[0].res_id
    responder.answering = False
    try:
        done = paper.convert(repo, actor, pid, jpeg(400, 300), kind="lab", original_date=dt.date(2020, 3, 1),
                             key=seal(ca), trust=trust, offline_policy="sign-and-recheck", tsa=tsa)
    finally:
        responder.answering = True
    assert done.pending_recheck and done.provenance_id in {p["id"] for p in recheck.pending(repo)}
    kinds = [r["kind"] for r in timestamping.recorded(repo.read("Provenance", done.provenance_id).json())]
    assert kinds[0] == "signature"
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.timestamp and "Dịch vụ dấu thời gian thử nghiệm" in check.timestamp
    assert len(recheck.recheck_all(repo, trust)) == 1       # the link is back: checked, and no longer waiting
    assert done.provenance_id not in {p["id"] for p in recheck.pending(repo)}
