"""Safety warnings a clinician may override — with a reason, kept in the record.

A check that finds something (an allergy, a duplicate drug, a dose above the maximum, a diagnosis
for the other sex …) never silently refuses and never silently passes: the form comes back with the
warnings, a box "I have read the warnings" and a reason field; only both together save it. The
entry then carries the warnings and the reason — in its note (read on the chart and on paper) and
in the override-reason extension (read by programs) — so the write, which is audited like every
write, says who overrode what and why.
"""
from __future__ import annotations

from typing import Any

from benhan.clinical.common import BENHAN, FormInvalid

OVERRIDE_REASON = f"{BENHAN}/StructureDefinition/override-reason"
MIN_REASON = 3

Warning = tuple[str, dict[str, Any]]     # (message key, values), translated by the UI


def confirm(values: dict[str, str], warnings: list[Warning]) -> str:
    """The reason given for overriding `warnings` ('' when there are none); FormInvalid (with the
    warnings to show) until the box is ticked and a reason of a few characters is written."""
    if not warnings:
        return ""
    reason = (values.get("override_reason") or "").strip()
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    if values.get("confirm_warnings") != "yes":
        errors["confirm_warnings"] = ("ui.warn.override", {"count": len(warnings)})
    if len(reason) < MIN_REASON:
        errors["override_reason"] = ("ui.err.override_reason", {})
    if errors:
        raise FormInvalid(errors, warnings)
    return reason


def record(body: dict, warnings: list[Warning], reason: str) -> None:
    """Write the overridden warnings and the reason into the entry."""
    if not warnings:
        return
    said = "; ".join(f"{k.split('.')[-1]}: {', '.join(str(v) for v in vals.values())}" for k, vals in warnings)
    body.setdefault("note", []).append({"text": f"Đã xác nhận cảnh báo: {said}. Lý do: {reason}"})
    body.setdefault("extension", []).append({"url": OVERRIDE_REASON, "valueString": reason})
