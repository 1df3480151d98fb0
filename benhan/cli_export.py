"""`benhan export …`: leaving benhan (CV 365 III.1.1k) — the whole database in open formats
(`benhan export --all DIR`, store.full_export), and the data dictionary
(`benhan export data-dictionary`, store.data_dictionary). docs/operations.md "Leaving benhan"."""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store

export_app = typer.Typer(help="Leaving benhan: everything as NDJSON with a manifest and a data dictionary.",
                         invoke_without_command=True, no_args_is_help=True)


# What the export is doing, Vietnamese first (the IT person's language), then English.
_STEPS = {"resources": "tài nguyên | resources", "history": "mọi phiên bản | every version",
          "audit trail": "nhật ký truy cập | audit trail", "code lists": "danh mục mã | code lists"}


def _fail(exc: errors.BenhanError) -> None:
    typer.echo(f"benhan: {exc.code}: {exc.message}", err=True)
    raise typer.Exit(1)


@export_app.callback()
def export(ctx: typer.Context,
           all_to: Optional[Path] = typer.Option(None, "--all", metavar="DIR",
                                                 help="Write everything into DIR (new or empty): every resource "
                                                      "as NDJSON per type, the audit trail, the code lists, a "
                                                      "manifest with counts and SHA-256, a data dictionary."),
           versions: bool = typer.Option(False, "--versions",
                                         help="Also every earlier version (history/<Type>.history.ndjson)."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Export the whole database for a facility that leaves benhan (or keeps a copy in open formats)."""
    if ctx.invoked_subcommand is not None:
        return
    if all_to is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from benhan.audit.fhir_view import render
    from benhan.store import full_export
    from benhan.store.audit_log import AuditRecord, append
    from benhan.store.bulk_export import now_us
    try:
        full_export.check_target(all_to)      # before opening (and perhaps migrating) the database
    except errors.BenhanError as exc:
        _fail(exc)
    store = open_store(data_dir, database_url)
    try:
        # The export itself is in the trail it exports (every export of patient data is audited).
        append(store.db, [AuditRecord(recorded=now_us(), interaction="export", subtype="full-export",
                                      agent=f"cli:{getpass.getuser()}", query=f"benhan export --all {all_to}"
                                      + (" --versions" if versions else ""))])
        node = store.node_id
        done = full_export.export_all(store, all_to, versions=versions,
                                      render_audit=lambda row: render(row, node),
                                      progress=lambda what: typer.echo(f"… {_STEPS.get(what, what)}", err=True))
    except errors.BenhanError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(errors.ExportTargetUnusable(f"{all_to}: {exc.strerror or exc}"))
    finally:
        store.close()
    typer.echo(f"Đã xuất | exported {done.summary()}")


@export_app.command("data-dictionary")
def data_dictionary(output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                          help="Write to this file (default: print it).")) -> None:
    """The data dictionary (SQL tables and columns, FHIR types and their search parameters), as
    docs/data-dictionary.md holds it."""
    from benhan.store.data_dictionary import render
    text = render()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(errors.ExportTargetUnusable(f"{output}: {exc.strerror or exc}"))
