"""A correction after signing, on both databases: the record is corrected, the document amended with
a reason and signed again; the new version names the signed one (its hashes inside the new
signature), the old one stays as signed and is shown superseded, and the chain verifies. A changed
old version or a changed link is found and named; no reason, or amending a replaced version, is
refused; the signed versions still cannot be edited in place."""
from __future__ import annotations

import io
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import and_, select, update

from benhan import errors
from benhan.auth.actor import Actor
from benhan.clinical import corrections
from benhan.documents import amendment, signing
from benhan.documents.forms import FORMS
from benhan.fhir import resource_json
from benhan.signing import keys
from benhan.store.repository import Repository
from benhan.store.schema import resource, resource_version
from benhan.store.writer import decode_body, encode_body
from tests.signing.test_documents import DOCTOR_CCCD, _world

REASON = "Bổ sung chẩn đoán viêm phổi bị sót khi ký"


def _signed_then_amended(store, ca, trust):  # noqa: ANN001, ANN202
    repo, actor, eid = _world(store)
    pid = repo.read("Encounter", eid).json()["subject"]["reference"].split("/")[1]
    allergy = repo.create("AllergyIntolerance", {
        "resourceType": "AllergyIntolerance", "patient": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                       "code": "active"}]},
        "code": {"text": "Penicillin"}}).res_id
    key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
    v1 = signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)
    # The record is corrected the ordinary way (corrections: a new version with its reason), then
    # the document amended.
    corrections.change(repo, actor, "AllergyIntolerance", allergy, {"substance": "Amoxicillin", "reaction": ""},
                       "ghi nhầm tên thuốc")
    v2 = amendment.amend_document(repo, actor, v1.document_reference_id, key, trust, reason=REASON)
    return repo, actor, eid, key, v1, v2


def test_an_amendment_is_a_new_signed_version_linked_to_the_signed_one_and_the_chain_verifies(store, ca, trust):  # noqa: ANN001
    repo, _, eid, _, v1, v2 = _signed_then_amended(store, ca, trust)
    old = repo.read("DocumentReference", v1.document_reference_id)
    new = repo.read("DocumentReference", v2.document_reference_id).json()
    assert old.version == 1 and old.json()["status"] == "current"         # the signed version is untouched
    assert new["relatesTo"] == [{"code": "replaces",
                                 "target": {"reference": f"DocumentReference/{v1.document_reference_id}"}}]
    # The signed content names the replaced version by its hashes, and says why.
    link = amendment.link_in(signing.bundle_of(new))
    assert link.document_reference_id == v1.document_reference_id and link.reason == REASON
    composition = signing.bundle_of(new)["entry"][0]["resource"]
    assert composition["relatesTo"][0]["code"] == "replaces"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(signing.pdf_of(new))).pages)
    assert REASON in " ".join(text.split())
    # Drawn like the paper it corrects (the layout engine's discharge paper), the correction's section after it.
    original = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(signing.pdf_of(old.json()))).pages)
    drawn = FORMS["discharge"]
    flat = " ".join(text.split())
    assert drawn.code in " ".join(original.split()) and drawn.code in flat and drawn.title in flat
    assert "Bản sửa đổi sau khi ký" in flat and "Bản sửa đổi sau khi ký" not in original
    allergies = [e["resource"] for e in signing.bundle_of(new)["entry"]
                 if e["resource"]["resourceType"] == "AllergyIntolerance"]
    assert [a["code"]["text"] for a in allergies] == ["Amoxicillin"]
    provenance = repo.read("Provenance", v2.provenance_id).json()
    assert provenance["reason"] == [{"text": REASON}]
    assert provenance["entity"][0]["what"]["reference"] == f"DocumentReference/{v1.document_reference_id}/_history/1"
    # Superseded is derived from the link; both versions stay listed.
    assert [d["id"] for d in amendment.superseded_by(repo, v1.document_reference_id)] == [v2.document_reference_id]
    assert {d["id"] for d in signing.signed_documents(repo, eid)} == {v1.document_reference_id,
                                                                       v2.document_reference_id}
    for start in (v1.document_reference_id, v2.document_reference_id):    # from any member
        chain = amendment.chain(repo, start, trust)
        assert chain.ok, chain.lines()
        assert [v.document_reference_id for v in chain.versions] == [v1.document_reference_id,
                                                                      v2.document_reference_id]
        first, second = chain.versions
        assert first.superseded_by == v2.document_reference_id and second.superseded_by is None
        assert second.reason == REASON and second.signer == "Lê Văn Hùng"
        assert any("Lê Văn Hùng" in line for line in chain.lines())


def _tamper(store, res_id: str, change) -> None:  # noqa: ANN001
    """Change a stored version behind the store's back (as someone with the database could)."""
    with store.db.write() as conn:
        row = conn.execute(select(resource_version.c.resource_pk, resource_version.c.version, resource_version.c.encoding,
                                  resource_version.c.body)
                           .select_from(resource.join(resource_version, resource_version.c.resource_pk == resource.c.pk))
                           .where(and_(resource.c.res_type == "DocumentReference", resource.c.res_id == res_id))).one()
        body = resource_json.loads(decode_body(row.encoding, row.body))
        change(body)
        encoding, data = encode_body(resource_json.dumps(body))
        conn.execute(update(resource_version).where(and_(resource_version.c.resource_pk == row.resource_pk,
                                                         resource_version.c.version == row.version))
                     .values(encoding=encoding, body=data))


def _with_bundle(document: dict, change) -> None:  # noqa: ANN001
    """Rewrite the signed Bundle attachment of a stored DocumentReference after `change`."""
    import base64
    for content in document["content"]:
        att = content["attachment"]
        if att["contentType"] == "application/fhir+json":
            bundle = resource_json.loads(base64.b64decode(att["data"]))
            change(bundle)
            att["data"] = base64.b64encode(resource_json.dumps(bundle)).decode()


def test_a_changed_old_version_breaks_the_chain_and_is_named(store, ca, trust):  # noqa: ANN001
    repo, _, _, _, v1, v2 = _signed_then_amended(store, ca, trust)

    def rename(bundle: dict) -> None:
        patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        patient["resource"]["name"][0]["text"] = "Vũ Thị Ngọc Anh"
    _tamper(store, v1.document_reference_id, lambda d: _with_bundle(d, rename))
    chain = amendment.chain(repo, v2.document_reference_id, trust)
    assert not chain.ok
    first, second = chain.versions
    assert not first.ok and second.checks and all(c.ok for _, c in second.checks)
    text = "\n".join(chain.lines())
    assert "Patient/" in text                                    # what changed in the old version
    assert any("SHA-256" in p and v1.document_reference_id in p for p in second.problems), second.problems


def test_a_changed_signed_link_is_found(store, ca, trust):  # noqa: ANN001
    repo, _, _, _, v1, v2 = _signed_then_amended(store, ca, trust)
    other = str(uuid.uuid4())

    def relink(bundle: dict) -> None:             # the signed link pointed elsewhere
        ext = bundle["entry"][0]["resource"]["relatesTo"][0]["extension"][0]["extension"]
        ext[0]["valueReference"]["reference"] = f"DocumentReference/{other}"
    _tamper(store, v2.document_reference_id, lambda d: _with_bundle(d, relink))
    chain = amendment.chain(repo, v2.document_reference_id, trust)
    assert not chain.ok
    last = chain.versions[-1]
    fhir = next(c for kind, c in last.checks if kind == "FHIR")
    assert not fhir.ok and any("Composition" in c for c in fhir.changed), fhir.changed


def test_a_changed_stored_link_is_found(store, ca, trust):  # noqa: ANN001
    """The link in the store (DocumentReference.relatesTo, outside the signature) changed: found too."""
    repo, _, _, _, v1, v2 = _signed_then_amended(store, ca, trust)
    other = str(uuid.uuid4())
    _tamper(store, v2.document_reference_id,
            lambda d: d["relatesTo"][0]["target"].update(reference=f"DocumentReference/{other}"))
    chain = amendment.chain(repo, v2.document_reference_id, trust)
    assert not chain.ok
    assert any("khác liên kết đã ký" in p and other in p for p in chain.versions[-1].problems), chain.lines()


def test_amending_needs_a_reason_and_the_latest_version_and_signed_versions_stay_immutable(store, ca, trust):  # noqa: ANN001
    repo, actor, _, key, v1, v2 = _signed_then_amended(store, ca, trust)
    with pytest.raises(errors.AmendmentRefused, match="lý do") as no_reason:
        amendment.amend_document(repo, actor, v2.document_reference_id, key, trust, reason="   ")
    assert no_reason.value.code == "BENHAN-7030"
    with pytest.raises(errors.AmendmentRefused, match=v2.document_reference_id):
        amendment.amend_document(repo, actor, v1.document_reference_id, key, trust, reason="sửa lần nữa")
    system = Repository(store, Actor.system())
    for doc_id in (v1.document_reference_id, v2.document_reference_id):
        document = system.read("DocumentReference", doc_id).json()
        with pytest.raises(errors.SignedDocumentImmutable):
            system.commit([system.prepare("PUT", "DocumentReference", doc_id, {**document, "status": "superseded"})],
                          "update")
    # A third version extends the chain.
    v3 = amendment.amend_document(repo, actor, v2.document_reference_id, key, trust, reason="Sửa tên thuốc")
    chain = amendment.chain(repo, v1.document_reference_id, trust)
    assert chain.ok and [v.document_reference_id for v in chain.versions][-1] == v3.document_reference_id
    assert [v.reason for v in chain.versions] == ["", REASON, "Sửa tên thuốc"]


def test_benhan_verify_shows_the_chain_of_a_stored_document_and_the_link_of_a_bundle_file(tmp_path, ca):  # noqa: ANN001
    from benhan import config
    from benhan.signing.trust import TrustList, certificates_in
    from benhan.store.store import Store
    from tests.signing.test_cli import _run
    data = tmp_path / "data"
    (data / "trust").mkdir(parents=True)
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    trusted = TrustList()
    for cert in certificates_in(ca.trust_pem()):
        trusted.add(cert)
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        repo, _, _, _, v1, v2 = _signed_then_amended(store, ca, trusted)
        bundle_file = tmp_path / "ban-sua.json"
        bundle_file.write_bytes(signing.raw_bundle_of(repo.read("DocumentReference", v2.document_reference_id).json()))
    finally:
        store.close()
    shown = _run("verify", "--document", v2.document_reference_id, "--data-dir", str(data))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Chuỗi bản sửa đổi | amendment chain: 2") and "HỢP LỆ" in lines[0]
    assert lines[1].startswith(f"1. HỢP LỆ | VALID: DocumentReference/{v1.document_reference_id}")
    assert f"superseded by DocumentReference/{v2.document_reference_id}" in shown.stdout
    assert f"reason for the correction: {REASON}" in shown.stdout
    from_file = _run("verify", str(bundle_file), "--data-dir", str(data))
    assert from_file.returncode == 0 and f"amends DocumentReference/{v1.document_reference_id}" in from_file.stdout
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        _tamper(store, v1.document_reference_id, lambda d: d.update(description="đã sửa lén"))   # outside the files
        _tamper(store, v1.document_reference_id, lambda d: _with_bundle(d, lambda b: b.update(timestamp="2020-01-01")))
    finally:
        store.close()
    broken = _run("verify", "--document", v1.document_reference_id, "--data-dir", str(data))
    assert broken.returncode == 1 and "KHÔNG HỢP LỆ" in broken.stdout.splitlines()[0]
    assert "SHA-256" in broken.stdout and "ĐÃ THAY ĐỔI" in broken.stdout
    both = _run("verify", "--data-dir", str(data))
    assert both.returncode != 0 and "--document" in both.stderr
