"""Paper → electronic (NĐ 137/2024/NĐ-CP Điều 4): a paper document (an old record, a lab report, a
referral …) scanned or uploaded onto the patient's record becomes an electronic document only with
the marks the decree asks for: a visible text mark that it is a conversion from paper, the time of
conversion, the name of the person who converted it (a QR code is optional and not drawn), and the
converting organisation's digital signature — here the facility's seal.

The steps, in order:
1. The upload is checked before anything else: a real PDF or JPEG/PNG by its first bytes (never by
   its name), readable, at most MAX_PAGES; an image (up to MAX_BYTES) becomes one A4 page at
   IMAGE_DPI; a PDF must fit what one FHIR attachment holds (MAX_STORED_BYTES).
2. The seal (a PKCS#12 file configured for the facility; its password from the environment or a file,
   never from the database) is opened and its certificate checked (signing.certcheck) before the
   file is touched, so a refusal leaves nothing behind.
3. Every page gets a band *below* its content (the page is made taller), so the mark never hides
   what the paper says: "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN GIẤY", the time, the converter, the facility and
   the seal's holder, the lookup code. The text is DejaVu Sans embedded (extractable Vietnamese).
4. The file is made PDF/A-2b where its content allows (documents.pdfa), then sealed (PAdES-B-LT).
5. One transaction stores the DocumentReference (LOINC type, category "scanned paper", the date of
   the original in context.period, the signed tag: immutable) and a Provenance (activity TRANSFORM,
   agents the converter and the facility, the certificate check); the repository audits both.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from benhan import errors
from benhan.auth import users
from benhan.auth.actor import Actor
from benhan.clinical import visits
from benhan.clinical.printouts.pdf import FAMILY, FONTS
from benhan.documents import pdfa
from benhan.documents.composition import LOINC, SIGNED_TAG
from benhan.documents.signing import (RECHECK_PENDING_TAG, SIGNATURE_TYPES, attachment, certificate_check_extension,
                                      refuse_unless_allowed)
from benhan.signing import certcheck, keys
from benhan.signing.keys import SigningKey
from benhan.signing.trust import TrustList
from benhan.store.repository import Repository

MAX_BYTES = 20 * 1024 * 1024          # an upload: a phone photo or a 600-dpi scan as JPEG/PNG fits
# What one document can hold: its PDF is an Attachment.data, a FHIR base64Binary, and FHIR strings stop at
# 1 MiB (R4 maxStringLength, which the store's validation applies): 3/4 of that as bytes.
MAX_STORED_BYTES = 1024 * 1024 * 3 // 4
MAX_PAGES = 200
IMAGE_DPI = 200                       # an image is redrawn at this on A4 (the usual minimum for a legible archival scan)
IMAGE_BUDGET = 600 * 1024             # its JPEG, leaving room in MAX_STORED_BYTES for the mark and the seal
MAX_PIXELS = 60_000_000               # one image: larger is a decompression bomb, not a scan
SEAL_PASSWORD_ENV = "BENHAN_SEAL_PASSWORD"
VN = dt.timezone(dt.timedelta(hours=7))

MARK = "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN GIẤY"
ORIGIN_SYSTEM = "https://benhan.vn/fhir/CodeSystem/document-origin"
SCANNED = {"system": ORIGIN_SYSTEM, "code": "scanned-paper", "display": "Bản chuyển đổi từ văn bản giấy"}
PAPER_EXTENSION = "https://benhan.vn/fhir/StructureDefinition/paper-original"
# IHE XDS-SD: a scanned document as PDF (the formatCode IHE gives scanned paper).
XDS_SD_PDF = {"system": "http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem",
              "code": "urn:ihe:iti:xds-sd:pdf:2008", "display": "Scanned Documents (PDF)"}

# The kinds of paper a facility digitises, with their LOINC document type and Vietnamese name.
PAPER_TYPES: dict[str, tuple[str, str, str]] = {
    "inpatient": ("11503-0", "Medical records", "Bệnh án nội trú (giấy)"),
    "outpatient": ("34108-1", "Outpatient Note", "Bệnh án / sổ khám ngoại trú (giấy)"),
    "discharge": ("18842-5", "Discharge summary", "Giấy ra viện"),
    "lab": ("11502-2", "Laboratory report", "Phiếu kết quả xét nghiệm"),
    "imaging": ("18748-4", "Diagnostic imaging study", "Phiếu kết quả chẩn đoán hình ảnh"),
    "referral": ("57133-1", "Referral note", "Giấy chuyển tuyến / chuyển viện"),
    "consent": ("59284-0", "Consent Document", "Giấy cam kết / đồng ý"),
    "prescription": ("57833-6", "Prescription for medication", "Đơn thuốc"),
    "other": ("34109-9", "Note", "Văn bản khác"),
}


@dataclass
class Upload:
    """A checked upload, as PDF pages."""
    pdf: bytes
    content_type: str       # what was uploaded: application/pdf, image/jpeg, image/png
    pages: int
    sha256: str             # of the bytes as uploaded


@dataclass
class Converted:
    document_reference_id: str
    provenance_id: str
    pdf: bytes
    check: certcheck.CertCheck
    pending_recheck: bool
    archival: bool          # PDF/A-2b (False: the uploaded PDF's content does not allow it)


def _refuse(vi: str, en: str) -> errors.BenhanError:
    return errors.PaperDocumentRefused(f"{vi} | {en}")


def sniff(data: bytes) -> str:
    """The upload's real kind, by its first bytes (a name or a browser's content type can lie)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:1024].lstrip()[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        return "application/pdf"
    raise _refuse("tệp không phải PDF, JPEG hay PNG", "the file is not a PDF, JPEG or PNG")


def check_upload(data: bytes) -> Upload:
    """The upload as PDF pages, or a refusal saying what is wrong with it."""
    if not data:
        raise _refuse("tệp rỗng", "the file is empty")
    if len(data) > MAX_BYTES:
        raise _refuse(f"tệp quá lớn ({len(data) // (1024 * 1024)} MB; tối đa {MAX_BYTES // (1024 * 1024)} MB)",
                      f"the file is too large ({len(data) // (1024 * 1024)} MB; at most {MAX_BYTES // (1024 * 1024)} MB)")
    kind = sniff(data)
    if kind == "application/pdf" and len(data) > MAX_STORED_BYTES:
        raise _refuse(f"tệp PDF quá lớn để lưu ({len(data) // 1024} KB; tối đa {MAX_STORED_BYTES // 1024} KB): quét lại "
                      f"ở 150–200 dpi, ảnh xám, hoặc tách thành nhiều tệp",
                      f"the PDF is too large to store ({len(data) // 1024} KB; at most {MAX_STORED_BYTES // 1024} KB): "
                      f"scan again at 150-200 dpi in grey, or split it into several files")
    pdf = _image_page(data) if kind.startswith("image/") else data
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            pages = len(doc.pages)
    except pikepdf.PasswordError:
        raise _refuse("tệp PDF có mật khẩu; hãy tải bản không khóa", "the PDF is password-protected; upload an "
                      "unlocked copy") from None
    except pikepdf.PdfError:
        raise _refuse("tệp PDF bị hỏng, không đọc được", "the PDF is damaged and cannot be read") from None
    if pages == 0:
        raise _refuse("tệp PDF không có trang nào", "the PDF has no pages")
    if pages > MAX_PAGES:
        raise _refuse(f"tệp có {pages} trang; tối đa {MAX_PAGES} trang một lần", f"the file has {pages} pages; "
                      f"at most {MAX_PAGES} at a time")
    return Upload(pdf, kind, pages, hashlib.sha256(data).hexdigest())


def _image_page(data: bytes) -> bytes:
    """A photo or scan as one A4 page (portrait or landscape as the image is), fitted within 10 mm margins."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise _refuse("ảnh quá lớn (quá nhiều điểm ảnh)", "the image has too many pixels")
                img.load()
                img = ImageOps.exif_transpose(img)
                if img.mode in ("RGBA", "LA", "P"):
                    img = img.convert("RGBA")
                    flat = Image.new("RGB", img.size, "white")    # PDF/A: no transparency needed
                    flat.paste(img, mask=img.getchannel("A"))
                    img = flat
                elif img.mode != "RGB":
                    img = img.convert("RGB")                       # CMYK, 16-bit grey …: the sRGB intent
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError, SyntaxError):
        raise _refuse("ảnh bị hỏng, không đọc được", "the image is damaged and cannot be read") from None
    landscape = img.width > img.height
    pdf = FPDF(orientation="L" if landscape else "P", format="A4")
    pdf.add_page()
    room_w, room_h = pdf.w - 20, pdf.h - 20
    scale = min(room_w / img.width, room_h / img.height)
    w, h = img.width * scale, img.height * scale
    # A phone photo (12 MP and more) is redrawn at IMAGE_DPI and kept as JPEG (DCT): a page of some
    # 200-500 KB, which the store can hold; a smaller image is not enlarged.
    most = (round(w / 25.4 * IMAGE_DPI), round(h / 25.4 * IMAGE_DPI))
    if img.width > most[0] or img.height > most[1]:
        img = img.resize(most, Image.Resampling.LANCZOS)
    for quality in (80, 70, 60, 50, 40):     # a busy photo is compressed harder rather than refused
        jpeg = io.BytesIO()
        img.save(jpeg, "JPEG", quality=quality, optimize=True)
        if jpeg.tell() <= IMAGE_BUDGET:
            break
    pdf.image(io.BytesIO(jpeg.getvalue()), x=(pdf.w - w) / 2, y=(pdf.h - h) / 2, w=w, h=h)
    return bytes(pdf.output())


# --- the seal ---------------------------------------------------------------------------------

def seal_password(cfg) -> str:  # noqa: ANN001 - a benhan.config.Config
    """The seal's password: the environment first, else the file the setting names; never stored."""
    password = os.environ.get(SEAL_PASSWORD_ENV)
    if password:
        return password
    path = Path(str(cfg.facility_seal_password_file))
    if str(path) not in ("", "."):
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise errors.SealNotConfigured(
                f"không đọc được tệp mật khẩu con dấu số ({path.name}) | the seal password file {path} cannot be "
                f"read: {exc.strerror}") from None
    raise errors.SealNotConfigured(
        f"chưa có mật khẩu con dấu số của cơ sở: đặt biến môi trường {SEAL_PASSWORD_ENV} hoặc facility_seal_password_file"
        f" | the facility seal's password is not set: set {SEAL_PASSWORD_ENV} or facility_seal_password_file")


def facility_seal(cfg) -> SigningKey:  # noqa: ANN001
    """The facility's seal from its PKCS#12 file, or a clear refusal naming the setting to fill."""
    path = Path(str(cfg.facility_seal_file))
    if str(path) in ("", "."):
        raise errors.SealNotConfigured(
            "chưa cấu hình con dấu số của cơ sở (facility_seal_file): không chuyển đổi được văn bản giấy | "
            "the facility's seal is not configured (facility_seal_file): paper documents cannot be converted")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.SealNotConfigured(
            f"không đọc được tệp con dấu số {path.name} | the seal file {path} cannot be read: {exc.strerror}") from None
    return keys.from_pkcs12(data, seal_password(cfg))


# --- the mark ---------------------------------------------------------------------------------

BAND_W, BAND_H = 595.0, 44.0          # points: the band at A4 width; scaled to each page's width


def mark_lines(*, when: dt.datetime, converter: str, facility: str, sealer: str, title: str,
               original_date: str, lookup: str) -> list[str]:
    """The words of the conversion mark (NĐ 137/2024 Đ4 k2): what it is, when, by whom, whose seal."""
    return [f"{MARK} (NĐ 137/2024/NĐ-CP Điều 4)",
            f"Thời điểm chuyển đổi: {when.astimezone(VN).strftime('%H:%M:%S %d/%m/%Y')} · "
            f"Người chuyển đổi: {converter} · Cơ sở: {facility}",
            f"Văn bản gốc: {title}" + (f", ngày {original_date}" if original_date else "")
            + f" · Đã ký số bởi: {sealer} · Mã tra cứu: {lookup}"]


def _band(lines: list[str], pages: int) -> pikepdf.Pdf:
    """One band page per page of the document (its page number differs)."""
    pdf = FPDF(unit="pt", format=(BAND_W, BAND_H))
    pdf.set_auto_page_break(False)
    pdf.set_margins(18, 4, 18)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.set_draw_color(90)
        pdf.line(18, 3, BAND_W - 18, 3)
        pdf.set_xy(18, 6)
        pdf.set_font(FAMILY, "B", 8)
        pdf.cell(0, 10, lines[0], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for line in lines[1:]:
            size = 6.5
            pdf.set_font(FAMILY, "", size)
            while size > 4 and pdf.get_string_width(line) > BAND_W - 36:
                size -= 0.25                  # a long title or name shrinks rather than runs off the page
                pdf.set_font(FAMILY, "", size)
            pdf.cell(0, 9, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_xy(BAND_W - 90, 6)
        pdf.set_font(FAMILY, "", 6.5)
        pdf.cell(72, 10, f"Trang {n}/{pages}", align="R")
    return pikepdf.open(io.BytesIO(bytes(pdf.output())))


def stamp(data: bytes, lines: list[str]) -> bytes:
    """Every page made taller by a band below its content, the mark drawn in the band: nothing the
    paper says is covered."""
    with pikepdf.open(io.BytesIO(data)) as doc:
        band = _band(lines, len(doc.pages))
        try:
            for n, page in enumerate(doc.pages):
                if int(page.obj.get("/Rotate", 0)) % 360:
                    doc.pages[n] = _upright(doc, page)
            for page, band_page in zip(doc.pages, band.pages):
                x0, y0, x1, y1 = (float(v) for v in page.mediabox)
                height = BAND_H * (x1 - x0) / BAND_W
                page.mediabox = pikepdf.Array([x0, y0 - height, x1, y1])
                if "/CropBox" in page.obj:
                    del page.obj["/CropBox"]          # the whole taller page is shown
                page.add_overlay(band_page, pikepdf.Rectangle(x0, y0 - height, x1, y0))
            out = io.BytesIO()
            doc.save(out)
            return out.getvalue()
        finally:
            band.close()


def _upright(doc: pikepdf.Pdf, page: pikepdf.Page) -> pikepdf.Page:
    """A scanner's rotated page (/Rotate 90, 180, 270) redrawn upright on a page of the size it is
    shown at, so the band goes below what the reader sees, not along its side."""
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    form = page.as_form_xobject(handle_transformations=True)
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    w, h = (x1 - x0, y1 - y0) if rotate == 180 else (y1 - y0, x1 - x0)
    upright = pikepdf.Page(doc.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=pikepdf.Array([0, 0, w, h]),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(P0=form)))))
    upright.obj.Contents = doc.make_stream(
        upright.calc_form_xobject_placement(form, pikepdf.Name.P0, pikepdf.Rectangle(0, 0, w, h)))
    return upright


# --- conversion -------------------------------------------------------------------------------

def _converter(repo: Repository, actor: Actor) -> tuple[dict, str]:
    """The converting person: their staff record (Practitioner) when the account has one."""
    name = actor.display or actor.name
    user = users.get_user(repo.store, actor.user_pk) if actor.user_pk is not None else None
    if user is not None:
        name = user.display_name or name
        if user.practitioner_id:
            return {"reference": f"Practitioner/{user.practitioner_id}", "display": name}, name
    return {"display": name}, name


def parse_date(text: str) -> dt.date:
    """The original document's date: dd/mm/yyyy (as Vietnamese write it) or yyyy-mm-dd."""
    text = (text or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise _refuse("ngày của văn bản gốc không hợp lệ (dd/mm/yyyy)", "the original document's date is not valid "
                  "(dd/mm/yyyy)")


def convert(repo: Repository, actor: Actor, patient_id: str, data: bytes | Upload, *, kind: str,
            original_date: dt.date, key: SigningKey, trust: TrustList, filename: str = "", title: str = "",
            offline_policy: str = "refuse", now: dt.datetime | None = None,
            facility_name: str | None = None, tsa=None) -> Converted:  # noqa: ANN001 - signing.timestamps.Tsa
    """Convert the paper document `data` (the uploaded bytes, or already checked by check_upload)
    onto patient `patient_id`'s record, sealed with `key`."""
    if kind not in PAPER_TYPES:
        raise _refuse(f"loại văn bản không có trong danh sách: {kind!r}",
                      f"unknown document type {kind!r}; one of {', '.join(PAPER_TYPES)}")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(VN)
    if original_date > when.date():
        raise _refuse("ngày của văn bản gốc ở tương lai", "the original document's date is in the future")
    upload = data if isinstance(data, Upload) else check_upload(data)
    patient = repo.read("Patient", patient_id).json()        # 404 / 403 before anything is signed
    check = certcheck.check(key.cert, key.chain, trust, when)
    pending = refuse_unless_allowed(check, offline_policy)
    facility = visits.facility(repo, facility_name)
    converter, converter_name = _converter(repo, actor)
    code, display, label = PAPER_TYPES[kind]
    title = (title or "").strip()[:120] or label
    sealer = key.cert.subject.native.get("common_name", "")
    doc_ref_id, prov_id = str(uuid.uuid4()), str(uuid.uuid4())
    lines = mark_lines(when=when, converter=converter_name, facility=facility.name, sealer=sealer, title=title,
                       original_date=original_date.strftime("%d/%m/%Y"), lookup=f"DocumentReference/{doc_ref_id}")
    marked = stamp(upload.pdf, lines)
    archival = pdfa.to_pdfa(marked, title=f"{title} — {MARK.lower()}", author=converter_name,
                            subject=f"{MARK}: {title}")
    is_pdfa = not pdfa.pdfa_problems(archival)
    from benhan.documents import timestamping      # pyHanko loads only when something is signed
    signed, no_stamp = timestamping.sign_pdf(archival if is_pdfa else marked, key, check, trust, tsa,
                                             field_name=f"seal-{uuid.uuid4().hex[:8]}",
                                             reason=f"{MARK} — {title}", location=facility.name, name=sealer)
    if len(signed) > MAX_STORED_BYTES:
        raise _refuse(f"bản chuyển đổi quá lớn để lưu ({len(signed) // 1024} KB; tối đa {MAX_STORED_BYTES // 1024} KB): "
                      f"quét lại ở độ phân giải thấp hơn hoặc tách thành nhiều tệp",
                      f"the converted document is too large to store ({len(signed) // 1024} KB; at most "
                      f"{MAX_STORED_BYTES // 1024} KB): scan at a lower resolution or split it")
    organization = ({"reference": f"Organization/{facility.organization_id}", "display": facility.name}
                    if facility.organization_id else {"display": facility.name})
    stamp_time = when.isoformat(timespec="seconds")
    content = attachment(signed, "application/pdf", f"{title} — bản chuyển đổi từ giấy", when)
    content["attachment"]["creation"] = original_date.isoformat()
    content["format"] = XDS_SD_PDF
    document_reference = {
        "resourceType": "DocumentReference", "meta": {"tag": [SIGNED_TAG]},
        "extension": [{"url": PAPER_EXTENSION, "extension": [
            *([{"url": "filename", "valueString": filename[:200]}] if filename else []),
            {"url": "contentType", "valueCode": upload.content_type},
            {"url": "sha256", "valueString": upload.sha256},
            {"url": "pages", "valueInteger": upload.pages},
            {"url": "convertedBy", "valueReference": converter},
            {"url": "convertedAt", "valueDateTime": stamp_time}]}],
        "status": "current", "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": label},
        "category": [{"coding": [SCANNED], "text": SCANNED["display"]}],
        "subject": {"reference": f"Patient/{patient['id']}"},
        "date": stamp_time, "authenticator": organization, "custodian": organization,
        "description": f"{SCANNED['display']}: {title}",
        "content": [content],
        "context": {"period": {"start": original_date.isoformat(), "end": original_date.isoformat()}},
    }
    seal_type = SIGNATURE_TYPES["seal"]
    provenance = {
        "resourceType": "Provenance", "target": [{"reference": f"DocumentReference/{doc_ref_id}/_history/1"}],
        "recorded": stamp_time,
        "reason": [{"text": "Chuyển đổi văn bản giấy sang văn bản điện tử (NĐ 137/2024/NĐ-CP Điều 4)"}],
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                                 "code": "TRANSFORM", "display": "transform"}],
                     "text": "Chuyển đổi từ văn bản giấy"},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "performer", "display": "Performer"}], "text": "Người chuyển đổi"},
                   "who": converter, **({"onBehalfOf": organization} if "reference" in organization else {})},
                  {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "legal", "display": "Legal Authenticator"}],
                            "text": "Cơ sở chuyển đổi (con dấu số)"},
                   "who": organization}],
        "entity": [{"role": "source", "what": {"display": f"Văn bản giấy: {title}"
                                                          + (f" ({filename[:200]})" if filename else "")
                                                          + f", SHA-256 {upload.sha256}"}}],
        "signature": [{"type": [{"system": "urn:iso-astm:E1762-95:2013", "code": seal_type[0],
                                 "display": seal_type[1]}],
                       "when": stamp_time, "who": organization, "targetFormat": "application/pdf",
                       "sigFormat": "application/pdf"}],
        "extension": [certificate_check_extension(check, key.cert, pending),
                      *timestamping.extensions(signed, no_stamp)],
    }
    if pending:     # sealed offline: the later check (documents.recheck) finds it by this tag
        provenance["meta"] = {"tag": [RECHECK_PENDING_TAG]}
    repo.commit([repo.prepare("POST", "DocumentReference", doc_ref_id, document_reference, create_only=True),
                 repo.prepare("POST", "Provenance", prov_id, provenance, create_only=True)], "transaction")
    return Converted(doc_ref_id, prov_id, signed, check, pending, is_pdfa)


def paper_documents(repo: Repository, patient_id: str) -> list[dict]:
    """The patient's documents converted from paper, newest conversion first."""
    found = repo.search_all("DocumentReference", [("patient", f"Patient/{patient_id}"),
                                                  ("category", f"{ORIGIN_SYSTEM}|{SCANNED['code']}"),
                                                  ("_sort", "-date")])
    return [m.json() for m in found]
