"""Orders from the facility's service catalogue, and the prescription checks on coded ingredients:
what a clinician relies on when ordering an X-ray or prescribing a brand-name drug. Real stores
(SQLite and PostgreSQL), the demo facility and its catalogues."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import allergies, orders, prescriptions, registration, visits
from benhan.clinical.catalogue.importer import import_rows
from benhan.clinical.catalogue.layouts import SERVICE, Row
from benhan.clinical.common import FormInvalid
from benhan.clinical.demo import facility_bundle
from benhan.clinical.demo_catalogue import load_demo_catalogue
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository

DOCTOR = Actor(name="bacsi", display="Lê Văn Hùng")
DAY = date(2026, 11, 26)


@pytest.fixture
def visit(store):  # noqa: ANN001, ANN201
    """A doctor's repository and an open outpatient visit at the demo facility with its catalogues."""
    system = Repository(store, Actor.system("test"))
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    load_demo_catalogue(store)
    fac = visits.facility(system)
    patient = registration.PatientForm.from_mapping({"cccd": "001090123456", "name": "Nguyễn Văn An",
                                                     "birth_date": "01/01/1990", "gender": "male"})
    pid = registration.register(system, patient, DOCTOR, DAY, fac.organization_id).patient_id
    eid = visits.open_visit(system, DOCTOR, pid, "kham-benh", visits.locations(system)[0][0], "Ho, sốt", fac)
    repo = Repository(store, DOCTOR)
    return repo, repo.read("Encounter", eid).json(), pid


def _service_id(repo: Repository, code: str) -> str:
    return next(s.id for s in orders.services(repo, "imaging", DAY, code) + orders.services(repo, "procedure", DAY, code)
                if s.code == code)


def test_an_imaging_order_from_the_catalogue_carries_the_insurers_code_and_the_service(visit):  # noqa: ANN001
    repo, encounter, _ = visit
    # Found by the Vietnamese name typed without accents, or by the start of the code.
    found = orders.services(repo, "imaging", DAY, "x quang nguc thang")
    assert [s.code for s in found] == ["18.0119.0028"]
    assert [s.name for s in orders.services(repo, "imaging", DAY, "18.0119")] == ["Chụp X-quang ngực thẳng [số hóa 1 phim]"]
    assert "Điện tim thường (điện tâm đồ 12 chuyển đạo)" in [s.name for s in orders.services(repo, "imaging", DAY, "dien tam do")]
    rid = orders.place(repo, DOCTOR, encounter, "imaging", {"order_service": found[0].id}, on=DAY)
    order = repo.read("ServiceRequest", rid).json()
    assert order["code"]["coding"] == [{"system": "https://benhan.vn/sid/ma-dich-vu", "code": "18.0119.0028",
                                        "display": "Chụp X-quang ngực thẳng [số hóa 1 phim]"}]
    service = repo.read("ActivityDefinition", found[0].id).json()
    assert order["instantiatesCanonical"] == [service["url"]]
    assert orders.kind_of(order) == "imaging"
    assert order["category"][1]["coding"][0]["code"] == "2"        # MA_NHOM: chẩn đoán hình ảnh
    # The price period valid that day is named, so a claim months later finds 65,400 đồng.
    canonical = next(e["valueCanonical"] for e in order["extension"] if e["url"] == orders.CHARGE_DEFINITION)
    url, version = canonical.split("|")
    price = repo.search_type("ChargeItemDefinition", [("url", url), ("version", version)]).matches[0].json()
    assert price["propertyGroup"][0]["priceComponent"][0]["amount"] == {"value": 65400, "currency": "VND"}
    # An ECG is ordered under "imaging" (functional exploration), a dressing as a procedure.
    ecg = orders.place(repo, DOCTOR, encounter, "procedure", {"order_service": _service_id(repo, "02.0085.1778")}, on=DAY)
    assert orders.kind_of(repo.read("ServiceRequest", ecg).json()) == "imaging"
    dressing = orders.place(repo, DOCTOR, encounter, "procedure",
                            {"order_service": _service_id(repo, "10.0900.0200")}, on=DAY)
    assert orders.kind_of(repo.read("ServiceRequest", dressing).json()) == "procedure"


def test_a_service_not_priced_on_the_date_is_neither_offered_nor_accepted(visit, store):  # noqa: ANN001
    repo, encounter, _ = visit
    # The analogue chest X-ray of the demo list ended on 31/12/2025.
    assert "18.0119.0001" not in [s.code for s in orders.services(repo, "imaging", DAY, "x quang nguc")]
    assert "18.0119.0001" in [s.code for s in orders.services(repo, "imaging", date(2025, 6, 1), "x quang nguc")]
    analogue = next(s.id for s in orders.services(repo, "imaging", date(2025, 6, 1), "18.0119.0001"))
    with pytest.raises(FormInvalid) as err:
        orders.place(repo, DOCTOR, encounter, "imaging", {"order_service": analogue}, on=DAY)
    assert err.value.errors == {"order_service": ("ui.err.service_not_valid", {"date": "26/11/2026"})}
    # A service the facility lists only from next year is not offered yet.
    import_rows(store, [Row(line=2, kind=SERVICE, code="18.0200.0041", name="Chụp cộng hưởng từ sọ não",
                            unit="lần", price=Decimal(1_300_000), start=date(2027, 1, 1), extra={"MA_NHOM": "2"})])
    assert orders.services(repo, "imaging", DAY, "cong huong tu") == []
    assert [s.code for s in orders.services(repo, "imaging", date(2027, 1, 2), "cong huong tu")] == ["18.0200.0041"]
    assert len(repo.search_type("ServiceRequest", [("encounter", f"Encounter/{encounter['id']}")]).matches) == 0


def test_a_typed_name_shows_the_matches_and_an_order_by_name_is_only_for_what_the_catalogue_lacks(visit):  # noqa: ANN001
    repo, encounter, _ = visit
    with pytest.raises(orders.ServiceMatches) as found:
        orders.place(repo, DOCTOR, encounter, "imaging", {"order_query": "sieu am"}, on=DAY)
    assert {s.code for s in found.value.found} >= {"18.0015.0001", "18.0001.0001"}
    with pytest.raises(FormInvalid) as err:          # in the catalogue: not by name
        orders.place(repo, DOCTOR, encounter, "imaging", {"order_query": "sieu am", "order_other": "yes"}, on=DAY)
    assert err.value.errors["order_query"][0] == "ui.err.in_catalogue"
    with pytest.raises(FormInvalid) as err:          # nothing matches: say so, order nothing
        orders.place(repo, DOCTOR, encounter, "procedure", {"order_query": "Chọc dịch não tủy"}, on=DAY)
    assert err.value.errors["order_query"][0] == "ui.err.no_service_match"
    rid = orders.place(repo, DOCTOR, encounter, "procedure", {"order_query": "Chọc dịch não tủy", "order_other": "yes"},
                       on=DAY)
    order = repo.read("ServiceRequest", rid).json()
    assert order["code"] == {"text": "Chọc dịch não tủy"} and orders.not_in_catalogue(order)
    assert "instantiatesCanonical" not in order and orders.service_code(order) == ""


def _allergy(repo: Repository, pid: str, substance: str) -> dict:
    aid = allergies.add(repo, DOCTOR, pid, None, substance, "medication", "high", "")
    return repo.read("AllergyIntolerance", aid).json()


def _drug(repo: Repository, name: str) -> prescriptions.Drug:
    return next(d for d in prescriptions.catalogue(repo) if d.name.startswith(name))


# Once a day: within every drug's maximum daily dose, so only the allergy and duplicate checks speak.
def _check(repo: Repository, drug: prescriptions.Drug, allergy_list: list[dict], existing: list[dict] | None = None):  # noqa: ANN202
    values = {"rx_drug": drug.medication_id, "rx_dose": "1", "rx_per_day": "1", "rx_days": "5", "rx_route": "Uống"}
    return prescriptions.check(values, {d.medication_id: d for d in prescriptions.catalogue(repo)}, allergy_list,
                               existing or [])[2]


def test_a_coded_penicillin_class_allergy_warns_for_a_brand_of_amoxicillin_clavulanate(visit):  # noqa: ANN001
    repo, _, pid = visit
    allergy = _allergy(repo, pid, "penicilin")
    assert allergies.is_coded(allergy)
    assert {"system": "http://www.whocc.no/atc", "code": "J01C"} in allergy["code"]["coding"]
    augmentin = _drug(repo, "Augmentin")
    assert "penicil" not in augmentin.name.lower()
    assert _check(repo, augmentin, [allergy]) == [
        ("ui.warn.allergy", {"drug": augmentin.name, "allergy": "Nhóm penicilin"})]
    assert _check(repo, _drug(repo, "Cefuroxim"), [allergy]) == []          # a cephalosporin: another class


def test_an_ibuprofen_allergy_warns_for_gofen_and_nsaids_cover_aspirin(visit):  # noqa: ANN001
    repo, _, pid = visit
    gofen = _drug(repo, "Gofen")
    assert gofen.ingredients == ("Ibuprofen",) and gofen.atc == ("M01AE01",)
    ibuprofen = _allergy(repo, pid, "Ibuprofen")
    assert _check(repo, gofen, [ibuprofen])[0][0] == "ui.warn.allergy"
    assert _check(repo, _drug(repo, "Diclofenac"), [ibuprofen]) == []       # another ingredient
    nsaids = _allergy(repo, pid, "NSAID")
    assert [w[0] for w in _check(repo, _drug(repo, "Aspirin"), [nsaids])] == ["ui.warn.allergy"]


def test_the_same_ingredient_under_two_brand_names_is_a_duplicate(visit):  # noqa: ANN001
    repo, encounter, _ = visit
    paracetamol, hapacol = _drug(repo, "Paracetamol"), _drug(repo, "Hapacol")
    values = {"rx_drug": paracetamol.medication_id, "rx_dose": "1", "rx_per_day": "3", "rx_days": "5", "rx_route": "Uống"}
    rid = prescriptions.prescribe(repo, DOCTOR, encounter, values, [], [])
    line = repo.read("MedicationRequest", rid).json()
    assert _check(repo, hapacol, [], [line]) == [
        ("ui.warn.duplicate_drug", {"drug": paracetamol.name, "ingredient": "Paracetamol"})]
    assert _check(repo, _drug(repo, "Gofen"), [], [line]) == []
    # The warning must be confirmed; then the line is written with the confirmed warning noted.
    with pytest.raises(FormInvalid) as err:
        prescriptions.prescribe(repo, DOCTOR, encounter, {**values, "rx_drug": hapacol.medication_id}, [], [line])
    assert "confirm_warnings" in err.value.errors
    # … and the reason given (clinical.overrides): ticked without a reason is refused too.
    with pytest.raises(FormInvalid) as err:
        prescriptions.prescribe(repo, DOCTOR, encounter,
                                {**values, "rx_drug": hapacol.medication_id, "confirm_warnings": "yes"}, [], [line])
    assert list(err.value.errors) == ["override_reason"]
    second = prescriptions.prescribe(repo, DOCTOR, encounter,
                                     {**values, "rx_drug": hapacol.medication_id, "confirm_warnings": "yes",
                                      "override_reason": "đổi biệt dược, ngừng dòng cũ"}, [], [line])
    note = repo.read("MedicationRequest", second).json()["note"][0]["text"]
    assert "Paracetamol" in note and "đổi biệt dược" in note


def test_correcting_an_allergys_substance_codes_it_again_so_brand_names_stay_covered(visit):  # noqa: ANN001
    from benhan.clinical import corrections
    repo, _, pid = visit
    typo = _allergy(repo, pid, "penixilin")                # mistyped: kept as free text
    assert not allergies.is_coded(typo)
    assert corrections.change(repo, DOCTOR, "AllergyIntolerance", typo["id"], {"substance": "penicilin"},
                              "gõ nhầm tên") == 2
    fixed = repo.read("AllergyIntolerance", typo["id"]).json()
    assert allergies.is_coded(fixed)
    augmentin = _drug(repo, "Augmentin")
    assert _check(repo, augmentin, [fixed]) == [("ui.warn.allergy", {"drug": augmentin.name, "allergy": "Nhóm penicilin"})]


def test_a_free_text_allergy_still_warns_by_name_and_says_so(visit):  # noqa: ANN001
    repo, _, pid = visit
    allergy = _allergy(repo, pid, "Thuốc Augmentin (nổi mẩn)")
    assert not allergies.is_coded(allergy)
    assert _check(repo, _drug(repo, "Augmentin"), [allergy]) == [
        ("ui.warn.allergy_by_name", {"drug": _drug(repo, "Augmentin").name, "allergy": "Thuốc Augmentin (nổi mẩn)"})]
    assert _check(repo, _drug(repo, "Loratadin"), [allergy]) == []
    # Food is never coded to a drug.
    food = allergies.add(repo, DOCTOR, pid, None, "Hải sản", "food", "low", "")
    assert not allergies.is_coded(repo.read("AllergyIntolerance", food).json())


def test_a_lab_panel_keeps_its_loinc_code_and_names_the_services_billed_for_it(visit):  # noqa: ANN001
    repo, encounter, _ = visit
    renal = repo.read("ServiceRequest", orders.place(repo, DOCTOR, encounter, "lab", {"order_lab": "panel:renal"},
                                                     on=DAY)).json()
    assert renal["code"]["coding"] == [{"system": orders.PANEL_SYSTEM, "code": "renal"}]
    billed = [repo.read("ActivityDefinition", url.rsplit("/", 1)[1]).json()["code"]["coding"][0]["code"]
              for url in renal["instantiatesCanonical"]]
    assert billed == ["23.0166.1494", "23.0051.1494"]                     # urea, creatinine
    assert len(orders.tests_of(renal)) == 4                               # results still by LOINC test
    # A panel the catalogue does not list is ordered all the same, with its LOINC code only.
    coag = repo.read("ServiceRequest", orders.place(repo, DOCTOR, encounter, "lab", {"order_lab": "panel:coagulation"},
                                                    on=DAY)).json()
    assert "instantiatesCanonical" not in coag and orders.kind_of(coag) == "lab"


def test_the_catalogue_files_give_ingredients_and_cost_groups(store, tmp_path):  # noqa: ANN001
    from benhan.clinical.catalogue.importer import import_file
    drugs = tmp_path / "thuoc.csv"
    drugs.write_text("MA_THUOC,TEN_THUOC,TEN_HOAT_CHAT,HAM_LUONG,DON_VI_TINH,SO_DANG_KY,DON_GIA,TU_NGAY\n"
                     "40.152,Klamentin 875,Amoxicilin + Acid clavulanic,875mg + 125mg,viên,VD-12345-12,9.800,20260101\n",
                     encoding="utf-8")
    services = tmp_path / "dich_vu.csv"
    services.write_text("MA_DICH_VU,TEN_DICH_VU,DON_GIA,TU_NGAY\n"
                        "18.0119.0028,Chụp X-quang ngực thẳng [số hóa 1 phim],65400,20260101\n"
                        "02.0085.1778,Điện tim thường,32800,20260101\n", encoding="utf-8")
    assert not import_file(store, "drug", drugs).errors and not import_file(store, "service", services).errors
    repo = Repository(store, DOCTOR)
    [klamentin] = prescriptions.catalogue(repo)
    assert klamentin.ingredients == ("Amoxicilin", "Acid clavulanic") and klamentin.atc == ("J01CA04",)
    assert klamentin.ma_thuoc == "40.152"
    # Without MA_NHOM the group comes from the code's chapter: the X-ray is imaging; the ECG,
    # coded in chapter 02, is taken for a procedure — the file should say MA_NHOM 3.
    assert {s.code: s.group for s in orders.services(repo, "imaging", DAY) + orders.services(repo, "procedure", DAY)} == {
        "18.0119.0028": "2", "02.0085.1778": "8"}
    # A free-text allergy is not matched on a generic word of the ingredient ("acid").
    free = [{"code": {"text": "Acid uric"}}]
    assert allergies.conflicts(free, klamentin.facts) == []
