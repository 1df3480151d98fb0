"""Signing a clinical document with a remote-signing service (the key in the CA's HSM, approval on the
signer's phone), in two steps so nothing blocks while she approves:

- `start_remote`: the certificate is fetched from the service and checked exactly as a token's is
  (trust list, dates, key usage, OCSP/CRL, holder = the signer's CCCD) **before** any request is sent;
  the document is built, the PDF prepared up to its signature placeholder (pyHanko's interrupted
  signing), and ONE request asks for two signatures under one approval: the PDF's PAdES signed
  attributes and the document Bundle's JWS signing input. The pending state (the prepared PDF, the
  Bundle, the check, the certificate) is kept in the node settings under the transaction id, so a
  server restart while the doctor approves loses nothing.
- `finish_remote`: when the service says approved, both signature values are checked against the
  certificate's key, embedded (PAdES-B-LT, detached JWS) and the same DocumentReference + Provenance
  as a token's signature are stored (documents.signing.record_signed). Refused or expired at the
  phone: BENHAN-7010, nothing stored, the pending state closed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from benhan import errors
from benhan.auth.actor import Actor
from benhan.documents import signing
from benhan.documents.composition import canonical
from benhan.signing import certcheck, remote, twostep
from benhan.signing.trust import TrustList
from benhan.store import sync_tables
from benhan.store.repository import Repository

_KEY = "remote-signing:"
OPEN, FINISHING, CLOSED = "open", "finishing", "closed"


def _key(transaction_id: str) -> str:
    """A settings key of bounded length whatever the service's transaction ids look like."""
    return _KEY + hashlib.sha256(transaction_id.encode()).hexdigest()[:40]


@dataclass
class Pending:
    transaction_id: str
    user_id: str            # the signer's account at the service


def start_remote(repo: Repository, actor: Actor, encounter_id: str, form: str, service: remote.RemoteSigningService,
                 user_id: str, trust: TrustList, **options: object) -> Pending:
    """Check, build, prepare and send the signing request; the pending signature (see the module doc).
    `options` are those of signing.prepare_document (offline_policy, base_url, now, facility_name, role)."""
    certificates = service.certificates(user_id)
    try:
        cert, *chain = [certcheck.as_asn1(c) for c in certificates]
        cert.subject.native   # noqa: B018 - parse now: a broken certificate is the service's fault
    except (ValueError, TypeError):
        raise remote.Unavailable("dịch vụ ký số từ xa trả chứng thư số không đọc được | the remote-signing service "
                                 "sent a certificate benhan cannot read") from None
    key = twostep.external_key(cert, chain)
    draft = signing.prepare_document(repo, actor, encounter_id, form, key, trust, **options)  # type: ignore[arg-type]
    prepared = twostep.prepare_pdf(draft.pdf, key, draft.check, trust, field_name=signing.field_name(draft),
                                   reason=draft.title, location=draft.facility, name=draft.signer_name)
    jws_input = twostep.jws_signing_input(canonical(draft.bundle), cert, chain, **signing.jws_arguments(draft))
    digests = [prepared.to_be_signed, hashlib.sha256(jws_input).digest()]
    transaction_id = service.submit(user_id, digests, f"{draft.title} — {draft.signer_name}", str(uuid.uuid4()))
    draft.pdf = b""                    # the prepared PDF below holds it
    state = {"state": OPEN, "transaction": transaction_id, "user": user_id, "actor": actor.user_pk,
             "draft": draft.to_json(), "pdf": prepared.to_json(),
             "certificates": [base64.b64encode(c).decode() for c in certificates],
             "digests": [base64.b64encode(d).decode() for d in digests]}
    with repo.store.db.write() as conn:
        sync_tables.set_setting(conn, _key(transaction_id), json.dumps(state))
    return Pending(transaction_id, user_id)


def _load(repo: Repository, transaction_id: str) -> dict:
    with repo.store.db.read() as conn:
        raw = sync_tables.get_setting(conn, _key(transaction_id))
    state = json.loads(raw) if raw else None
    if state is None or state.get("transaction") != transaction_id or state.get("state") != OPEN:
        raise remote.Refused("không có chữ ký từ xa nào đang chờ với mã này (đã xong, bị từ chối hoặc không tồn tại) | "
                             "no remote signature is waiting under this id (finished, refused or unknown)")
    if state.get("actor") != repo.actor.user_pk:
        raise errors.Forbidden("chữ ký từ xa này do người khác bắt đầu | another user started this remote signature")
    return state


def _set_state(repo: Repository, transaction_id: str, state: dict, value: str, **extra: object) -> None:
    with repo.store.db.write() as conn:
        sync_tables.set_setting(conn, _key(transaction_id), json.dumps({**state, "state": value, **extra}))


def _check_value(cert: x509.Certificate, signature: bytes, digest: bytes) -> None:
    """A value the service returns must be a signature of what benhan asked, by the checked certificate's key."""
    public = cert.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        else:
            raise InvalidSignature()
    except InvalidSignature:
        raise remote.Unavailable("chữ ký dịch vụ ký số từ xa trả về không khớp chứng thư số đã kiểm tra | the "
                                 "signature the remote-signing service returned does not match the checked "
                                 "certificate") from None


def finish_remote(repo: Repository, service: remote.RemoteSigningService, transaction_id: str,
                  **wait: object) -> signing.SignedDocument:
    """Wait for the approval (`wait` are remote.RemoteSigningService.wait's interval/timeout/sleep/clock/
    on_pending), then embed the signatures and store the signed document."""
    state = _load(repo, transaction_id)
    answer = service.wait(transaction_id, 2, **wait)  # type: ignore[arg-type]
    if answer.status in (remote.REFUSED, remote.EXPIRED):
        _set_state(repo, transaction_id, {"transaction": transaction_id}, CLOSED, outcome=answer.status)
        raise remote.refusal(answer.status)
    if answer.status != remote.APPROVED:
        raise remote.refusal(answer.status)      # still pending: kept, finish again later
    certificates = [base64.b64decode(c) for c in state["certificates"]]
    if answer.certificates and answer.certificates[0] != certificates[0]:
        raise remote.Unavailable("dịch vụ ký số từ xa ký bằng chứng thư khác chứng thư đã kiểm tra | the "
                                 "remote-signing service signed with another certificate than the one checked")
    digests = [base64.b64decode(d) for d in state["digests"]]
    checked = x509.load_der_x509_certificate(certificates[0])
    for value, digest in zip(answer.signatures, digests):
        _check_value(checked, value, digest)
    cert, *chain = [certcheck.as_asn1(c) for c in certificates]
    draft = signing.Draft.from_json(state["draft"])
    payload = canonical(draft.bundle)
    arguments = signing.jws_arguments(draft)
    if hashlib.sha256(twostep.jws_signing_input(payload, cert, chain, **arguments)).digest() != digests[1]:
        raise errors.SignatureInvalid("the document Bundle waiting for its remote signature changed")
    _set_state(repo, transaction_id, state, FINISHING)      # a second finisher finds it taken
    try:
        signed_pdf = twostep.finish_pdf(twostep.PreparedPdf.from_json(state["pdf"]), answer.signatures[0], cert,
                                        chain, draft.check)
        signature = twostep.finish_jws(payload, answer.signatures[1], cert, chain, **arguments)
        done = signing.record_signed(repo, draft, cert, signed_pdf, signature)
    except BaseException:
        _set_state(repo, transaction_id, state, OPEN)
        raise
    _set_state(repo, transaction_id, {"transaction": transaction_id}, CLOSED, outcome="signed",
               document=done.document_reference_id)
    return done
