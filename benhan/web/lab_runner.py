"""Receives the laboratory analysers' results (HL7 v2 over MLLP, benhan/lab) with the app when
`lab_mllp_port` is set, on all interfaces as the analysers are other machines of the LAN; stopped
with the app. 0 leaves it off (then `benhan lab listen` runs it on its own)."""
from __future__ import annotations

from starlette.applications import Starlette

from benhan.web.background import run_with_app


def start_if_configured(store):  # noqa: ANN001, ANN201
    port = int(store.config.lab_mllp_port)
    if port <= 0:
        return None
    from benhan.lab.mllp import Listener
    return Listener(store, "analyser", "0.0.0.0", port).start()


def install(app: Starlette) -> None:
    run_with_app(app, "lab_listener", start_if_configured)
