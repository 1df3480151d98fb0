"""`benhan import …`: bring data into benhan — NDJSON (a FHIR export, from benhan or another server)
and the BHYT XML tables of a previous HIS (docs/operations.md "Coming into benhan")."""
from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store



class _NdjsonByDefault(TyperGroup):
    """`benhan import DIR_OR_FILES` is `benhan import ndjson DIR_OR_FILES`: a first argument that is
    no command name (a path) goes to the NDJSON import."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:  # noqa: ANN001
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["ndjson", *args]
        return super().parse_args(ctx, args)


import_app = typer.Typer(cls=_NdjsonByDefault, no_args_is_help=True,
                         help="Bring data into benhan: FHIR NDJSON files (`benhan import DIR_OR_FILES` = "
                              "`benhan import ndjson …`), a previous HIS's BHYT XML tables (`bhyt-xml`).")

ReportFile = typer.Option(None, "--report", help="Also write the report as JSON to this file.")


def _fail(message: str) -> None:
    typer.echo(f"benhan: {message}", err=True)
    raise typer.Exit(1)


def _write_report(path: Optional[Path], data: dict) -> None:
    if path is not None:
        try:
            path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as exc:
            _fail(f"BENHAN-8501: {path}: {exc.strerror or exc}")


@import_app.command("ndjson")
def ndjson(paths: list[Path] = typer.Argument(..., help="NDJSON files (.ndjson, .ndjson.gz) or folders of them."),
           report: Optional[Path] = ReportFile,
           batch: int = typer.Option(500, min=1, max=5000, help="Resources per transaction."),
           old_base: list[str] = typer.Option([], "--old-base", help="The base URL of the server the files "
                                              "come from (repeatable): its absolute references "
                                              "(http://old/fhir/Patient/1) are made relative (Patient/1)."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Import FHIR NDJSON files: ids kept, every line validated, a report per type.

    One resource per line, any types (a Bulk Data export from benhan or another server). Ids are
    kept (PUT): a second run changes nothing. Every line is validated; a bad line is reported with
    its line number and the others are imported. Exit 1 when a line failed or a file could not be
    read."""
    from benhan.auth.actor import Actor
    from benhan.store import ndjson_import
    from benhan.store.repository import Repository
    try:
        files = ndjson_import.ndjson_files(paths)
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    store = open_store(data_dir, database_url)
    try:
        repo = Repository(store, Actor.system(f"cli:{getpass.getuser()}"))
        result = ndjson_import.import_files(
            repo, files, batch=batch, query="benhan import ndjson", bases=tuple(old_base),
            progress=lambda r: typer.echo(f"… {r.lines} dòng | lines", err=True))
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    typer.echo(result.text())
    _write_report(report, result.as_json())
    if not result.ok:
        raise typer.Exit(1)


@import_app.command("bhyt-xml")
def bhyt_xml(paths: list[Path] = typer.Argument(..., help="GIAMDINHHS files, table files (XML1.xml …) or folders."),
             report: Optional[Path] = ReportFile,
             data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Import past episodes from a previous HIS's BHYT XML tables (XML1–XML5).

    GIAMDINHHS envelopes or table files (QĐ 4750/3176) become patients (matched by CCCD, then
    BHYT card, never duplicated), finished visits with their ICD-10 diagnoses, drugs, services and
    supplies, lab results and progress notes. Importing a file again creates nothing. Prints a
    report per table (rows mapped, rows not mapped and why); exit 1 when a file could not be read
    or a row was not mapped."""
    from benhan.auth.actor import Actor
    from benhan.claims import his_import, his_read
    from benhan.store.repository import Repository
    try:
        files = his_read.xml_files(paths)
        if len(paths) == 1 and paths[0].is_file():
            his_read.read(files[0])          # a single bad file: one line, before the database is opened
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    store = open_store(data_dir, database_url)
    try:
        result = his_import.import_files(Repository(store, Actor.system(f"cli:{getpass.getuser()}")), files)
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    typer.echo(result.text())
    _write_report(report, result.as_json())
    if not result.ok:
        raise typer.Exit(1)
