"""web/server_protocol.py: `serve`'s uvicorn protocol sends a response's head with its first body
part in one write, and the client receives exactly what uvicorn's own protocol sends.

A real uvicorn on a free localhost port, once with uvicorn's httptools protocol and once with
ours, answers the same raw requests (GET with a body, HEAD, a response streamed in parts, an empty
body, Expect: 100-continue, keep-alive and pipelined requests, Connection: close); the bytes each
client receives are compared, the Date header aside. The transport's writes are counted too.
"""
from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from benhan.web import server_protocol

BODY = b'{"resourceType":"Patient","id":"p1"}' * 40


async def app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    path = scope["path"]
    if path == "/echo":           # reads the body (Expect: 100-continue is answered then)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})
    elif path == "/stream":       # no content-length: chunked, three parts
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/fhir+json"), (b"content-length", b"%d" % len(BODY))]})
        await send({"type": "http.response.body", "body": BODY})


WRITES: list[str] = []


class _Spy:
    """A transport that notes each write call (one entry per call to the kernel's send)."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append("write")
        self._transport.write(data)

    def writelines(self, parts: Any) -> None:
        WRITES.append("writelines")
        self._transport.writelines(parts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _spied(protocol: type) -> type:
    class Spied(protocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(_Spy(transport))
    return Spied


@contextmanager
def serving(http: Any) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, loop=server_protocol.loop_name(), http=http, log_level="warning",
                            ws="none", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def exchange(port: int, request: bytes, wait_for_continue: bool = False) -> bytes:
    """Send the raw request, read until the server closes (every case ends with Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        if wait_for_continue:
            head, _, body = request.partition(b"\r\n\r\n")
            conn.sendall(head + b"\r\n\r\n")
            got = conn.recv(1024)
            assert got == b"HTTP/1.1 100 Continue\r\n\r\n"
            conn.sendall(body)
        else:
            conn.sendall(request)
        out = b""
        while chunk := conn.recv(65536):
            out += chunk
    return re.sub(rb"date: [^\r]*\r\n", b"date: -\r\n", out)


CASES = {
    "get": b"GET /fhir/Patient/p1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "head": b"HEAD /fhir/Patient/p1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "stream": b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "empty": b"GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "post": b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    "keep-alive, pipelined": (b"GET /fhir/Patient/p1 HTTP/1.1\r\nHost: x\r\n\r\n"
                              b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"
                              b"HEAD /fhir/Patient/p1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    "http/1.0": b"GET /fhir/Patient/p1 HTTP/1.0\r\nHost: x\r\n\r\n",
}


def test_serve_asks_for_our_protocol_by_a_name_its_workers_can_import():
    name = server_protocol.http_protocol()
    assert name == "benhan.web.server_protocol:OneWriteHttpToolsProtocol"
    assert uvicorn.config.import_from_string(name) is server_protocol.OneWriteHttpToolsProtocol


@pytest.mark.parametrize("case", list(CASES))
def test_the_client_receives_what_uvicorns_own_protocol_sends(case: str):
    with serving(_spied(HttpToolsProtocol)) as port:
        WRITES.clear()
        theirs = exchange(port, CASES[case])
        their_writes = list(WRITES)
    with serving(_spied(server_protocol.OneWriteHttpToolsProtocol)) as port:
        WRITES.clear()
        ours = exchange(port, CASES[case])
        our_writes = list(WRITES)
    assert ours == theirs
    assert ours.startswith(b"HTTP/1.1 ")
    assert len(our_writes) < len(their_writes) or case in ("head",)
    if case == "get":
        assert our_writes == ["writelines"]      # head and body in one go
        assert their_writes == ["write", "write"]


def test_expect_100_continue_is_answered_before_the_body_is_sent():
    request = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
               b"Connection: close\r\n\r\nhello")
    with serving(HttpToolsProtocol) as port:
        theirs = exchange(port, request, wait_for_continue=True)
    with serving(server_protocol.OneWriteHttpToolsProtocol) as port:
        ours = exchange(port, request, wait_for_continue=True)
    assert ours == theirs
    assert ours.endswith(b"\r\n\r\nhello")


def test_an_app_that_fails_after_its_head_closes_the_connection():
    async def failing(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        raise RuntimeError("boom")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(failing, http=server_protocol.OneWriteHttpToolsProtocol, log_level="critical",
                            ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    try:
        got = exchange(sock.getsockname()[1], CASES["get"])
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
    # The connection is closed without a whole response (uvicorn's own sent the head alone; ours
    # held it, so nothing): never a 200 the client could take for complete.
    head, _, body = got.partition(b"\r\n\r\n")
    assert len(body) < 10


def test_without_httptools_uvicorn_chooses(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(server_protocol, "_SHAPE_KNOWN", False)
    assert server_protocol.http_protocol() == "auto"


def test_asyncio_loop_where_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(server_protocol, "_installed", lambda name: name != "uvloop")
    assert server_protocol.loop_name() == "asyncio"
    asyncio.get_event_loop_policy()       # nothing installed by asking
