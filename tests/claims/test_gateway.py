"""The facility's XML signature, and the gateway calls against the stand-in: the check-in, the claim
checks it applies (signature, structure, sums), its error codes, and the card check (thông tuyến)."""
from __future__ import annotations

import base64
from datetime import date, datetime, timezone

import pytest
from lxml import etree

from benhan import errors
from benhan.claims import envelope, service, tables
from benhan.claims.gateway import Gateway, password_hash
from benhan.signing import xmldsig
from benhan.signing.local_ca import LocalCA
from tests.claims import episodes
from tests.claims.conftest import PASSWORD, USERNAME

MADE = datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)


def signed_claim(seal: xmldsig.XmlKey, episode=episodes.outpatient) -> bytes:  # noqa: ANN001
    ep, lines = episode()
    return service.prepare(ep, lines, seal, MADE).signed


def replace_in_table(document: bytes, table: str, old: bytes, new: bytes) -> bytes:
    root = etree.fromstring(document)
    for item in root.iter("FILEHOSO"):
        if item.findtext("LOAIHOSO") == table:
            content = item.find("NOIDUNGFILE")
            inner = base64.b64decode(content.text)
            assert old in inner
            content.text = base64.b64encode(inner.replace(old, new)).decode()
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


# --- the signature -------------------------------------------------------------------------------

def test_a_signed_envelope_verifies_against_the_registered_certificate(seal) -> None:  # noqa: ANN001
    signed = signed_claim(seal)
    cert = xmldsig.verify(signed, seal.cert_pem)
    assert cert == seal.certificate
    assert xmldsig.verify(signed) == seal.certificate            # the certificate in KeyInfo


def test_changing_an_amount_after_signing_breaks_the_signature(seal) -> None:  # noqa: ANN001
    signed = signed_claim(seal)
    tampered = replace_in_table(signed, "XML1", b"<T_BHTT>62500.54<", b"<T_BHTT>62600.54<")
    with pytest.raises(errors.SignatureInvalid):
        xmldsig.verify(tampered, seal.cert_pem)


def test_another_facilitys_certificate_does_not_verify(seal) -> None:  # noqa: ANN001
    other = LocalCA("http://127.0.0.1:9").issue("Cơ sở khác", organization="Cơ sở khác")
    with pytest.raises(errors.SignatureInvalid):
        xmldsig.verify(signed_claim(seal), other.cert_pem())


def test_an_unsigned_envelope_does_not_verify(seal) -> None:  # noqa: ANN001
    ep, lines = episodes.outpatient()
    unsigned = envelope.build(ep.facility, MADE, tables.claim_tables(ep, lines))
    with pytest.raises(errors.SignatureInvalid):
        xmldsig.verify(unsigned)


def test_the_seal_is_read_from_the_configured_pkcs12(seal_p12, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from benhan import config as config_mod
    from tests.claims.conftest import SEAL_PASSWORD
    cfg = config_mod.load(env={}, data_dir=tmp_path)
    with pytest.raises(errors.SealNotConfigured):
        service.seal_key(cfg)
    (tmp_path / "pw").write_text(SEAL_PASSWORD + "\n")
    monkeypatch.delenv("BENHAN_SEAL_PASSWORD", raising=False)
    cfg = config_mod.load(env={"BENHAN_FACILITY_SEAL_FILE": str(seal_p12),
                               "BENHAN_FACILITY_SEAL_PASSWORD_FILE": str(tmp_path / "pw")}, data_dir=tmp_path)
    assert service.seal_key(cfg).cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")


# --- the stand-in's answers ----------------------------------------------------------------------

def gw(standin, password: str = PASSWORD) -> Gateway:  # noqa: ANN001
    return Gateway(standin.url, USERNAME, password, "01013", "01")


def test_the_gateway_password_goes_as_upper_case_md5() -> None:
    assert password_hash("abc") == "900150983CD24FB0D6963F7D28E17F72"


def test_a_wrong_password_is_refused(standin) -> None:  # noqa: ANN001
    with pytest.raises(errors.ClaimGatewayRefused):
        gw(standin, "sai").token()


def test_the_check_in_is_accepted(standin, seal) -> None:  # noqa: ANN001
    ep, lines = episodes.thong_tuyen()
    prepared = service.prepare_checkin(ep, lines, seal, MADE)
    status, receipt = gw(standin).check_in(prepared.signed, "k-checkin-1")
    assert (status, receipt.code) == (200, "200") and receipt.transaction


def test_a_claim_sent_to_the_check_in_address_is_refused(standin, seal) -> None:  # noqa: ANN001
    status, receipt = gw(standin).check_in(signed_claim(seal), "k-wrong-1")
    assert receipt.code == "400" and "XML0" in receipt.message


def test_an_edited_total_is_refused_field_by_field(standin, seal) -> None:  # noqa: ANN001
    # Edited and signed again: the signature holds, the sums do not.
    ep, lines = episodes.outpatient()
    ts = tables.claim_tables(ep, lines)
    ts[0].rows[0]["T_TONGCHI_BV"] = "78125.68"
    bad = envelope.sign(envelope.build(ep.facility, MADE, ts), seal)
    _, receipt = gw(standin).send_claim(bad, "k-sum-1")
    assert receipt.code == "400"
    assert [(e["loaiHoSo"], e["truong"]) for e in receipt.errors] == [("XML1", "T_TONGCHI_BV")]


def test_a_tampered_claim_is_refused_for_its_signature(standin, seal) -> None:  # noqa: ANN001
    tampered = replace_in_table(signed_claim(seal), "XML1", b"<T_BHTT>62500.54<", b"<T_BHTT>62600.54<")
    _, receipt = gw(standin).send_claim(tampered, "k-tamper-1")
    assert receipt.code == "400" and receipt.errors[0]["truong"] == "CHUKYDONVI"


def test_a_claim_without_signature_is_refused(standin) -> None:  # noqa: ANN001
    ep, lines = episodes.outpatient()
    unsigned = envelope.build(ep.facility, MADE, tables.claim_tables(ep, lines))
    _, receipt = gw(standin).send_claim(unsigned, "k-unsigned-1")
    assert receipt.code == "400" and "chữ ký" in receipt.message


def test_a_claim_of_another_facility_is_refused(standin, seal) -> None:  # noqa: ANN001
    ep, lines = episodes.outpatient()
    ep.facility = "01014"
    other = service.prepare(ep, lines, seal, MADE).signed
    _, receipt = gw(standin).send_claim(other, "k-other-1")
    assert receipt.code == "403"


# --- the card check ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "birth", "code"), [
    ("Hoàng Thu Trang", "30/12/1975", "000"),
    ("Hoàng Thu Trang", "1975", "000"),
    ("Hoàng Thị Trang", "30/12/1975", "061"),
    ("Lê Thu Trang", "30/12/1975", "060"),
    ("Hoàng Thu Trang", "31/12/1975", "070"),
])
def test_the_card_check_answers_with_the_gateway_codes(standin, name, birth, code) -> None:  # noqa: ANN001
    answer = gw(standin).card_check("GD3010123456780", name, birth, "Đỗ Thị Lan", "001080001111")
    assert answer.code == code
    if code == "000":
        assert answer.ok and answer.body["ngayDu5Nam"] == "01/03/2024" and answer.body["maDKBD"] == "01001"
        assert answer.meaning == "Thẻ đúng, còn giá trị sử dụng."


def test_the_card_check_of_an_unknown_card_and_an_unlisted_clerk(standin) -> None:  # noqa: ANN001
    g = gw(standin)
    assert g.card_check("GD3010999999999", "A", date(1990, 1, 1), "Đỗ Thị Lan", "001080001111").code == "050"
    assert g.card_check("GD3010123456780", "Hoàng Thu Trang", "30/12/1975", "Ai Đó", "001080009999").code == "054"
    assert g.card_check("12AB", "Hoàng Thu Trang", "30/12/1975", "Đỗ Thị Lan", "001080001111").code == "051"


def test_an_expired_card(standin) -> None:  # noqa: ANN001
    standin.state.cards["GD3010123456780"].valid_to = "31/12/2025"
    answer = gw(standin).card_check("GD3010123456780", "Hoàng Thu Trang", "30/12/1975", "Đỗ Thị Lan", "001080001111")
    assert answer.code == "010" and not answer.ok
