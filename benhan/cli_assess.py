"""`benhan assess`: the EMR self-assessment (TT 13/2025, CV 365, TCVN 14423) of this installation,
printed in Vietnamese, as JSON or PDF, posted to the hub; `benhan assess answer` records the
facility's document for a question item (docs/operations.md "benhan assess")."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store

assess_app = typer.Typer(help="The EMR self-assessment (TT 13/2025 + CV 365 + TCVN 14423) the appraisal council "
                              "signs: each item met / not met / unanswered with its evidence. Exit 0 when every "
                              "item is met, else 1 (docs/operations.md).",
                         invoke_without_command=True)


def _fail(message: str) -> None:
    typer.echo(f"benhan: {message}", err=True)
    raise typer.Exit(1)


@assess_app.callback()
def assess(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
           pdf: Optional[Path] = typer.Option(None, "--pdf", help="Also write the report as a PDF to this file."),
           post: bool = typer.Option(False, "--post", help="Send the report to the hub (an enrolled node)."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Assess this installation and print the report (Vietnamese); exit 0 when every item is met, else 1."""
    if ctx.invoked_subcommand is not None:
        return
    from benhan.assess import evaluate
    store = open_store(data_dir, database_url)
    try:
        report = evaluate.assess(store)
        data = report.as_json()
        if pdf is not None:
            from benhan.assess.report_pdf import render
            try:
                pdf.write_bytes(render(report))
            except OSError as exc:
                _fail(f"cannot write {pdf}: {exc.strerror}")
        if post:
            from benhan.sync.node import NodeSync
            from benhan.sync.transport import SyncFailed
            try:
                sync = NodeSync.from_settings(store)
                try:
                    answer = sync.hub.post_assessment(data)
                finally:
                    sync.hub.close()
            except SyncFailed as exc:
                _fail(str(exc))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        typer.echo(_text(report))
    if post:
        typer.echo(f"đã gửi lên hub | posted to the hub: {answer.get('met')}/{answer.get('total')}", err=True)
    if pdf is not None:
        typer.echo(f"PDF: {pdf}", err=True)
    raise typer.Exit(0 if report.count(evaluate.MET) == len(report.outcomes) else 1)


def _text(report) -> str:  # noqa: ANN001
    from benhan.assess.evaluate import STATUS_VI
    f = report.facility
    lines = ["BÁO CÁO TỰ ĐÁNH GIÁ HỒ SƠ BỆNH ÁN ĐIỆN TỬ (TT 13/2025/TT-BYT; CV 365/TTYQG-GPQLCL; TCVN 14423:2026)",
             f"Cơ sở: {f['name']}" + (f" (mã {f['code']})" if f.get("code") else ""),
             f"Thời điểm: {report.generated_at.strftime('%d/%m/%Y %H:%M')} UTC",
             f"Kết quả: {report.count('met')}/{len(report.outcomes)} đạt, {report.count('not_met')} chưa đạt, "
             f"{report.count('unanswered')} chưa trả lời", ""]
    for n, o in enumerate(report.outcomes, 1):
        how = "tự động" if o.item.automatic else "câu hỏi"
        lines.append(f"{n:2}. [{STATUS_VI[o.status]}] {o.item.id} — {o.item.vi}")
        lines.append(f"    Căn cứ: {o.item.source} ({how}). Bằng chứng: {o.evidence[0]}")
    return "\n".join(lines)


@assess_app.command("answer")
def answer(item: str = typer.Argument(..., help="The item id (as `benhan assess` lists them)."),
           ref: str = typer.Option(..., "--ref", help='The document that shows it, e.g. "QĐ số 12/QĐ-TTYT ngày 01/12/2026".'),
           by: str = typer.Option(..., "--by", help="Who answers (name and title)."),
           not_met: bool = typer.Option(False, "--not-met", help="Record that the item is NOT met (yet)."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Answer a question item with its document reference (stored and audited)."""
    from benhan.assess import evaluate
    store = open_store(data_dir, database_url)
    try:
        given = evaluate.answer(store, item, ref=ref, by=by, met=not not_met)
    except errors.BenhanError as exc:
        _fail(str(exc))
    finally:
        store.close()
    typer.echo(f"{given.item_id}: {'đạt' if given.met else 'chưa đạt'} — {given.ref} ({given.answered_by})")
