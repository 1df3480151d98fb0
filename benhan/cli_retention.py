"""`benhan retention …`: how long each record is kept (TT 33/2025) and its destruction by a council
decision (benhan.clinical.retention; docs/operations.md "Retention")."""
from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store

retention_app = typer.Typer(help="Retention of medical records (TT 33/2025): report, destruction by decision.",
                            no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"benhan: {message}", err=True)
    raise typer.Exit(1)


@retention_app.command("report")
def report(until: Optional[str] = typer.Option(None, "--until", metavar="YYYY-MM-DD",
                                               help="Only the records whose retention ends by this day."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Each record (visit) with its retention class and the last day it is kept, soonest first."""
    from benhan.clinical import retention
    from benhan.store.audit_log import AuditRecord, append
    from benhan.store.repository import now_us
    try:
        day = date.fromisoformat(until) if until else None
    except ValueError:
        _fail(f"--until {until!r}: a day as YYYY-MM-DD")
    store = open_store(data_dir, database_url)
    try:
        rows = retention.report(store, until=day)
        append(store.db, [AuditRecord(recorded=now_us(), interaction="search", subtype="retention-report",
                                      agent=f"cli:{getpass.getuser()}", query="benhan retention report" + (f" --until {until}" if until else ""),
                                      patients=tuple(sorted({r.patient_id for r in rows if r.patient_id})))])
    finally:
        store.close()
    for r in rows:
        if as_json:
            typer.echo(json.dumps(r.json(), ensure_ascii=False))
            continue
        end = ("vĩnh viễn | permanent" if r.permanent else
               f"lưu đến | kept until {r.keep_until.isoformat()}" if r.keep_until else "đang điều trị | visit open")
        typer.echo(f"Encounter/{r.encounter_id}\t{r.klass.label_vi} | {r.klass.label_en}\t"
                   f"TT 33/2025 mục {r.klass.item}\t{end}")
    if not as_json:
        typer.echo(f"{len(rows)} hồ sơ | records")


@retention_app.command("destroy")
def destroy(decision: Path = typer.Option(..., "--decision", metavar="FILE",
                                          help='The council decision as JSON: {"number", "date", "members": [...], '
                                               '"records": ["Encounter/…"]}.'),
            data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Destroy the records a council decision lists — only if every one is past its retention end."""
    from benhan.clinical import retention
    try:
        data = json.loads(decision.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"{decision}: cannot read the decision as JSON ({exc.__class__.__name__})")
    store = open_store(data_dir, database_url)
    try:
        done = retention.destroy(store, retention.Decision.parse(data))
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    for rec in done["records"]:
        typer.echo(f"đã tiêu hủy | destroyed {rec['record']} ({rec['resources']} tài nguyên | resources)")
    typer.echo(f"quyết định | decision {done['decision']}: {len(done['records'])} hồ sơ | records, "
               f"{done['versions_purged']} phiên bản xóa nội dung | versions purged")
