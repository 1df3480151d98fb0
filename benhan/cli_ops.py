"""`benhan doctor` (is this installation well?) and `benhan upgrade` (back up, migrate, roll back on failure)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from benhan import config as config_mod
from benhan.cli_common import DataDir, DbUrl


def doctor(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
           full: bool = typer.Option(False, "--full", help="Thorough: SQLite integrity_check instead of quick_check, "
                                     "and the whole audit chain instead of its last 1,000 links."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON for a monitor instead of the table."),
           lang: str = typer.Option("vi", "--lang", help="vi (default) or en.")) -> None:
    """Check this installation: disk, database, schema, backups, sync, audit chain, certificates, clock,
    HTTPS, file permissions, outgoing queue. Exit 0 all ok, 1 a warning, 2 a failure."""
    from benhan.ops import doctor as d
    if lang not in ("vi", "en"):
        typer.echo("benhan: --lang takes vi or en", err=True)
        raise typer.Exit(2)
    cfg = config_mod.load(data_dir=data_dir, database_url=database_url)
    report = d.run(cfg, full=full)
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(d.table(report, lang))
    raise typer.Exit(report.exit_code)


def upgrade(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Upgrade the database to this version: back up first, migrate, and on failure put the backup back
    (the previous version then finds its database intact). Stop the server first."""
    import getpass

    from benhan.store import migrate, upgrade as up
    from benhan.store.database import Database
    cfg = config_mod.load(data_dir=data_dir, database_url=database_url)
    if cfg.sqlalchemy_url.startswith("sqlite"):
        from benhan.store.private_files import private_dir
        private_dir(cfg.data_dir)
    db = Database(cfg.sqlalchemy_url)
    try:
        done = up.safe_upgrade(db, cfg.backups, keep=cfg.backup_keep, by=f"cli:{getpass.getuser()}",
                               data_dir=cfg.data_dir)
    finally:
        db.dispose()
    for note in done.notes:
        typer.echo(note)
    if done.state == "current":
        typer.echo(f"cơ sở dữ liệu đã ở phiên bản mới nhất | already current: schema {migrate.head_revision()}")
        return
    if done.state == "empty":
        typer.echo(f"đã tạo cơ sở dữ liệu mới | new database created: schema {done.after}")
        return
    typer.echo(f"đã nâng cấp | upgraded: schema {done.before} → {done.after}, {done.resources} resources kept; "
               f"backup: {done.backup}")
