"""`benhan backup` (and `benhan backup init-key`, `benhan backup test`) and `benhan restore`.

A backup is encrypted (store/backup_crypto.py) whenever the data folder holds a backup key (made by
`benhan backup init-key` or by the server's first scheduled backup); `--plain` writes the old
unencrypted .sqlite.gz / .pgdump. `benhan restore FILE --recovery-key KEY` restores an encrypted
backup on any machine; on the machine that made it the key file is enough."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benhan import config as config_mod
from benhan.cli_common import DataDir, DbUrl

backup_app = typer.Typer(help="Take a consistent backup while the server runs (encrypted once a backup key "
                              "exists); `init-key` makes the key, `test` restore-tests a backup.",
                         invoke_without_command=True)

RecoveryKey = typer.Option(None, "--recovery-key", envvar="BENHAN_RECOVERY_KEY",
                           help="The recovery key printed by `benhan backup init-key` (or shown once on the "
                                "admin page). Needed on a machine without this backup's key file.")


def _operator() -> str:
    import getpass
    return f"cli:{getpass.getuser()}"


@backup_app.callback()
def backup(ctx: typer.Context, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
           out: Optional[Path] = typer.Option(None, "--out", help="Folder for the backup (default: data/backups)."),
           plain: bool = typer.Option(False, "--plain", help="Write an unencrypted backup even when a key exists.")) -> None:
    """Take a consistent backup while the server runs."""
    if ctx.invoked_subcommand:
        return
    from benhan.store import backup as b
    from benhan.store import backup_crypto
    from benhan.store.database import Database
    cfg = config_mod.load(data_dir=data_dir, database_url=database_url)
    key = None if plain else backup_crypto.load_key(cfg.data_dir)
    db = Database(cfg.sqlalchemy_url)
    try:
        if key is not None:
            path = b.encrypted_backup(db, out or cfg.backups, key, "manual", by=_operator()).path
        else:
            path = b.backup(db, out or cfg.backups, by=_operator())    # an audit event, the chain head beside it
    finally:
        db.dispose()
    typer.echo(str(path))


@backup_app.command("init-key")
def init_key(data_dir: Optional[Path] = DataDir) -> None:
    """Make the backup key and print its recovery key ONCE: write it on paper, keep it away from this PC."""
    from benhan import errors
    from benhan.store import backup_crypto
    cfg = config_mod.load(data_dir=data_dir)
    text = backup_crypto.init_key(cfg.data_dir)
    if text is None:
        raise errors.ConfigError(f"{backup_crypto.key_path(cfg.data_dir)} already exists; its recovery key was "
                                 "shown when it was made")
    typer.echo("Khóa khôi phục / recovery key (chép ra giấy, chỉ hiện một lần / write it down, shown once):")
    typer.echo(text)


@backup_app.command("test")
def test(file: Path = typer.Argument(..., help="An encrypted backup (*.enc)."),
         data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
         recovery_key: Optional[str] = RecoveryKey) -> None:
    """Restore a backup into a scratch copy and check it (integrity, resources, audit chain head);
    the live database is not touched."""
    from benhan import errors
    from benhan.store import backup_crypto, backup_schedule
    cfg = config_mod.load(data_dir=data_dir, database_url=database_url)
    result = backup_schedule.restore_test(Path(file), cfg.sqlalchemy_url, key=backup_crypto.load_key(cfg.data_dir),
                                          recovery=recovery_key)
    if not result.ok:
        raise errors.RestoreRefused(result.detail)
    typer.echo(result.detail)


def restore(file: Path = typer.Argument(..., help="A backup file written by `benhan backup` or the schedule."),
            data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
            recovery_key: Optional[str] = RecoveryKey) -> None:
    """Replace the database with a backup (checked first; the old database is kept). Stop the server first."""
    from benhan.store import backup as b
    cfg = config_mod.load(data_dir=data_dir, database_url=database_url)
    info = b.restore(cfg.sqlalchemy_url, file, by=_operator(), recovery_key=recovery_key,
                     data_dir=cfg.data_dir)          # an audit event in the restored database
    typer.echo(f"restored {info.resources} resources (schema {info.revision}) from {file}")
