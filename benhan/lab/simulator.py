"""An analyser simulator: builds ORU^R01 messages for orders and sends them over a real TCP socket
with MLLP framing, reading the ACK back (used by the tests and to try an installation:
docs/lab.md). It checks the framing of the answer strictly: a reply without <VT>…<FS><CR> fails."""
from __future__ import annotations

import socket
from dataclasses import dataclass

from benhan.lab.mllp import END, START, frame


@dataclass
class Result:
    loinc: str
    value: str
    unit: str
    range: str = ""
    flag: str = ""
    name: str = ""


def oru_r01(order_id: str, results: list[Result], control_id: str = "MSG0001", analyser: str = "SIM",
            when: str = "20260101080000", message_type: str = "ORU^R01^ORU_R01") -> str:
    lines = [f"MSH|^~\\&|{analyser}|LAB|BENHAN|BV|{when}||{message_type}|{control_id}|P|2.5",
             "PID|1||||",
             f"OBR|1|{order_id}||||{when}|{when}"]
    for i, r in enumerate(results, 1):
        lines.append(f"OBX|{i}|NM|{r.loinc}^{r.name}^LN||{r.value}|{r.unit}|{r.range}|{r.flag}|||F|||{when}")
    return "\r".join(lines) + "\r"


def send(host: str, port: int, message: str, timeout: float = 30.0) -> str:
    """Send one framed message and return the ACK's text."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(frame(message))
        data = b""
        while not data.endswith(END):
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the ACK was complete")
            data += chunk
    if not data.startswith(START):
        raise ValueError("ACK not MLLP-framed")
    return data[1:-len(END)].decode("utf-8")


def ack_code(ack: str) -> tuple[str, str]:
    """(MSA-1, MSA-3) of an ACK."""
    for line in ack.split("\r"):
        if line.startswith("MSA|"):
            parts = line.split("|")
            return parts[1], parts[3] if len(parts) > 3 else ""
    raise ValueError("no MSA segment in the ACK")
