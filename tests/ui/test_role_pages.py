"""The clinician pages as each demo role sees them, without a browser (the real app in-process, a
real SQLite store, real logins):

- 12.3: a kind of entry the role may not see is "not visible to your role", never "none recorded"
  (banner: allergies, alerts, BHYT; visit page: every section; patient page: visits, vital signs);
- 12.4: every form POST route of the clinician app (enumerated from the routing table) × every demo
  role: the server's decision is the role definition's (auth.roles: modes and ACTS) — refused with
  a 403 page in Vietnamese, never a 5xx — and the visit page offers only what the role may do;
- 12.10: every clinician GET route (enumerated from the routing table) for the demo patient, as each
  role, in Vietnamese: no status code, ISO date, FHIR type name or UCUM `10*` unit in the text.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from starlette.routing import Mount

from benhan.auth import mfa, roles, users
from benhan.auth.setup import DEMO_STAFF
from benhan.clinical import discharge, patient_link
from benhan.web.app import create_app
from tests.ui import chart_world

PASSWORD = "một câu mật khẩu thật dài"
NOT_PERMITTED = "Không hiển thị với vai trò của bạn"
FORBIDDEN = "Bạn không có quyền thực hiện thao tác này"


def has(role: str, letter: str, res_type: str) -> bool:
    return (res_type, letter) in roles.modes((role,))


def opens_chart(role: str) -> bool:
    return has(role, "c", "Encounter") or has(role, "r", "Condition")


def cashier_desk(role: str) -> bool:
    return has(role, "c", "PaymentReconciliation") and has(role, "r", "Invoice")


def links(role: str) -> bool:
    needs = [("c", "Provenance")] + [(letter, t) for t in patient_link.member_params() if t not in patient_link._TRAIL
                                     for letter in "ru"]
    return opens_chart(role) and all(has(role, letter, t) for letter, t in needs)


# Each clinician form POST route: what a post needs in the role definition, and a post that changes
# nothing when allowed (a refused form, a search) so the matrix can run in any order.
FORM_POSTS = {
    "/ui/register/scan": (lambda r: has(r, "c", "Patient"), {"qr": "không phải mã QR"}),
    # Appointments (web/ui/appointments.py): a slot not on the half hour; an appointment that does not exist.
    "/ui/appointments/book": (lambda r: has(r, "c", "Appointment"), {"day": "2026-12-10", "slot": "8h"}),
    "/ui/appointments/{id}": (lambda r: has(r, "u", "Appointment"), {"action": "noshow"}),
    "/ui/register/patient": (lambda r: has(r, "c", "Patient"), {}),
    "/ui/patients/{id}/visits": (lambda r: has(r, "c", "Encounter"), {"visit_type": "x"}),
    "/ui/patients/{id}/card": (lambda r: has(r, "c", "Coverage"), {"bhyt": "không phải số thẻ"}),
    "/ui/patients/{id}/link": (links, {}),
    "/ui/encounters/{id}/vitals": (lambda r: has(r, "c", "Observation"), {"temperature": "405"}),
    "/ui/encounters/{id}/record": (lambda r: has(r, "c", "Composition"), {"s_ly_do_vao_vien": "x" * 20_001}),
    "/ui/encounters/{id}/traditional": (lambda r: has(r, "c", "Composition"),
                                        {"y_vong_chan": "x" * 20_001, "y_vi_thuoc": "Đảng sâm"}),
    "/ui/encounters/{id}/diagnoses": (lambda r: has(r, "c", "Condition"), {"action": "add", "dx_code": ""}),
    "/ui/encounters/{id}/allergies": (lambda r: has(r, "c", "AllergyIntolerance"), {}),
    "/ui/encounters/{id}/lab-flags": (lambda r: has(r, "u", "Flag"), {"flag": "khong-co"}),
    "/ui/encounters/{id}/lab-validate": (lambda r: has(r, "u", "DiagnosticReport"), {"report": "khong-co"}),
    "/ui/lab/reports/{id}/technical": (lambda r: has(r, "u", "DiagnosticReport"), {}),
    "/ui/lab/{id}/specimen": (lambda r: has(r, "c", "Specimen"), {}),
    "/ui/encounters/{id}/orders": (lambda r: has(r, "c", "ServiceRequest"), {"order_kind": "x"}),
    "/ui/encounters/{id}/results": (lambda r: has(r, "c", "DiagnosticReport"), {"order": "khong-co"}),
    "/ui/encounters/{id}/prescriptions": (lambda r: has(r, "c", "MedicationRequest"), {}),
    # A progress note (the doctor's treatment sheet) needs PROGRESS_NOTE; a nursing note only the type.
    "/ui/encounters/{id}/notes": (lambda r: has(r, "c", "ClinicalImpression") and roles.may_act((r,), roles.PROGRESS_NOTE),
                                  {"note_kind": "progress", "note_course": ""}),
    # Ending a visit with an outcome is the doctor's discharge (an invalid result: refused, nothing written).
    "/ui/encounters/{id}/discharge": (lambda r: has(r, "u", "Encounter") and roles.may_act((r,), roles.DISCHARGE),
                                      {"result": "9", "disposition": "home"}),
    # The inpatient stay (web/ui/visit.py): admission, transfer, procedures, complications — refused forms.
    "/ui/encounters/{id}/admission": (lambda r: has(r, "u", "Encounter"), {"adm_route": "x"}),
    # The stay's specialty record (web/ui/specialty.py): an unknown record form is refused.
    "/ui/encounters/{id}/specialty": (lambda r: has(r, "c", "Composition"), {"sp_form": "x"}),
    "/ui/encounters/{id}/transfer": (lambda r: has(r, "u", "Encounter"), {"transfer_to": "khong-co"}),
    "/ui/encounters/{id}/procedures": (lambda r: has(r, "c", "Procedure"), {"proc_kind": "x"}),
    "/ui/encounters/{id}/complications": (lambda r: has(r, "c", "Condition"), {"comp_kind": "x"}),
    # The consent 01/BV2 (clinical.consent): the doctor's act; an incomplete one is refused.
    "/ui/encounters/{id}/consents": (lambda r: has(r, "c", "Consent") and roles.may_act((r,), roles.PROGRESS_NOTE),
                                     {"consent_decision": "x"}),
    # The other consent papers 40, 41, 45, 46/BV2 (same gate): an unknown paper is refused.
    "/ui/encounters/{id}/consent-papers": (lambda r: has(r, "c", "Consent") and roles.may_act((r,), roles.PROGRESS_NOTE),
                                           {"paper_kind": "x"}),
    # A blood unit transfused (clinical.transfusion): no product chosen, refused as a form.
    "/ui/encounters/{id}/transfusions": (lambda r: has(r, "c", "Procedure"), {"tx_product": "x"}),
    # A bottle of infusion, 07/BV2 (clinical.infusion): no fluid named, refused as a form.
    "/ui/encounters/{id}/infusions": (lambda r: has(r, "c", "MedicationAdministration"), {"inf_volume": "x"}),
    "/ui/encounters/{id}/doses": (lambda r: has(r, "c", "MedicationAdministration"), {"outcome": "x"}),
    # Fluid balance (web/ui/fluids.py): an amount that is not a number, refused as a form.
    "/ui/encounters/{id}/fluids": (lambda r: has(r, "c", "Observation"), {"fluid_kind": "urine", "fluid_ml": "x"}),
    # The nursing care plan (web/ui/care_plan.py): a frequency without its activity; a done mark naming no activity.
    "/ui/encounters/{id}/care-plan": (lambda r: has(r, "c", "CarePlan"), {"cp_frequency_1": "2 giờ/lần"}),
    "/ui/encounters/{id}/care-plan/done": (lambda r: has(r, "u", "CarePlan"), {"cp_index": "x"}),
    # The sick-leave certificate (web/ui/sick_leave.py): the doctor's act; without the days off it is refused.
    "/ui/encounters/{id}/sick-leave": (lambda r: has(r, "c", "Basic") and roles.may_act((r,), roles.PROGRESS_NOTE),
                                       {"leave_from": ""}),
    # The BHYT transfer (web/ui/referral.py): the doctor's act; without a reason it is refused.
    "/ui/encounters/{id}/referral": (lambda r: has(r, "c", "ServiceRequest") and roles.may_act((r,), roles.PROGRESS_NOTE),
                                     {"ref_reason": "x"}),
    # The wards (web/ui/ward.py): a bed that does not exist, a bed status for it, a room with no name.
    "/ui/encounters/{id}/bed": (lambda r: has(r, "u", "Encounter"), {"bed": "khong-co"}),
    "/ui/ward/{id}/bed-status": (lambda r: has(r, "u", "Encounter"), {"bed": "khong-co", "bed_status": "C"}),
    "/ui/admin/beds": (lambda r: has(r, "c", "Location"), {"action": "room"}),
    "/ui/correct/{type}/{id}": (lambda r: has(r, "u", "Observation"), {"value": "37", "reason": ""}),
    # The lab and pharmacy benches and the signatures (web/ui/bench.py, signatures.py), as their gates read.
    "/ui/lab/{id}/results": (lambda r: has(r, "c", "DiagnosticReport"), {}),
    "/ui/pharmacy/dispense": (lambda r: has(r, "c", "MedicationDispense"), {"request": "khong-co"}),
    # The stock forms (web/ui/pharmacy_stock.py): each refused as a form when empty.
    "/ui/pharmacy/receipts": (lambda r: has(r, "c", "MedicationDispense"), {"quantity": "x"}),
    "/ui/pharmacy/transfers": (lambda r: has(r, "c", "MedicationDispense"), {"quantity": "x"}),
    "/ui/pharmacy/counts": (lambda r: has(r, "c", "MedicationDispense"), {"counted": "x"}),
    "/ui/pharmacy/reorder": (lambda r: has(r, "c", "MedicationDispense"), {"level": "x"}),
    "/ui/pharmacy/stores": (lambda r: has(r, "c", "MedicationDispense"), {"code": ""}),
    "/ui/encounters/{id}/sign": (lambda r: has(r, "c", "DocumentReference")
                                 and roles.may_act((r,), roles.SIGN_DOCUMENT), {"form": "khong-co"}),
    "/ui/documents/{id}/otp": (lambda r: has(r, "c", "Provenance"), {}),
    "/ui/documents/{id}/otp/confirm": (lambda r: has(r, "c", "Provenance"), {"code": "000000"}),
    # The facility's seal (the director) and the patient's drawn signature (as for the code by SMS).
    "/ui/documents/{id}/seal": (lambda r: has(r, "c", "DocumentReference")
                                and roles.may_act((r,), roles.SEAL_DOCUMENT), {}),
    "/ui/documents/{id}/pad": (lambda r: has(r, "c", "Provenance"), {"signature": ""}),
    # A correction after signing (web/ui/amendment.py): the signer's act; no reason given, refused as a form.
    "/ui/documents/{id}/amend": (lambda r: has(r, "c", "DocumentReference")
                                 and roles.may_act((r,), roles.SIGN_DOCUMENT), {"reason": ""}),
    # A paper record scanned in (web/ui/paper.py): no file posted, refused as a form when allowed.
    "/ui/patients/{id}/paper": (lambda r: has(r, "c", "DocumentReference") and has(r, "c", "Provenance"), {}),
    # Personal data (web/ui/privacy.py): a consent needs Consent "c"; the register of requests and the
    # breach records the data-protection officer's privilege. Empty forms: refused as a form when allowed.
    "/ui/patients/{id}/privacy": (lambda r: has(r, "c", "Consent"), {}),
    **{p: (lambda r: roles.may_act((r,), "data-protection"), {})
       for p in ("/ui/privacy/requests", "/ui/privacy/requests/{id}", "/ui/privacy/breaches")},
    # The cashier's desk (web/ui/cashier.py): an unknown visit key, an unknown bill (404), no file, an empty closing.
    "/ui/cashier/visit": (lambda r: cashier_desk(r), {"ma_lk": "khong-co"}),
    **{f"/ui/cashier/bills/{{id}}/{action}": (lambda r: cashier_desk(r), {"amount": "1000"})
       for action in ("pay", "advance", "apply-advance", "refund")},
    "/ui/cashier/closing": (lambda r: cashier_desk(r), {}),
    "/ui/cashier/bank": (lambda r: cashier_desk(r), {}),
    # The BHYT desk (web/ui/claims_desk.py): the cashier sends (the desk's act and Claim "c"); an unknown visit: 404.
    "/ui/claims/{id}/send": (lambda r: roles.may_act((r,), roles.BHYT_DESK) and has(r, "c", "Claim"), {}),
    # The VNeID health-book queue (web/ui/health_book_desk.py): re-queue as the claims' "Gửi"; an unknown visit: 404.
    "/ui/claims/health-book/{id}/queue": (lambda r: roles.may_act((r,), roles.BHYT_DESK) and has(r, "c", "Claim"), {}),
    # The summary written after the close (clinical/closing_summary.py): the doctor's; a visit not ended is refused.
    "/ui/encounters/{id}/closing-summary": (lambda r: has(r, "c", "Composition") and roles.may_act((r,), roles.DISCHARGE),
                                            {}),
}


def app_routes(app, method: str) -> list[str]:  # noqa: ANN001
    found = []

    def walk(items, prefix: str = "") -> None:  # noqa: ANN001
        for r in items:
            if isinstance(r, Mount):
                walk(r.routes or [], prefix + r.path)
            elif method in (r.methods or ()):
                found.append(prefix + r.path)
    walk(app.routes)
    return [p for p in found if p.startswith("/ui/")]


class Client:
    """A logged-in user of one role, with the CSRF token of their session."""

    def __init__(self, app, username: str, role: str, secret: str | None):  # noqa: ANN001
        from starlette.testclient import TestClient
        self.role = role
        self.http = TestClient(app, raise_server_exceptions=False)
        self.http.cookies.set("lang", "vi")
        page = self.http.get("/login")
        r = self.http.post("/login", data={"username": username, "password": PASSWORD, "csrf": _csrf(page.text)},
                           follow_redirects=False)
        if secret:      # the admin's two-step login
            page = self.http.get(r.headers["location"])
            self.http.post("/login/mfa", data={"csrf": _csrf(page.text), "code": mfa.current_code(secret)})
        self.csrf = _csrf(self.http.get("/").text)

    def post(self, path: str, data: dict):  # noqa: ANN201
        return self.http.post(path, data={"csrf": self.csrf, **data}, follow_redirects=False)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN001, ANN201
    from benhan import config
    from benhan.auth.actor import Actor
    from benhan.clinical.demo import facility_bundle
    from benhan.store.bundles import process_bundle
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    store = Store.open(config.load(env={}, data_dir=tmp_path_factory.mktemp("roles") / "data"))
    process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
    w = chart_world.build(store)
    repo = Repository(store, Actor.system())
    w["observation"] = repo.search_type("Observation", [("encounter", f"Encounter/{w['inpatient']}"),
                                                        ("category", "vital-signs")]).matches[0].res_id
    app = create_app(store.config, store)
    clients = {}
    for username, name, role in DEMO_STAFF:
        secret = mfa.new_secret() if role == "facility_admin" else None
        users.create_user(store, username, name, [role], password=PASSWORD, mfa_secret=secret)
        clients[role] = Client(app, username, role, secret)
    w.update(store=store, app=app, clients=clients, repo=repo)
    yield w
    for c in clients.values():
        c.http.close()
    store.close()


def concrete(path: str, w: dict, encounter: str = "waiting") -> str:
    return (path.replace("{type}/{id}", f"Observation/{w['observation']}")
            .replace("/patients/{id}", f"/patients/{w['patient']}")
            .replace("/encounters/{id}", f"/encounters/{w[encounter]}")
            .replace("{id}", "khong-co"))          # an entry that does not exist: 404 when allowed


# --- 12.4: every form POST × every role -----------------------------------------------------------

def test_every_clinician_form_post_route_is_known_to_this_test(world):  # noqa: ANN001
    posts = set(app_routes(world["app"], "POST"))
    assert posts == set(FORM_POSTS), f"add the new form route(s) to FORM_POSTS: {posts ^ set(FORM_POSTS)}"


@pytest.mark.parametrize("path", sorted(FORM_POSTS))
@pytest.mark.parametrize("role", [r for _, _, r in DEMO_STAFF])
def test_each_role_on_each_form_post_gets_what_its_role_definition_says(world, path, role):  # noqa: ANN001
    allowed, data = FORM_POSTS[path]
    r = world["clients"][role].post(concrete(path, world), data)
    assert r.status_code < 500, (role, path, r.text[:500])
    if allowed(role):
        assert r.status_code != 403, (role, path, r.text[:500])
    else:
        assert r.status_code == 403, (role, path, r.status_code)
        assert r.headers["content-type"].startswith("text/html") and FORBIDDEN in r.text


def fresh_visit(world, status: str = "arrived") -> str:  # noqa: ANN001
    return world["repo"].create("Encounter", chart_world.encounter(world["patient"], "kham-benh", chart_world.at(7),
                                                                   status=status)).res_id


def test_a_nurse_or_registrar_posting_a_treatment_result_is_refused_and_nothing_changes(world):  # noqa: ANN001
    eid = fresh_visit(world, "in-progress")
    outcome = {"result": "1", "disposition": "home", "d_tinh_trang_ra_vien": "ổn"}
    for role in ("nurse", "registrar"):
        r = world["clients"][role].post(f"/ui/encounters/{eid}/discharge", outcome)
        assert r.status_code == 403 and FORBIDDEN in r.text
    enc = world["repo"].read("Encounter", eid).json()
    assert enc["status"] == "in-progress" and enc["meta"]["versionId"] == "1"
    assert world["clients"]["doctor"].post(f"/ui/encounters/{eid}/discharge", outcome).status_code == 303
    assert discharge.result_of(world["repo"].read("Encounter", eid).json()) == "1"


def test_the_registrar_closes_an_untreated_visit_without_outcome_but_not_a_treated_one(world):  # noqa: ANN001
    desk = world["clients"]["registrar"]
    eid = fresh_visit(world)
    assert desk.post(f"/ui/encounters/{eid}/discharge", {}).status_code == 303
    enc = world["repo"].read("Encounter", eid).json()
    assert enc["status"] == "finished" and enc["period"].get("end") and not discharge.result_of(enc)
    assert "hospitalization" not in enc
    assert "không có kết quả điều trị" in world["clients"]["doctor"].http.get(f"/ui/encounters/{eid}").text
    treated = fresh_visit(world, "in-progress")
    r = desk.post(f"/ui/encounters/{treated}/discharge", {})
    assert r.status_code == 400 and "bác sĩ kết thúc" in r.text
    assert world["repo"].read("Encounter", treated).json()["status"] == "in-progress"


def test_a_nurse_writes_nursing_notes_not_the_doctors_progress_notes(world):  # noqa: ANN001
    nurse = world["clients"]["nurse"]
    eid = fresh_visit(world, "in-progress")
    assert nurse.post(f"/ui/encounters/{eid}/notes", {"note_kind": "progress", "note_course": "Sốt"}).status_code == 403
    assert nurse.post(f"/ui/encounters/{eid}/notes", {"note_kind": "nursing", "note_course": "Sốt"}).status_code == 303


@pytest.mark.parametrize("role", [r for _, _, r in DEMO_STAFF])
def test_the_visit_page_offers_only_what_the_role_may_do(world, role):  # noqa: ANN001
    page = world["clients"][role].http.get(f"/ui/encounters/{world['waiting']}")
    if not opens_chart(role):
        assert page.status_code == 403
        return
    html = page.text
    assert ('name="result"' in html) == (has(role, "u", "Encounter") and roles.may_act((role,), roles.DISCHARGE))
    assert ("Kết thúc lượt khám</button>" in html) == (has(role, "u", "Encounter")
                                                      and roles.may_act((role,), roles.CLOSE_VISIT)
                                                      and not roles.may_act((role,), roles.DISCHARGE))
    assert ('<option value="progress"' in html) == (has(role, "c", "ClinicalImpression")
                                                    and roles.may_act((role,), roles.PROGRESS_NOTE))


# --- 12.3: none recorded vs not visible -----------------------------------------------------------

def _line(html: str, label: str) -> str:
    m = re.search(rf">\s*{label}: ([^<]*)<", html)
    return m.group(1) if m else ""


@pytest.mark.parametrize("role", [r for _, _, r in DEMO_STAFF])
def test_the_banner_says_not_visible_to_your_role_never_none(world, role):  # noqa: ANN001
    client = world["clients"][role].http
    page = client.get(f"/ui/patients/{world['patient']}")
    if not opens_chart(role):
        assert page.status_code == 403
        return
    allergies, alerts = _line(page.text, "Dị ứng"), _line(page.text, "Cảnh báo")
    if has(role, "s", "AllergyIntolerance"):
        assert "Penicillin" in allergies
    else:
        assert allergies == NOT_PERMITTED and "Chưa ghi nhận dị ứng" not in page.text
    assert ("Nguy cơ ngã" in alerts) if has(role, "s", "Flag") else alerts == NOT_PERMITTED
    bare = client.get(f"/ui/patients/{world['bare_patient']}").text
    assert _line(bare, "Dị ứng") == ("Chưa ghi nhận dị ứng" if has(role, "s", "AllergyIntolerance") else NOT_PERMITTED)


SECTIONS = {"vitals": "Observation", "diagnoses": "Condition", "allergies": "AllergyIntolerance",
            "orders": "ServiceRequest", "prescriptions": "MedicationRequest", "notes": "ClinicalImpression"}


@pytest.mark.parametrize("role", [r for _, _, r in DEMO_STAFF if opens_chart(r)])
def test_each_section_of_the_visit_page_says_whether_the_role_may_see_it(world, role):  # noqa: ANN001
    html = world["clients"][role].http.get(f"/ui/encounters/{world['inpatient']}").text
    sections = dict(re.findall(r'<section class="card" id="(\w+)">(.*?)</section>', html, re.S))
    for section, res_type in SECTIONS.items():
        hidden = NOT_PERMITTED in sections[section]
        assert hidden == (not has(role, "s", res_type)), (role, section)
        if hidden:
            assert "Chưa ghi nhận" not in sections[section]
    if not has(role, "s", "Condition"):
        assert "J18.9" not in sections["diagnoses"]


def test_the_chart_data_layer_keeps_three_states(world):  # noqa: ANN001
    from benhan.auth import policy
    from benhan.clinical import chart
    from benhan.store.repository import Repository
    store, pid = world["store"], world["patient"]
    for username, expected in (("tiepdon", (False, ())), ("bacsi", (True, ("Penicillin",)))):
        repo = Repository(store, policy.actor_for_user(store, users.find_user(store, username)))
        b = chart.banner(repo, repo.read("Patient", pid).json(), chart_world.at(10).date())
        assert (b.allergies.permitted, b.allergies.items) == expected
        assert b.allergies.empty is False
    repo = Repository(store, policy.actor_for_user(store, users.find_user(store, "bacsi")))
    bare = chart.banner(repo, repo.read("Patient", world["bare_patient"]).json(), chart_world.at(10).date())
    assert bare.allergies.empty and bare.allergies.permitted


# --- 12.10: no English or technical text on Vietnamese pages --------------------------------------

STATUS_CODES = re.compile(r"\b(active|completed|in-progress|finished|entered-in-error|arrived|cancelled|draft|"
                          r"on-hold|stopped|revoked|preliminary|amended|booked|planned|unknown)\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
FHIR_TYPES = re.compile(r"\b(Patient|Encounter|Condition|Observation|MedicationRequest|AllergyIntolerance|"
                        r"ServiceRequest|DiagnosticReport|Procedure|CarePlan|Composition|ClinicalImpression|Flag|"
                        r"Coverage|Appointment|Provenance)\b")
UCUM = re.compile(r"10\*")
DECIMAL_POINT = re.compile(r"\b(38\.5|12\.5|10\.5)\b")


class _Text(HTMLParser):
    """The text a reader sees: no attributes, no script or style, no typed values of textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:  # noqa: ANN001
        if tag in ("script", "style", "textarea"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "textarea"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def get_pages(w: dict) -> list[str]:
    """Every clinician GET route of the routing table, made concrete for the demo patient."""
    out = ["/?q=Tran Thi Hoa", "/?q=001189012345"]
    for path in app_routes(w["app"], "GET"):
        if path in ("/ui/communes", "/ui/encounters/{id}/print.pdf", "/ui/encounters/{id}/record.pdf"):
            continue                                # JSON / PDF, not a page
        if path == "/ui/encounters/{id}/print":
            out += [concrete(path, w, e) + f"?form={f}" for e in ("inpatient", "outpatient")
                    for f in ("outpatient", "inpatient", "prescription", "discharge")]
        elif "{type}" in path:
            out.append(concrete(path, w))
            cid = w["repo"].search_type("Condition", [("encounter", f"Encounter/{w['inpatient']}")]).matches[0].res_id
            out.append(path.replace("{type}/{id}", f"Condition/{cid}"))
        elif "/encounters/" in path:
            out += [concrete(path, w, e) for e in ("inpatient", "outpatient", "waiting")]
        else:
            out.append(concrete(path, w))
    return out


@pytest.mark.parametrize("role", [r for _, _, r in DEMO_STAFF])
def test_vietnamese_pages_show_no_codes_iso_dates_type_names_or_ucum_units(world, role):  # noqa: ANN001
    client = world["clients"][role].http
    problems = []
    for path in get_pages(world):
        r = client.get(path)
        assert r.status_code < 500, (role, path, r.text[:500])
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        text = visible_text(r.text)
        for name, pattern in (("status code", STATUS_CODES), ("ISO date", ISO_DATE), ("FHIR type", FHIR_TYPES),
                              ("UCUM unit", UCUM), ("decimal point", DECIMAL_POINT)):
            found = sorted(set(pattern.findall(text)))
            if found:
                problems.append((path, name, found))
    assert not problems, "\n".join(map(str, [role, *problems]))


def test_vietnamese_numbers_have_a_comma_and_english_a_point(world):  # noqa: ANN001
    client = world["clients"]["doctor"].http
    page = client.get(f"/ui/encounters/{world['inpatient']}").text
    assert "38,5" in visible_text(page) and "10⁹/L" in visible_text(page)
    client.cookies.set("lang", "en")
    try:
        assert "38.5" in visible_text(client.get(f"/ui/encounters/{world['inpatient']}").text)
    finally:
        client.cookies.set("lang", "vi")
