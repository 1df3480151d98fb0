"""The "linkable later" journey: a man brought in unconscious is registered without ID and treated;
his family brings his CCCD; a doctor links his record to his identified record — search by CCCD,
a confirmation showing both banners, a reason — and from then on one chart holds both visits, the
old record points to it, and registration no longer offers the old record."""
from __future__ import annotations

import re
from datetime import date

import httpx

from benhan.auth.actor import Actor
from benhan.clinical import registration, visits
from benhan.store.repository import Repository
from tests.auth_helpers import AUTH

CCCD = "001090777001"
DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng", roles=("doctor",))


def _seed(store, cccd: str = CCCD, unknown_name: str = "Chưa rõ tên Khải") -> tuple[str, str, str, str]:  # noqa: ANN001
    repo = Repository(store, DOCTOR)
    fac = visits.facility(repo)
    room = visits.locations(repo)[0][0]

    def reg(**v: str) -> str:
        form = registration.PatientForm.from_mapping({"gender": "male", "confirm_new": "yes", **v})
        return registration.register(repo, form, DOCTOR, date.today(), fac.organization_id).patient_id
    known = reg(cccd=cccd, name="Hoàng Văn Khải", birth_date="02/03/1990")
    unknown = reg(cccd="", no_id_reason="unknown", no_id_note="Nam khoảng 35 tuổi, bất tỉnh", name=unknown_name)
    first = visits.open_visit(repo, DOCTOR, known, "kham-benh", room, "Đau đầu", fac)
    second = visits.open_visit(repo, DOCTOR, unknown, "cap-cuu", room, "Bất tỉnh", fac)
    return known, unknown, first, second


def test_d_a_patient_registered_without_id_is_linked_to_the_identified_patient(journey, world):  # noqa: ANN001
    known, unknown, first, second = _seed(world["store"])
    j = journey
    j.login("bacsi")
    j.go(f"/ui/patients/{unknown}")
    j.shot("no-id-patient")
    j.page.click(f"a[href='/ui/patients/{unknown}/link']")
    j.page.fill("#f-q", CCCD)
    j.page.press("#f-q", "Enter")
    j.page.wait_for_url(re.compile(r".*/link\?q=.*"))
    j.shot("search")
    j.page.click(f"a[href='/ui/patients/{unknown}/link?to={known}']")
    banners = j.page.locator(".pbanner").all_inner_texts()
    assert "Chưa rõ tên Khải" in banners[0] and "Hoàng Văn Khải" in banners[1] and CCCD in banners[1]
    j.page.click("form.card button")                       # no reason: refused beside the field
    assert j.errors() == ["Ghi lý do liên kết (ít nhất 3 ký tự)."]
    j.page.fill("#f-reason", "Người nhà mang CCCD đến")
    j.shot("confirm")
    j.page.press("#f-reason", "Enter")
    j.page.wait_for_url(re.compile(rf".*/ui/patients/{known}\?linked={unknown}$"))
    j.shot("linked")
    assert "Đã liên kết hồ sơ Chưa rõ tên Khải vào hồ sơ này." in j.page.inner_text("main")
    visit_links = {a.split("/")[-1] for a in j.page.locator("main table a").evaluate_all("as => as.map(a => a.href)")}
    assert visit_links == {first, second}

    # The visit made under the old record prints under the identified patient.
    printed = j.fetch(f"/ui/encounters/{second}/print?form=outpatient").decode()
    assert "Hoàng Văn Khải" in printed and CCCD in printed
    # The kept record lists the record linked into it; that record's versions are one click away.
    j.page.click(f"a[href='/ui/history/Patient/{unknown}']")
    assert j.page.locator("main table tbody tr").count() == 2
    # The old record's page leads to the one chart.
    j.go(f"/ui/patients/{unknown}")
    assert j.page.url.split("?")[0].endswith(f"/ui/patients/{known}")
    assert "Hồ sơ bạn mở đã được liên kết vào hồ sơ này" in j.page.inner_text("main")
    # Registration no longer offers the replaced record.
    j.go("/?q=Chưa rõ tên Khải")
    assert "Không tìm thấy người bệnh nào." in j.page.inner_text("main")

    # Through the API: $everything of the kept patient holds both visits; the old record is inactive.
    r = httpx.get(f"{world['url']}/fhir/Patient/{known}/$everything", headers=AUTH)
    ids = {e["resource"]["id"] for e in r.json()["entry"]}
    assert {first, second, unknown} <= ids
    old = httpx.get(f"{world['url']}/fhir/Patient/{unknown}", headers=AUTH).json()
    assert old["active"] is False and old["link"][0] == {"other": {"reference": f"Patient/{known}",
                                                                   "display": "Hoàng Văn Khải"}, "type": "replaced-by"}
    history = httpx.get(f"{world['url']}/fhir/Encounter/{second}/_history", headers=AUTH).json()
    assert [e["resource"]["subject"]["reference"] for e in history["entry"]] == [f"Patient/{known}", f"Patient/{unknown}"]


def test_e_a_registrar_is_not_offered_the_link(journey, world):  # noqa: ANN001
    _, unknown, _, _ = _seed(world["store"], "001090777002", "Chưa rõ tên Lâm")
    j = journey
    j.login("tiepdon")
    j.go(f"/ui/patients/{unknown}")
    assert j.page.locator(f"a[href='/ui/patients/{unknown}/link']").count() == 0
    response = j.page.goto(f"{world['url']}/ui/patients/{unknown}/link")
    assert response.status == 403
