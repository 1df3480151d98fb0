"""The timestamps of a signed document, as signed and as recorded (docs/signatures.md "Timestamps").

benhan's decision when the facility's TSA does not answer: the document is signed all the same,
without a timestamp, and the Provenance and the signer's message say so. A discharge or a
prescription must not wait for a timestamp service: the law asks for a timestamp only where another
law requires one (TT 15/2025/TT-BKHCN), the signing time is in the signature anyway, and the
certificate's status at signing is checked and kept independently of the TSA.

The Provenance keeps one `signature-timestamp` extension per timestamp in the PDF (its kind —
the signature's own (B-T) or a document timestamp (B-LTA) —, the TSA's time, the TSA), or one saying
there is none and why ("không có dấu thời gian").
"""
from __future__ import annotations

from benhan import errors
from benhan.signing import timestamps
from benhan.signing.certcheck import CertCheck
from benhan.signing.keys import SigningKey
from benhan.signing.trust import TrustList

TIMESTAMP_EXTENSION = "https://benhan.vn/fhir/StructureDefinition/signature-timestamp"


def sign_pdf(pdf: bytes, key: SigningKey, check: CertCheck, trust: TrustList, tsa: timestamps.Tsa | None,
             **fields: str) -> tuple[bytes, str]:
    """The signed PDF and, when it has no timestamp, why ("" when it has one)."""
    from benhan.signing import pades
    if tsa is None:
        return pades.sign_pdf(pdf, key, check, trust, **fields), timestamps.NO_TIMESTAMP
    try:
        return pades.sign_pdf(pdf, key, check, trust, tsa=tsa, **fields), ""
    except errors.TimestampUnavailable as exc:
        note = timestamps.TSA_UNTRUSTED if getattr(exc, "tsa_untrusted", False) else timestamps.UNAVAILABLE
        return pades.sign_pdf(pdf, key, check, trust, **fields), note


def found(pdf: bytes) -> list[tuple[str, str, str]]:
    """(kind, ISO time, TSA) of each timestamp in the PDF: "signature" for a signature's own
    timestamp token, "document" for a document timestamp. Read, not validated (the verifier does that)."""
    from benhan.signing import pades
    return pades.timestamps_in(pdf)


def extensions(signed_pdf: bytes, note: str | None) -> list[dict]:
    """The Provenance extensions recording the PDF's timestamps, or their absence and its reason."""
    stamps = found(signed_pdf)
    if not stamps:
        return [{"url": TIMESTAMP_EXTENSION, "extension": [
            {"url": "kind", "valueCode": "none"},
            {"url": "note", "valueString": note or timestamps.NO_TIMESTAMP}]}]
    return [{"url": TIMESTAMP_EXTENSION, "extension": [
        {"url": "kind", "valueCode": kind}, {"url": "time", "valueDateTime": when},
        {"url": "tsa", "valueString": tsa}]} for kind, when, tsa in stamps]


def missing(extensions_: list[dict]) -> str:
    """Why the PDF has no timestamp, from its recorded extensions ("" when it has one)."""
    return next((r["note"] for r in recorded({"extension": extensions_}) if r["kind"] == "none"), "")


def recorded(provenance: dict) -> list[dict]:
    """What a Provenance says of the timestamps: [{"kind", "time", "tsa", "note"}]."""
    out = []
    for ext in provenance.get("extension") or []:
        if ext.get("url") == TIMESTAMP_EXTENSION:
            fields = {e["url"]: next((v for k, v in e.items() if k.startswith("value")), "")
                      for e in ext.get("extension", [])}
            out.append({"kind": fields.get("kind", ""), "time": fields.get("time", ""), "tsa": fields.get("tsa", ""),
                        "note": fields.get("note", "")})
    return out


def configured(cfg) -> timestamps.Tsa | None:  # noqa: ANN001 - a benhan.config.Config
    """The facility's TSA (signing_tsa_url and its credentials), None when none is configured."""
    return timestamps.from_settings(cfg.signing_tsa_url, cfg.signing_tsa_username, cfg.signing_tsa_password)
