"""Paper → electronic (NĐ 137/2024 Đ4), on both databases: a photographed page (JPEG) and a scanned
2-page PDF become DocumentReferences found by type and date (the REST search too); every page carries
the conversion mark (extracted with pypdf) below the original content, which still reads; the
facility's seal verifies long-term; the Provenance names the converter; the stored version is
immutable. Whatever else is uploaded (not a PDF/image, too large, too many pages, damaged, locked)
and a missing seal configuration are refused with a clear error, and nothing is stored."""
from __future__ import annotations

import datetime as dt
import io
import uuid

import pikepdf
import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image
from pypdf import PdfReader

from benhan import config, errors
from benhan.clinical.printouts.pdf import FAMILY, FONTS
from benhan.documents import paper, pdfa, signing, verify
from benhan.signing import keys
from tests.signing.test_documents import _world

SEAL_PASSWORD = "mật khẩu con dấu số của trạm"
FACILITY = "Trạm Y tế xã Quảng Phú (demo)"


def seal(ca) -> keys.SigningKey:  # noqa: ANN001
    return keys.from_pkcs12(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD), SEAL_PASSWORD)


def jpeg(width: int = 1240, height: int = 1754) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (250, 248, 235)).save(out, "JPEG", quality=80)
    return out.getvalue()


def two_page_pdf() -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    for n in (1, 2):
        pdf.add_page()
        pdf.set_font(FAMILY, "", 12)
        pdf.cell(0, 10, f"Bệnh án nội trú cũ — trang gốc số {n}")
    return bytes(pdf.output())


def _patient(repo, eid: str) -> str:  # noqa: ANN001
    return repo.read("Encounter", eid).json()["subject"]["reference"].split("/", 1)[1]


def test_a_photo_and_a_scanned_pdf_become_sealed_marked_searchable_documents(store, ca, trust, responder):  # noqa: ANN001
    repo, actor, eid = _world(store)
    pid = _patient(repo, eid)
    key = seal(ca)
    photo = paper.convert(repo, actor, pid, jpeg(), kind="lab", original_date=dt.date(2019, 5, 3), key=key,
                          trust=trust, filename="xet-nghiem.jpg", title="Phiếu xét nghiệm máu")
    scan = paper.convert(repo, actor, pid, two_page_pdf(), kind="inpatient", original_date=dt.date(2015, 1, 20),
                         key=key, trust=trust, filename="benh-an-2015.pdf")
    assert photo.archival and scan.archival and not photo.pending_recheck

    # Found by type and date (conversion date), and by the original's date (period), through the index.
    documents = {d["id"]: d for d in paper.paper_documents(repo, pid)}
    assert set(documents) == {photo.document_reference_id, scan.document_reference_id}
    day = documents[photo.document_reference_id]["date"][:10]
    lab = repo.search_type("DocumentReference", [("patient", f"Patient/{pid}"), ("type", "http://loinc.org|11502-2"),
                                                 ("date", day)])
    assert [m.res_id for m in lab.matches] == [photo.document_reference_id]
    old = repo.search_type("DocumentReference", [("patient", pid), ("type", "11503-0"), ("period", "2015-01-20")])
    assert [m.res_id for m in old.matches] == [scan.document_reference_id]
    assert not repo.search_type("DocumentReference", [("patient", pid), ("type", "11503-0"),
                                                      ("period", "2019-05-03")]).matches
    document = documents[scan.document_reference_id]
    assert document["category"][0]["coding"][0]["code"] == "scanned-paper"
    assert document["context"]["period"]["start"] == "2015-01-20"
    assert document["type"]["text"] == "Bệnh án nội trú (giấy)"

    for done, pages in ((photo, 1), (scan, 2)):
        stored = signing.pdf_of(documents[done.document_reference_id])
        assert stored == done.pdf and pdfa.pdfa_problems(stored) == []
        reader = PdfReader(io.BytesIO(stored))
        assert len(reader.pages) == pages
        for n, page in enumerate(reader.pages, 1):
            text = page.extract_text()
            assert paper.MARK in text and "Thời điểm chuyển đổi:" in text, text
            assert "Người chuyển đổi: Lê Văn Hùng" in text and f"Trang {n}/{pages}" in text, text
            assert f"DocumentReference/{done.document_reference_id}" in text and f"Đã ký số bởi: {FACILITY}" in text
            if done is scan:
                assert f"trang gốc số {n}" in text            # the paper's own words still read
        responder.answering = False                            # judged later, with only what was kept
        [check] = verify.verify_pdf(stored, trust)
        responder.answering = True
        assert check.ok and check.long_term and check.signer == FACILITY

    provenance = repo.read("Provenance", scan.provenance_id).json()
    assert provenance["target"] == [{"reference": f"DocumentReference/{scan.document_reference_id}/_history/1"}]
    assert provenance["activity"]["coding"][0]["code"] == "TRANSFORM"
    converter, facility = provenance["agent"]
    assert converter["who"]["display"] == "Lê Văn Hùng" and converter["who"]["reference"].startswith("Practitioner/")
    assert facility["who"]["display"] == FACILITY

    # Both written in one audited transaction, by the converter.
    from sqlalchemy import select

    from benhan.store.schema import audit_event
    with store.db.read() as conn:
        rows = conn.execute(select(audit_event.c.res_type, audit_event.c.agent, audit_event.c.action).where(
            audit_event.c.res_id.in_([scan.document_reference_id, scan.provenance_id]))).all()
    assert {(r.res_type, r.agent, r.action) for r in rows} == {("DocumentReference", actor.name, "C"),
                                                              ("Provenance", actor.name, "C")}

    # The sealed version cannot be changed (the signed tag), whoever writes.
    changed = dict(document, description="sửa")
    with pytest.raises(errors.SignedDocumentImmutable):
        repo.commit([repo.prepare("PUT", "DocumentReference", document["id"], changed)], "update")


def test_the_rest_api_finds_paper_documents_by_type_and_date(store, client, ca, trust):  # noqa: ANN001
    repo, actor, eid = _world(store)
    pid = _patient(repo, eid)
    done = paper.convert(repo, actor, pid, jpeg(400, 300), kind="referral", original_date=dt.date(2024, 2, 29),
                         key=seal(ca), trust=trust)
    day = repo.read("DocumentReference", done.document_reference_id).json()["date"][:10]
    found = client.get(f"/fhir/DocumentReference?patient={pid}&type=http://loinc.org|57133-1&date={day}")
    assert found.status_code == 200, found.text
    assert [e["resource"]["id"] for e in found.json().get("entry", [])] == [done.document_reference_id]
    none = client.get(f"/fhir/DocumentReference?patient={pid}&type=http://loinc.org|57133-1&date=lt2000-01-01")
    assert none.status_code == 200 and not none.json().get("entry")


def _pages(n: int) -> bytes:
    pdf = pikepdf.new()
    for _ in range(n):
        pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _locked() -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(_pages(1))) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user="khóa", owner="khóa"))
    return out.getvalue()


GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


@pytest.mark.parametrize("data, words", [
    (b"", "rỗng"),
    (b"Bien ban hop giao ban, khong phai PDF", "không phải PDF"),
    (GIF, "không phải PDF"),
    (b"PK\x03\x04" + b"\x00" * 100, "không phải PDF"),                       # a .docx/.zip renamed .pdf
    (b"%PDF-1.7\n" + b"\x00" * (paper.MAX_BYTES), "quá lớn"),
    (b"%PDF-1.7\n" + b"\x00" * paper.MAX_STORED_BYTES, "quá lớn để lưu"),     # more than one attachment holds
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "PDF"),         # damaged / no pages
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "ảnh bị hỏng"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "ảnh bị hỏng"),
])
def test_what_is_not_a_paper_document_is_refused_with_a_clear_reason(data: bytes, words: str):
    with pytest.raises(errors.PaperDocumentRefused) as refused:
        paper.check_upload(data)
    assert words in refused.value.message and " | " in refused.value.message     # Vietnamese | English


def test_too_many_pages_and_a_locked_pdf_are_refused():
    with pytest.raises(errors.PaperDocumentRefused, match=f"{paper.MAX_PAGES + 1} trang"):
        paper.check_upload(_pages(paper.MAX_PAGES + 1))
    with pytest.raises(errors.PaperDocumentRefused, match="mật khẩu"):
        paper.check_upload(_locked())
    assert paper.check_upload(_pages(paper.MAX_PAGES)).pages == paper.MAX_PAGES


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([b"", b"%PDF-1.4\n", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a"]),
       body=st.binary(max_size=2048))
def test_any_uploaded_bytes_are_a_checked_document_or_a_clear_refusal(prefix: bytes, body: bytes):
    try:
        upload = paper.check_upload(prefix + body)
    except errors.PaperDocumentRefused as exc:
        assert " | " in exc.message
    else:
        assert 1 <= upload.pages <= paper.MAX_PAGES and upload.pdf.startswith(b"%PDF")


def test_refusals_store_nothing(store, ca, trust):  # noqa: ANN001
    repo, actor, eid = _world(store)
    pid = _patient(repo, eid)
    key = seal(ca)
    provenances = len(repo.search_type("Provenance", [("_count", "1000")]).matches)
    for data, kind, day in ((b"not a scan", "lab", dt.date(2020, 1, 1)),
                            (jpeg(200, 200), "no-such-kind", dt.date(2020, 1, 1)),
                            (jpeg(200, 200), "lab", dt.date.today() + dt.timedelta(days=2))):
        with pytest.raises(errors.PaperDocumentRefused):
            paper.convert(repo, actor, pid, data, kind=kind, original_date=day, key=key, trust=trust)
    revoked = ca.issue("Con dấu đã thu hồi", organization=FACILITY)
    ca.revoke(revoked.cert)
    with pytest.raises(errors.CertificateRefused, match="thu hồi"):
        paper.convert(repo, actor, pid, jpeg(200, 200), kind="lab", original_date=dt.date(2020, 1, 1),
                      key=keys.from_pkcs12(revoked.pkcs12("x" * 12), "x" * 12), trust=trust)
    assert paper.paper_documents(repo, pid) == []
    assert len(repo.search_type("Provenance", [("_count", "1000")]).matches) == provenances


def test_the_seal_must_be_configured(tmp_path, ca, monkeypatch):  # noqa: ANN001
    monkeypatch.delenv(paper.SEAL_PASSWORD_ENV, raising=False)
    with pytest.raises(errors.SealNotConfigured, match="facility_seal_file"):
        paper.facility_seal(config.load(env={}, data_dir=tmp_path))
    p12 = tmp_path / "seal.p12"
    with pytest.raises(errors.SealNotConfigured, match="seal.p12"):       # configured, but no such file
        paper.facility_seal(config.load(env={}, data_dir=tmp_path, facility_seal_file=p12))
    p12.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
    cfg = config.load(env={}, data_dir=tmp_path, facility_seal_file=p12)
    with pytest.raises(errors.SealNotConfigured, match=paper.SEAL_PASSWORD_ENV):
        paper.facility_seal(cfg)
    monkeypatch.setenv(paper.SEAL_PASSWORD_ENV, "sai mật khẩu")
    with pytest.raises(errors.SigningKeyUnavailable):
        paper.facility_seal(cfg)
    monkeypatch.setenv(paper.SEAL_PASSWORD_ENV, SEAL_PASSWORD)
    assert paper.facility_seal(cfg).cert.subject.native["common_name"] == FACILITY
    monkeypatch.delenv(paper.SEAL_PASSWORD_ENV)
    secret = tmp_path / "seal-password"
    secret.write_text(SEAL_PASSWORD + "\n", encoding="utf-8")
    from_file = config.load(env={}, data_dir=tmp_path, facility_seal_file=p12, facility_seal_password_file=secret)
    assert paper.facility_seal(from_file).cert.subject.native["common_name"] == FACILITY


def test_the_mark_fits_a_long_title_on_a_small_page(ca, trust):  # noqa: ANN001
    marked = paper.stamp(paper.check_upload(jpeg(300, 200)).pdf, paper.mark_lines(
        when=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), converter="Nguyễn Thị Hồng Nhung" * 2,
        facility=FACILITY, sealer=FACILITY, title="Ư" * 120, original_date="01/01/2001",
        lookup=f"DocumentReference/{uuid.uuid4()}"))
    [page] = PdfReader(io.BytesIO(marked)).pages
    assert "Ư" * 120 in page.extract_text() and float(page.mediabox.height) > 595   # A4 landscape + the band


def test_a_pdf_that_cannot_be_pdfa_is_still_marked_and_sealed(store, ca, trust):  # noqa: ANN001
    """A scan whose text uses a font it does not embed (Helvetica) cannot be PDF/A: it is sealed as it is,
    and not declared PDF/A."""
    repo, actor, eid = _world(store)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Old typed report")
    done = paper.convert(repo, actor, _patient(repo, eid), bytes(pdf.output()), kind="other",
                         original_date=dt.date(2001, 9, 9), key=seal(ca), trust=trust)
    assert not done.archival and pdfa.pdfa_problems(done.pdf)
    assert "no PDF/A-2 identification in the XMP metadata" in pdfa.pdfa_problems(done.pdf)
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.ok and paper.MARK in PdfReader(io.BytesIO(done.pdf)).pages[0].extract_text()


def test_a_rotated_scan_gets_its_band_below_what_the_reader_sees():
    """Scanners often store a landscape page as portrait with /Rotate 90: the page is redrawn upright
    first, so the band is under the content as displayed, not along its side."""
    with pikepdf.open(io.BytesIO(two_page_pdf())) as pdf:
        pdf.pages[0].obj.Rotate = 90
        pdf.pages[1].obj.Rotate = 180
        out = io.BytesIO()
        pdf.save(out)
    marked = paper.stamp(paper.check_upload(out.getvalue()).pdf, ["BẢN CHUYỂN ĐỔI", "dòng 2", "dòng 3"])
    first, second = PdfReader(io.BytesIO(marked)).pages
    assert first.get("/Rotate") in (None, 0) and second.get("/Rotate") in (None, 0)
    assert first.mediabox.width > first.mediabox.height                # shown landscape (with the band)
    for n, page in enumerate((first, second), 1):
        text = page.extract_text()
        assert f"trang gốc số {n}" in text and "BẢN CHUYỂN ĐỔI" in text, text


def test_a_large_busy_phone_photo_is_redrawn_to_fit_the_store(store, ca, trust):  # noqa: ANN001
    """A 12-megapixel photo (noise: the worst case for JPEG) becomes a 200-dpi A4 page the store can
    hold (a FHIR attachment is at most 1 MiB of base64), rather than a refusal or a validation error."""
    repo, actor, eid = _world(store)
    photo = io.BytesIO()
    Image.effect_noise((4000, 3000), 60).convert("RGB").save(photo, "JPEG", quality=95)
    assert len(photo.getvalue()) > paper.MAX_STORED_BYTES
    done = paper.convert(repo, actor, _patient(repo, eid), photo.getvalue(), kind="imaging",
                         original_date=dt.date(2023, 3, 3), key=seal(ca), trust=trust)
    assert len(done.pdf) <= paper.MAX_STORED_BYTES and done.archival
    stored = signing.pdf_of(repo.read("DocumentReference", done.document_reference_id).json())
    assert stored == done.pdf
