"""40/BV2, 41/BV2, 45/BV2, 46/BV2 (TT 32/2023 PL XXIX; fields designed like 01/BV2's, secondary): each
recorded through clinical.consent with its kind and DISTINCT values, drawn by the layout engine with
every value in its own box (by position, pdfplumber), the decision ticked, two signatures side by side;
each paper prints only its own kind; the whole record lists them after 01/BV2 in code order; each is
signable ("consent-refusal:<id>") and confirmed by the patient's side by OTP like 01/BV2; captured on
the visit page (translated refusals, never a 500). On SQLite and PostgreSQL; PDF and PNG kept in
.artifacts/forms."""
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
from benhan.clinical.printouts import forms as printouts
from benhan.documents import confirmation, signing, whole_record
from benhan.outbox.sms import SmsGateway
from benhan.signing import keys
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM
from benhan.web.app import create_app
from tests.forms import seed, surgical_seed
from tests.forms.conftest import keep, text_in
from tests.forms.test_golden import A4, check_every_page, check_values, no_page_of_signatures_only
from tests.forms.test_rules import FORBIDDEN, ICD, _strings
from tests.forms.test_surgery_sheet import FORMS_DIR, render, surgical  # noqa: F401 - the fixture
from tests.signing.conftest import ca, responder, trust  # noqa: F401 - the fixtures
from tests.signing.sms_standin import SmsStandIn

V, S = seed.V, surgical_seed.S
ICT = seed.ICT
PASSWORD = "một câu mật khẩu thật dài cho giấy cam kết"
STAFF_CCCD = "001090054321"

# Each paper with its own values, none shared with another paper or with the seed.
PAPERS = {
    "40-BV2": {"key": "consent-admission", "title": "GIẤY CUNG CẤP THÔNG TIN VÀ CAM KẾT CHUNG VỀ NHẬP VIỆN NỘI TRÚ",
               "staff": "Đặng Thị Bích Ngọc", "when": (14, 7, 55), "risks": "Giờ thăm bệnh, suất ăn bệnh lý, tạm ứng viện phí",
               "decision": "permit", "explained": ("quyen-nghia-vu", "noi-quy", "chi-phi"),
               "signer": ("patient",)},
    "41-BV2": {"key": "consent-refusal", "title": "GIẤY CAM KẾT TỪ CHỐI SỬ DỤNG DỊCH VỤ KHÁM BỆNH, CHỮA BỆNH",
               "staff": "Vương Đình Quý", "when": (16, 10, 20), "service": "Chụp cắt lớp vi tính ổ bụng có tiêm thuốc cản quang",
               "risks": "Bỏ sót áp xe tồn dư sau mổ", "reason": "Sợ dị ứng thuốc cản quang", "decision": "deny",
               "explained": ("tinh-trang", "rui-ro"),
               "signer": ("representative", "Hà Văn Lực", "FTH", "045061009988", "1961")},
    "45-BV2": {"key": "consent-transfer", "title": "GIẤY CAM KẾT CHUYỂN CƠ SỞ KHÁM BỆNH, CHỮA BỆNH",
               "staff": "Châu Minh Triết", "when": (17, 14, 5), "destination": "Bệnh viện Bạch Mai",
               "risks": "Tụt huyết áp, chảy máu trên đường vận chuyển", "reason": "Gia đình muốn điều trị gần nhà con gái",
               "decision": "permit", "explained": ("rui-ro", "phuong-an-khac"),
               "signer": ("representative", "Tạ Thị Nguyệt", "CHILD", "045099007766", "1999")},
    "46-BV2": {"key": "consent-leave", "title": "GIẤY CAM KẾT RA VIỆN KHÔNG THEO CHỈ ĐỊNH CỦA BÁC SĨ",
               "staff": "Khúc Thừa Dụ", "when": (18, 9, 40), "risks": "Nhiễm trùng vết mổ, bục chỉ, rò mật muộn",
               "reason": "Hoàn cảnh kinh tế khó khăn", "decision": "deny", "explained": ("tinh-trang",),
               "signer": ("representative", "Lê Quang Vinh", "SPS", "045085002211", "1985")},
}
DECISION_WORDS = {"40-BV2": "Đồng ý nhập viện điều trị nội trú", "41-BV2": "Từ chối sử dụng dịch vụ",
                  "45-BV2": "Đề nghị chuyển cơ sở khám bệnh, chữa bệnh", "46-BV2": "Ở lại tiếp tục điều trị"}


def _values(kind: str, staff_id: str) -> dict[str, str]:
    p = PAPERS[kind]
    v = {"consent_kind": kind, "consent_doctor": staff_id, "consent_risks": p["risks"],
         "consent_decision": p["decision"], "consent_signer": p["signer"][0],
         "consent_procedure": p.get("service", ""), "consent_reason": p.get("reason", ""),
         "consent_destination": p.get("destination", ""),
         **{f"consent_explained_{c}": "on" for c in p["explained"]}}
    if p["signer"][0] == "representative":
        _, name, relation, cccd, year = p["signer"]
        v.update({"consent_rep_name": name, "consent_rep_relation": relation, "consent_rep_cccd": cccd,
                  "consent_rep_birth_year": year})
    return v


@pytest.fixture
def papers(surgical):  # noqa: ANN001, ANN201, F811
    store, ids = surgical
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    patient = repo.read("Patient", ids["patient"]).json()
    made = {}
    for kind, p in PAPERS.items():
        staff = repo.create("Practitioner", {"resourceType": "Practitioner", "active": True,
                                             "name": [{"text": p["staff"]}]}).res_id
        day, hour, minute = p["when"]
        made[kind] = consent.record(repo, seed.DOCTOR, encounter, patient, _values(kind, staff),
                                    organization_id=ids["organization"],
                                    when=surgical_seed.CONSENTED.replace(day=day, hour=hour, minute=minute))
        made[f"staff-{kind}"] = staff
    return store, {**ids, **made}


RELATION = {"FTH": "Cha", "CHILD": "Con", "SPS": "Vợ/chồng"}


@pytest.mark.parametrize("kind", sorted(PAPERS))
def test_every_value_of_the_paper_in_its_box(papers, kind):  # noqa: ANN001
    p = PAPERS[kind]
    printed = render(papers, p["key"])
    keep(f"{kind}-{p['key']}", printed.pdf)
    code = kind.replace("-", "/")
    check_every_page(printed.pdf, A4, f"MS: {code}")
    day, hour, minute = p["when"]
    if p["signer"][0] == "patient":
        signer = {"signer-name": V["name"].upper(), "signer-birth-year": "1987", "signer-cccd": V["cccd"],
                  "patient": V["name"]}
    else:
        _, name, relation, cccd, year = p["signer"]
        signer = {"signer-name": name.upper(), "signer-birth-year": year, "signer-relation": RELATION[relation],
                  "signer-cccd": cccd, "patient": name}
    expected = {
        "record-number": V["ma-lk"], "name": V["name"].upper(), "patient-birth-year": "1987", "gender": "Nữ",
        "address": V["address"], "cccd": V["cccd"], "diagnosis": f"{V['dx-dd'][1]} ({V['dx-dd'][0]})",
        "staff-name": p["staff"], "staff": p["staff"], **signer,
        "when": f"{hour:02d}:{minute:02d} {day}/12/2026", "date-line": f"Ngày {day} tháng 12 năm 2026",
        "patient.title": "Người bệnh/người đại diện hợp pháp",
        "staff.title": "Người cung cấp thông tin" if kind == "40-BV2" else "Bác sĩ giải thích",
        "service" if kind == "41-BV2" else "risks" if kind != "40-BV2" else "information": p.get("service", p["risks"]),
    }
    if kind == "41-BV2":
        expected["risks"] = p["risks"]
    if "reason" in p:
        expected["reason"] = p["reason"]
    if "destination" in p:
        expected["destination"] = p["destination"]
    check_values(printed, expected, digits={}, ticks={"decision": p["decision"]})
    assert printed.rendered.values["decision"] == DECISION_WORDS[kind]      # the ticked option's own words
    ticked = sorted(r.split("=")[1] for r in printed.rendered.regions if r.startswith("explained=")
                    and "X" in text_in(printed.pdf, printed.rendered.regions[r]).split())
    assert ticked == sorted(p["explained"])
    if p["signer"][0] == "patient":        # the patient signs for herself: no relation, the dotted line
        assert set(text_in(printed.pdf, printed.rendered.regions["signer-relation"]).replace(" ", "")) == {"."}
    tops = {round(printed.rendered.regions[k].top) for k in ("patient.title", "staff.title")}
    assert len(tops) == 1                                  # the two signatures side by side
    with pdfplumber.open(io.BytesIO(printed.pdf)) as doc:
        first = doc.pages[0].extract_text()
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in first and p["title"] in first.replace("\n", " ")
    no_page_of_signatures_only(printed)


def test_each_paper_prints_only_its_own_kind(papers):  # noqa: ANN001
    store, ids = papers
    # 01/BV2 without an id is still the surgery consent, not the latest paper of another kind.
    assert S["procedure"] in text_in(*_pdf_region(render(papers, "consent"), "procedure"))
    # An id of another kind prints the blank paper (every value dotted), never that Consent on this layout.
    wrong = render(papers, f"consent-leave:{ids['41-BV2']}")
    assert set(text_in(wrong.pdf, wrong.rendered.regions["reason"]).replace(" ", "")) == {"."}
    right = render(papers, f"consent-refusal:{ids['41-BV2']}")
    assert PAPERS["41-BV2"]["reason"] in text_in(right.pdf, right.rendered.regions["reason"])


def _pdf_region(printed, key: str):  # noqa: ANN001, ANN202
    return printed.pdf, printed.rendered.regions[key]


def test_the_consents_are_fhir_consents_of_their_kind(papers):  # noqa: ANN001
    store, ids = papers
    repo = Repository(store, Actor.system())
    for kind in PAPERS:
        c = repo.read("Consent", ids[kind]).json()
        assert {x["coding"][0]["code"] for x in c["category"]} == {"59284-0", kind}
        assert consent.kind(c) == kind and c["provision"]["type"] == PAPERS[kind]["decision"]
        assert c["policyRule"]["coding"][0]["display"].endswith(kind.replace("-", "/"))
    transfer = repo.read("Consent", ids["45-BV2"]).json()
    assert consent.destination(transfer) == PAPERS["45-BV2"]["destination"]
    assert consent.procedure_name(transfer) == "Chuyển cơ sở khám bệnh, chữa bệnh"
    assert consent.form_key(transfer) == f"consent-transfer:{ids['45-BV2']}"
    refusal = repo.read("Consent", ids["41-BV2"]).json()
    assert consent.procedure_name(refusal) == PAPERS["41-BV2"]["service"]
    assert consent.reason(refusal) == PAPERS["41-BV2"]["reason"]


def test_an_incomplete_paper_is_refused_field_by_field(papers):  # noqa: ANN001
    store, ids = papers
    repo = Repository(store, Actor.system())
    encounter = repo.read("Encounter", ids["encounter"]).json()
    patient = repo.read("Patient", ids["patient"]).json()
    before = len(consent.of_visit(repo, encounter))
    with pytest.raises(FormInvalid) as exc:
        consent.record(repo, seed.DOCTOR, encounter, patient, {"consent_kind": "45-BV2", "consent_signer": "patient",
                                                               "consent_decision": "maybe"})
    assert {k: v[0] for k, v in exc.value.errors.items()} == {
        "consent_doctor": "ui.err.required", "consent_risks": "ui.err.required",
        "consent_destination": "ui.err.required", "consent_decision": "ui.err.choose"}
    with pytest.raises(FormInvalid) as exc:
        consent.record(repo, seed.DOCTOR, encounter, patient, {"consent_kind": "41-BV2", "consent_signer": "x"})
    assert set(exc.value.errors) == {"consent_procedure", "consent_doctor", "consent_risks", "consent_decision",
                                     "consent_signer"}
    with pytest.raises(FormInvalid) as exc:
        consent.record(repo, seed.DOCTOR, encounter, patient, {"consent_kind": "99-BV2"})
    assert exc.value.errors["consent_kind"][0] == "ui.err.choose"
    assert len(consent.of_visit(repo, encounter)) == before             # nothing written


def test_the_whole_record_holds_the_papers_after_01bv2_in_code_order(papers):  # noqa: ANN001
    store, ids = papers
    repo = Repository(store, Actor.system())
    ctx = printouts.gather(repo, ids["encounter"], seed.TODAY, head_title=V["head-title"])
    whole = whole_record.build(repo, ctx, seed.DOCTOR, seed.PRINTED, "http://benhan.test")
    keys = [k for k in whole.included if k.startswith("consent")]
    assert keys == [f"consent:{ids['consent']}", *(f"{PAPERS[k]['key']}:{ids[k]}" for k in sorted(PAPERS))]


def test_the_staff_member_signs_and_the_representative_confirms_by_otp(papers, ca, trust):  # noqa: ANN001, F811
    store, ids = papers
    system = Repository(store, Actor.system())
    staff_id = ids["staff-45-BV2"]
    staff = system.read("Practitioner", staff_id).json()
    staff["identifier"] = [{"system": CCCD_SYSTEM, "value": STAFF_CCCD}]
    system.update("Practitioner", staff_id, staff)
    name = PAPERS["45-BV2"]["staff"]
    user, _ = users.create_user(store, "bs.triet", name, ["doctor"], practitioner_id=staff_id, password=PASSWORD)
    actor = policy.actor_for_user(store, user)
    repo = Repository(store, actor)
    key = keys.from_pkcs12(ca.issue(name, uid=f"CCCD:{STAFF_CCCD}").pkcs12("p"), "p")
    form = f"consent-transfer:{ids['45-BV2']}"
    done = signing.sign_encounter_document(repo, actor, ids["encounter"], form, key, trust,
                                           base_url="http://benhan.test")
    [document] = signing.signed_documents(repo, ids["encounter"])
    assert document["type"]["coding"][0]["code"] == "59284-0"
    assert document["category"][0]["coding"][0]["code"] == form
    with pdfplumber.open(io.BytesIO(done.pdf)) as doc:
        text = " ".join(p.extract_text() for p in doc.pages)
    assert "GIẤY CAM KẾT CHUYỂN CƠ SỞ" in text and f"Đã ký số bởi: {name}" in text
    assert PAPERS["45-BV2"]["destination"] in text
    with SmsStandIn() as sms:
        challenge = confirmation.request(repo, done.document_reference_id, "0912334455",
                                         SmsGateway(sms.url, sms.key).send, who="representative")
        code = re.search(r"\b(\d{6})\b", sms.sent[-1]["text"]).group(1)
        confirmation.confirm(repo, actor, challenge.id, code)
    [confirmed] = confirmation.confirmations(repo, done.document_reference_id)
    assert confirmed["phone"] == "091****455"
    app = create_app(store.config, store)
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.triet")
        page = ui.get(f"/ui/encounters/{ids['encounter']}/documents")
        assert page.status_code == 200
        for kind, p in PAPERS.items():           # each paper offered to sign by itself, named by its code
            assert f'value="{p["key"]}:{ids[kind]}">' in page.text
        assert f"45/BV2 — Chuyển cơ sở khám bệnh, chữa bệnh" in page.text
        assert f'id="doc-{done.document_reference_id}"' in page.text and "091****455" in page.text


def _login(client: TestClient, username: str) -> str:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    return csrf


def test_the_papers_are_captured_on_the_visit_page(papers):  # noqa: ANN001
    store, ids = papers
    system = Repository(store, Actor.system())
    encounter = system.read("Encounter", ids["encounter"]).json()
    encounter["status"] = "in-progress"
    system.update("Encounter", ids["encounter"], encounter)
    staff_id = ids["staff-46-BV2"]
    users.create_user(store, "bs.du", PAPERS["46-BV2"]["staff"], ["doctor"], practitioner_id=staff_id,
                      password=PASSWORD)
    app = create_app(store.config, store)
    base = f"/ui/encounters/{ids['encounter']}"
    with TestClient(app, raise_server_exceptions=False) as ui:
        _login(ui, "bs.du")
        page = ui.get(base)
        assert page.status_code == 200 and 'id="consent-paper-form"' in page.text
        assert "46/BV2" in page.text and f"form=consent-leave:{ids['46-BV2']}" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        bad = ui.post(f"{base}/consent-papers", data={"csrf": csrf, "paper_kind": "45-BV2", "paper_signer": "patient",
                                                      "paper_reason": "Muốn về gần nhà"}, follow_redirects=False)
        assert bad.status_code == 400
        assert "Bắt buộc nhập." in bad.text and "Muốn về gần nhà" in bad.text      # what was typed is kept
        assert 'id="e-paper_destination"' in bad.text and 'id="e-consent_risks"' not in bad.text
        english = ui.post(f"{base}/consent-papers", data={"csrf": csrf, "paper_kind": "nope"},
                          headers={"accept-language": "en"}, follow_redirects=False)
        assert english.status_code == 400 and "Choose one of the list." in english.text
        good = ui.post(f"{base}/consent-papers", data={
            "csrf": csrf, "paper_kind": "46-BV2", "paper_doctor": staff_id,
            "paper_risks": "Sốt cao, viêm phúc mạc", "paper_reason": "Lo việc đồng áng",
            "paper_decision": "permit", "paper_signer": "patient", "paper_explained_rui-ro": "on"},
            follow_redirects=False)
        assert good.status_code == 303, good.text[:500]
        repo = Repository(store, Actor.system())
        latest = max(consent.of_visit(repo, repo.read("Encounter", ids["encounter"]).json()),
                     key=lambda c: c["meta"]["lastUpdated"])
        assert consent.kind(latest) == "46-BV2" and consent.reason(latest) == "Lo việc đồng áng"
        assert consent.explained(latest) == ["rui-ro"]
        pdf = ui.get(f"{base}/print.pdf", params={"form": f"consent-leave:{latest['id']}"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        with pdfplumber.open(io.BytesIO(pdf.content)) as doc:
            text = doc.pages[0].extract_text()
        assert "Lo việc đồng áng" in text and "RA VIỆN KHÔNG THEO CHỈ ĐỊNH" in text


def test_the_consent_papers_hold_no_literal_clinical_or_administrative_value():
    found = []
    for module in ("consent", "transfusion_sheet", "transfusion_sources", "infusion_sheet"):
        for line, text in _strings(FORMS_DIR / f"{module}.py"):
            found += [(module, line, text) for word in FORBIDDEN if text.strip() == word]
            found += [(module, line, text) for _ in ICD.findall(text)]
    assert found == []
