"""Real FHIR client libraries from PyPI (fhirpy's SyncFHIRClient and SMART's fhirclient) talk to a
real uvicorn on localhost, over SQLite and PostgreSQL: what they send, the server understands, and
what the server answers, they parse — their models are strict about R4 JSON."""
from __future__ import annotations

import uuid

import pytest
from fhirclient import client as smart_client
from fhirclient.models.bundle import Bundle as SmartBundle
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.humanname import HumanName
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import SyncFHIRClient

from tests.auth_helpers import AUTH
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from benhan.store.store import Store
from benhan.vn.identifiers import CCCD_SYSTEM
from tests.factories import observation, patient
from tests.live_server import LiveServer, live_server


@pytest.fixture
def server(db_config):  # noqa: ANN001, ANN201
    store = Store.open(db_config)
    try:
        with live_server(store) as running:
            yield running
    finally:
        store.close()


@pytest.fixture
def fhirpy(server: LiveServer) -> SyncFHIRClient:
    return SyncFHIRClient(server.fhir_base, requests_config={"timeout": 30}, authorization=AUTH["Authorization"])


def cccd() -> str:
    return f"0790{uuid.uuid4().int % 10**8:08d}"


# --- fhirpy ---------------------------------------------------------------------------------------

def test_fhirpy_creates_reads_and_updates_a_patient(fhirpy):
    created = fhirpy.resource("Patient", **patient(family="Võ", given=("Thị", "Sáu")))
    created.save()
    assert created.id and created["meta"]["versionId"] == "1"

    read = fhirpy.reference("Patient", created.id).to_resource()
    assert read["name"][0]["family"] == "Võ"
    assert read.serialize() == created.serialize()

    read["gender"] = "female"
    read.save()
    assert read["meta"]["versionId"] == "2"
    assert fhirpy.resources("Patient").search(_id=created.id).get()["gender"] == "female"


def test_fhirpy_search_finds_observations_by_their_subject_and_counts_them(fhirpy):
    subject = fhirpy.resource("Patient", **patient())
    subject.save()
    for value in (60, 72, 95):
        fhirpy.resource("Observation", **observation(f"Patient/{subject.id}", value=value)).save()
    found = fhirpy.resources("Observation").search(subject=f"Patient/{subject.id}").sort("_id").fetch_all()
    assert sorted(o["valueQuantity"]["value"] for o in found) == [60, 72, 95]
    # fhirpy's count() sends Aidbox's _count=0&_totalMethod=count: taken as _total=accurate, with
    # strict handling (the default) and lenient alike; a _totalMethod no server knows stays a 400.
    lenient = SyncFHIRClient(fhirpy.url, extra_headers={"Prefer": "handling=lenient"},
                             authorization=AUTH["Authorization"])
    assert fhirpy.resources("Observation").search(subject=f"Patient/{subject.id}").count() == 3
    assert lenient.resources("Observation").search(subject=f"Patient/{subject.id}").count() == 3
    assert fhirpy.resources("Observation").search(subject=f"Patient/{subject.id}", value_quantity="gt70").count() == 2
    with pytest.raises(OperationOutcome):
        fhirpy.resources("Observation").search(subject=f"Patient/{subject.id}", _totalMethod="sometimes").fetch()
    high = fhirpy.resources("Observation").search(subject=f"Patient/{subject.id}", value_quantity="gt70").fetch()
    assert sorted(o["valueQuantity"]["value"] for o in high) == [72, 95]


def test_fhirpy_conditional_create_with_if_none_exist_makes_one_patient(server, fhirpy):
    number = cccd()
    condition = f"identifier={CCCD_SYSTEM}|{number}"
    conditional = SyncFHIRClient(server.fhir_base, extra_headers={"If-None-Exist": condition},
                                 requests_config={"timeout": 30}, authorization=AUTH["Authorization"])
    first = conditional.resource("Patient", **patient(cccd=number))
    first.save()
    second = conditional.resource("Patient", **patient(cccd=number, family="Khác"))
    second.save()
    assert second.id == first.id
    assert second["name"][0]["family"] == "Nguyễn"         # the stored one, not the one sent again
    matches = fhirpy.resources("Patient").search(identifier=f"{CCCD_SYSTEM}|{number}").fetch_all()
    assert [p.id for p in matches] == [first.id]


def test_fhirpy_reads_the_history_of_a_patient_newest_first(fhirpy):
    p = fhirpy.resource("Patient", **patient())
    p.save()
    for gender in ("female", "other"):
        p["gender"] = gender
        p.save()
    history = fhirpy.execute(f"Patient/{p.id}/_history", method="get")
    assert history["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["3", "2", "1"]
    assert [e["resource"]["gender"] for e in history["entry"]] == ["other", "female", "male"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "PUT", "POST"]
    v1 = fhirpy.execute(f"Patient/{p.id}/_history/1", method="get")
    assert v1["gender"] == "male"


def test_fhirpy_transaction_rewrites_urn_uuid_references_to_the_created_ids(fhirpy):
    patient_urn, encounter_urn = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": encounter_urn,
         "resource": {"resourceType": "Encounter", "status": "finished",
                      "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                      "subject": {"reference": patient_urn}},
         "request": {"method": "POST", "url": "Encounter"}},
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}",
         "resource": observation(patient_urn, encounter={"reference": encounter_urn}),
         "request": {"method": "POST", "url": "Observation"}},
        {"fullUrl": patient_urn, "resource": patient(), "request": {"method": "POST", "url": "Patient"}},
    ]}
    response = fhirpy.execute("", method="post", data=bundle)
    assert response["type"] == "transaction-response"
    assert [e["response"]["status"] for e in response["entry"]] == ["201 Created"] * 3
    encounter_loc, observation_loc, patient_loc = (e["response"]["location"] for e in response["entry"])
    patient_ref = "/".join(patient_loc.split("/")[:2])
    encounter_ref = "/".join(encounter_loc.split("/")[:2])
    assert patient_ref.startswith("Patient/") and encounter_ref.startswith("Encounter/")

    obs = fhirpy.reference(*observation_loc.split("/")[:2]).to_resource()
    assert obs["subject"]["reference"] == patient_ref
    assert obs["encounter"]["reference"] == encounter_ref
    assert fhirpy.reference(*encounter_ref.split("/")).to_resource()["subject"]["reference"] == patient_ref
    # The rewritten references are indexed: a search by the new id finds the observation.
    assert [o.id for o in fhirpy.resources("Observation").search(subject=patient_ref).fetch()] == [obs.id]


def test_fhirpy_sees_errors_as_its_own_exceptions(fhirpy):
    with pytest.raises(ResourceNotFound):
        fhirpy.reference("Patient", "khong-co").to_resource()
    with pytest.raises(OperationOutcome) as refused:
        fhirpy.resource("Patient", gender="không rõ").save()
    assert refused.value.resource["issue"][0]["code"] == "invalid"
    with pytest.raises(OperationOutcome):
        fhirpy.resources("Patient").search(birthdate="2024-13").fetch()


# --- fhirclient (SMART on FHIR's Python client) ------------------------------------------------

@pytest.fixture
def smart(server: LiveServer):  # noqa: ANN201
    client = smart_client.FHIRClient(settings={"app_id": "benhan-tests", "api_base": server.fhir_base + "/"})
    # A backend token, as a SMART app would hold after its OAuth exchange (the exchange itself is
    # tests/auth/test_oauth_*'s subject).
    client.server.session.headers.update(AUTH)
    return client


def test_fhirclient_parses_the_capability_statement_with_its_strict_model(smart):
    smart.prepare()
    capability = smart.server.capabilityStatement
    assert isinstance(capability, CapabilityStatement)
    assert capability.fhirVersion.startswith("4.0")
    types = {r.type for r in capability.rest[0].resource}
    assert {"Patient", "Observation", "Encounter"} <= types


def test_fhirclient_creates_reads_updates_and_searches_a_patient(smart):
    number = cccd()
    new = SmartPatient(patient(cccd=number, family="Đặng"))
    created = new.create(smart.server)
    assert created["resourceType"] == "Patient"

    read = SmartPatient.read(created["id"], smart.server)
    assert read.name[0].family == "Đặng"
    assert read.meta.versionId == "1"

    read.name.append(HumanName({"family": "Đặng", "given": ["Bé"], "use": "nickname"}))
    updated = read.update(smart.server)
    assert updated["meta"]["versionId"] == "2"
    assert [n.given for n in SmartPatient.read(created["id"], smart.server).name] == [["Văn", "An"], ["Bé"]]

    pages = list(SmartPatient.where({"identifier": f"{CCCD_SYSTEM}|{number}"}).perform_iter(smart.server))
    assert all(isinstance(page, SmartBundle) for page in pages)
    assert [e.resource.id for page in pages for e in page.entry] == [created["id"]]
