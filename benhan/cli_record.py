"""`benhan record pdf ENCOUNTER --user USER --out FILE`: the whole record of a visit as one PDF (table of
contents, bookmarks, every applicable form; benhan.documents.whole_record), read with the account's
access rules and written to the audit trail as one print. One line on success; an unknown visit or
account is one line with its code and exit 1."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store

record_app = typer.Typer(help="The medical record of a visit.", no_args_is_help=True)


@record_app.command("pdf")
def pdf(encounter: str = typer.Argument(..., help="The visit (Encounter id) whose record is printed."),
        user: str = typer.Option("", help="The account printing it (its access rules apply; audited)."),
        out: Path = typer.Option(..., help="The PDF file to write."),
        base_url: str = typer.Option("http://localhost:8000", help="The address printed in the lookup mark."),
        data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Write the whole record of a visit as one PDF with its table of contents."""
    from benhan.auth import policy, users
    from benhan.clinical.common import now as clock
    from benhan.clinical.printouts import forms
    from benhan.documents import whole_record
    from benhan.store.repository import Repository
    if not user:
        raise errors.InvalidOperationParameter("give the printing account with --user")
    store = open_store(data_dir, database_url)
    try:
        account = users.find_user(store, user)
        if account is None:
            raise errors.InvalidOperationParameter(f"no account {user!r}")
        actor = policy.actor_for_user(store, account, source="cli")
        repo = Repository(store, actor)
        now = clock(store.config.timezone)
        repo.permit("r", "Condition", "read")
        ctx = forms.gather(repo, encounter, now.date(), store.config.values.get("facility_name"))
        whole = whole_record.build(repo, ctx, actor, now, base_url, store.config.values)
        out.write_bytes(whole.pdf)
        version = int(ctx.encounter.get("meta", {}).get("versionId", "0")) or None
        whole_record.record_print(store, actor, whole, encounter, version, patients=repo.released)
    finally:
        store.close()
    missing = [p.key for p in whole.parts if p.problem]
    typer.echo(f"written: {out} ({whole.pages} trang, {len(whole.included)} biểu mẫu"
               + (f"; không in được: {', '.join(missing)}" if missing else "") + ")")


@record_app.command("export-hsba")
def export_hsba(encounter: str = typer.Argument("", help="The visit (Encounter id) to export."),
                patient: str = typer.Option("", help="Export every visit of this patient (Patient id) instead."),
                since: str = typer.Option("", "--from", help="Export every visit that ended on or after this day "
                                                             "(YYYY-MM-DD) instead; with --to."),
                until: str = typer.Option("", "--to", help="The last day of the period (YYYY-MM-DD, included)."),
                fmt: str = typer.Option("xml", "--format", help="xml or json."),
                user: str = typer.Option("", help="The account exporting (its access rules apply; audited)."),
                out: Path = typer.Option(..., help="The file to write."),
                data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Export a visit, a patient or a period as the CV 365 HoSoBenhAn (XML or JSON), checked against its
    schema (docs/hosobenhan.md)."""
    from datetime import date

    from benhan.auth import policy, users
    from benhan.exchange.hosobenhan import audit, export
    from benhan.store.repository import Repository
    chosen = [x for x in (encounter, patient, since or until) if x]
    if len(chosen) != 1:
        raise errors.InvalidOperationParameter("give exactly one of: a visit (ENCOUNTER), --patient, or --from/--to")
    if not user:
        raise errors.InvalidOperationParameter("give the exporting account with --user")
    fmt = export.check_format(fmt)
    first = last = None
    if since or until:
        try:
            first, last = date.fromisoformat(since), date.fromisoformat(until)
        except ValueError:
            raise errors.InvalidOperationParameter("--from and --to are both needed, as YYYY-MM-DD") from None
    store = open_store(data_dir, database_url)
    try:
        account = users.find_user(store, user)
        if account is None:
            raise errors.InvalidOperationParameter(f"no account {user!r}")
        actor = policy.actor_for_user(store, account, source="cli")
        repo = Repository(store, actor)
        if encounter:
            done = export.export_episode(repo, encounter, fmt)
            target: tuple[str, str | None] = ("Encounter", encounter)
        elif patient:
            done = export.export_patient(repo, patient, fmt)
            target = ("Patient", patient)
        else:
            assert first is not None and last is not None
            done = export.export_period(repo, first, last, fmt)
            target = ("Encounter", None)
        out.write_bytes(done.content)
        audit.record_export(store, actor, done, target, patients=repo.released,
                            query=f"from={first}&to={last}" if first else None)
    finally:
        store.close()
    typer.echo(f"written: {out} ({len(done.encounters)} hồ sơ, {done.format.upper()}, {len(done.content)} bytes)")
