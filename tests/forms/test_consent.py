"""01/BV2 Giấy cam kết chấp thuận phẫu thuật, thủ thuật và gây mê hồi sức: captured on the visit page
(the route /ui/encounters/{id}/consents, refused with translated messages when incomplete), stored as a
FHIR Consent (scope treatment), drawn by the layout engine with every value in its own box (by
position, pdfplumber), signed by the doctor and confirmed by the representative with a code by SMS
(a real stand-in gateway), and listed on the documents page. On SQLite and PostgreSQL; PDF and PNG
kept in .artifacts/forms."""
from __future__ import annotations

import io
import re

import pdfplumber
import pytest
from starlette.testclient import TestClient

from benhan.auth import policy, users
from benhan.auth.actor import Actor
from benhan.clinical import consent
from benhan.clinical.common import FormInvalid
from benhan.documents import confirmation, signing
from benhan.outbox.sms import SmsGateway
from benhan.signing import keys
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM
from benhan.web.app import create_app
from tests.forms import seed, surgical_seed
from tests.forms.conftest import keep, text_in
from tests.forms.test_golden import A4, check_every_page, check_values, no_page_of_signatures_only, squash
from tests.forms.test_surgery_sheet import render, surgical  # noqa: F401 - the fixture
from tests.signing.conftest import ca, responder, trust  # noqa: F401 - the fixtures
from tests.signing.sms_standin import SmsStandIn

V, S = seed.V, surgical_seed.S
PASSWORD = "một câu mật khẩu thật dài cho giấy cam kết"
SURGEON_CCCD = "001086012345"


def test_01bv2_every_value_of_the_consent_in_its_box(surgical):  # noqa: ANN001
    p = render(surgical, "consent")
    keep("01-BV2-consent", p.pdf)
    check_every_page(p.pdf, A4, "MS: 01/BV2")
    check_values(p, {
        "record-number": V["ma-lk"], "doctor-name": S["surgeon"], "department": V["department"],
        "anaesthetist-name": S["anaesthetist"], "name": V["name"].upper(), "patient-birth-year": "1987",
        "gender": "Nữ", "address": V["address"], "diagnosis": f"{V['dx-dd'][1]} ({V['dx-dd'][0]})",
        "procedure": S["procedure"], "anaesthesia": "Gây mê nội khí quản", "risks": S["risks"],
        "signer-name": S["rep-name"].upper(), "signer-birth-year": S["rep-year"], "signer-relation": "Vợ/chồng",
        "signer-cccd": S["rep-cccd"], "when": "06:40 15/12/2026", "date-line": "Ngày 15 tháng 12 năm 2026",
        "patient": S["rep-name"], "anaesthetist": S["anaesthetist"], "doctor": S["surgeon"],
        "patient.title": "Người bệnh/thân nhân", "anaesthetist.title": "Bác sĩ gây mê hồi sức",
        "doctor.title": "Phẫu thuật viên/Bác sĩ làm thủ thuật"},
        digits={}, ticks={"level": "ban-cap", "decision": "permit"})
    ticked = sorted(r.split("=")[1] for r in p.rendered.regions if r.startswith("explained=")
                    and "X" in text_in(p.pdf, p.rendered.regions[r]).split())
    assert ticked == ["chan-doan", "gay-me", "tai-bien"]
    # The three signatures side by side, on one line, as on the paper.
    tops = {round(p.rendered.regions[k].top) for k in ("patient.title", "anaesthetist.title", "doctor.title")}
    assert len(tops) == 1
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in _first_page(p.pdf)          # a consent has the national heading
    no_page_of_signatures_only(p)


def _first_page(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return doc.pages[0].extract_text()


def test_the_consent_is_a_fhir_consent_of_scope_treatment(surgical):  # noqa: ANN001
    store, ids = surgical
    repo = Repository(store, Actor.system())
    c = repo.read("Consent", ids["consent"]).json()
    assert c["scope"]["coding"][0]["code"] == "treatment" and c["status"] == "active"
    assert {x["coding"][0]["code"] for x in c["category"]} == {"59284-0", "01-BV2"}
    assert c["provision"]["type"] == "permit"
    assert c["provision"]["data"] == [{"meaning": "related", "reference": {
        "reference": f"Procedure/{ids['procedure']}", "display": S["procedure"]}}]
    assert c["performer"] == [{"reference": "#representative"}]
    [rep] = c["contained"]
    assert rep["identifier"][0] == {"system": CCCD_SYSTEM, "value": S["rep-cccd"]}
    assert c["organization"] == [{"reference": f"Organization/{ids['organization']}"}]
    # A treatment consent never stands for the privacy choice (auth.consent reads scope patient-privacy).
    from benhan.auth.consent import may_leave_facility
    assert may_leave_facility(store, ids["patient"])


def test_a_refusal_prints_ticked_as_such_and_the_patient_signs_for_herself(surgical):  # noqa: ANN001
    store, ids = surgical
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    patient = repo.read("Patient", ids["patient"]).json()
    cid = consent.record(repo, seed.DOCTOR, encounter, patient, {
        "consent_procedure": "Nội soi mật tụy ngược dòng", "consent_doctor": ids["surgeon"],
        "consent_risks": "Viêm tụy cấp sau thủ thuật", "consent_decision": "deny", "consent_signer": "patient"},
        when=surgical_seed.CONSENTED.replace(hour=7))
    p = render(surgical, f"consent:{cid}")
    check_values(p, {"procedure": "Nội soi mật tụy ngược dòng", "signer-name": V["name"].upper(),
                     "signer-cccd": V["cccd"], "patient": V["name"]}, digits={}, ticks={"decision": "deny"})
    for blank in ("signer-relation", "anaesthetist-name", "anaesthesia"):
        assert set(text_in(p.pdf, p.rendered.regions[blank]).replace(" ", "")) == {"."}, blank
    assert not any("X" in text_in(p.pdf, p.rendered.regions[r]).split() for r in p.rendered.regions
                   if r.startswith(("level=", "explained=")))          # nothing recorded, nothing ticked
    # The first one is still there by its id.
    first = render(surgical, f"consent:{ids['consent']}")
    assert S["procedure"] in squash(text_in(first.pdf, first.rendered.regions["procedure"]))


def test_an_incomplete_consent_is_refused_field_by_field(surgical):  # noqa: ANN001
    store, ids = surgical
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    patient = repo.read("Patient", ids["patient"]).json()
    with pytest.raises(FormInvalid) as exc:
        consent.record(repo, seed.DOCTOR, encounter, patient, {
            "consent_signer": "representative", "consent_rep_cccd": "12345", "consent_rep_relation": "XYZ",
            "consent_rep_birth_year": "2999", "consent_for": "Procedure/khong-co", "consent_doctor": "ai-do"})
    assert {k: v[0] for k, v in exc.value.errors.items()} == {
        "consent_for": "ui.err.choose", "consent_procedure": "ui.err.required", "consent_doctor": "ui.err.choose",
        "consent_risks": "ui.err.required", "consent_decision": "ui.err.choose", "consent_rep_name": "ui.err.required",
        "consent_rep_relation": "ui.err.choose", "consent_rep_cccd": "ui.consent.err.cccd",
        "consent_rep_birth_year": "ui.consent.err.year"}
    assert len(consent.of_visit(repo, encounter)) == 1           # nothing written


def _login(client: TestClient, username: str) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    return csrf


def test_the_consent_is_captured_on_the_visit_page(surgical):  # noqa: ANN001
    store, ids = surgical
    system = Repository(store, Actor.system())
    encounter = system.read("Encounter", ids["encounter"]).json()
    encounter["status"] = "in-progress"                    # a consent is recorded while the visit is open
    system.update("Encounter", ids["encounter"], encounter)
    users.create_user(store, "bs.khai", S["surgeon"], ["doctor"], practitioner_id=ids["surgeon"], password=PASSWORD)
    app = create_app(store.config, store)
    base = f"/ui/encounters/{ids['encounter']}"
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.khai")
        page = ui.get(base)
        assert page.status_code == 200 and 'id="consent-form"' in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        bad = ui.post(f"{base}/consents", data={"csrf": csrf, "consent_procedure": "Mở khí quản",
                                                "consent_signer": "representative"}, follow_redirects=False)
        assert bad.status_code == 400
        assert "Bắt buộc nhập." in bad.text and "Hãy chọn một mục trong danh sách." in bad.text
        assert 'value="Mở khí quản"' in bad.text                     # what was typed is kept
        english = ui.post(f"{base}/consents", data={"csrf": csrf, "consent_risks": "x"},
                          headers={"accept-language": "en"}, follow_redirects=False)
        assert english.status_code == 400 and "Required." in english.text
        good = ui.post(f"{base}/consents", data={
            "csrf": csrf, "consent_procedure": "Mở khí quản", "consent_doctor": ids["surgeon"],
            "consent_risks": "Chảy máu, tràn khí dưới da", "consent_decision": "permit",
            "consent_signer": "representative", "consent_rep_name": "Lường Văn Tám", "consent_rep_relation": "CHILD",
            "consent_rep_cccd": "045098003344", "consent_level": "cap-cuu",
            "consent_explained_ly-do": "on"}, follow_redirects=False)
        assert good.status_code == 303, good.text[:500]
        repo = Repository(store, Actor.system())
        [latest] = [c for c in consent.of_visit(repo, repo.read("Encounter", ids["encounter"]).json())
                    if c["id"] != ids["consent"]]
        assert consent.procedure_name(latest) == "Mở khí quản" and consent.level(latest) == "cap-cuu"
        assert consent.explained(latest) == ["ly-do"] and consent.signer(latest, {}).relation == "Con"
        shown = ui.get(base)
        assert "Mở khí quản" in shown.text and f"form=consent:{latest['id']}" in shown.text
        pdf = ui.get(f"{base}/print.pdf", params={"form": f"consent:{latest['id']}"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        with pdfplumber.open(io.BytesIO(pdf.content)) as doc:
            text = doc.pages[0].extract_text()
        assert "LƯỜNG VĂN TÁM" in text and "GIẤY CAM KẾT CHẤP THUẬN" in text


def test_the_doctor_signs_the_consent_and_the_representative_confirms_by_otp(surgical, ca, trust):  # noqa: ANN001, F811
    store, ids = surgical
    system = Repository(store, Actor.system())
    surgeon = system.read("Practitioner", ids["surgeon"]).json()
    surgeon["identifier"] = [{"system": CCCD_SYSTEM, "value": SURGEON_CCCD}]
    system.update("Practitioner", ids["surgeon"], surgeon)
    user, _ = users.create_user(store, "bs.ky", S["surgeon"], ["doctor"], practitioner_id=ids["surgeon"],
                                password=PASSWORD)
    actor = policy.actor_for_user(store, user)
    repo = Repository(store, actor)
    key = keys.from_pkcs12(ca.issue(S["surgeon"], uid=f"CCCD:{SURGEON_CCCD}").pkcs12("p"), "p")
    done = signing.sign_encounter_document(repo, actor, ids["encounter"], f"consent:{ids['consent']}", key, trust,
                                           base_url="http://benhan.test")
    [document] = signing.signed_documents(repo, ids["encounter"])
    assert document["type"]["coding"][0]["code"] == "59284-0"
    with pdfplumber.open(io.BytesIO(done.pdf)) as doc:
        text = " ".join(p.extract_text() for p in doc.pages)
    assert "GIẤY CAM KẾT CHẤP THUẬN" in text and f"Đã ký số bởi: {S['surgeon']}" in text
    bundle = signing.bundle_of(document)
    assert any(e["fullUrl"].startswith(f"Procedure/{ids['procedure']}") for e in bundle["entry"])
    with SmsStandIn() as sms:
        challenge = confirmation.request(repo, done.document_reference_id, "0935112233",
                                         SmsGateway(sms.url, sms.key).send, who="representative")
        code = re.search(r"\b(\d{6})\b", sms.sent[-1]["text"]).group(1)
        confirmation.confirm(repo, actor, challenge.id, code)
    [confirmed] = confirmation.confirmations(repo, done.document_reference_id)
    assert confirmed["phone"] == "093****233"
    # The documents page lists the signed consent, offers the consent to sign, and shows the confirmation.
    app = create_app(store.config, store)
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.ky")
        page = ui.get(f"/ui/encounters/{ids['encounter']}/documents")
        assert page.status_code == 200 and 'value="consent"' in page.text
        # Each consent and each procedure sheet can be signed by itself, named by what it is.
        assert f'value="consent:{ids["consent"]}">' in page.text and f'value="surgery:{ids["procedure"]}">' in page.text
        assert f"{S['procedure']} — 06:40 15/12/2026" in page.text
        assert f'id="doc-{done.document_reference_id}"' in page.text and "093****233" in page.text
