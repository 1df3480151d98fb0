"""`benhan key …`: encryption at rest of a SQLite node's database (store/encryption.py).

The recovery key is printed ONCE, to the terminal: write it on paper and keep it away from the PC.
With it `benhan key recover` re-creates the key file; without the key file AND the recovery key the
database cannot be read by anyone, benhan included.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benhan import config as config_mod
from benhan.cli_common import DataDir, DbUrl

key_app = typer.Typer(help="Encryption at rest of the SQLite database (SQLCipher): make, recover, rotate the "
                           "key; encrypt an existing database.", no_args_is_help=True)

KeyFile = typer.Option(None, "--key-file", help="The key file (default: the database_key_file setting, or "
                                                "benhan.key beside the database).")


def _cfg(data_dir: Optional[Path], database_url: Optional[str], key_file: Optional[Path]) -> config_mod.Config:
    more = {"database_key_file": key_file} if key_file is not None else {}
    return config_mod.load(data_dir=data_dir, database_url=database_url, **more)


def _operator() -> str:
    import getpass
    return f"cli:{getpass.getuser()}"


def print_recovery_key(text: str, what: str) -> None:
    """The recovery key, once, in a block that is hard to miss."""
    typer.echo("")
    typer.echo("=" * 78)
    typer.echo(f"KHÓA KHÔI PHỤC CƠ SỞ DỮ LIỆU | DATABASE RECOVERY KEY ({what})")
    typer.echo("")
    typer.echo(f"    {text}")
    typer.echo("")
    typer.echo("Chép tay khóa này ra giấy, cất nơi an toàn, KHÔNG để cạnh máy tính. Chỉ hiện MỘT lần.")
    typer.echo("Mất cả tệp khóa lẫn khóa khôi phục thì không ai đọc được dữ liệu nữa.")
    typer.echo("Write it on paper and keep it away from this PC. It is shown ONCE; without the key file")
    typer.echo("and this recovery key nobody can read the database again.")
    typer.echo("=" * 78)
    typer.echo("")


def at_first_start(cfg: config_mod.Config) -> None:
    """serve/demo: `database_encryption = true` and a new database → make its key, print the recovery key."""
    from benhan.store import encryption
    text = encryption.ensure_at_first_start(cfg.sqlalchemy_url, bool(cfg.database_encryption))
    if text:
        print_recovery_key(text, "new database")


@key_app.command("init")
def init(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
         key_file: Optional[Path] = KeyFile) -> None:
    """Make the key for a NEW database (before the first `benhan serve`) and print its recovery key once."""
    from benhan.store import encryption
    cfg = _cfg(data_dir, database_url, key_file)
    text = encryption.create_key(cfg.sqlalchemy_url)
    print_recovery_key(text, "init")
    typer.echo(f"key file: {encryption.target(cfg.sqlalchemy_url).key_file}")


@key_app.command("status")
def status(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
           key_file: Optional[Path] = KeyFile) -> None:
    """Say whether the database is encrypted and where its key file is."""
    from benhan.store import encryption
    s = encryption.status(_cfg(data_dir, database_url, key_file).sqlalchemy_url)
    if s["backend"] != "sqlite":
        typer.echo("PostgreSQL: use disk encryption and TLS to the database (docs/security.md)")
        return
    state = {True: "encrypted", False: "NOT encrypted", None: "no database yet"}[s["encrypted"]]
    typer.echo(f"database: {s['database']} ({state})")
    typer.echo(f"key file: {s['key_file']} ({'key ' + s['key_id'] if s['key_file_exists'] else 'absent'})")


@key_app.command("recover")
def recover(recovery_key: str = typer.Option(..., "--recovery-key", envvar="BENHAN_DATABASE_RECOVERY_KEY",
                                             help="The recovery key printed when the key was made or rotated."),
            data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
            key_file: Optional[Path] = KeyFile) -> None:
    """Re-create the key file from the recovery key (a new machine, a lost key file); checked against the database."""
    from benhan.store import encryption
    path = encryption.recover(_cfg(data_dir, database_url, key_file).sqlalchemy_url, recovery_key)
    typer.echo(f"key file re-created: {path}")


@key_app.command("rotate")
def rotate(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
           key_file: Optional[Path] = KeyFile) -> None:
    """Re-key the database with a new key and print the NEW recovery key once (the old one stops working). Stop the server first."""
    from benhan.store import encryption
    text = encryption.rotate(_cfg(data_dir, database_url, key_file).sqlalchemy_url)
    print_recovery_key(text, "rotate — the old recovery key no longer opens the database")


@key_app.command("encrypt-database")
def encrypt_database(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl,
                     key_file: Optional[Path] = KeyFile,
                     keep_plain: Optional[Path] = typer.Option(
                         None, "--keep-plain", help="Keep the old plain database at this path (default: it is "
                                                    "overwritten and removed)."),
                     no_backup: bool = typer.Option(False, "--no-backup",
                                                    help="Skip the backup taken first (not recommended).")) -> None:
    """Encrypt an existing plain database in place (backup first, every table compared, atomic swap). Stop the server first."""
    from benhan.store import backup as b
    from benhan.store import backup_crypto, encryption
    from benhan.store.database import Database
    cfg = _cfg(data_dir, database_url, key_file)
    url = cfg.sqlalchemy_url
    t = encryption.target(url) if url.startswith("sqlite") else None
    if t is not None and t.database is not None:
        encryption.refuse_if_in_use(t.database)     # before the backup: a running server keeps writing
    restored = t is not None and t.key_file is not None and t.key_file.exists()   # a plain backup restored
    if t is not None and t.database is not None and encryption.is_plain_file(t.database) and not no_backup \
            and not restored:
        key = backup_crypto.load_key(cfg.data_dir)
        db = Database(url)
        try:
            if key is not None:
                taken = b.encrypted_backup(db, cfg.backups, key, "pre-encrypt", by=_operator()).path
            else:
                taken = b.backup(db, cfg.backups, "pre-encrypt", by=_operator())
        finally:
            db.dispose()
        typer.echo(f"backup first: {taken}")
        if key is None:
            typer.echo("  (this backup is NOT encrypted: it holds the records in the clear — keep it locked away, "
                       "or delete it once the encrypted database is checked; `benhan backup init-key` makes "
                       "backups encrypted)")
    done = encryption.encrypt_database(url, keep_plain=keep_plain)
    rows = sum(done.tables.values())
    typer.echo(f"encrypted: {len(done.tables)} tables, {rows} rows, each table's content checked")
    if done.kept_plain:
        typer.echo(f"the plain database is kept at {done.kept_plain} (it is readable by anyone who gets it)")
    else:
        typer.echo("the plain database was overwritten and removed")
    if done.recovery_key:
        print_recovery_key(done.recovery_key, "encrypt-database")
    else:
        typer.echo("encrypted with the existing key file's key: the recovery key you have stays valid")
