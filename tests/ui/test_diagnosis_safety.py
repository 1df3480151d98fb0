"""Issue 12 items 1, 2 and 7 in a real browser, on a fresh demo database made the way
`./scripts/start` makes it (clinical.load_demo: the code lists, the demo facility, its patients
and catalogue — no separate `terminology load`):

type "viem phoi" → the list offers J18.9 near the top with nothing chosen → "add" without a choice
is refused in Vietnamese → J18.9 chosen and saved → corrected to J15 with "Sửa" (the old code in
the history) → a comorbidity cancelled as entered in error is shown as cancelled, never as "Bệnh kèm
theo", on the chart or the printout → Paracetamol 50 tablets × 6 a day × 30 days warns (dose above
the maximum) and is saved only with the box ticked and a reason, kept in the prescription line.
And on a database without ICD-10 the visit page says, in Vietnamese, which command loads it."""
from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from benhan import config as config_mod
from tests.auth_helpers import AUTH, install_in_store
from tests.ui.conftest import PASSWORD, Journey

QR_MAN = "001080765432||PHẠM VĂN BÌNH|05051980|Nam|Số 5, ngõ 12, Phường Ba Đình, Thành phố Hà Nội|15042021"


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from benhan.auth import users
    from benhan.clinical.load_demo import load_demo
    from benhan.store.store import Store
    from tests.live_server import live_server
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path_factory.mktemp("dxsafety") / "data"))
    load_demo(store, patients=3)
    users.create_user(store, "bacsi", "Lê Văn Hùng", ["doctor"], password=PASSWORD)
    install_in_store(store)
    with live_server(store) as server:
        yield {"store": store, "url": server.url}
    store.close()


@pytest.fixture
def doctor(browser, demo_world, request) -> Iterator[Journey]:  # noqa: ANN001
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    j = Journey(page, demo_world["url"], request.node.name)
    j.login("bacsi")
    yield j
    context.close()


def _api(world: dict, path: str, **params: str) -> dict:
    r = httpx.get(world["url"] + "/fhir/" + path, params=params, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


def _dx_item(j: Journey, code: str):  # noqa: ANN202
    return j.page.locator("#diagnoses li", has=j.page.locator(f"b:text-is('{code}')"))


def test_diagnosis_chosen_not_guessed_corrected_cancelled_and_a_dose_overridden(doctor, demo_world):  # noqa: ANN001
    j = doctor
    j.go("/")
    j.page.fill("#f-qr", QR_MAN)
    j.page.press("#f-qr", "Enter")
    j.page.wait_for_load_state()
    j.page.select_option("#f-visit_type", "kham-benh")
    j.page.select_option("#f-location", index=1)
    j.page.fill("#f-reason", "Sốt, ho")
    j.shot("registration")
    j.page.click("button[name=action][value=save]")
    j.page.wait_for_load_state()
    j.shot("registration-saved")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/[0-9a-f-]+$"))
    encounter_id = j.page.url.rsplit("/", 1)[1]
    assert "benhan terminology load" not in j.page.inner_text("#diagnoses")      # ICD-10 came with the demo

    # Typed without accents: J18.9 is offered near the top and nothing is chosen for the doctor.
    j.page.click("#f-dx_query")
    j.page.keyboard.type("viem phoi", delay=30)
    j.page.wait_for_selector("#f-dx_code option[value='J18.9']", state="attached")
    j.shot("typed-viem-phoi")
    offered = j.page.eval_on_selector_all("#f-dx_code option", "os => os.map(o => o.value)")
    assert "J18.9" in offered[:3]
    assert j.page.eval_on_selector("#f-dx_code", "s => s.selectedIndex") == -1
    j.page.click("button[name=action][value=add]")           # no choice: refused by the server
    j.page.wait_for_load_state()
    assert "Chọn một mã ICD-10" in j.page.inner_text("label[for='f-dx_code'] .field-error")
    assert j.page.locator("#diagnoses li").count() == 0
    # The Find button (the page without its script) lists the same, again with nothing selected.
    j.page.click("#diagnoses button[name=action][value=find]")
    j.page.wait_for_load_state()
    assert "J18.9" in j.page.eval_on_selector_all("#f-dx_code option", "os => os.map(o => o.value)")[:3]
    assert j.page.locator("#f-dx_code option[selected]").count() == 0
    j.page.select_option("#f-dx_code", "J18.9")
    j.page.click("button[name=action][value=add]")
    j.page.wait_for_url(re.compile(r".*saved=diagnoses.*"))
    assert "Bệnh chính" in _dx_item(j, "J18.9").inner_text()

    # Sửa: the code itself is corrected (bacterial pneumonia), the old one kept in the history.
    _dx_item(j, "J18.9").locator("a", has_text="Sửa").click()
    j.page.wait_for_url(re.compile(r".*/ui/correct/Condition/.*"))
    condition_id = j.page.url.rsplit("/", 1)[1]
    assert j.page.input_value("#f-code") == "J18.9"
    j.page.fill("#f-code", "J15")
    j.page.fill("#f-reason", "Cấy đờm: vi khuẩn")
    j.shot("correcting-the-code")
    j.page.click("button[name=action][value=correct]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/.*"))
    assert "Bệnh chính" in _dx_item(j, "J15").inner_text() and _dx_item(j, "J18.9").count() == 0
    versions = _api(demo_world, f"Condition/{condition_id}/_history")["entry"]
    assert [e["resource"]["code"]["coding"][0]["code"] for e in versions] == ["J15", "J18.9"]

    # A comorbidity cancelled as entered in error: shown cancelled, never as "Bệnh kèm theo".
    j.page.fill("#f-dx_query", "J06.9")
    j.page.click("#diagnoses button[name=action][value=find]")
    j.page.wait_for_load_state()
    j.page.select_option("#f-dx_code", "J06.9")
    j.page.select_option("#f-dx_rank", "secondary")
    j.page.click("button[name=action][value=add]")
    j.page.wait_for_url(re.compile(r".*saved=diagnoses.*"))
    assert "Bệnh kèm theo" in _dx_item(j, "J06.9").inner_text()
    _dx_item(j, "J06.9").locator("a", has_text="Sửa").click()
    j.page.fill("#f-code", "N76.0")                           # vaginitis, for a man: the correction warns too
    j.page.fill("#f-reason", "Thử")
    j.page.click("button[name=action][value=correct]")
    j.page.wait_for_selector(".notice.override")
    j.shot("correction-warns")
    assert "chỉ (hoặc chủ yếu) dùng cho nữ" in j.page.inner_text(".notice.override")
    j.page.fill("#f-code", "J06.9")
    j.page.fill("#f-reason", "Ghi nhầm")
    j.page.click("button[name=action][value=cancel]")
    j.page.wait_for_url(re.compile(r".*/ui/encounters/.*"))
    j.shot("comorbidity-cancelled")
    cancelled = _dx_item(j, "J06.9").inner_text()
    assert "Đã hủy" in cancelled and "Bệnh kèm theo" not in cancelled
    j.go(f"/ui/encounters/{encounter_id}/print?form=outpatient")
    printed = j.page.inner_text("body")
    assert "J15" in printed and "J06.9" not in printed

    # The reported prescription: 50 tablets × 6 a day × 30 days.
    j.go(f"/ui/encounters/{encounter_id}")
    j.page.select_option("#f-rx_drug", label="Paracetamol 500mg (viên)")
    j.page.fill("#f-rx_dose", "50")
    j.page.fill("#f-rx_per_day", "6")
    j.page.fill("#f-rx_days", "30")
    j.page.click("#rx-form button")
    j.page.wait_for_selector("#prescriptions .notice")
    j.shot("dose-warning")
    warning = j.page.inner_text("#prescriptions .notice")
    assert "vượt liều tối đa 4000 mg/ngày" in warning and "Paracetamol 500mg" in warning
    j.page.check("input[name=confirm_warnings]")             # ticked, but no reason: refused
    j.page.click("#rx-form button")
    j.page.wait_for_selector("label[for='f-override_reason'] .field-error")
    j.page.check("input[name=confirm_warnings]")
    j.page.fill("#f-override_reason", "Kiểm tra cảnh báo liều")
    j.page.click("#rx-form button")
    j.page.wait_for_url(re.compile(r".*saved=prescriptions.*"))
    line = _api(demo_world, "MedicationRequest", encounter=f"Encounter/{encounter_id}")["entry"][0]["resource"]
    assert "Kiểm tra cảnh báo liều" in line["note"][0]["text"]
    assert line["dispenseRequest"]["quantity"]["value"] == 9000


def test_a_visit_page_without_icd10_says_which_command_loads_it(browser, tmp_path, request):  # noqa: ANN001
    """A database that never had the code lists (`serve --no-code-lists`, or an old data folder)."""
    from benhan.auth import users
    from benhan.auth.actor import Actor
    from benhan.clinical import registration, visits
    from benhan.clinical.demo import facility_bundle
    from benhan.store.bundles import process_bundle
    from benhan.store.repository import Repository
    from benhan.store.store import Store
    from tests.live_server import live_server
    from datetime import date
    store = Store.open(config_mod.load(env={}, data_dir=tmp_path / "data"))
    system = Repository(store, Actor.system("test"))
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    fac = visits.facility(system)
    form = registration.PatientForm.from_mapping({"cccd": "001090123456", "name": "Nguyễn Văn An",
                                                  "birth_date": "01/01/1990", "gender": "male"})
    pid = registration.register(system, form, Actor(name="bacsi"), date(2026, 11, 26), fac.organization_id).patient_id
    eid = visits.open_visit(system, Actor(name="bacsi"), pid, "kham-benh", visits.locations(system)[0][0], "Sốt", fac)
    users.create_user(store, "bacsi", "Lê Văn Hùng", ["doctor"], password=PASSWORD)
    context = browser.new_context(locale="vi-VN")
    try:
        with live_server(store) as server:
            page = context.new_page()
            page.set_default_timeout(15_000)
            j = Journey(page, server.url, request.node.name)
            j.login("bacsi")
            j.go(f"/ui/encounters/{eid}")
            assert "benhan terminology load" in j.page.inner_text("#diagnoses .notice")
            j.page.click("#f-dx_query")
            j.page.keyboard.type("viem phoi", delay=30)
            j.page.wait_for_selector("label[for='f-dx_code'] .field-error:not([hidden])")
            assert "Chưa nạp danh mục ICD-10" in j.page.inner_text("label[for='f-dx_code'] .field-error")
            j.page.click("#diagnoses button[name=action][value=find]")      # the page without its script
            j.page.wait_for_load_state()
            j.shot("no-icd10")
            said = j.page.inner_text("label[for='f-dx_query'] .field-error")
            assert "Chưa nạp danh mục ICD-10" in said and "benhan terminology load" in said
            assert "404" not in j.page.inner_text("body") and "not known" not in j.page.inner_text("body")
    finally:
        context.close()
        store.close()
