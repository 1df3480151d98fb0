"""The signed record's PDF as PDF/A-2b (ISO 19005-2, level B): a file meant to be read in 10–30
years (TT 33/2025 retention) must carry what it needs inside — fonts embedded (the printout already
embeds DejaVu Sans, with its ToUnicode map, so the Vietnamese text extracts), an output intent with
its colour profile (sRGB, made by LittleCMS through Pillow), the XMP metadata that declares the
conformance, the document language. Converted before signing: the signature is an incremental update,
which PDF/A-2 allows.

pikepdf (qpdf) edits the file; no validator such as veraPDF is on Debian, so tests check the
structure PDF/A requires (docs/signatures.md says what is and is not checked).
"""
from __future__ import annotations

import io
from functools import cache

import pikepdf
from pikepdf import Name


@cache
def srgb_profile() -> bytes:
    from PIL import ImageCms
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def to_pdfa(data: bytes, *, title: str, author: str, subject: str = "", lang: str = "vi-VN") -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        profile = pikepdf.Stream(pdf, srgb_profile())
        profile["/N"] = 3
        pdf.Root["/OutputIntents"] = pikepdf.Array([pikepdf.Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier="sRGB IEC61966-2.1",
            Info="sRGB IEC61966-2.1", RegistryName="http://www.color.org", DestOutputProfile=profile)])
        pdf.Root["/Lang"] = pikepdf.String(lang)
        pdf.docinfo["/Title"] = pikepdf.String(title)
        pdf.docinfo["/Author"] = pikepdf.String(author)
        if subject:
            pdf.docinfo["/Subject"] = pikepdf.String(subject)
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta.load_from_docinfo(pdf.docinfo)
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
        out = io.BytesIO()
        pdf.save(out, min_version="1.7", fix_metadata_version=True, object_stream_mode=pikepdf.ObjectStreamMode.disable)
        return out.getvalue()


def pdfa_problems(data: bytes) -> list[str]:
    """What a PDF/A-2b file must have that this one lacks (a structural check, not a full validator)."""
    problems = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if pdf.is_encrypted:
            problems.append("encrypted")
        meta = pdf.open_metadata()
        if meta.get("pdfaid:part") != "2" or meta.get("pdfaid:conformance") not in ("B", "U", "A"):
            problems.append("no PDF/A-2 identification in the XMP metadata")
        intents = pdf.Root.get("/OutputIntents")
        if not intents or not any(i.get("/S") == Name.GTS_PDFA1 and "/DestOutputProfile" in i for i in intents):
            problems.append("no PDF/A output intent with a colour profile")
        if "/ID" not in pdf.trailer:
            problems.append("no file identifier in the trailer")
        for n, page in enumerate(pdf.pages, 1):
            fonts = (page.get("/Resources") or {}).get("/Font") or {}
            for name, font in fonts.items():
                descendants = font.get("/DescendantFonts")
                target = descendants[0] if descendants else font
                descriptor = target.get("/FontDescriptor") or {}
                if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    problems.append(f"page {n}: font {name} is not embedded")
                if font.get("/Subtype") == Name.Type0 and "/ToUnicode" not in font:
                    problems.append(f"page {n}: font {name} has no ToUnicode map (text would not extract)")
    return problems
