"""Surgery and procedures done during a visit, and the accidents and complications of treatment
(01/BV1 items 22 and 23; the surgery/procedure sheet 06/BV2 reads the same resources).

- A surgery or procedure is a FHIR Procedure (status completed) of the Encounter: what (code.text),
  its kind (phẫu thuật / thủ thuật: Procedure.category, benhan code system `procedure-kind`), when
  (performedDateTime), who (performer: the surgeon, and the anaesthetist with function "Bác sĩ gây
  mê hồi sức"), the method of anaesthesia (an extension `anaesthesia-method`: R4 has no element for
  it), and the description (note).
- A "tai biến" (an accident of treatment) or "biến chứng" (a complication of the disease or the
  procedure) is a Condition of the Encounter with a category of benhan's code system
  `treatment-complication` — a Condition because it is a clinical problem of its own, coded (ICD-10
  when given) and dated (onsetDateTime) — not listed among the Encounter's diagnoses. When it follows a
  recorded procedure, that Procedure's complicationDetail names it (FHIR's own link).
"""
from __future__ import annotations

import uuid
from datetime import datetime

from benhan.auth.actor import Actor
from benhan.clinical.admission import coded_dx, dx_text, parse_datetime
from benhan.clinical.common import BENHAN, Problems, now, ref, ref_id, stamp, vn_datetime
from benhan.clinical.signers import full_name
from benhan.store.repository import Repository

KIND_SYSTEM = f"{BENHAN}/CodeSystem/procedure-kind"
KINDS = {"phau-thuat": ("Phẫu thuật", "Surgery"), "thu-thuat": ("Thủ thuật", "Procedure")}
ANAESTHESIA_EXT = f"{BENHAN}/StructureDefinition/anaesthesia-method"
ANAESTHESIA_SYSTEM = f"{BENHAN}/CodeSystem/anaesthesia-method"
ANAESTHESIA = {"me-noi-khi-quan": ("Gây mê nội khí quản", "General, endotracheal"),
               "me-tinh-mach": ("Gây mê tĩnh mạch", "General, intravenous"),
               "te-tuy-song": ("Gây tê tủy sống", "Spinal"), "te-ngoai-mang-cung": ("Gây tê ngoài màng cứng", "Epidural"),
               "te-vung": ("Gây tê vùng", "Regional block"), "te-tai-cho": ("Gây tê tại chỗ", "Local"),
               "khong": ("Không vô cảm", "None")}
ANAESTHETIST = {"text": "Bác sĩ gây mê hồi sức"}
COMPLICATION_SYSTEM = f"{BENHAN}/CodeSystem/treatment-complication"
COMPLICATIONS = {"tai-bien": ("Tai biến", "Accident of treatment"), "bien-chung": ("Biến chứng", "Complication")}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
# 06/BV2: the diagnosis after the operation (before it: Procedure.reasonCode) and the class of the
# surgery or procedure (TT 50/2014/TT-BYT: loại đặc biệt, I, II, III) — R4 has no element for either.
POST_OP_DX_EXT = f"{BENHAN}/StructureDefinition/post-procedure-diagnosis"
CLASS_EXT = f"{BENHAN}/StructureDefinition/procedure-class"
CLASS_SYSTEM = f"{BENHAN}/CodeSystem/procedure-class"
CLASSES = {"dac-biet": ("Loại đặc biệt", "Special class"), "loai-1": ("Loại I", "Class I"),
           "loai-2": ("Loại II", "Class II"), "loai-3": ("Loại III", "Class III")}


def practitioners(repo: Repository) -> list[tuple[str, str]]:
    """(id, full name) of the facility's active staff, by name: whom a procedure names."""
    out = []
    for m in repo.search_all("Practitioner", [("active", "true")]):
        n = (m.json().get("name") or [{}])[0]
        out.append((m.res_id, n.get("text") or " ".join([n.get("family", ""), *n.get("given", [])]).strip()))
    return sorted(out, key=lambda x: x[1])


def _staff(repo: Repository, p: Problems, field: str, pid: str, required: bool) -> dict | None:
    pid = (pid or "").strip()
    if not pid:
        if required:
            p.add(field, "ui.err.choose")
        return None
    name = dict(practitioners(repo)).get(pid)
    if name is None:
        p.add(field, "ui.err.choose")
        return None
    return ref("Practitioner", pid, name)


def _when(p: Problems, field: str, text: str, encounter: dict, tz: str,
          clock: datetime | None = None) -> datetime | None:
    try:
        when = parse_datetime(text, tz)
    except ValueError:
        p.add(field, "ui.proc.err.datetime")
        return None
    if when is None:
        p.add(field, "ui.err.required")
        return None
    start = (encounter.get("period") or {}).get("start", "")
    if len(start) > 10 and when < datetime.fromisoformat(start).replace(second=0, microsecond=0):
        p.add(field, "ui.proc.err.before_admission")
    elif when > (clock or now(tz)):
        p.add(field, "ui.err.future")
    return when


def add(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str], tz: str = "+07:00",
        clock: datetime | None = None) -> str:
    """Record a surgery or procedure; its id. `clock`: the time now (the real one by default)."""
    p = Problems()
    name = (values.get("proc_name") or "").strip()
    kind = values.get("proc_kind", "")
    method = values.get("proc_anaesthesia", "")
    if not name:
        p.add("proc_name", "ui.err.required")
    if kind not in KINDS:
        p.add("proc_kind", "ui.err.choose")
    if method and method not in ANAESTHESIA:
        p.add("proc_anaesthesia", "ui.err.choose")
    grade = values.get("proc_class", "")
    if grade and grade not in CLASSES:
        p.add("proc_class", "ui.err.choose")
    when = _when(p, "proc_when", values.get("proc_when", ""), encounter, tz, clock)
    surgeon = _staff(repo, p, "proc_performer", values.get("proc_performer", ""), True)
    anaesthetist = _staff(repo, p, "proc_anaesthetist", values.get("proc_anaesthetist", ""), False)
    p.raise_if_any()
    assert when is not None and surgeon is not None
    body: dict = {
        "resourceType": "Procedure", "status": "completed",
        "category": {"coding": [{"system": KIND_SYSTEM, "code": kind, "display": KINDS[kind][0]}],
                     "text": KINDS[kind][0]},
        "code": {"text": name}, "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
        "performedDateTime": when.isoformat(), "recorder": {"display": actor.display or actor.name},
        "performer": [{"actor": surgeon}] + ([{"function": ANAESTHETIST, "actor": anaesthetist}] if anaesthetist else []),
    }
    if method:
        body["extension"] = [{"url": ANAESTHESIA_EXT, "valueCodeableConcept": {
            "coding": [{"system": ANAESTHESIA_SYSTEM, "code": method, "display": ANAESTHESIA[method][0]}],
            "text": ANAESTHESIA[method][0]}}]
    if grade:
        body.setdefault("extension", []).append({"url": CLASS_EXT, "valueCoding": {
            "system": CLASS_SYSTEM, "code": grade, "display": CLASSES[grade][0]}})
    before, after = ((values.get(k) or "").strip() for k in ("proc_dx_before", "proc_dx_after"))
    if before:
        body["reasonCode"] = [{"text": before}]
    if after:
        body.setdefault("extension", []).append({"url": POST_OP_DX_EXT, "valueString": after})
    note = (values.get("proc_note") or "").strip()
    if note:
        body["note"] = [{"text": note}]
    pid = str(uuid.uuid4())
    repo.commit([repo.prepare("POST", "Procedure", pid, stamp(body, actor), create_only=True)], "create")
    return pid


def add_complication(repo: Repository, actor: Actor, encounter: dict, values: dict[str, str],
                     procedures: list[dict], tz: str = "+07:00", clock: datetime | None = None) -> str:
    """Record a tai biến or biến chứng (and link it from the procedure it followed, when named)."""
    p = Problems()
    kind = values.get("comp_kind", "")
    if kind not in COMPLICATIONS:
        p.add("comp_kind", "ui.err.choose")
    code = coded_dx(repo, p, "comp_code", values.get("comp_code", ""), values.get("comp_text", ""))
    if code is None and "comp_code" not in p.errors:
        p.add("comp_text", "ui.err.required")
    when = _when(p, "comp_when", values.get("comp_when", ""), encounter, tz, clock)
    proc_id = values.get("comp_procedure", "")
    proc = next((x for x in procedures if x["id"] == proc_id), None) if proc_id else None
    if proc_id and proc is None:
        p.add("comp_procedure", "ui.err.choose")
    p.raise_if_any()
    assert when is not None and code is not None
    cid = str(uuid.uuid4())
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "category": [{"coding": [{"system": COMPLICATION_SYSTEM, "code": kind, "display": COMPLICATIONS[kind][0]}]}],
        "code": code, "subject": encounter["subject"], "encounter": ref("Encounter", encounter["id"]),
        "onsetDateTime": when.isoformat(), "recordedDate": (clock or now(tz)).isoformat(),
        "recorder": {"display": actor.display or actor.name},
    }
    pending = [repo.prepare("POST", "Condition", cid, stamp(condition, actor), create_only=True)]
    if proc is not None:
        body = {k: v for k, v in proc.items() if k != "meta"}
        body["complicationDetail"] = [*body.get("complicationDetail", []), ref("Condition", cid)]
        version = int(proc.get("meta", {}).get("versionId", "0")) or None
        pending.append(repo.prepare("PUT", "Procedure", proc["id"], stamp(body, actor), if_match=version))
    repo.commit(pending, "transaction")
    return cid


def of_visit(repo: Repository, encounter_id: str) -> list[dict]:
    """The visit's procedures (not those entered in error), in the order they were done. A blood
    transfusion (clinical.transfusion) is a Procedure too, but has its own sheet, not 06/BV2."""
    found = repo.search_all("Procedure", [("encounter", f"Encounter/{encounter_id}")])
    items = [m.json() for m in found if m.json().get("status") != "entered-in-error"
             and not _is_transfusion(m.json())]
    return sorted(items, key=lambda x: x.get("performedDateTime", ""))


def _is_transfusion(proc: dict) -> bool:
    """SNOMED CT 116859006 (clinical.transfusion.TRANSFUSION; not imported: that module builds on this one)."""
    return any(c.get("system") == "http://snomed.info/sct" and c.get("code") == "116859006"
               for c in (proc.get("code") or {}).get("coding", []))


def kind_of(item: dict) -> str:
    """phau-thuat / thu-thuat of a Procedure, tai-bien / bien-chung of a Condition, else ''."""
    cats = item.get("category")
    for cc in cats if isinstance(cats, list) else [cats or {}]:
        for c in cc.get("coding", []):
            if c.get("system") in (KIND_SYSTEM, COMPLICATION_SYSTEM):
                return c.get("code", "")
    return ""


def complications(conditions: dict[str, dict] | list[dict]) -> list[dict]:
    items = conditions.values() if isinstance(conditions, dict) else conditions
    out = [c for c in items if kind_of(c) in COMPLICATIONS
           and (c.get("verificationStatus", {}).get("coding") or [{}])[0].get("code") != "entered-in-error"]
    return sorted(out, key=lambda c: c.get("onsetDateTime", ""))


def anaesthesia_of(proc: dict) -> str:
    ext = next((e for e in proc.get("extension", []) if e.get("url") == ANAESTHESIA_EXT), {})
    return (ext.get("valueCodeableConcept") or {}).get("text", "")


def class_of(proc: dict) -> str:
    return next((e["valueCoding"].get("code", "") for e in proc.get("extension", []) if e.get("url") == CLASS_EXT), "")


def diagnosis_before(proc: dict) -> str:
    return (proc.get("reasonCode") or [{}])[0].get("text", "")


def diagnosis_after(proc: dict) -> str:
    return next((e.get("valueString", "") for e in proc.get("extension", []) if e.get("url") == POST_OP_DX_EXT), "")


def description(proc: dict) -> str:
    """Trình tự phẫu thuật/thủ thuật: the narrative written with the procedure."""
    return "\n".join(n.get("text", "") for n in proc.get("note", []) if n.get("text"))


def describe(proc: dict, names: dict[str, str] | None = None) -> str:
    """'Cắt ruột thừa — 14:30 02/12/2026 — Người thực hiện: … — Gây mê hồi sức: … — Vô cảm: …';
    `names`: Practitioner id → full name, for performers referenced without a display."""
    surgeon = next((full_name(x.get("actor"), names) for x in proc.get("performer", []) if not x.get("function")), "")
    anaes = next((full_name(x.get("actor"), names) for x in proc.get("performer", []) if x.get("function")), "")
    parts = [proc.get("code", {}).get("text", ""), vn_datetime(proc.get("performedDateTime"))]
    if surgeon:
        parts.append(f"Người thực hiện: {surgeon}")
    if anaes:
        parts.append(f"Gây mê hồi sức: {anaes}")
    method = anaesthesia_of(proc)
    if method:
        parts.append(f"Vô cảm: {method}")
    return " — ".join(x for x in parts if x)


def complication_text(c: dict) -> str:
    return " — ".join(x for x in (dx_text(c.get("code")), vn_datetime(c.get("onsetDateTime"))) if x)


def linked_procedure(c: dict, procedures: list[dict]) -> str:
    return next((x["id"] for x in procedures
                 if any(ref_id(d) == c.get("id") for d in x.get("complicationDetail", []))), "")
