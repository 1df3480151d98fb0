"""The seeded visit of tests/forms/seed.py with a surgery on it, recorded through the app's own
functions (clinical.procedures, clinical.consent), each value distinct: the consent given by the
patient's husband, the surgery with its team, diagnoses before and after, class, anaesthesia and its
narrative, a complication that followed it. Times are injected (December 2026)."""
from __future__ import annotations

from datetime import datetime

from benhan.auth.actor import Actor
from benhan.clinical import consent, procedures
from benhan.store.repository import Repository
from tests.forms import seed

S = {
    "surgeon": "Trịnh Quang Khải", "anaesthetist": "Mạc Thị Huyền Trân",
    "procedure": "Cắt túi mật nội soi", "dx-before": "Sỏi túi mật có viêm cấp",
    "dx-after": "Viêm túi mật hoại tử do sỏi", "description": "Đặt ba trocar, bóc tách tam giác Calot, cắt túi mật",
    "complication": "Chảy máu sau mổ tại giường túi mật",
    "risks": "Chảy máu, rò mật, nhiễm trùng vết mổ, chuyển mổ mở",
    "rep-name": "Lò Văn Khánh", "rep-cccd": "045086001122", "rep-year": "1986",
}
CLOCK = datetime(2026, 12, 19, 9, 0, tzinfo=seed.ICT)
CONSENTED = datetime(2026, 12, 15, 6, 40, tzinfo=seed.ICT)


def build(store) -> dict:  # noqa: ANN001
    """seed.build, plus the surgery; the ids (procedure, consent, surgeon, anaesthetist too)."""
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    staff = {k: repo.create("Practitioner", {"resourceType": "Practitioner", "active": True,
                                             "name": [{"text": S[k]}]}).res_id for k in ("surgeon", "anaesthetist")}
    encounter = repo.read("Encounter", ids["encounter"]).json()
    patient = repo.read("Patient", ids["patient"]).json()
    pid = procedures.add(repo, seed.DOCTOR, encounter, {
        "proc_name": S["procedure"], "proc_kind": "phau-thuat", "proc_when": "08:15 15/12/2026",
        "proc_performer": staff["surgeon"], "proc_anaesthetist": staff["anaesthetist"],
        "proc_anaesthesia": "me-noi-khi-quan", "proc_class": "loai-1", "proc_dx_before": S["dx-before"],
        "proc_dx_after": S["dx-after"], "proc_note": S["description"]}, clock=CLOCK)
    procedures.add_complication(repo, seed.DOCTOR, encounter, {
        "comp_kind": "bien-chung", "comp_code": "", "comp_text": S["complication"], "comp_when": "14:20 15/12/2026",
        "comp_procedure": pid}, procedures.of_visit(repo, encounter["id"]), clock=CLOCK)
    cid = consent.record(repo, seed.DOCTOR, encounter, patient, {
        "consent_for": f"Procedure/{pid}", "consent_procedure": "", "consent_level": "ban-cap",
        "consent_anaesthesia": "me-noi-khi-quan", "consent_doctor": staff["surgeon"],
        "consent_anaesthetist": staff["anaesthetist"], "consent_risks": S["risks"], "consent_decision": "permit",
        "consent_signer": "representative", "consent_rep_name": S["rep-name"], "consent_rep_relation": "SPS",
        "consent_rep_cccd": S["rep-cccd"], "consent_rep_birth_year": S["rep-year"],
        "consent_explained_chan-doan": "on", "consent_explained_tai-bien": "on", "consent_explained_gay-me": "on"},
        organization_id=ids["organization"], when=CONSENTED)
    return {**ids, "procedure": pid, "consent": cid, **staff}
