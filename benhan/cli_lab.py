"""`benhan lab listen`: receive the laboratory analysers' results over HL7 v2/MLLP (docs/lab.md)."""
from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store

lab_app = typer.Typer(help="The laboratory analysers (HL7 v2 ORU^R01 over MLLP).", no_args_is_help=True)


@lab_app.command("listen")
def listen(port: int = typer.Option(2575, "--port", help="TCP port the analysers send to (MLLP)."),
           host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on (0.0.0.0: the LAN)."),
           name: str = typer.Option("analyser", "--name",
                                    help="The analyser's name, recorded in the audit trail as lab-analyser:<name>."),
           data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Store each ORU^R01 as preliminary results of its order and answer ACK (AA, AE, AR) until Ctrl-C."""
    from benhan.cli_listen import check_port_free
    from benhan.lab.mllp import Listener
    try:
        check_port_free(host, port)
    except errors.ConfigError as exc:
        typer.echo(f"benhan: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    store = open_store(data_dir, database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    listener = Listener(store, name, host, port).start()
    typer.echo(f"benhan lab: MLLP listening on {host}:{listener.port} as lab-analyser:{name}", err=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        store.close()
