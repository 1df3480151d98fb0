"""A TCP proxy that delays every chunk by a fixed time in each direction and counts the bytes it
carries — the latency of a bad 3G link, which the kernel here cannot add (no netem qdisc).

    python delay_proxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS COUNT_FILE

Writes "up down" byte counts to COUNT_FILE every half second. Order within a connection is kept:
each direction is one queue of (due time, chunk)."""
from __future__ import annotations

import asyncio
import sys
import time

COUNTS = {"up": 0, "down": 0}


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, key: str) -> None:
    queue: asyncio.Queue = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            COUNTS[key] += len(data)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await queue.put((time.monotonic() + delay, data))
    except (ConnectionError, OSError):
        pass
    await queue.put((0, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def main(host: str, port: int, target: str, target_port: int, delay_ms: int, count_file: str) -> None:
    delay = delay_ms / 1000

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(target, target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pump(reader, up_writer, delay, "up"), _pump(up_reader, writer, delay, "down"))

    async def report() -> None:
        while True:
            with open(count_file, "w") as f:
                f.write(f"{COUNTS['up']} {COUNTS['down']}\n")
            await asyncio.sleep(0.5)

    server = await asyncio.start_server(handle, host, port)
    asyncio.create_task(report())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    h, p, th, tp, d, f = sys.argv[1:7]
    asyncio.run(main(h, int(p), th, int(tp), int(d), f))
