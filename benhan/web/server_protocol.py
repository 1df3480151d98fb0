"""What `benhan serve` asks uvicorn for: uvloop's event loop, the httptools parser, and each
response's head and first body part handed to the kernel in one write.

uvicorn writes the status line and headers in one `transport.write` and the body in another: two
send system calls per response, and over TCP two segments, each one a wake-up of the client. A read
by id sends a few hundred bytes of head and a few KB of body, both at once; a benhan response's
head and body go out together (one `writelines`, a single writev on uvloop, no copy of the body).
Nothing else of uvicorn's changes: the same bytes reach the client in the same order; a response
streamed in several parts sends its first part with the head, the others as before.

Where uvloop or httptools is missing (Windows has no uvloop), or this uvicorn's classes are not
the shape this module knows, uvicorn's own choice is used: never an error at start-up.
"""
from __future__ import annotations

import importlib.util
from typing import Any


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def loop_name() -> str:
    """uvicorn's `loop`: "uvloop" when installed, else asyncio's own."""
    return "uvloop" if _installed("uvloop") else "asyncio"


class _HeadThenBody:
    """The transport during the body part that follows a held head: its first write sends the
    head with it (one writev); anything else first lets the head go alone."""

    __slots__ = ("_transport", "_head")

    def __init__(self, transport: Any, head: bytes) -> None:
        self._transport = transport
        self._head: bytes | None = head

    def write(self, data: bytes) -> None:
        head, self._head = self._head, None
        if head is None:
            self._transport.write(data)
        elif data:
            self._transport.writelines((head, data))
        else:
            self._transport.write(head)

    def flush(self) -> None:
        head, self._head = self._head, None
        if head is not None:
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:      # close, is_closing …: the head first
        self.flush()
        return getattr(self._transport, name)


class _HeadCollector:
    """Stands for the transport while uvicorn builds a response's head: keeps what it writes."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)


try:        # uvicorn's httptools protocol: needs httptools (a wheel on every platform benhan runs on)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Protocol
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle as _Cycle
    _SHAPE_KNOWN = callable(getattr(_Protocol, "_start_asgi_task", None)) and callable(getattr(_Cycle, "send", None))
except ImportError:
    _Protocol = _Cycle = object       # type: ignore[assignment, misc]
    _SHAPE_KNOWN = False


class OneWriteCycle(_Cycle):  # type: ignore[misc, valid-type]
    """uvicorn's RequestResponseCycle, a response's head held until its first body part."""

    _held_head: bytes | None = None

    async def send(self, message: Any) -> None:
        held = self._held_head
        if held is None:
            if message["type"] == "http.response.start" and not self.response_started:
                transport, collector = self.transport, _HeadCollector()
                self.transport = collector
                try:
                    await super().send(message)
                finally:
                    self.transport = transport
                if collector.parts:
                    self._held_head = b"".join(collector.parts)
                return
            await super().send(message)
            return
        self._held_head = None
        transport = self.transport
        joined = self.transport = _HeadThenBody(transport, held)
        try:
            await super().send(message)
        finally:
            self.transport = transport
            joined.flush()       # nothing written (HEAD, a refused message): the head alone


class OneWriteHttpToolsProtocol(_Protocol):  # type: ignore[misc, valid-type]
    """uvicorn's HttpToolsProtocol whose request cycles are OneWriteCycles."""

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if type(cycle) is _Cycle:
            cycle.__class__ = OneWriteCycle     # the cycle uvicorn just made: only `send` differs
        super()._start_asgi_task(cycle, app)


def http_protocol() -> str:
    """uvicorn's `http`, as a name (the workers of `serve --workers N` import it): the httptools
    protocol with one write per response; uvicorn's "auto" where that cannot be had."""
    if _SHAPE_KNOWN:
        return f"{__name__}:OneWriteHttpToolsProtocol"
    return "auto"
