"""`benhan dsr list`: the register of data-subject requests with their deadlines, overdue ones marked
(benhan.auth.subject_requests; docs/security.md "Personal data")."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from benhan.cli_common import DataDir, DbUrl, open_store

dsr_app = typer.Typer(help="Data-subject requests (NĐ 356/2025 Đ5): the register and its deadlines.",
                      no_args_is_help=True)


@dsr_app.command("list")
def list_requests(open_only: bool = typer.Option(False, "--open", help="Only requests not yet answered."),
                  as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
                  data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Every request: received, kind, who asked, answer due, carry-out due, status; OVERDUE marked.
    Exit code 3 when one is overdue (for monitoring)."""
    import getpass

    from benhan.auth import subject_requests
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    store = open_store(data_dir, database_url)
    try:
        rows = subject_requests.register(Repository(store, Actor.system(f"cli:{getpass.getuser()}")))
    finally:
        store.close()
    today = date.today()
    if open_only:
        rows = [r for r in rows if r.status in subject_requests.OPEN]
    for r in rows:
        if as_json:
            typer.echo(json.dumps(r.json(today), ensure_ascii=False))
            continue
        mark = "  QUÁ HẠN | OVERDUE" if r.overdue(today) else ""
        typer.echo(f"Task/{r.id}\t{r.received.isoformat()}\t{subject_requests.KINDS[r.kind][1]} | "
                   f"{subject_requests.KINDS[r.kind][2]}\t{r.requester}\ttrả lời | answer {r.answer_due.isoformat()}"
                   f"\thạn | due {r.due.isoformat()}\t{r.status}{mark}")
    if not as_json:
        typer.echo(f"{len(rows)} yêu cầu | requests")
    if any(r.overdue(today) for r in rows):
        raise typer.Exit(3)
