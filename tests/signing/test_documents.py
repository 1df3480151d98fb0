"""A discharge paper signed as a legal record, on both databases: the doctor's token signs after
the certificate check; the Bundle, the signed PDF and the Provenance are stored in one transaction;
the PDF verifies long-term and the Bundle's JWS names the entry changed after signing; a revoked
certificate or someone else's is refused; an unreachable responder follows the facility's setting;
a signed version cannot be changed or deleted through the store."""
from __future__ import annotations

import base64
import copy
import io
import datetime as dt
import uuid

import pytest
from pypdf import PdfReader

from benhan import errors
from benhan.auth import policy, users
from benhan.auth.actor import Actor
from benhan.clinical import diagnoses, registration, visits
from benhan.clinical.demo import facility_bundle
from benhan.documents import pdfa, signing, verify
from benhan.signing import certcheck, keys
from benhan.store.bundles import process_bundle
from benhan.store.repository import Repository
from benhan.vn.identifiers import CCCD_SYSTEM
from tests.signing.token import USER_PIN, make_token

TODAY = dt.date(2026, 11, 26)

DOCTOR_CCCD = "001090123456"


PASSWORD = "một câu mật khẩu thật dài để ký"


def _world(store, username: str | None = None) -> tuple[Repository, Actor, str]:  # noqa: ANN001
    system = Repository(store, Actor.system())
    process_bundle(system, facility_bundle(), "http://localhost/fhir")
    pid = str(uuid.uuid4())
    system.commit([system.prepare("PUT", "Practitioner", pid, {
        "resourceType": "Practitioner", "active": True, "name": [{"text": "Lê Văn Hùng", "family": "Lê"}],
        "identifier": [{"system": CCCD_SYSTEM, "value": DOCTOR_CCCD}]})], "create")
    user, _ = users.create_user(store, username or f"bs{uuid.uuid4().hex[:6]}", "Lê Văn Hùng", ["doctor"],
                                practitioner_id=pid, password=PASSWORD)
    actor = policy.actor_for_user(store, user)        # under the doctor's own access rules
    repo = Repository(store, actor)
    fac = visits.facility(repo)
    form = registration.PatientForm.from_mapping({"cccd": "001185009876", "name": "Vũ Thị Ngọc",
                                                  "birth_date": "07/07/1985", "gender": "female"})
    patient = registration.register(repo, form, actor, TODAY, fac.organization_id).patient_id
    eid = visits.open_visit(repo, actor, patient, "kham-benh", visits.locations(repo)[0][0], "Sốt, ho", fac)
    return repo, actor, eid


def test_a_doctor_signs_a_discharge_paper_and_everything_verifies(store, ca, trust, softhsm, responder):  # noqa: ANN001
    repo, actor, eid = _world(store)
    label = f"BS-{uuid.uuid4().hex[:8]}"
    make_token(softhsm, label, ca, "Lê Văn Hùng", f"CCCD:{DOCTOR_CCCD}")
    with keys.from_token(softhsm, label, USER_PIN, "signing") as key:
        done = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)
    assert done.check.status == certcheck.GOOD and not done.pending_recheck
    [document] = signing.signed_documents(repo, eid)
    pdf = signing.pdf_of(document)
    assert pdf == done.pdf
    # An archival PDF (PDF/A-2b structure) whose Vietnamese text extracts as typed.
    assert pdfa.pdfa_problems(pdf) == []
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "GIẤY RA VIỆN" in text and "Đã ký số bởi" in text, text
    assert "Vũ Thị Ngọc" in text or "VŨ THỊ NGỌC" in text, text
    responder.answering = False                      # judged later, with only what was kept
    [check] = verify.verify_pdf(pdf, trust)
    assert check.ok and check.long_term and check.holder_uid == f"CCCD:{DOCTOR_CCCD}"
    bundle = signing.bundle_of(document)
    assert bundle["type"] == "document" and bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    assert verify.verify_bundle(bundle, trust).ok
    provenance = repo.read("Provenance", done.provenance_id).json()
    assert {t["reference"].split("/")[0] for t in provenance["target"]} >= {"DocumentReference", "Patient",
                                                                           "Encounter"}
    assert provenance["signature"][0]["sigFormat"] == "application/jose"

    # One field of one entry changed after signing: the verification fails and names that entry.
    tampered = copy.deepcopy(bundle)
    patient_entry = next(e for e in tampered["entry"] if e["resource"]["resourceType"] == "Patient")
    patient_entry["resource"]["name"][0]["text"] = "Vũ Thị Ngọc Anh"
    result = verify.verify_bundle(tampered, trust)
    assert not result.ok and result.changed == [f"Patient/{patient_entry['resource']['id']}"]

    # The store refuses to change or delete the signed versions, whoever asks.
    system = Repository(store, Actor.system())
    changed = dict(document, description="sửa sau khi ký")
    with pytest.raises(errors.SignedDocumentImmutable):
        system.commit([system.prepare("PUT", "DocumentReference", document["id"], changed)], "update")
    with pytest.raises(errors.SignedDocumentImmutable):
        system.delete("DocumentReference", document["id"])
    assert repo.read("DocumentReference", document["id"]).json()["description"] == document["description"]


def test_a_revoked_or_someone_elses_certificate_is_refused_and_nothing_is_stored(store, ca, trust):  # noqa: ANN001
    repo, actor, eid = _world(store)
    revoked = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    ca.revoke(revoked.cert)
    with pytest.raises(errors.CertificateRefused, match="thu hồi"):
        signing.sign_encounter_document(repo, actor, eid, "discharge", keys.from_pkcs12(revoked.pkcs12("p"), "p"),
                                        trust)
    other = ca.issue("Người khác", uid="CCCD:001099000001")
    with pytest.raises(errors.CertificateRefused, match="someone else"):
        signing.sign_encounter_document(repo, actor, eid, "discharge", keys.from_pkcs12(other.pkcs12("p"), "p"),
                                        trust)
    assert signing.signed_documents(repo, eid) == []


def test_an_unreachable_responder_follows_the_facility_setting(store, ca, trust, responder):  # noqa: ANN001
    repo, actor, eid = _world(store)
    mine = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    key = keys.from_pkcs12(mine.pkcs12("p"), "p")
    responder.answering = False
    with pytest.raises(errors.CertificateRefused, match="OCSP"):
        signing.sign_encounter_document(repo, actor, eid, "prescription", key, trust)
    done = signing.sign_encounter_document(repo, actor, eid, "prescription", key, trust,
                                           offline_policy="sign-and-recheck")
    assert done.pending_recheck
    provenance = repo.read("Provenance", done.provenance_id).json()
    fields = {e["url"]: e for e in provenance["extension"][0]["extension"]}
    assert fields["status"]["valueCode"] == "offline" and fields["recheck"]["valueBoolean"] is True
    [check] = verify.verify_pdf(done.pdf, trust)
    assert check.intact and not check.long_term
    assert base64.b64decode(fields["certificate"]["valueBase64Binary"]) == key.cert.dump()
