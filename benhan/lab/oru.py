"""An analyser's ORU^R01 → the Observations and a preliminary DiagnosticReport of the order it names.

The analyser's result is not validated yet: the report is `preliminary` and the order stays active
(it is still on the worklist) until the laboratory validates it. The message is checked whole before
anything is written, and written in one transaction: an error answers AE and stores nothing.

Fields used (HL7 v2.5, chapter 7): MSH-9 message type, MSH-10 control id; OBR-2 placer order number
(the ServiceRequest's id, as benhan prints it on the specimen label) or else OBR-3 filler number;
OBX-2 value type (NM), OBX-3 test code (LOINC when the coding system is LN), OBX-5 value, OBX-6
unit (UCUM), OBX-7 reference range "low-high", OBX-8 abnormal flag, OBX-14 time of the observation.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import hl7

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.clinical.common import INTERPRETATION, LOINC, OBS_CATEGORY, UCUM, now, ref, stamp
from benhan.lab import critical
from benhan.store.repository import Repository
from benhan.terminology.labs import BY_CODE

# HL7 table 0078 abnormal flags → v3 ObservationInterpretation (the same codes for these).
FLAGS = {"L": "L", "H": "H", "LL": "LL", "HH": "HH", "N": "N", "A": "A", "AA": "AA", "<": "<", ">": ">"}


# The analyser's message (MSH-3 sending application | MSH-10 control id) a report came from.
MESSAGE = "https://benhan.vn/fhir/sid/lab-message"


class Rejected(Exception):
    """The message cannot be stored: `code` AE (an error in it) or AR (a type we do not take)."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Outcome:
    code: str                   # AA, AE, AR
    control_id: str
    reason: str = ""
    report_id: str = ""
    observation_ids: list[str] = field(default_factory=list)


def _text(value) -> str:  # noqa: ANN001
    return str(value).strip() if value is not None else ""


def _field(segment, n: int) -> str:  # noqa: ANN001
    try:
        return _text(segment[n])
    except (IndexError, KeyError):
        return ""


def _component(segment, n: int, c: int) -> str:  # noqa: ANN001
    return _field(segment, n).split("^")[c - 1].strip() if len(_field(segment, n).split("^")) >= c else ""


def _hl7_time(text: str) -> str | None:
    """HL7 TS 'YYYYMMDDHHMM[SS][+ZZZZ]' → ISO 8601 (None when absent or not a time)."""
    digits = text.split("+")[0].split("-")[0].split(".")[0]
    zone = text[len(digits):] if len(text) > len(digits) and text[len(digits)] in "+-" else ""
    try:
        moment = datetime.strptime(digits[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    tz = f"{zone[:3]}:{zone[3:5]}" if len(zone) == 5 else "+07:00"
    return moment.isoformat() + tz


def control_id(raw: str) -> str:
    """MSH-10 of a message, read without parsing it (for the ACK of a message that does not parse)."""
    first = raw.replace("\n", "\r").split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 4:
        return ""
    parts = first.split(first[3])
    return parts[9] if len(parts) > 9 else ""


def _range(text: str, unit: str) -> dict | None:
    low, sep, high = text.partition("-")
    if not sep:
        return None
    out: dict = {"text": text}
    for key, part in (("low", low), ("high", high)):
        try:
            out[key] = {"value": float(part.strip()), "unit": unit, "system": UCUM, "code": unit}
        except ValueError:
            pass
    return out


def _find_order(repo: Repository, placer: str, filler: str) -> dict:
    for number in (placer, filler):
        if not number:
            continue
        found = repo.search_type("ServiceRequest", [("_id", number)])
        if found.matches:
            order = found.matches[0].json()
            if orders.kind_of(order) != "lab":
                raise Rejected("AE", "order is not a laboratory order")
            if order.get("status") != "active":
                raise Rejected("AE", f"order is {order.get('status')}, not active")
            return order
    raise Rejected("AE", "unknown order (OBR-2/OBR-3)")


def _observation(obx, order: dict, when: str) -> dict:  # noqa: ANN001
    if _field(obx, 2) not in ("NM", "SN"):
        raise Rejected("AE", f"OBX-2 value type {_field(obx, 2) or '(empty)'} not taken (NM only)")
    code, text, system = _component(obx, 3, 1), _component(obx, 3, 2), _component(obx, 3, 3)
    tests = orders.tests_of(order)
    if system != "LN" and code not in BY_CODE:
        if len(tests) != 1:
            raise Rejected("AE", f"OBX-3 test code {code or '(empty)'} is not LOINC")
        code = tests[0].loinc
    test = BY_CODE.get(code)
    raw = _field(obx, 5).replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise Rejected("AE", "OBX-5 value is not a number") from None
    unit = _component(obx, 6, 1) or (test.unit if test else "")
    obs: dict = {
        "resourceType": "Observation", "status": "preliminary", "basedOn": [ref("ServiceRequest", order["id"])],
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": test.name_en if test else text or code}],
                 "text": test.name_vi if test else text or code},
        "subject": order["subject"], "encounter": order.get("encounter"),
        "effectiveDateTime": _hl7_time(_field(obx, 14)) or when, "issued": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}
    rng = _range(_field(obx, 7), unit)
    if rng:
        obs["referenceRange"] = [rng]
    flag = _field(obx, 8).upper()
    if flag:
        if flag not in FLAGS:
            raise Rejected("AE", f"OBX-8 abnormal flag {flag} unknown")
        obs["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": FLAGS[flag]}]}]
    return obs


def receive(repo: Repository, raw: str, tz: str = "+07:00", clock: datetime | None = None,
            limits: dict[str, critical.Limits] | None = None) -> Outcome:
    """Check and store one message; the outcome to answer (never raises for bad input). A result
    beyond its critical limits (critical.py) adds a Flag for the ordering doctor, in the same transaction."""
    cid = control_id(raw)
    try:
        return _receive(repo, raw, cid, (clock or now(tz)).isoformat(),
                        critical.DEFAULTS if limits is None else limits)
    except Rejected as r:
        return Outcome(r.code, cid, r.reason)


def _receive(repo: Repository, raw: str, cid: str, when: str, limits: dict) -> Outcome:
    if not cid and not raw.startswith("MSH"):
        raise Rejected("AE", "no MSH segment")
    try:
        message = hl7.parse(raw.replace("\n", "\r").strip("\r"))
        msh = message.segment("MSH")
    except Exception:      # the library raises several kinds for a message it cannot split
        raise Rejected("AE", "malformed message") from None
    kind = _field(msh, 9)
    if not kind.startswith("ORU^R01"):
        raise Rejected("AR", f"message type {kind or '(empty)'} not taken (ORU^R01 only)")
    key = f"{_field(msh, 3)}|{cid}"
    if cid and repo.search_type("DiagnosticReport", [("identifier", f"{MESSAGE}|{key}")]).matches:
        return Outcome("AA", cid, "already stored")      # a resend after a lost ACK: not stored twice
    segments = [s for s in message if _text(s[0]) in ("OBR", "OBX")]
    if not segments or _text(segments[0][0]) != "OBR":
        raise Rejected("AE", "no OBR segment")
    pending: list = []
    report_id = ""
    obs_ids: list[str] = []
    groups: list[tuple] = []
    for s in segments:
        if _text(s[0]) == "OBR":
            groups.append((s, []))
        else:
            groups[-1][1].append(s)
    for obr, obxs in groups:
        if not obxs:
            raise Rejected("AE", "OBR without OBX")
        order = _find_order(repo, _component(obr, 2, 1), _component(obr, 3, 1))
        observations = [_observation(x, order, when) for x in obxs]
        ids = [str(uuid.uuid4()) for _ in observations]
        report_id = str(uuid.uuid4())
        report = {"resourceType": "DiagnosticReport", "status": "preliminary",
                  **({"identifier": [{"system": MESSAGE, "value": key}]} if cid else {}),
                  "basedOn": [ref("ServiceRequest", order["id"])],
                  "category": [{"coding": [{"system": orders.DIAGNOSTIC_SERVICE, "code": "LAB"}]}],
                  "code": order.get("code") or {"text": "Kết quả"}, "subject": order["subject"],
                  "encounter": order.get("encounter"),
                  "effectiveDateTime": _hl7_time(_field(obr, 7)) or when, "issued": when,
                  "result": [ref("Observation", i) for i in ids]}
        pending += [repo.prepare("POST", "Observation", i, stamp(o, repo.actor), create_only=True)
                    for i, o in zip(ids, observations)]
        pending.append(repo.prepare("POST", "DiagnosticReport", report_id, stamp(report, repo.actor),
                                    create_only=True))
        obs_ids += ids
        for i, o in zip(ids, observations):
            if critical.beyond(o, limits):
                pending.append(repo.prepare("POST", "Flag", str(uuid.uuid4()),
                                            stamp(critical.flag_for(o, i, order, when), repo.actor), create_only=True))
    repo.commit(pending, "transaction")
    return Outcome("AA", cid, "", report_id, obs_ids)


def analyser_actor(name: str) -> Actor:
    return Actor.system(f"lab-analyser:{name}")
