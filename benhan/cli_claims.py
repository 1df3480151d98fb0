"""`benhan claims …`: check, queue and send the BHYT claim files of a visit, see the outbox, look a
card up, and run the stand-in gateway (docs/claims.md)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store, serve_in_foreground

claims_app = typer.Typer(help="BHYT claims: check, queue, send, status, card check, the stand-in gateway.",
                         no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(f"benhan: {message}", err=True)
    raise typer.Exit(1)


def _when(us: int | None) -> str:
    from benhan.outbox.queue import from_us
    moment = from_us(us)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "—"


def _episode(store, encounter_id: str):  # noqa: ANN001, ANN202
    from benhan.auth.actor import Actor
    from benhan.claims.record import episode_from_record
    from benhan.store.repository import Repository
    from benhan.vn.identifiers import MA_LK_SYSTEM
    repo = Repository(store, Actor.system("cli-claims"))
    # The visit by its MA_LK (printed on the patient's slip) or by its Encounter id.
    found = repo.search_type("Encounter", [("identifier", f"{MA_LK_SYSTEM}|{encounter_id}"), ("_count", "2")])
    if len(found.matches) == 1:
        encounter_id = found.matches[0].res_id
    return episode_from_record(repo, encounter_id)


@claims_app.command("check")
def check(encounter_id: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Build the claim tables of a visit and print the validation report (exit 1 if it has errors)."""
    from benhan.claims import tables, validation
    store = open_store(data_dir, database_url)
    try:
        ep, lines = _episode(store, encounter_id)
        if not ep.insured:
            _fail(f"BENHAN-8104: lượt khám {encounter_id} không dùng thẻ BHYT: không lập hồ sơ giám định")
        report = validation.validate(tables.claim_tables(ep, lines))
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    typer.echo(report.text())
    if not report.ok:
        raise typer.Exit(1)


@claims_app.command("queue")
def queue(encounter_id: Optional[str] = typer.Argument(None, help="The visit: its MA_LK or Encounter id."),
          finished_since: Optional[str] = typer.Option(None, "--finished-since",
                                                       help="Every visit finished since this date (yyyy-mm-dd)."),
          data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Validate, sign with the facility seal and put a visit's check-in and claim in the outbox; with
    --finished-since, every BHYT visit finished since then (the reports of those to fix are printed)."""
    from benhan.claims import service
    from benhan.outbox.queue import Outbox
    if (encounter_id is None) == (finished_since is None):
        _fail("give one visit (ENCOUNTER_ID) or --finished-since yyyy-mm-dd")
    store = open_store(data_dir, database_url)
    if finished_since is not None:
        try:
            from benhan.auth.actor import Actor
            from benhan.store.repository import Repository
            batch = service.queue_finished(Repository(store, Actor.system("cli-claims")), Outbox(store.db),
                                           service.seal_key(store.config), finished_since,
                                           datetime.now(timezone.utc), store.config.claims_send_within_hours)
        except errors.BenhanError as exc:
            _fail(f"{exc.code}: {exc.message}")
        finally:
            store.close()
        for report in batch.invalid:
            typer.echo(report.text())
        for encounter_id, why in batch.unreadable:
            typer.echo(f"Encounter/{encounter_id}: no claim can be built: {why}")
        typer.echo(f"queued {len(batch.queued)}, already queued {len(batch.already)}, to fix {len(batch.invalid)}, "
                   f"without BHYT {len(batch.not_bhyt)}, unreadable {len(batch.unreadable)}")
        if batch.invalid or batch.unreadable:
            raise typer.Exit(1)
        return
    try:
        ep, lines = _episode(store, encounter_id)
        key = service.seal_key(store.config)
        outbox = Outbox(store.db)
        now = datetime.now(timezone.utc)
        checkin = service.queue_checkin(outbox, ep, lines, key, now)
        pk, new = service.queue_claim(outbox, ep, lines, key, now, store.config.claims_send_within_hours)
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    if checkin:
        typer.echo(f"check-in #{checkin[0]}{'' if checkin[1] else ' (đã có)'}")
    typer.echo(f"claim #{pk} {ep.ma_lk}{'' if new else ' (đã có trong hàng đợi)'}")


@claims_app.command("send")
def send(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
         lease_seconds: float = typer.Option(120.0, help="How long a message is held while it is being sent.")) -> None:
    """Send what is due in the outbox now (check-ins first as queued, then claims), once."""
    from benhan.claims import service
    from benhan.outbox.queue import Outbox
    store = open_store(data_dir, database_url)
    try:
        gateway = service.gateway_from_config(store.config)
        outbox = Outbox(store.db, lease_seconds=lease_seconds)
        attempted = outbox.run_once(service.senders(gateway, outbox), limit=10_000)
        counts = outbox.counts()
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    summary = ", ".join(f"{kind} {state}: {n}" for (kind, state), n in sorted(counts.items()))
    typer.echo(f"{attempted} attempted; {summary or 'outbox empty'}")


@claims_app.command("status")
def status(subject: Optional[str] = typer.Option(None, "--ma-lk", help="Only this episode (MA_LK)."),
           state: Optional[str] = typer.Option(None, help="pending, sending, sent, rejected, given-up."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """The outbox: each message, its state, attempts, receipt (maGiaoDich) or last error; late sends."""
    from benhan.outbox.queue import Outbox
    store = open_store(data_dir, database_url)
    try:
        items = Outbox(store.db).items(subject=subject, state=state)
    finally:
        store.close()
    if not items:
        typer.echo("outbox empty")
        return
    for item in items:
        receipt = json.loads(item.receipt) if item.receipt else {}
        detail = receipt.get("maGiaoDich") or item.last_error or ""
        line = (f"#{item.pk} {item.kind} {item.subject} {item.patient or ''} {item.state} "
                f"attempts={item.attempts} sent={_when(item.sent_at)} {detail}")
        if item.late_reason:
            line += f" | gửi muộn (hạn {_when(item.due_at)}): {item.late_reason}"
        typer.echo(line)


@claims_app.command("report")
def report(month: Optional[str] = typer.Option(None, "--month", help="2026-11 (01/BH) or 2026-Q4 (02/BH): the "
                                               "monthly/quarterly summary spreadsheet instead of the day report."),
           xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Where to write the summary (.xlsx)."),
           source: str = typer.Option("accepted", "--source", help="accepted (by the gateway) or built (from "
                                      "the record)."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """For the BHYT desk: claims queued, accepted, rejected and waiting per day; rejections by reason.
    With --month and --xlsx: the monthly (01/BH) or quarterly (02/BH) summary tables (claims/monthly.py)."""
    if month or xlsx:
        return _monthly(month, xlsx, source, data_dir, database_url)
    from benhan.claims import reports
    from benhan.fhir.datetimes import parse_zone
    from benhan.outbox.queue import Outbox
    store = open_store(data_dir, database_url)
    try:
        items = Outbox(store.db).items(kind=reports.CLAIM, limit=None)
        zone = parse_zone(store.config.timezone)
    finally:
        store.close()
    typer.echo("ngày        đưa vào  chấp nhận  từ chối  đang chờ  gửi muộn")
    for d in reports.per_day(items, zone):
        typer.echo(f"{d.day.strftime('%d/%m/%Y')}  {d.queued:7d}  {d.accepted:9d}  {d.rejected:7d}  {d.waiting:8d}  "
                   f"{d.late:8d}")
    reasons = reports.rejection_reasons(items)
    if reasons:
        typer.echo("Lý do từ chối:")
        for reason, n in reasons:
            typer.echo(f"  {n:5d}  {reason}")


def _monthly(month: Optional[str], xlsx: Optional[Path], source: str, data_dir: Optional[Path],
             database_url: Optional[str]) -> None:
    from benhan.claims import monthly
    if not month or not xlsx:
        _fail("cần cả --month (2026-11 hoặc 2026-Q4) và --xlsx TỆP | both --month and --xlsx FILE are needed")
    store = open_store(data_dir, database_url)
    left_out: list = []
    try:
        data = monthly.report(store, monthly.period(month), source=source, left_out=left_out)
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    finally:
        store.close()
    try:
        xlsx.write_bytes(data)
    except OSError as exc:
        _fail(f"không ghi được {xlsx}: {exc.strerror}")
    if left_out:
        typer.echo(f"chưa tính {len(left_out)} lượt khám không lập được hồ sơ (trang \"Khong lap duoc\") | "
                   f"{len(left_out)} visits left out: their claim could not be built from the record", err=True)
    typer.echo(f"{xlsx}")


@claims_app.command("card")
def card(number: str, name: str = typer.Option(..., "--name"), birth: str = typer.Option(..., "--birth",
         help="dd/MM/yyyy or yyyy"), staff_name: str = typer.Option(..., "--staff-name"),
         staff_cccd: str = typer.Option(..., "--staff-cccd"), data_dir: Optional[Path] = DataDir) -> None:
    """Look a BHYT card up on the gateway (thông tuyến): validity, 5-year date, the answer code."""
    from benhan import config as config_mod
    from benhan.claims import service
    try:
        answer = service.gateway_from_config(config_mod.load(data_dir=data_dir)).card_check(
            number, name, birth, staff_name, staff_cccd)
    except errors.BenhanError as exc:
        _fail(f"{exc.code}: {exc.message}")
    body = answer.body
    typer.echo(f"{answer.code} {answer.meaning} {answer.note}".strip())
    if body.get("gtTheTu"):
        typer.echo(f"thẻ {body.get('maThe')} từ {body.get('gtTheTu')} đến {body.get('gtTheDen')}, "
                   f"nơi ĐKBĐ {body.get('maDKBD')}, đủ 5 năm từ {body.get('ngayDu5Nam') or '—'}")
    if not answer.ok:
        raise typer.Exit(1)


@claims_app.command("standin")
def standin(port: int = typer.Option(8790, "--port"), host: str = typer.Option("127.0.0.1", "--host"),
            facility: str = typer.Option(..., "--facility", help="The facility's MA_CSKCB."),
            username: Optional[str] = typer.Option(None, "--username", help="Default <MA_CSKCB>_BV."),
            password: str = typer.Option(..., "--password", envvar="BENHAN_BHXH_PASSWORD"),
            cert: Optional[Path] = typer.Option(None, "--cert", help="PEM of the facility's registered seal "
                                                "certificate; without it the certificate in the signature is used."),
            cards: Optional[Path] = typer.Option(None, "--cards", help="JSON list of cards the card check knows.")
            ) -> None:
    """Run the stand-in BHXH gateway in the foreground (for the demo and tests); Ctrl-C stops it."""
    from benhan.claims.standin import Card, StandIn, State
    try:
        known = {c["number"]: Card(**c) for c in json.loads(cards.read_text(encoding="utf-8"))} if cards else {}
        state = State(username or f"{facility}_BV", password, facility,
                      cert_pem=cert.read_bytes() if cert else None, cards=known)
        server = StandIn(state, port, host)
    except (OSError, ValueError, TypeError) as exc:
        _fail(f"stand-in cannot start: {exc}")
    serve_in_foreground(server, f"BHXH stand-in gateway (facility {facility})")

