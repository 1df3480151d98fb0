"""MLLP framing (HL7 v2 over TCP: <VT> message <FS><CR>), the ACK, and the listener.

The framing is done here rather than with hl7.mllp's reader so that a message the library cannot
parse still gets its AE answer instead of a closed connection. The listener is an asyncio server
in its own thread (`benhan lab listen`, or inside `benhan serve` when `lab_mllp_port` is set); each
message is stored in a worker thread so one slow write does not hold the other analysers.
Logged one line per message: control id, outcome, reason — never a value or a patient.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from typing import Any

from benhan.lab import critical, oru
from benhan.store.repository import Repository

START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE = 1_000_000
log = logging.getLogger("benhan.lab")


def frame(message: str) -> bytes:
    return START + message.encode("utf-8") + END


async def read_frame(reader: asyncio.StreamReader) -> str | None:
    """The next message, or None at the end of the connection."""
    try:
        data = await reader.readuntil(END)
    except asyncio.IncompleteReadError:
        return None
    start = data.find(START)
    return data[start + 1 if start >= 0 else 0:-len(END)].decode("utf-8", errors="replace")


def ack(raw: str, outcome: oru.Outcome, clock: datetime) -> str:
    """ACK^R01 (HL7 v2.5): MSA-1 AA/AE/AR, MSA-2 the message's control id, MSA-3 the reason."""
    first = raw.replace("\n", "\r").split("\r", 1)[0]
    sep = first[3] if first.startswith("MSH") and len(first) > 3 else "|"
    parts = first.split(sep) if first.startswith("MSH") else []

    def f(n: int) -> str:
        return parts[n - 1] if len(parts) >= n else ""
    stamp = clock.strftime("%Y%m%d%H%M%S")
    reason = outcome.reason.replace("|", "/").replace("^", " ").replace("\r", " ")
    lines = [f"MSH|^~\\&|BENHAN|{f(6)}|{f(3)}|{f(4)}|{stamp}||ACK^R01^ACK|ACK{outcome.control_id}|P|2.5",
             f"MSA|{outcome.code}|{outcome.control_id}|{reason}"]
    if outcome.code != "AA":
        lines.append(f"ERR||||E|||{reason}")
    return "\r".join(lines) + "\r"


class Listener:
    """An MLLP server on `port`; `port` 0 takes a free one (read `.port` after start)."""

    def __init__(self, store: Any, name: str, host: str = "127.0.0.1", port: int = 2575):
        self.store, self.name, self.host, self.port = store, name, host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.limits = critical.table(getattr(store.config, "data_dir", None))

    def _handle_one(self, raw: str) -> str:
        repo = Repository(self.store, oru.analyser_actor(self.name))
        tz = self.store.config.timezone
        outcome = oru.receive(repo, raw, tz, limits=self.limits)
        log.info("lab %s message %s: %s %s", self.name, outcome.control_id or "-", outcome.code, outcome.reason)
        return ack(raw, outcome, oru.now(tz))

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    raw = await read_frame(reader)
                except asyncio.LimitOverrunError:
                    break
                if raw is None:
                    break
                answer = await asyncio.to_thread(self._handle_one, raw)
                writer.write(frame(answer))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, limit=MAX_MESSAGE)
        self.port = self._server.sockets[0].getsockname()[1]

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 — reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    def start(self) -> "Listener":
        self._thread = threading.Thread(target=self._run, name=f"mllp-{self.name}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
