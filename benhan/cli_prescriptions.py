"""`benhan prescription send ENCOUNTER --user USER`: issue the visit's national prescription code (once)
and send the prescription to the national e-prescription system (settings national_prescription_*).
One line on success; a refusal or no connection is one line BENHAN-7101 and exit 1."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store

prescription_app = typer.Typer(help="Prescriptions and the national e-prescription system.", no_args_is_help=True)


@prescription_app.command("send")
def send(encounter: str = typer.Argument(..., help="The visit (Encounter id) whose prescription is sent."),
         user: str = typer.Option("", help="The account sending it (its access rules apply)."),
         kind: str = typer.Option("C", help="N narcotic, H psychotropic/precursor, C other, T decoction."),
         data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Send the visit's prescription to the national e-prescription system."""
    from benhan.auth import policy, users
    from benhan.clinical.printouts import forms
    from benhan.documents import eprescription
    from benhan.outbox.eprescription import HttpNationalPrescriptionSystem
    from benhan.store.repository import Repository
    if not user:
        raise errors.InvalidOperationParameter("give the sending account with --user")
    store = open_store(data_dir, database_url)
    try:
        cfg = store.config
        account = users.find_user(store, user)
        if account is None:
            raise errors.InvalidOperationParameter(f"no account {user!r}")
        actor = policy.actor_for_user(store, account, source="cli")
        repo = Repository(store, actor)
        now = dt.datetime.now(dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=7)))
        ctx = forms.gather(repo, encounter, now.date())
        system = HttpNationalPrescriptionSystem(cfg.national_prescription_url, cfg.national_prescription_linking_code,
                                                cfg.national_prescription_password)
        sent = eprescription.send(repo, actor, ctx, system, now, kind)
    finally:
        store.close()
    typer.echo(f"sent: mã đơn thuốc {sent.code}, tham chiếu {sent.reference}")
