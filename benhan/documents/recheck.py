"""The later certificate check of signatures made while neither OCSP nor CRL answered
(signing_offline = sign-and-recheck; NĐ 23/2025 Đ16, TT 15/2025/TT-BKHCN Appendix II).

Such a signature's Provenance carries the tag `certificate-recheck|pending` (documents.signing). The
check finds them by that tag, asks the CA again once it answers, and judges the certificate at the
signing time (signing.later_check). The answer is stored as a *new* Provenance — tag
`certificate-recheck|rechecked`, target the original Provenance, the signed DocumentReference and the
patient — holding the OCSP/CRL answers, the result and its time, as the law asks of the check at
signing. Nothing signed is changed: the signed version and its Provenance stay as they were (a
signed version is immutable, store.signed_versions). While the CA still does not answer nothing is
written and the signature stays pending.

A certificate revoked *before* the signing time is flagged loudly: logged as an error, shown in red
on the documents page and the verification, and `benhan sign recheck` exits non-zero.

Run by `benhan sign recheck` and, in the server, every `signing_recheck_minutes` (RecheckRunner),
which does nothing but one search while no signature is pending.
"""
from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from benhan import errors
from benhan.auth.actor import Actor
# Only the names a round with nothing pending needs: the signature stack (documents.signing, pyHanko,
# fpdf2) is imported when there is a signature to check, not in every server (web/recheck_runner.py).
from benhan.documents.composition import PROVENANCE_CHECK, RECHECK_PENDING_TAG, RECHECK_SYSTEM
from benhan.signing.trust import TrustList
from benhan.store.repository import Repository

log = logging.getLogger(__name__)

RECHECKED_TAG = {"system": RECHECK_SYSTEM, "code": "rechecked", "display": "Đã kiểm tra lại trạng thái chứng thư"}
RESULT_EXTENSION = "https://benhan.vn/fhir/StructureDefinition/certificate-recheck"

GOOD, REVOKED_AFTER, REVOKED_BEFORE, PENDING, FAILED = (
    "good", "revoked-after-signing", "revoked-before-signing", "pending", "failed")
# Vietnamese first (TT 15: results reported in Vietnamese), English after " | ".
MESSAGES = {
    GOOD: "đã kiểm tra lại: chứng thư hợp lệ tại thời điểm ký | rechecked: the certificate was valid when signing",
    REVOKED_AFTER: "đã kiểm tra lại: chứng thư hợp lệ tại thời điểm ký, bị thu hồi sau đó | rechecked: the certificate "
                   "was valid when signing and revoked later",
    REVOKED_BEFORE: "CẢNH BÁO: chứng thư đã bị thu hồi TRƯỚC thời điểm ký — chữ ký không có giá trị | WARNING: the "
                    "certificate was revoked BEFORE the signing time — the signature is not valid",
    PENDING: "chưa kiểm tra được trạng thái chứng thư (OCSP/CRL chưa trả lời), sẽ kiểm tra lại | certificate status "
             "still unchecked (no OCSP/CRL answer yet), to be checked again",
    FAILED: "đã kiểm tra lại: chứng thư không hợp lệ tại thời điểm ký | rechecked: the certificate was not valid when "
            "signing",
}


@dataclass
class Outcome:
    provenance_id: str                  # the signature's own Provenance
    document_reference_id: str
    outcome: str                        # GOOD, REVOKED_AFTER, REVOKED_BEFORE, PENDING or FAILED
    signed_at: str
    checked_at: str = ""
    revoked_at: str = ""
    detail: str = ""                    # the certificate check's status (expired, untrusted …) when FAILED
    recheck_id: str = ""                # the Provenance holding the result ("" while pending)

    @property
    def ok(self) -> bool:
        return self.outcome in (GOOD, REVOKED_AFTER)

    def message(self, lang: str = "vi") -> str:
        vi, _, en = MESSAGES[self.outcome].partition(" | ")
        return vi if lang == "vi" else en

    def line(self) -> str:
        """One line for the operator: the document, the verdict, the times."""
        text = MESSAGES[self.outcome]
        if self.outcome in (FAILED, PENDING) and self.detail:
            from benhan.signing import certcheck
            text += f" ({certcheck.MESSAGES.get(self.detail, (self.detail,))[0]})"
        if self.revoked_at:
            text += f"; thu hồi lúc | revoked at {self.revoked_at}"
        return f"DocumentReference/{self.document_reference_id}: {text}; ký lúc | signed at {self.signed_at}"


def _fields(extension: dict) -> dict[str, list]:
    out: dict[str, list] = {}
    for e in extension.get("extension", []):
        out.setdefault(e["url"], []).append(next((v for k, v in e.items() if k.startswith("value")), None))
    return out


def _check_fields(provenance: dict, url: str = PROVENANCE_CHECK) -> dict[str, list]:
    ext = next((e for e in provenance.get("extension") or [] if e.get("url") == url), None)
    return _fields(ext) if ext else {}


def _document_id(provenance: dict) -> str:
    for target in provenance.get("target", []):
        ref = target.get("reference", "")
        if ref.startswith("DocumentReference/"):
            return ref.split("/")[1]
    return ""


def _search_all(repo: Repository, items: list[tuple[str, str]]) -> Iterator[dict]:
    for page in repo.search_pages("Provenance", items):
        yield from (m.json() for m in page.matches)


def _tag(tag: dict) -> tuple[str, str]:
    return ("_tag", f"{tag['system']}|{tag['code']}")


def pending(repo: Repository) -> list[dict]:
    """The Provenances of signatures still waiting for their certificate check."""
    waiting = list(_search_all(repo, [_tag(RECHECK_PENDING_TAG)]))
    if not waiting:
        return []
    done = {t.get("reference", "") for p in _search_all(repo, [_tag(RECHECKED_TAG)]) for t in p.get("target", [])}
    return [p for p in waiting if f"Provenance/{p['id']}" not in done]


def _certificates(provenance: dict):  # noqa: ANN202 - (certificate, chain) as asn1crypto objects
    from benhan.signing import certcheck, jws
    fields = _check_fields(provenance)
    cert = certcheck.as_asn1(base64.b64decode(fields["certificate"][0]))
    chain = []
    for sig in provenance.get("signature", []):      # the JWS carries the chain the signer presented (x5c)
        if sig.get("sigFormat") == "application/jose" and sig.get("data"):
            header = jws.read_header(base64.b64decode(sig["data"]).decode())
            chain = [certcheck.as_asn1(base64.b64decode(c)) for c in header.get("x5c", [])[1:]]
    return cert, chain


def recheck_one(repo: Repository, provenance: dict, trust: TrustList, now: dt.datetime | None = None) -> Outcome:
    """Check one pending signature again; store the result when the CA answered."""
    from benhan.documents.signing import certificate_check_extension
    from benhan.signing import certcheck, later_check
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone(dt.timedelta(hours=7)))
    signed_text = (_check_fields(provenance).get("checkedAt") or [provenance.get("recorded", "")])[0]
    signed_at = dt.datetime.fromisoformat(signed_text)
    doc_id = _document_id(provenance)
    cert, chain = _certificates(provenance)
    later = later_check.check_at_signing(cert, chain, trust, signed_at, now)
    status = later.check.status
    revoked = later.revoked_at.astimezone(signed_at.tzinfo).isoformat(timespec="seconds") if later.revoked_at else ""
    if status == certcheck.OFFLINE:
        return Outcome(provenance["id"], doc_id, PENDING, signed_text)
    outcome = (GOOD if not revoked else REVOKED_AFTER) if status == certcheck.GOOD \
        else REVOKED_BEFORE if status == certcheck.REVOKED else FAILED
    subject = repo.read("DocumentReference", doc_id).json().get("subject") if doc_id else None
    # One result per signature, whoever checks: two server workers (PostgreSQL hubs run several) or a
    # cron `benhan sign recheck` beside the server mint the same id, and the second write is refused.
    recheck_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{RECHECK_SYSTEM}/{provenance['id']}"))
    result = [{"url": "outcome", "valueCode": outcome}, {"url": "signedAt", "valueDateTime": signed_text}]
    if revoked:
        result.append({"url": "revokedAt", "valueDateTime": revoked})
    later.check.checked_at = now
    record = {
        "resourceType": "Provenance", "meta": {"tag": [RECHECKED_TAG]},
        "target": [{"reference": f"Provenance/{provenance['id']}"},
                   *([{"reference": f"DocumentReference/{doc_id}"}] if doc_id else []),
                   *([{"reference": subject["reference"]}] if subject and subject.get("reference") else [])],
        "recorded": now.isoformat(timespec="seconds"),
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "VRF", "display": "verifier"}]},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "verifier"}]},
                   "who": {"display": "benhan — kiểm tra lại trạng thái chứng thư"}}],
        "entity": [{"role": "source", "what": {"reference": f"Provenance/{provenance['id']}"}}],
        "extension": [certificate_check_extension(later.check, cert, False),
                      {"url": RESULT_EXTENSION, "extension": result}],
    }
    try:
        repo.commit([repo.prepare("POST", "Provenance", recheck_id, record, create_only=True)], "create")
    except errors.Conflict:
        # Checked at the same moment by another worker: its result stands (the same answer from the CA).
        stored = repo.read("Provenance", recheck_id).json()
        outcome = next((x.get("valueCode") for e in stored.get("extension", []) if e.get("url") == RESULT_EXTENSION
                        for x in e.get("extension", []) if x.get("url") == "outcome"), outcome)
    done = Outcome(provenance["id"], doc_id, outcome, signed_text, now.isoformat(timespec="seconds"), revoked,
                   status if outcome == FAILED else "", recheck_id)
    if outcome == REVOKED_BEFORE:
        log.error("SIGNATURE WITH A REVOKED CERTIFICATE: %s", done.line())
    elif outcome == FAILED:
        log.error("signature whose certificate was not valid at signing: %s", done.line())
    return done


def recheck_all(repo: Repository, trust: TrustList, now: dt.datetime | None = None) -> list[Outcome]:
    return _recheck(repo, pending(repo), trust, now)


def _recheck(repo: Repository, waiting: list[dict], trust: TrustList, now: dt.datetime | None) -> list[Outcome]:
    out = []
    for provenance in waiting:
        try:
            out.append(recheck_one(repo, provenance, trust, now))
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            # A record benhan cannot read (no certificate, a bad time) stays pending and is named, not skipped.
            log.error("signature recheck: Provenance/%s cannot be read: %s", provenance.get("id"), exc)
            out.append(Outcome(provenance.get("id", ""), _document_id(provenance), PENDING, "?",
                               detail=f"{type(exc).__name__}: {exc}"))
    return out


def state_of(repo: Repository, document_reference_id: str) -> Outcome | None:
    """The certificate check of a signed document as it stands: None when it was checked at signing;
    PENDING while the later check has no answer; else the later check's result (the latest)."""
    found = list(_search_all(repo, [("target", f"DocumentReference/{document_reference_id}")]))
    originals = [p for p in found if any(t.get("code") == RECHECK_PENDING_TAG["code"] and t.get("system") == RECHECK_SYSTEM
                                         for t in (p.get("meta") or {}).get("tag", []))]
    if not originals:
        return None
    original = originals[0]
    signed_text = (_check_fields(original).get("checkedAt") or [""])[0]
    results = sorted((p for p in found if any(t.get("reference") == f"Provenance/{original['id']}"
                                              for t in p.get("target", []))),
                     key=lambda p: p.get("recorded", ""))
    if not results:
        return Outcome(original["id"], document_reference_id, PENDING, signed_text)
    latest = results[-1]
    result = {k: v[0] for k, v in _check_fields(latest, RESULT_EXTENSION).items()}
    status = (_check_fields(latest).get("status") or [""])[0]
    return Outcome(original["id"], document_reference_id, result.get("outcome", FAILED), signed_text,
                   latest.get("recorded", ""), result.get("revokedAt", ""),
                   status if result.get("outcome") == FAILED else "", latest["id"])


class RecheckRunner:
    """Checks the pending signatures every `interval` seconds in a background thread of the server.
    `wait` and `now` are injectable (tests follow the schedule without sleeping); a round with nothing
    pending is one search. Never dies: a failed round is logged and tried again next time."""

    def __init__(self, store, trust: Callable[[], TrustList], *, interval: float,  # noqa: ANN001 - store.Store
                 now: Callable[[], dt.datetime] | None = None, wait: Callable[[float], None] | None = None):
        self.store = store
        self.trust = trust
        self.interval = interval
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread = threading.Thread(target=self.run, name="signature-recheck", daemon=True)
        self.rounds = 0
        self.last: list[Outcome] = []

    def start(self) -> "RecheckRunner":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def run_round(self) -> list[Outcome]:
        repo = Repository(self.store, Actor.system("signature-recheck"))
        try:
            waiting = pending(repo)
            self.last = _recheck(repo, waiting, self.trust(), self.now()) if waiting else []
        except Exception as exc:  # noqa: BLE001 - a bad round must not end the server's checks
            log.warning("signature recheck round failed: %s", exc)
            self.last = []
        self.rounds += 1
        return self.last

    def run(self) -> None:
        # The first round after one interval: a server start (and every test app) stays quiet.
        while not self._stop.is_set():
            self._wait(self.interval)
            if self._stop.is_set():
                break
            self.run_round()
