"""The facility's seal added to a signed discharge paper, and the patient's signature drawn on the
screen, on both databases: the seal is a second PAdES signature on the same PDF (the author's still
verifies), stored as a new version that appends to the author's, with the seal's JWS over the same
Bundle in its Provenance; only the director seals, only the papers that take a seal, once; a
revoked seal is refused and leaves nothing. A drawing is kept as a PNG with its time and device, as
an electronic confirmation (never a digital signature); an empty, oversized or non-PNG drawing is
refused with a clear message; the confirmation is still found, and still matches, after the seal."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io

import pytest
from PIL import Image, ImageDraw

from benhan import errors
from benhan.auth import policy, users
from benhan.documents import confirmation, seal as sealing, signing, verify
from benhan.signing import keys
from benhan.store.repository import Repository
from tests.signing.test_documents import DOCTOR_CCCD, PASSWORD, _world
from tests.signing.test_paper import FACILITY, SEAL_PASSWORD


def drawing(width: int = 600, height: int = 200, strokes: int = 3) -> bytes:
    """A signature as the pad sends it: dark strokes on a transparent canvas, PNG."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    for i in range(strokes):
        pen.line([(40 + 60 * i, 150), (90 + 60 * i, 40), (130 + 60 * i, 160)], fill=(0, 0, 0, 255), width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _director(store) -> Repository:  # noqa: ANN001
    user, _ = users.create_user(store, "giamdoc", "Đỗ Văn Minh", ["director"], password=PASSWORD)
    return Repository(store, policy.actor_for_user(store, user))


def _signed(store, ca, trust, form: str = "discharge"):  # noqa: ANN001, ANN202
    repo, actor, eid = _world(store)
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    return repo, actor, eid, signing.sign_encounter_document(repo, actor, eid, form, key, trust)


def _seal_key(ca):  # noqa: ANN001, ANN202
    return keys.from_pkcs12(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD), SEAL_PASSWORD)


def test_the_director_seals_a_signed_discharge_paper(store, ca, trust, responder):  # noqa: ANN001
    repo, actor, eid, done = _signed(store, ca, trust)
    confirmation.confirm_by_pad(repo, actor, done.document_reference_id, data_url(drawing()),
                                device="Máy tính bảng khoa Nội", user_agent="Mozilla/5.0 (Linux; Android 14)")
    director = _director(store)
    with pytest.raises(errors.Forbidden):                            # a doctor signs; she does not seal
        sealing.seal_document(repo, actor, done.document_reference_id, _seal_key(ca), trust)
    sealed = sealing.seal_document(director, director.actor, done.document_reference_id, _seal_key(ca), trust)

    document = director.read("DocumentReference", sealed.document_reference_id).json()
    assert sealing.sealed_from(document) == done.document_reference_id
    assert document["authenticator"]["display"] and "đóng dấu số" in document["description"]
    original = director.read("DocumentReference", done.document_reference_id).json()
    pdf = signing.pdf_of(document)
    assert pdf.startswith(signing.pdf_of(original)) and len(pdf) > len(signing.pdf_of(original))
    assert signing.raw_bundle_of(document) == signing.raw_bundle_of(original)    # the same signed Bundle

    responder.answering = False                                      # judged with only what was kept
    author, facility = verify.verify_pdf(pdf, trust)
    assert author.ok and author.sig_field.startswith("author-") and author.signer == "Lê Văn Hùng"
    assert facility.ok and facility.sig_field.startswith("seal-") and facility.signer == FACILITY
    assert facility.long_term
    bundle = signing.bundle_of(document)
    assert verify.verify_bundle(bundle, trust).signer == "Lê Văn Hùng"
    seal_sig = sealing.seal_signature(director, document["id"])
    assert seal_sig["type"][0]["code"] == signing.SIGNATURE_TYPES["seal"][0]
    seal_check = verify.verify_bundle({**bundle, "signature": seal_sig}, trust)
    assert seal_check.ok and seal_check.signer == FACILITY
    provenance = director.read("Provenance", sealed.provenance_id).json()
    assert [a["type"]["coding"][0]["code"] for a in provenance["agent"]] == ["legal", "performer"]
    assert provenance["agent"][1]["who"]["display"] == "Đỗ Văn Minh"

    # The patient's drawing, made before the seal, is still the sealed paper's and still matches it.
    [drawn] = confirmation.confirmations(director, document["id"], follow=True)
    assert drawn["channel"] == "pad" and drawn["device"] == "Máy tính bảng khoa Nội"
    assert confirmation.unchanged_since(director, drawn, pdf)
    assert not confirmation.unchanged_since(director, drawn, pdf[:100] + b"x" + pdf[101:])

    # Once: a sealed paper is not sealed again, nor its author's version.
    listed = signing.signed_documents(director, eid)
    assert not any(sealing.needs_seal(d, listed) for d in listed)
    for target in (document["id"], done.document_reference_id):
        with pytest.raises(errors.InvalidOperationParameter, match="already has it"):
            sealing.seal_document(director, director.actor, target, _seal_key(ca), trust)


def test_only_the_papers_that_take_a_seal_and_only_a_good_seal(store, ca, trust):  # noqa: ANN001
    repo, actor, eid, done = _signed(store, ca, trust, "prescription")
    director = _director(store)
    with pytest.raises(errors.InvalidOperationParameter, match="does not take"):
        sealing.seal_document(director, director.actor, done.document_reference_id, _seal_key(ca), trust)
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    discharge = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)
    revoked = ca.issue("Con dấu đã thu hồi", organization=FACILITY)
    ca.revoke(revoked.cert)
    with pytest.raises(errors.CertificateRefused, match="thu hồi"):
        sealing.seal_document(director, director.actor, discharge.document_reference_id,
                              keys.from_pkcs12(revoked.pkcs12("p"), "p"), trust)
    assert len(signing.signed_documents(director, eid)) == 2          # nothing added


def test_a_drawn_signature_is_kept_as_an_electronic_confirmation(store, ca, trust):  # noqa: ANN001
    repo, actor, _, done = _signed(store, ca, trust)
    png = drawing()
    moment = dt.datetime(2026, 12, 6, 17, 15, 30, tzinfo=dt.timezone.utc)
    pid = confirmation.confirm_by_pad(repo, actor, done.document_reference_id, data_url(png), who="representative",
                                      device="  Máy tính bảng\nphòng khám 2 ", user_agent="Mozilla/5.0 (iPad)",
                                      now=moment)
    provenance = repo.read("Provenance", pid).json()
    [sig] = provenance["signature"]
    # Told apart from a digital signature in the data: type, format, agents, extension.
    assert sig["type"][0]["code"] == confirmation.CONSENT_SIGNATURE[0]
    assert sig["sigFormat"] == "image/png" and base64.b64decode(sig["data"]) == png
    assert sig["who"] == provenance["agent"][0]["who"] and sig["who"]["reference"].startswith("Patient/")
    assert [a["type"]["coding"][0]["code"] for a in provenance["agent"]] == ["informant", "enterer"]
    statement, evidence = provenance["extension"]
    assert statement["url"] == confirmation.ELECTRONIC_CONFIRMATION
    assert "chữ ký tay trên màn hình" in statement["valueString"] and "không phải chữ ký số" in statement["valueString"]
    ev = {e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in evidence["extension"]}
    assert ev["channel"] == "signature-pad" and ev["device"] == "Máy tính bảng phòng khám 2"
    assert ev["userAgent"] == "Mozilla/5.0 (iPad)" and ev["imageSha256"] == hashlib.sha256(png).hexdigest()
    assert ev["pdfSha256"] == hashlib.sha256(done.pdf).hexdigest()
    [listed] = confirmation.confirmations(repo, done.document_reference_id)
    assert listed["channel"] == "pad" and listed["who"] == "representative" and listed["image"] == data_url(png)
    assert listed["when"] == "2026-12-07T00:15:30+07:00"       # the facility's clock time, as the signatures


@pytest.mark.parametrize("image, says", [
    ("", "nothing was signed"),
    ("data:image/jpeg;base64,/9j/4AAQ", "nothing was signed"),
    (data_url(b"GIF89a not a png at all"), "not a PNG"),
    (data_url(b"\x89PNG\r\n\x1a\n broken"), "cannot be read"),
    ("data:image/png;base64,@@@@", "cannot be read"),
    (data_url(drawing(strokes=0)), "the pad is empty"),
    (data_url(drawing(3000, 200)), "too large"),
    (data_url(b"\x89PNG\r\n\x1a\n" + bytes(confirmation.PAD_MAX_BYTES)), "too large"),
])
def test_a_bad_or_empty_drawing_is_refused_and_nothing_is_kept(store, ca, trust, image, says):  # noqa: ANN001
    repo, actor, _, done = _signed(store, ca, trust)
    with pytest.raises(errors.ConfirmationImageRefused, match=says) as refused:
        confirmation.confirm_by_pad(repo, actor, done.document_reference_id, image)
    assert refused.value.code == "BENHAN-7020" and " | " in refused.value.message    # Vietnamese | English
    assert confirmation.confirmations(repo, done.document_reference_id) == []
