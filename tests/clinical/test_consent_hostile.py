"""The representative's year of birth on a consent paper (01/BV2, 40–46/BV2): digits that are not
0–9 (superscripts '¹⁹⁸⁰', which str.isdigit accepts) are refused on the field, never a crash."""
from __future__ import annotations

import pytest

from benhan.auth.actor import Actor
from benhan.clinical import consent
from benhan.clinical.common import FormInvalid
from benhan.store.repository import Repository


@pytest.mark.parametrize("year", ["¹⁹⁸⁰", "１９８０", "٢٠٠٠", "1800", "2100"])
def test_a_year_of_birth_that_is_not_a_year_is_refused_on_its_field(store, year):  # noqa: ANN001
    repo = Repository(store, Actor.system("test"))
    pid = repo.create("Patient", {"resourceType": "Patient", "name": [{"text": "Vũ Thị Hường"}]}).res_id
    patient = repo.read("Patient", pid).json()
    eid = repo.create("Encounter", {
        "resourceType": "Encounter", "status": "in-progress", "subject": {"reference": f"Patient/{pid}"},
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}}).res_id
    values = {"consent_signer": "representative", "consent_rep_name": "Vũ Văn Hải", "consent_rep_relation": "x",
              "consent_rep_cccd": "", "consent_rep_birth_year": year}
    with pytest.raises(FormInvalid) as refused:
        consent.record(repo, Actor.system("test"), repo.read("Encounter", eid).json(), patient, values)
    assert "consent_rep_birth_year" in refused.value.errors
