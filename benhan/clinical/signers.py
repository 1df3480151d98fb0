"""Who signs a form, as the paper wants them: the full name (ký, ghi rõ họ tên), never a user name,
and the facility head's title as this facility calls it.

An entry's author is stored as `common.author(actor)`: "Full Name (username)" for a user with a
name, or a reference to the Practitioner; the printed name is the Practitioner's name when the
reference names one we hold, else the display without the "(username)" that `common.who` adds.
"""
from __future__ import annotations

import re

from benhan.clinical.common import ref_id
from benhan.store.repository import Repository

# `common.who`: "Lê Văn Hùng (bacsi)" — the trailing user name has no spaces.
_WHO = re.compile(r"(.+?) \([^()\s]+\)")
# A facility's head by the kind of facility its name says (TT 32's form prints the old
# "Giám đốc bệnh viện"; a commune station is run by its "Trạm trưởng").
_HEADS = (("trạm y tế", "Trạm trưởng"), ("trung tâm y tế", "Giám đốc trung tâm"),
          ("bệnh viện", "Giám đốc bệnh viện"))
HEAD_FALLBACK = "Thủ trưởng đơn vị"


def head_title(configured: str | None, facility_name: str) -> str:
    """The setting facility_head_title when given, else what the facility's name says."""
    if configured and configured.strip():
        return configured.strip()
    name = facility_name.lower()
    return next((title for prefix, title in _HEADS if prefix in name), HEAD_FALLBACK)


def practitioner_names(repo: Repository, references: list[dict | None]) -> dict[str, str]:
    """Practitioner id → full name for the references that name a Practitioner (one search)."""
    ids = sorted({ref_id(r) for r in references if r and (r.get("reference") or "").startswith("Practitioner/")} - {None})
    if not ids:
        return {}
    found = repo.search_type("Practitioner", [("_id", ",".join(ids)), ("_count", str(len(ids)))])
    out = {}
    for m in found.matches:
        n = (m.json().get("name") or [{}])[0]
        out[m.res_id] = n.get("text") or " ".join([n.get("family", ""), *n.get("given", [])]).strip()
    return out


def full_name(reference: dict | None, names: dict[str, str] | None = None) -> str:
    reference = reference or {}
    rid = ref_id(reference) if (reference.get("reference") or "").startswith("Practitioner/") else None
    if rid and names and rid in names:
        return names[rid]
    display = reference.get("display", "")
    m = _WHO.fullmatch(display)
    return m.group(1) if m else display
