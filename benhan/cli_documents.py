"""`benhan sign` and `benhan verify`: signing a clinical document from the command line (a facility's
seal kept in a PKCS#12 file, a clinician's token at the server), and checking any signed PDF or
document Bundle — one line per finding, exit 1 when a signature does not hold."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from benhan import config as config_mod, errors
from benhan.cli_common import DataDir, DbUrl, open_store

# The signable forms (documents.composition.DOCUMENT_TYPES, kept equal by a test; not imported here so
# that `benhan --help` stays quick); "key:item" signs one of several (a day, a report, a consent).
FORMS = ("discharge, prescription, outpatient, inpatient, referral, followup, sickleave, death, "
         "labresult:REPORT, imagingresult:REPORT, treatment-day:YYYY-MM-DD, nursing-day:YYYY-MM-DD, "
         "consent:ID, consent-admission:ID, consent-refusal:ID, consent-transfer:ID, consent-leave:ID, "
         "transfusion:ID, surgery:ID, summary, inpatient-paediatric, inpatient-infectious, inpatient-gynaecology, "
         "inpatient-obstetric, inpatient-surgical, inpatient-traditional, inpatient-traditional-child, "
         "outpatient-traditional")


def signature_state(pending_recheck: bool, timestamp_note: str | None = None) -> str:
    """How the operator is told what kind of signature was made (`timestamp_note`: None when timestamps
    are not the question, "" when the PDF was timestamped, else why it was not)."""
    state = ("chưa kiểm tra được trạng thái, sẽ kiểm tra lại | status unchecked, to be rechecked"
             if pending_recheck else "PAdES-B-LTA" if timestamp_note == "" else "PAdES-B-LT")
    return state + (f"; {timestamp_note}" if timestamp_note else "")


def verify(file: Optional[Path] = typer.Argument(None, help="A signed PDF, or a document Bundle (JSON) exported "
                                                                "from benhan."),
           trust_dir: Optional[Path] = typer.Option(None, help="Trust list folder (default: the signing_trust_dir "
                                                               "setting, else <data_dir>/trust)."),
           document: Optional[str] = typer.Option(None, "--document", help="Instead of a file: a signed document in "
                                                  "the database (its DocumentReference id), with every version of "
                                                  "its amendment chain."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Check every signature of a PDF or document Bundle: who signed, when, the certificate and its
    status at signing, and whether anything changed since (naming what). Exit 1 if one fails."""
    from benhan.documents import verify as v
    from benhan.signing import trust
    if (file is None) == (document is None):
        raise errors.InvalidOperationParameter("give a FILE or --document ID (one of them)")
    if document is not None:
        _verify_chain(document, trust_dir, data_dir, database_url)
        return
    cfg = config_mod.load(data_dir=data_dir)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise errors.SignatureInvalid(f"cannot read {file}: {exc.strerror}") from None
    checks = v.verify_file(data, trust.load(trust_dir or cfg.trust_dir))
    for check in checks:
        for line in check.lines():
            typer.echo(line)
    _amends_line(data)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def _amends_line(data: bytes) -> None:
    """A document Bundle that corrects a signed one says so: which version, its hash, and why."""
    from benhan.documents import amendment
    from benhan.fhir import resource_json
    if data.lstrip()[:1] != b"{":
        return
    link = amendment.link_in(resource_json.loads(data))
    if link is not None:
        typer.echo(f"bản sửa đổi của | amends DocumentReference/{link.document_reference_id} (SHA-256 Bundle "
                   f"{link.bundle_sha256[:16]}…); lý do | reason: {link.reason}")
        typer.echo(f"  cả chuỗi | the whole chain: benhan verify --document {link.document_reference_id}")


def _verify_chain(document: str, trust_dir: Optional[Path], data_dir: Optional[Path],
                  database_url: Optional[str]) -> None:
    """A stored document and every version of its amendment chain, oldest first."""
    from benhan.auth.actor import Actor
    from benhan.documents import amendment
    from benhan.signing import trust
    from benhan.store.repository import Repository
    store = open_store(data_dir, database_url)
    try:
        chain = amendment.chain(Repository(store, Actor.system("cli:verify")), document,
                                trust.load(trust_dir or store.config.trust_dir))
    finally:
        store.close()
    for line in chain.lines():
        typer.echo(line)
    if not chain.ok:
        raise typer.Exit(1)


def sign(encounter: str = typer.Argument(..., help="The encounter (visit) id; or 'recheck': check again the "
                                                   "signatures made while OCSP/CRL could not be reached."),
         form: str = typer.Option("discharge", help=f"The form to sign: {FORMS}."),
         user: Optional[str] = typer.Option(None, help="The signer's account (its staff record holds their CCCD)."),
         token: Optional[str] = typer.Option(None, help="Label of the signer's PKCS#11 token (PIN from "
                                                        "BENHAN_TOKEN_PIN, else asked)."),
         key_label: Optional[str] = typer.Option(None, help="Label of the key on the token (default: the only one)."),
         pkcs12: Optional[Path] = typer.Option(None, help="A PKCS#12 file instead of a token (password from "
                                                          "BENHAN_PKCS12_PASSWORD, else asked)."),
         remote: Optional[str] = typer.Option(None, help="Sign with the remote-signing service (remote_signing_url): "
                                                         "your user id there; approve on your phone."),
         wait: float = typer.Option(300.0, help="With --remote: how many seconds to wait for the approval."),
         seal: bool = typer.Option(False, "--seal", help="Sign a fresh rendering as the facility (its seal) rather than as the author; "
                                                    "to add the seal to an author-signed paper use 'benhan seal'."),
         out: Optional[Path] = typer.Option(None, help="Also write the signed PDF here."),
         data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Sign one of an encounter's documents (checks the certificate first; stores the signed PDF,
    the document Bundle and the Provenance; timestamps it when signing_tsa_url is set).
    `benhan sign recheck`: one line per signature still unchecked; exit 1 if one is revoked or unchecked."""
    if encounter == "recheck":
        return recheck(data_dir, database_url)
    from benhan.auth import policy, users
    from benhan.documents import signing
    from benhan.signing import keys, timestamps, trust
    if not user:
        raise errors.InvalidOperationParameter("give the signer's account with --user")
    if sum(x is not None for x in (token, pkcs12, remote)) != 1:
        raise errors.InvalidOperationParameter("give exactly one of --token, --pkcs12 or --remote")
    store = open_store(data_dir, database_url)
    try:
        cfg = store.config
        signing.offline_policy(cfg)
        actor = policy.actor_for_user(store, users.find_user(store, user), source="cli")
        from benhan.store.repository import Repository
        repo = Repository(store, actor)
        trusted = trust.load(cfg.trust_dir)

        def run(key: keys.SigningKey) -> signing.SignedDocument:
            return signing.sign_encounter_document(
                repo, actor, encounter, form, key, trusted, offline_policy=cfg.signing_offline,
                base_url=cfg.base_url, facility_name=cfg.values.get("facility_name"),
                role="seal" if seal else "author",
                tsa=timestamps.from_settings(cfg.signing_tsa_url, cfg.signing_tsa_username, cfg.signing_tsa_password))
        if remote is not None:
            done = _sign_remote(repo, actor, encounter, form, remote, trusted, cfg, seal, wait)
        elif pkcs12 is not None:
            password = os.environ.get("BENHAN_PKCS12_PASSWORD") or typer.prompt("PKCS#12 password", hide_input=True)
            done = run(keys.from_pkcs12(pkcs12.read_bytes(), password))
        else:
            module = str(cfg.pkcs11_module)
            if module in ("", "."):
                raise errors.ConfigError("set pkcs11_module to your token's PKCS#11 library to sign with a token")
            pin = os.environ.get("BENHAN_TOKEN_PIN") or typer.prompt("Token PIN", hide_input=True)
            with keys.from_token(module, token or "", pin, key_label) as key:
                done = run(key)
    finally:
        store.close()
    if out is not None:
        out.write_bytes(done.pdf)
    state = signature_state(done.pending_recheck, done.timestamp_note)
    typer.echo(f"signed: DocumentReference/{done.document_reference_id}, Bundle/{done.bundle_id}, "
               f"Provenance/{done.provenance_id} ({state})")


def _sign_remote(repo, actor, encounter: str, form: str, user_id: str, trusted, cfg, seal: bool,  # noqa: ANN001, ANN202
                 wait: float):
    """Start the remote signature (the certificate is checked first), then wait for the phone."""
    from benhan.documents import remote_signing
    from benhan.signing import remote
    with remote.RemoteSigningService(cfg.remote_signing_url, cfg.remote_signing_key) as service:
        pending = remote_signing.start_remote(
            repo, actor, encounter, form, service, user_id, trusted, offline_policy=cfg.signing_offline,
            base_url=cfg.base_url, facility_name=cfg.values.get("facility_name"), role="seal" if seal else "author")
        typer.echo(f"Hãy xác nhận yêu cầu ký trên điện thoại | approve the signing request on your phone "
                   f"(transaction {pending.transaction_id})")
        return remote_signing.finish_remote(repo, service, pending.transaction_id, interval=2.0, timeout=wait)


def recheck(data_dir: Optional[Path], database_url: Optional[str]) -> None:
    """Check again every signature whose certificate status could not be had at signing; store each
    answer; one line per document. Exit 1 when a certificate was revoked before its signature (or was
    otherwise not valid then), or when a status still cannot be had."""
    from benhan.auth.actor import Actor
    from benhan.documents import recheck as rc
    from benhan.signing import trust
    from benhan.store.repository import Repository
    store = open_store(data_dir, database_url)
    try:
        outcomes = rc.recheck_all(Repository(store, Actor.system("cli-recheck")), trust.load(store.config.trust_dir))
    finally:
        store.close()
    if not outcomes:
        typer.echo("không có chữ ký nào chờ kiểm tra lại | no signature waits for a recheck")
    for outcome in outcomes:
        typer.echo(outcome.line())
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def seal(document: str = typer.Argument(..., help="The author-signed DocumentReference id (a discharge paper, "
                                                  "referral paper or record summary)."),
         user: str = typer.Option(..., help="The account applying the seal (a role with the seal act: the director)."),
         out: Optional[Path] = typer.Option(None, help="Also write the sealed PDF here."),
         data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Add the facility's seal (facility_seal_file; password from BENHAN_SEAL_PASSWORD or
    facility_seal_password_file) to an author-signed paper, as "Đóng dấu cơ sở" does in the app: a second
    PAdES signature on the same PDF, timestamped when signing_tsa_url is set."""
    from benhan.auth import policy, users
    from benhan.documents import paper, seal as sealing, signing, timestamping
    from benhan.signing import trust
    from benhan.store.repository import Repository
    store = open_store(data_dir, database_url)
    try:
        cfg = store.config
        signing.offline_policy(cfg)
        actor = policy.actor_for_user(store, users.find_user(store, user), source="cli")
        key = paper.facility_seal(cfg)
        done = sealing.seal_document(Repository(store, actor), actor, document, key, trust.load(cfg.trust_dir),
                                     offline_policy=cfg.signing_offline, facility_name=cfg.values.get("facility_name"),
                                     tsa=timestamping.configured(cfg))
    finally:
        store.close()
    if out is not None:
        out.write_bytes(done.pdf)
    typer.echo(f"sealed: DocumentReference/{done.document_reference_id}, Provenance/{done.provenance_id} "
               f"({signature_state(done.pending_recheck)})")
