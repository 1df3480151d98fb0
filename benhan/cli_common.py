"""What every command group shares: the data-folder and database options, and opening the store."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benhan import cli_coercion, config as config_mod

cli_coercion.install()    # option values without pydantic where that changes nothing (cli_coercion.py)

DataDir = typer.Option(None, "--data-dir", help="Data folder (default: BENHAN_DATA_DIR or ./data).")
DbUrl = typer.Option(None, "--database-url", help="Database URL (default: SQLite in the data folder).")


def open_store(data_dir: Optional[Path], database_url: Optional[str]):  # noqa: ANN201
    """The configured store, migrated (with a backup first) if it is behind."""
    import benhan.clinical  # noqa: F401  (installs the CCCD/BHYT write rules, store.write_rules)
    from benhan.store.store import Store
    return Store.open(config_mod.load(data_dir=data_dir, database_url=database_url))


def serve_in_foreground(server, banner: str) -> None:  # noqa: ANN001 - a stand-in with start()/stop()/url
    """Run a local stand-in service (the BHXH gateway, the e-invoice provider) until Ctrl-C or SIGTERM,
    saying where it listens; it is stopped on the way out."""
    import signal
    import threading
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    typer.echo(f"{banner} on {server.url}", err=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
