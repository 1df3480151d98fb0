"""`benhan paper import`: a paper document (a scanned PDF, a photo or scan as JPEG/PNG) converted onto
a patient's record with the marks NĐ 137/2024 Đ4 asks for and the facility's seal
(docs/signatures.md, "Paper → electronic"). One line says what was stored; a refusal is one line with
its code and exit 1."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store
from benhan.cli_documents import signature_state
paper_app = typer.Typer(help="Paper documents converted to electronic (NĐ 137/2024 Đ4).", no_args_is_help=True)


@paper_app.command("import")
def import_(patient: str = typer.Argument(..., help="The patient's id."),
            file: Path = typer.Argument(..., help="The scanned document: PDF, JPEG or PNG (at most 20 MB)."),
            type_: str = typer.Option(..., "--type", help="Kind of document: inpatient, outpatient, discharge, lab, "
                                                          "imaging, referral, consent, prescription, other."),
            date: str = typer.Option(..., "--date", help="Date of the paper original (dd/mm/yyyy or yyyy-mm-dd)."),
            user: str = typer.Option(..., help="The account of the person converting it (named in the mark)."),
            title: Optional[str] = typer.Option(None, help="Title of the original (default: the type's name)."),
            out: Optional[Path] = typer.Option(None, help="Also write the sealed PDF here."),
            data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Convert a paper document onto a patient's record: mark every page, seal it with the facility's
    seal (facility_seal_file; password from BENHAN_SEAL_PASSWORD or facility_seal_password_file), store
    it as a DocumentReference with its Provenance."""
    from benhan.auth import policy, users
    from benhan.documents import paper, signing, timestamping
    from benhan.signing import trust
    from benhan.store.repository import Repository
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise errors.PaperDocumentRefused(f"cannot read {file}: {exc.strerror}") from None
    original = paper.parse_date(date)
    checked = paper.check_upload(data)          # a bad file is told before the seal is asked for
    store = open_store(data_dir, database_url)
    try:
        cfg = store.config
        signing.offline_policy(cfg)
        key = paper.facility_seal(cfg)
        actor = policy.actor_for_user(store, users.find_user(store, user), source="cli")
        done = paper.convert(Repository(store, actor), actor, patient, checked, kind=type_, original_date=original,
                             key=key, trust=trust.load(cfg.trust_dir), filename=file.name, title=title or "",
                             offline_policy=cfg.signing_offline, facility_name=cfg.values.get("facility_name"),
                             tsa=timestamping.configured(cfg))
    finally:
        store.close()
    if out is not None:
        out.write_bytes(done.pdf)
    state = signature_state(done.pending_recheck)
    typer.echo(f"converted: DocumentReference/{done.document_reference_id}, Provenance/{done.provenance_id} "
               f"({state}{', PDF/A-2b' if done.archival else ''})")
