"""The patient's consents and commitments of TT 32/2023 PL XXIX (forms-tt32.md §2.9), recorded where
they are given: on the visit page, after the doctor or nurse has explained. One design, five kinds
(KINDS, the paper's code in the category `consent-form`):
- 01/BV2 consent to a surgery, a procedure and its anaesthesia (the paper's own fields confirmed);
- 40/BV2 the general information and commitment on admission, 41/BV2 the refusal of a service,
  45/BV2 the transfer to another facility at the patient's request, 46/BV2 leaving against medical
  advice (titles only in our sources: their fields are designed like 01/BV2's, docs/forms.md).
For the four later kinds `provision.code` is the act the paper is about (the admission, the service
refused, the transfer, leaving) and `provision.type` whether the patient permits (asks for) it or
denies it; extensions carry the patient's reason and, for 45/BV2, the facility asked for.

A FHIR `Consent` (scope treatment, category LOINC 59284-0 and benhan's `consent-form` 01/BV2):
- `patient` the patient; `performer` who consents — the patient, or the representative as a
  contained RelatedPerson (name, relationship, CCCD, year of birth); `organization` the facility;
- `provision.type` permit (đồng ý) or deny (không đồng ý); `provision.code` what is to be done (its
  text), `provision.actor` the doctor who explained and will operate (PPRF) and the anaesthetist
  (SPRF); `provision.data` the Procedure or ServiceRequest of the visit it is for, when there is one;
- extensions for what R4 has no element for: the method of anaesthesia (the same coding as the
  Procedure's), the urgency level the paper ticks (Mức), the points the doctor explained (the
  paper's counselling checklist) and the risks explained, in the doctor's words.

A privacy Consent (auth.consent) has another scope: the two never mix. The confirmation of the paper
by the patient (OTP, signature pad) is the signed document's, documents.confirmation.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from benhan.auth.actor import Actor
from benhan.clinical import orders, procedures
from benhan.clinical.common import BENHAN, Problems, now, ref, ref_id, stamp, vn_datetime
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM, cccd_problems

SCOPE = {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment",
         "display": "Treatment"}
LOINC_CONSENT = {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
FORM_SYSTEM = f"{BENHAN}/CodeSystem/consent-form"
POLICY_SYSTEM = f"{BENHAN}/CodeSystem/consent-policy"
SURGERY = "01-BV2"
# The kinds of paper: code → (title, the act it is about when nothing more precise is typed, English).
KINDS = {
    SURGERY: ("Giấy cam kết chấp thuận phẫu thuật, thủ thuật và gây mê hồi sức", "",
              "Consent to surgery, procedure and anaesthesia"),
    "40-BV2": ("Giấy cung cấp thông tin và cam kết chung về nhập viện nội trú", "Nhập viện điều trị nội trú",
               "General information and commitment on admission"),
    "41-BV2": ("Giấy cam kết từ chối sử dụng dịch vụ khám bệnh, chữa bệnh", "",
               "Refusal of a health service"),
    "45-BV2": ("Giấy cam kết chuyển cơ sở khám bệnh, chữa bệnh", "Chuyển cơ sở khám bệnh, chữa bệnh",
               "Transfer to another facility at the patient's request"),
    "46-BV2": ("Giấy cam kết ra viện không theo chỉ định của bác sĩ", "Ra viện không theo chỉ định của bác sĩ",
               "Leaving against medical advice"),
}
FORM_01BV2 = {"system": FORM_SYSTEM, "code": SURGERY, "display": KINDS[SURGERY][0]}
POLICY = {"system": POLICY_SYSTEM, "code": "tt32-2023-01bv2",
          "display": "Thông tư 32/2023/TT-BYT, Phụ lục XXIX, mẫu 01/BV2"}
# The layout engine's form key of each kind (benhan.documents.forms.consent; "key:<Consent id>").
FORM_KEYS = {SURGERY: "consent", "40-BV2": "consent-admission", "41-BV2": "consent-refusal",
             "45-BV2": "consent-transfer", "46-BV2": "consent-leave"}
REASON_EXT = f"{BENHAN}/StructureDefinition/consent-patient-reason"       # the patient's reason (41, 45, 46)
DESTINATION_EXT = f"{BENHAN}/StructureDefinition/consent-destination"    # the facility asked for (45/BV2)
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LEVEL_EXT = f"{BENHAN}/StructureDefinition/consent-level"
LEVEL_SYSTEM = f"{BENHAN}/CodeSystem/consent-level"
EXPLAINED_EXT = f"{BENHAN}/StructureDefinition/consent-explained"
EXPLAINED_SYSTEM = f"{BENHAN}/CodeSystem/consent-explained"
INFORMED_SYSTEM = f"{BENHAN}/CodeSystem/consent-informed"
RISKS_EXT = f"{BENHAN}/StructureDefinition/consent-risks-explained"
ENCOUNTER_EXT = f"{BENHAN}/StructureDefinition/encounter"     # the visit a Consent was given in
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

# The paper's "Mức" and its counselling checklist (01/BV2), in its order: (vi, en).
LEVELS = {"cap-cuu": ("Cấp cứu", "Emergency"), "ban-cap": ("Bán cấp", "Semi-urgent"),
          "chuong-trinh": ("Chương trình/phiên", "Scheduled")}
EXPLAINED = {"chan-doan": ("Tình trạng bệnh và chẩn đoán", "The illness and its diagnosis"),
             "ly-do": ("Lý do phẫu thuật/thủ thuật", "Why it is done"),
             "rui-ro-khong-lam": ("Rủi ro nếu không thực hiện", "Risks of not doing it"),
             "ket-qua": ("Kết quả dự kiến", "Expected result"),
             "phuong-phap": ("Phương pháp phẫu thuật/thủ thuật sẽ thực hiện", "The method"),
             "gay-me": ("Phương pháp gây mê, vô cảm", "Anaesthesia"),
             "dieu-tri-khac": ("Phương pháp điều trị khác", "Other treatments"),
             "tai-bien": ("Nguy cơ tai biến, biến chứng", "Risk of accidents and complications")}
# What the staff member explained on 40, 41, 45 and 46/BV2 (their checklist, one for the four papers).
INFORMED = {"tinh-trang": ("Tình trạng bệnh, chẩn đoán hiện tại", "The illness and the current diagnosis"),
            "quyen-nghia-vu": ("Quyền và nghĩa vụ của người bệnh", "The patient's rights and duties"),
            "noi-quy": ("Nội quy, quy định của cơ sở khám bệnh, chữa bệnh", "The facility's rules"),
            "chi-phi": ("Chi phí và phạm vi bảo hiểm y tế chi trả", "Costs and what the health insurance pays"),
            "rui-ro": ("Nguy cơ, rủi ro có thể xảy ra", "Risks that may follow"),
            "phuong-an-khac": ("Phương án điều trị thay thế", "Other ways of treatment")}
# Who signs as the patient's side: the patient, or a representative (relationship, v3-RoleCode).
RELATIONS = {"MTH": ("Mẹ", "Mother"), "FTH": ("Cha", "Father"), "SPS": ("Vợ/chồng", "Spouse"),
             "CHILD": ("Con", "Child"), "SIB": ("Anh/chị/em", "Sibling"), "GRPRN": ("Ông/bà", "Grandparent"),
             "GUARD": ("Người giám hộ", "Guardian"), "FAMMEMB": ("Người thân khác", "Other relative")}
DECISIONS = {"permit": ("Đồng ý", "Agrees"), "deny": ("Không đồng ý", "Does not agree")}


@dataclass(frozen=True)
class Signer:
    """The patient's side of the paper (II. Người bệnh/thân nhân)."""
    name: str
    birth_year: str
    relation: str             # "" for the patient
    cccd: str
    is_patient: bool


def _targets(repo: Repository, encounter_id: str) -> dict[str, str]:
    """'Procedure/id' or 'ServiceRequest/id' → its name: what a consent can be for."""
    out = {f"Procedure/{p['id']}": p.get("code", {}).get("text", "") for p in procedures.of_visit(repo, encounter_id)}
    for m in repo.search_all("ServiceRequest", [("encounter", f"Encounter/{encounter_id}")]):
        sr = m.json()
        if sr.get("status") in ("active", "completed", "draft") and _is_procedure_order(sr):
            out[f"ServiceRequest/{sr['id']}"] = sr.get("code", {}).get("text", "")
    return out


def _is_procedure_order(sr: dict) -> bool:
    return orders.kind_of(sr) == "procedure" and bool(sr.get("category"))


def choices(repo: Repository, encounter_id: str) -> list[tuple[str, str]]:
    return sorted(_targets(repo, encounter_id).items(), key=lambda x: x[1])


def record(repo: Repository, actor: Actor, encounter: dict, patient: dict, values: dict[str, str],
           organization_id: str | None = None, tz: str = "+07:00", when: datetime | None = None) -> str:
    """Record the consent given (or refused) on the visit; its id. `when` the clock (now by default).
    `consent_kind` names the paper (KINDS; 01/BV2 when absent)."""
    p = Problems()
    v = {k: (x or "").strip() for k, x in values.items()}
    kind = v.get("consent_kind", "") or SURGERY
    if kind not in KINDS:
        p.add("consent_kind", "ui.err.choose")
        kind = SURGERY
    surgery = kind == SURGERY
    target = v.get("consent_for", "") if surgery else ""
    targets = _targets(repo, encounter["id"]) if target else {}
    if target and target not in targets:
        p.add("consent_for", "ui.err.choose")
    name = v.get("consent_procedure", "") or targets.get(target, "") or KINDS[kind][1]
    if not name:
        p.add("consent_procedure", "ui.err.required")
    level = v.get("consent_level", "") if surgery else ""
    if level and level not in LEVELS:
        p.add("consent_level", "ui.err.choose")
    method = v.get("consent_anaesthesia", "") if surgery else ""
    if method and method not in procedures.ANAESTHESIA:
        p.add("consent_anaesthesia", "ui.err.choose")
    staff = dict(procedures.practitioners(repo))
    doctor = v.get("consent_doctor", "")
    if doctor not in staff:
        p.add("consent_doctor", "ui.err.choose" if doctor else "ui.err.required")
    anaesthetist = v.get("consent_anaesthetist", "") if surgery else ""
    if anaesthetist and anaesthetist not in staff:
        p.add("consent_anaesthetist", "ui.err.choose")
    risks = v.get("consent_risks", "")
    if not risks and kind != "40-BV2":           # what was explained of the risks (40/BV2: general information)
        p.add("consent_risks", "ui.err.required")
    destination = v.get("consent_destination", "") if kind == "45-BV2" else ""
    if kind == "45-BV2" and not destination:
        p.add("consent_destination", "ui.err.required")
    reason = "" if surgery else v.get("consent_reason", "")
    decision = v.get("consent_decision", "")
    if decision not in DECISIONS:
        p.add("consent_decision", "ui.err.choose")
    who = v.get("consent_signer", "")
    if who not in ("patient", "representative"):
        p.add("consent_signer", "ui.err.choose")
    representative = None
    if who == "representative":
        representative = _representative(p, v)
    checklist, checklist_system = (EXPLAINED, EXPLAINED_SYSTEM) if surgery else (INFORMED, INFORMED_SYSTEM)
    explained = [code for code in checklist if v.get(f"consent_explained_{code}")]
    p.raise_if_any()
    when = when or now(tz)
    cid = str(uuid.uuid4())
    provision: dict = {
        "type": decision, "code": [{"text": name}],
        "actor": [{"role": {"coding": [{"system": PARTICIPATION, "code": "PPRF", "display": "primary performer"}],
                            "text": "Bác sĩ giải thích, thực hiện" if surgery else "Người giải thích, cung cấp thông tin"},
                   "reference": ref("Practitioner", doctor, staff[doctor])}],
    }
    if anaesthetist:
        provision["actor"].append({"role": {"coding": [{"system": PARTICIPATION, "code": "SPRF",
                                                        "display": "secondary performer"}],
                                            "text": procedures.ANAESTHETIST["text"]},
                                   "reference": ref("Practitioner", anaesthetist, staff[anaesthetist])})
    if target:
        ttype, tid = target.split("/", 1)
        provision["data"] = [{"meaning": "related", "reference": ref(ttype, tid, name)}]
    form = {"system": FORM_SYSTEM, "code": kind, "display": KINDS[kind][0]}
    policy = POLICY if surgery else {"system": POLICY_SYSTEM, "code": "tt32-2023-" + kind.replace("-", "").lower(),
                                     "display": f"Thông tư 32/2023/TT-BYT, Phụ lục XXIX, mẫu {kind.replace('-', '/')}"}
    body: dict = {
        "resourceType": "Consent", "status": "active", "scope": {"coding": [SCOPE]},
        "category": [{"coding": [LOINC_CONSENT]}, {"coding": [form]}],
        "patient": ref("Patient", patient["id"]), "dateTime": when.isoformat(),
        "policyRule": {"coding": [policy]}, "provision": provision,
        "extension": [{"url": ENCOUNTER_EXT, "valueReference": ref("Encounter", encounter["id"])},
                      *([{"url": RISKS_EXT, "valueString": risks}] if risks else []),
                      *({"url": EXPLAINED_EXT, "valueCoding": {"system": checklist_system, "code": c,
                                                                "display": checklist[c][0]}} for c in explained)],
    }
    if reason:
        body["extension"].append({"url": REASON_EXT, "valueString": reason})
    if destination:
        body["extension"].append({"url": DESTINATION_EXT, "valueString": destination})
    if level:
        body["extension"].append({"url": LEVEL_EXT, "valueCoding": {"system": LEVEL_SYSTEM, "code": level,
                                                                     "display": LEVELS[level][0]}})
    if method:
        body["extension"].append({"url": procedures.ANAESTHESIA_EXT, "valueCodeableConcept": {
            "coding": [{"system": procedures.ANAESTHESIA_SYSTEM, "code": method,
                        "display": procedures.ANAESTHESIA[method][0]}], "text": procedures.ANAESTHESIA[method][0]}})
    if representative is not None:
        body["contained"] = [{**representative, "patient": ref("Patient", patient["id"])}]
        body["performer"] = [{"reference": "#representative"}]
    else:
        body["performer"] = [ref("Patient", patient["id"])]
    if organization_id:
        body["organization"] = [ref("Organization", organization_id)]
    repo.commit([repo.prepare("POST", "Consent", cid, stamp(body, actor), create_only=True)], "create")
    return cid


def _representative(p: Problems, v: dict[str, str]) -> dict | None:
    name, relation = v.get("consent_rep_name", ""), v.get("consent_rep_relation", "")
    cccd, year = v.get("consent_rep_cccd", ""), v.get("consent_rep_birth_year", "")
    if not name:
        p.add("consent_rep_name", "ui.err.required")
    if relation not in RELATIONS:
        p.add("consent_rep_relation", "ui.err.choose" if relation else "ui.err.required")
    if not cccd:
        p.add("consent_rep_cccd", "ui.err.required")
    elif cccd_problems(cccd):
        p.add("consent_rep_cccd", "ui.consent.err.cccd")
    # isascii: '¹⁹⁸⁰' (superscripts) passes isdigit() but int() refuses it.
    if year and not (year.isascii() and year.isdigit() and len(year) == 4 and 1900 <= int(year) <= now().year):
        p.add("consent_rep_birth_year", "ui.consent.err.year")
    if p.errors:
        return None
    out = {"resourceType": "RelatedPerson", "id": "representative", "name": [{"text": name}],
           "relationship": [{"coding": [{"system": ROLE_SYSTEM, "code": relation}], "text": RELATIONS[relation][0]}],
           "identifier": [{"system": CCCD_SYSTEM, "value": cccd}]}
    if year:
        out["birthDate"] = year
    return out


def of_visit(repo: Repository, encounter: dict) -> list[dict]:
    """The visit's treatment consents (01/BV2), oldest first."""
    encounter_id = encounter["id"]
    found = repo.search_all("Consent", [("patient", f"Patient/{ref_id(encounter.get('subject'))}"),
                                        ("scope", f"{SCOPE['system']}|{SCOPE['code']}")])
    mine = [m.json() for m in found
            if any(e.get("url") == ENCOUNTER_EXT and ref_id(e.get("valueReference")) == encounter_id
                   for e in m.json().get("extension", []))
            and m.json().get("status") != "entered-in-error"]
    return sorted(mine, key=lambda c: c.get("dateTime", ""))


# --- reading one back (the paper, the visit page) ---

def _ext(consent: dict, url: str) -> list[dict]:
    return [e for e in consent.get("extension", []) if e.get("url") == url]


def procedure_name(consent: dict) -> str:
    return ((consent.get("provision") or {}).get("code") or [{}])[0].get("text", "")


def level(consent: dict) -> str:
    return next((e["valueCoding"].get("code", "") for e in _ext(consent, LEVEL_EXT)), "")


def explained(consent: dict) -> list[str]:
    return [e["valueCoding"].get("code", "") for e in _ext(consent, EXPLAINED_EXT)]


def risks(consent: dict) -> str:
    return next((e.get("valueString", "") for e in _ext(consent, RISKS_EXT)), "")


def anaesthesia(consent: dict) -> str:
    return next(((e.get("valueCodeableConcept") or {}).get("text", "")
                 for e in _ext(consent, procedures.ANAESTHESIA_EXT)), "")


def actor(consent: dict, code: str) -> dict | None:
    for a in (consent.get("provision") or {}).get("actor", []):
        if any(c.get("code") == code for c in (a.get("role") or {}).get("coding", [])):
            return a.get("reference")
    return None


def kind(consent: dict) -> str:
    """The paper a Consent is (KINDS); 01/BV2 for one recorded before the kinds."""
    return next((c.get("code", "") for cat in consent.get("category", []) for c in cat.get("coding", [])
                 if c.get("system") == FORM_SYSTEM), SURGERY)


def reason(consent: dict) -> str:
    return next((e.get("valueString", "") for e in _ext(consent, REASON_EXT)), "")


def destination(consent: dict) -> str:
    return next((e.get("valueString", "") for e in _ext(consent, DESTINATION_EXT)), "")


def decision(consent: dict) -> str:
    return (consent.get("provision") or {}).get("type", "")


def signer(consent: dict, patient: dict) -> Signer:
    rep = next((c for c in consent.get("contained", []) if c.get("resourceType") == "RelatedPerson"), None)
    if rep is not None:
        return Signer((rep.get("name") or [{}])[0].get("text", ""), (rep.get("birthDate") or "")[:4],
                      (rep.get("relationship") or [{}])[0].get("text", ""),
                      next((i.get("value", "") for i in rep.get("identifier", [])), ""), False)
    name = (patient.get("name") or [{}])[0]
    cccd = next((i.get("value", "") for i in patient.get("identifier", []) if i.get("system") == CCCD_SYSTEM), "")
    return Signer(name.get("text", ""), (patient.get("birthDate") or "")[:4], "", cccd, True)


def form_key(consent: dict) -> str:
    """The printed paper of a Consent, as the documents and print routes name it ("consent-refusal:<id>")."""
    return f"{FORM_KEYS.get(kind(consent), FORM_KEYS[SURGERY])}:{consent['id']}"


def signable(repo: Repository, encounter: dict) -> dict[str, str]:
    """Each consent and each procedure of the visit as a document to sign ("consent:<id>",
    "consent-refusal:<id>" …, "surgery:<id>") → what it is, for the documents page."""
    out = {form_key(c): " — ".join(x for x in ("" if kind(c) == SURGERY else kind(c).replace("-", "/"),
                                               procedure_name(c), vn_datetime(c.get("dateTime"))) if x)
           for c in of_visit(repo, encounter)}
    out.update({f"surgery:{p['id']}": " — ".join(x for x in (p.get("code", {}).get("text", ""),
                                                             vn_datetime(p.get("performedDateTime"))) if x)
                for p in procedures.of_visit(repo, encounter["id"])})
    return out
