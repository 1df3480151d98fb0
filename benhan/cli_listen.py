"""Before serving: is the port free, and which address do the other PCs of the facility use?

Checked before the database is migrated and the demo loaded, so a taken port fails in a second with a
message that names the port and the way out, not after a minute of work with uvicorn's English
``[Errno 98]``.
"""
from __future__ import annotations

import errno
import socket

from benhan import errors

ALL_INTERFACES = ("0.0.0.0", "::", "")


def check_port_free(host: str, port: int) -> None:
    """Raise ConfigError (in Vietnamese and English) when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    # uvicorn sets SO_REUSEADDR too: a port left in TIME_WAIT by a stopped server is usable, and
    # this check must not refuse what uvicorn would accept.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise errors.ConfigError(
                f"cổng {port} đang được một chương trình khác dùng (có thể benhan đã chạy rồi); "
                f"chọn cổng khác: --port {_suggest(host, port)} | "
                f"port {port} is already in use (is benhan already running?); "
                f"choose another with --port {_suggest(host, port)}") from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
            raise errors.ConfigError(
                f"địa chỉ {host} không thuộc máy này; dùng --host 127.0.0.1 (chỉ máy này) hoặc "
                f"--host 0.0.0.0 (cả mạng nội bộ) | address {host} is not on this machine; use "
                "--host 127.0.0.1 (this PC only) or --host 0.0.0.0 (the whole LAN)") from None
        if exc.errno == errno.EACCES:
            raise errors.ConfigError(
                f"không được phép mở cổng {port} (cổng dưới 1024 cần quyền quản trị); dùng --port 8080 | "
                f"not allowed to listen on port {port} (ports below 1024 need root); use --port 8080") from None
        raise
    finally:
        probe.close()


def _suggest(host: str, port: int) -> int:
    """The next port that is free, to put in the message (8081 for 8080 when that is free)."""
    for candidate in range(port + 1, min(port + 50, 65535)):
        try:
            check_port_free(host, candidate)
            return candidate
        except errors.ConfigError:
            continue
    return port + 1


def lan_addresses() -> list[str]:
    """This PC's IPv4 addresses other than loopback, as the other PCs would type them.

    Read from the network interfaces themselves (Linux: SIOCGIFADDR; nothing is sent anywhere),
    with the addresses the host name resolves to as a fallback on other systems.
    """
    found: list[str] = []
    try:
        import fcntl
        import struct
        for _, name in socket.if_nameindex():
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
                address = socket.inet_ntoa(packed[20:24])
            except OSError:
                continue          # an interface without an IPv4 address
            finally:
                probe.close()
            if address not in found and not address.startswith("127."):
                found.append(address)
    except (ImportError, OSError):
        pass
    if not found:
        try:
            for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
                address = info[4][0]
                if address not in found and not address.startswith("127."):
                    found.append(address)
        except OSError:
            pass
    return found


def browser_urls(host: str, port: int, scheme: str) -> list[str]:
    """The addresses to open in a browser: localhost first, then the LAN ones when serving on all
    interfaces (what the other PCs of the station type)."""
    if host in ALL_INTERFACES:
        return [f"{scheme}://localhost:{port}"] + [f"{scheme}://{a}:{port}" for a in lan_addresses()]
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    return [f"{scheme}://{shown}:{port}"]
