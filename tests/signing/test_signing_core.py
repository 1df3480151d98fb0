"""Signing a PDF as the law asks (NĐ 23/2025 Đ15–17, TT 15/2025/TT-BKHCN): the certificate is
checked before signing (chain to the trust list, dates, status by OCSP with the CRL as fallback),
revoked / expired / untrusted are refused, an unreachable responder is reported as such; the
signature is PAdES with the status data embedded (B-LT), verifies with only what the file holds,
and any changed byte is found. Keys on a SoftHSM2 token (a clinician's USB token) and in PKCS#12."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fpdf import FPDF

from benhan import errors
from benhan.signing import certcheck, keys, pades
from tests.signing.token import USER_PIN, make_token


def a_pdf(text: str = "GIẤY RA VIỆN") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=text.encode("ascii", "replace").decode())
    return bytes(pdf.output())


def asn1(issued):  # noqa: ANN001, ANN201
    return certcheck.as_asn1(issued.cert.public_bytes(Encoding.DER))


def test_a_token_signs_after_a_good_check_and_the_pdf_verifies_long_term(ca, trust, softhsm, responder):  # noqa: ANN001
    label = f"BS-{uuid.uuid4().hex[:8]}"
    make_token(softhsm, label, ca, "Lê Văn Hùng", "CCCD:001090123456")
    with keys.from_token(softhsm, label, USER_PIN, "signing") as key:
        assert key.holder_uid == "CCCD:001090123456"      # maps the certificate to the staff account
        check = certcheck.check(key.cert, key.chain, trust)
        assert check.status == certcheck.GOOD and (check.ocsp or check.crls)
        signed = pades.sign_pdf(a_pdf(), key, check, trust, field_name="BacSi", reason="Bác sĩ điều trị ký")
    responder.answering = False          # verified years later: nothing but the file is needed
    [report] = pades.verify_pdf(signed, trust)
    assert report.ok and report.long_term and report.signer == "Lê Văn Hùng"
    assert report.holder_uid == "CCCD:001090123456" and report.problems == []


def test_a_wrong_pin_is_one_clear_refusal(ca, softhsm):  # noqa: ANN001
    label = f"BS-{uuid.uuid4().hex[:8]}"
    make_token(softhsm, label, ca, "Nguyễn Thị Mai", "CCCD:001190000001")
    with pytest.raises(errors.SigningKeyUnavailable, match="PIN"):
        with keys.from_token(softhsm, label, "000000", "signing"):
            pass


@pytest.mark.parametrize("where", ["a content byte", "the signature's own bytes"])
def test_one_changed_byte_fails_verification(ca, trust, where):  # noqa: ANN001
    issued = ca.issue("Trần Văn Dược", uid="CCCD:001088000002")
    key = keys.from_pkcs12(issued.pkcs12("mật khẩu"), "mật khẩu")
    signed = bytearray(pades.sign_pdf(a_pdf(), key, certcheck.check(key.cert, key.chain, trust), trust,
                                      field_name="DuocSi", reason="ký"))
    if where == "a content byte":
        at = signed.index(b"OneColumn")
        signed[at + 3] = ord("c")
    else:
        # The last bytes of the CMS before its zero padding: the signature value itself.
        start = signed.index(b"/Contents <") + len(b"/Contents <")
        end = signed.index(b">", start)
        at = start + len(bytes(signed[start:end]).rstrip(b"0")) - 8
        # Hex digits compare case-insensitively ("A" and "a" are the same nibble): flip to another value.
        signed[at] = ord("1") if chr(signed[at]).lower() != "1" else ord("2")
    [report] = pades.verify_pdf(bytes(signed), trust)
    assert not report.ok and report.problems


def test_revoked_expired_untrusted_and_weak_certificates_are_refused(ca, trust):  # noqa: ANN001
    revoked = ca.issue("Bị thu hồi", uid="CCCD:001090000003")
    ca.revoke(revoked.cert)
    assert certcheck.check(asn1(revoked), [], trust).status == certcheck.REVOKED
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)
    expired = ca.issue("Hết hạn", uid="CCCD:001090000004", not_before=past, days=30)
    assert certcheck.check(asn1(expired), [], trust).status == certcheck.EXPIRED
    from benhan.signing.local_ca import LocalCA
    stranger = LocalCA(ca.base_url, name="Không tin cậy").issue("Lạ", uid="CCCD:001090000005")
    assert certcheck.check(asn1(stranger), [], trust).status == certcheck.UNTRUSTED
    weak = LocalCA(ca.base_url, name="Yếu", key_size=1024).issue("Yếu", uid="CCCD:001090000006")
    assert certcheck.check(asn1(weak), [], trust).status == certcheck.WEAK
    for status in (certcheck.REVOKED, certcheck.EXPIRED, certcheck.UNTRUSTED, certcheck.WEAK, certcheck.OFFLINE):
        vi = certcheck.CertCheck(status, dt.datetime.now(dt.timezone.utc)).message("vi")
        assert vi and vi != certcheck.CertCheck(status, dt.datetime.now(dt.timezone.utc)).message("en")


def test_an_unreachable_responder_is_reported_not_taken_for_good(ca, trust, responder):  # noqa: ANN001
    issued = ca.issue("Ngoại tuyến", uid="CCCD:001090000007")
    responder.answering = False
    check = certcheck.check(asn1(issued), [], trust)
    assert check.status == certcheck.OFFLINE and not check.ok
    # Signing anyway (the facility's choice) gives a signature without embedded status: not long-term.
    key = keys.from_pkcs12(issued.pkcs12("x" * 8), "x" * 8)
    signed = pades.sign_pdf(a_pdf(), key, check, trust, field_name="Sig", reason="ký ngoại tuyến")
    [report] = pades.verify_pdf(signed, trust)
    assert report.intact and report.valid and not report.long_term


def test_an_empty_trust_list_refuses_with_what_to_configure(ca):  # noqa: ANN001
    from benhan.signing.trust import TrustList
    check = certcheck.check(asn1(ca.issue("A", uid="CCCD:001090000008")), [], TrustList())
    assert check.status == certcheck.UNTRUSTED and "signing_trust_dir" in check.detail
