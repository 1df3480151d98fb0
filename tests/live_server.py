"""The real application under a real uvicorn on a free localhost port, for tests that talk to it
over TCP with a real HTTP client (FHIR client libraries, not the in-process TestClient).

uvicorn runs in a background thread of the test process, over the store the test hands it, so
the same test can run on SQLite and PostgreSQL (the `db_config` fixture) and still look at the
database directly. The socket is bound before the thread starts: no port race, no polling for
"is it up yet" beyond uvicorn's own startup.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from benhan.store.store import Store
from benhan.web.app import create_app

STARTUP_SECONDS = 15


class LiveServer:
    def __init__(self, store: Store):
        self.store = store
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        # ws="none": no websocket library is imported (some warn on import, and warnings are errors).
        config = uvicorn.Config(create_app(store.config, store), log_level="warning", ws="none",
                                lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"uvicorn-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fhir_base(self) -> str:
        return f"{self.url}/fhir"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on port {self.port} within {STARTUP_SECONDS}s")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_SECONDS)
        self._socket.close()


@contextmanager
def live_server(store: Store) -> Iterator[LiveServer]:
    """A started server over `store`; stopped (and its port freed) on exit."""
    from tests.auth_helpers import install_in_store
    install_in_store(store)
    server = LiveServer(store)
    server.start()
    try:
        yield server
    finally:
        server.stop()
