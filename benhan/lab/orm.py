"""Orders to the analyser: HL7 v2.5 ORM^O01 over MLLP, through the one durable outbox (docs/lab.md).

When a specimen is collected for a lab order and `lab_orm_address` ("host:port") is set, one
message is queued (kind "lab-orm", key from the order id: collecting is refused twice, and a
repeated queue is the same message). The sender opens a TCP connection, sends the framed message
and reads the ACK: AA → sent (the ACK kept as the receipt), AE/AR → rejected with MSA-3 (final),
no connection or no ACK → retried with the outbox's backoff. Built as strings, the same way the
ACK (lab/mllp.py) and the simulator's ORU are, escaping HL7's separators in free text.
"""
from __future__ import annotations

import json
import socket

from benhan.clinical.common import ref_id
from benhan.lab.mllp import END, START, frame
from benhan.outbox.queue import Delivery, Outbox, Sender
from benhan.store.outbox_tables import Item

KIND = "lab-orm"
SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}


def idem_key(order_id: str) -> str:
    return f"{KIND}:{order_id}"


def address(config) -> tuple[str, int] | None:  # noqa: ANN001 - a benhan Config
    value = str(config.values.get("lab_orm_address") or "").strip()
    host, _, port = value.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _esc(text: str) -> str:
    """HL7 v2 escapes for free text (the escape character first)."""
    return (text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")
            .replace("~", "\\R\\").replace("\r", " ").replace("\n", " "))


def _ts(iso: str) -> str:
    """'2026-12-06T08:30:00+07:00' → '20261206083000+0700' (HL7 DTM)."""
    digits = iso[:19].replace("-", "").replace(":", "").replace("T", "")
    zone = iso[19:].replace(":", "")
    return digits + ("+0000" if zone == "Z" else zone)


def orm_o01(order: dict, patient: dict, collected: str, control_id: str, facility: str = "BV") -> str:
    name = (patient.get("name") or [{}])[0]
    family, given = name.get("family", ""), " ".join(name.get("given", []))
    if not family and not given:   # a name kept as text only: Vietnamese order, the family name first
        family, _, given = (name.get("text") or "").strip().partition(" ")
    coding = (order.get("code", {}).get("coding") or [{}])[0]
    code, text = coding.get("code", ""), order.get("code", {}).get("text") or coding.get("display", "")
    system = "LN" if "loinc" in coding.get("system", "") else "L"
    stamp = _ts(collected)
    oid = order["id"]
    lines = [f"MSH|^~\\&|BENHAN|{_esc(facility)}|LIS|LAB|{stamp}||ORM^O01^ORM_O01|{control_id}|P|2.5",
             f"PID|1||{patient.get('id', '')}^^^BENHAN^PI||{_esc(family)}^{_esc(given)}||"
             f"{(patient.get('birthDate') or '').replace('-', '')}|{SEX.get(patient.get('gender', ''), 'U')}",
             "PV1|1|O",
             f"ORC|NW|{oid}|||||||{stamp}",
             f"OBR|1|{oid}||{_esc(code)}^{_esc(text)}^{system}|||{stamp}"]
    return "\r".join(lines) + "\r"


def queue(repo, outbox: Outbox, order: dict, collected: str) -> tuple[int, bool]:  # noqa: ANN001
    """Queue the order's ORM^O01 (reads the Patient through the audited repository)."""
    patient_id = ref_id(order.get("subject")) or ""
    patient = repo.read("Patient", patient_id).json()
    control = "ORM" + order["id"].replace("-", "")[:16]
    message = orm_o01(order, patient, collected, control, str(repo.store.config.values.get("facility_name") or "BV"))
    return outbox.put(KIND, idem_key(order["id"]), order["id"],
                      json.dumps({"order": order["id"], "hl7": message}).encode(), patient=patient_id)


def _msa(ack: str) -> tuple[str, str]:
    for line in ack.replace("\n", "\r").split("\r"):
        if line.startswith("MSA"):
            parts = line.split(line[3] if len(line) > 3 else "|")
            return (parts[1] if len(parts) > 1 else ""), (parts[3] if len(parts) > 3 else "")
    return "", ""


def sender(host: str, port: int, timeout: float = 30.0) -> Sender:
    def send(item: Item) -> Delivery:
        body = json.loads(item.payload)
        try:
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.sendall(frame(body["hl7"]))
                data = b""
                while not data.endswith(END):
                    chunk = s.recv(65536)
                    if not chunk:
                        raise ConnectionError("connection closed before the ACK")
                    data += chunk
        except OSError as exc:
            return Delivery.retry(f"{type(exc).__name__}: {exc}")
        ack = data[data.find(START) + 1:-len(END)].decode("utf-8", errors="replace")
        code, reason = _msa(ack)
        if code in ("AA", "CA"):
            return Delivery.sent({"ack": ack})
        if code in ("AE", "AR", "CE", "CR"):
            return Delivery.rejected(f"{code}: {reason}", {"ack": ack})
        return Delivery.retry("no MSA in the answer", {"ack": ack})
    return send


def send_due(outbox: Outbox, config) -> int:  # noqa: ANN001
    where = address(config)
    return outbox.run_once({KIND: sender(*where)}) if where else 0
