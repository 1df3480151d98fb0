"""The link from an imaging result to the facility's PACS viewer, when one is configured.

`pacs_viewer_url` is a template such as `https://pacs.local/viewer?accession={accession}&study={study_uid}`:
{accession} is the imaging order's placer number (the ServiceRequest id, which the modality worklist
carries as the DICOM Accession Number) and {study_uid} the Study Instance UID of the report's
ImagingStudy when the report names it by identifier (DICOM UIDs as `urn:oid:…`), else empty. Both
are percent-encoded; a template that is not an http(s) URL gives no link (no `javascript:`)."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

DICOM_UID = "urn:dicom:uid"


def study_uid(report: dict | None) -> str:
    for study in (report or {}).get("imagingStudy", []):
        ident = study.get("identifier") or {}
        value = ident.get("value", "")
        if value and ident.get("system", DICOM_UID) in (DICOM_UID, "urn:ietf:rfc:3986"):
            return value.removeprefix("urn:oid:")
    return ""


def viewer_url(template: str, accession: str, uid: str = "") -> str | None:
    """The viewer link, or None when no (usable) template is configured."""
    template = (template or "").strip()
    if not template or not accession:
        return None
    try:
        url = template.replace("{accession}", quote(accession, safe="")).replace("{study_uid}", quote(uid, safe=""))
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url
