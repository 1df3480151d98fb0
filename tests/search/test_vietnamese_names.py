"""Vietnamese names in string search: every vowel with every tone, in both cases, and đ/Đ, are found
by their plain lower-case form; :exact stays exact; composed and decomposed Unicode are the same
text — on every store."""
from __future__ import annotations

import unicodedata

from tests.factories import FHIR_JSON, patient

# The twelve vowels: plain letters and letters with a breve, circumflex or horn.
VOWELS = {"a": "a", "ă": "a", "â": "a", "e": "e", "ê": "e", "i": "i", "o": "o", "ô": "o", "ơ": "o",
          "u": "u", "ư": "u", "y": "y"}
# ngang (no mark), huyền, sắc, hỏi, ngã, nặng.
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def letters() -> list[tuple[str, str, str]]:
    """(id, the composed letter, its plain lower-case form) for 12 vowels × 6 tones × 2 cases."""
    out = []
    for v, (vowel, plain) in enumerate(VOWELS.items()):
        for t, tone in enumerate(TONES):
            for case in ("lower", "upper"):
                letter = unicodedata.normalize("NFC", vowel + tone)
                out.append((f"v{v}-t{t}-{case}", letter.upper() if case == "upper" else letter, plain))
    return out


def put_all(client, patients: dict[str, dict]) -> None:
    entries = [{"resource": {**p, "id": pid}, "request": {"method": "PUT", "url": f"Patient/{pid}"}}
               for pid, p in patients.items()]
    r = client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
                    headers=FHIR_JSON)
    assert r.status_code == 200, r.text


def create(client, resource: dict) -> str:
    r = client.post("/fhir/Patient", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def found(client, query: str) -> set[str]:
    r = client.get(f"/fhir/{query}&_count=500")
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "match"}


def test_every_vowel_with_every_tone_in_either_case_is_one_precomposed_letter():
    assert len(letters()) == 144
    assert all(len(letter) == 1 for _, letter, _ in letters())
    assert len({letter for _, letter, _ in letters()}) == 144


def test_every_vowel_with_every_tone_is_found_by_its_plain_lower_case_form(client):
    # Family names T<letter>n: Tàn, TẶN, Tưn … each found by "tan", "tun" … with its plain vowel.
    put_all(client, {pid: patient(family=f"T{letter}n") for pid, letter, _ in letters()})
    for plain in sorted(set(VOWELS.values())):
        expected = {pid for pid, _, p in letters() if p == plain}
        assert found(client, f"Patient?family=t{plain}n") == expected, plain
    # The accented form, in either case, finds the same letters: accents and case are both ignored.
    assert found(client, "Patient?family=TỰN") == found(client, "Patient?family=tun")
    assert found(client, "Patient?family=tặn") == found(client, "Patient?family=TAN")


def test_exact_tells_every_vowel_tone_and_case_apart(client):
    put_all(client, {pid: patient(family=f"T{letter}n") for pid, letter, _ in letters()})
    for pid, letter, _ in letters():
        assert found(client, f"Patient?family:exact=T{letter}n") == {pid}, letter


def test_d_with_stroke_is_found_as_d_in_either_case(client):
    duc = create(client, patient(family="Đặng", given=("Đức",)))
    lower = create(client, patient(family="đinh", given=("đạt",)))
    assert found(client, "Patient?given=duc") == {duc}
    assert found(client, "Patient?given=DUC") == {duc}
    assert found(client, "Patient?given=Đức") == {duc}
    assert found(client, "Patient?family=dang") == {duc}
    assert found(client, "Patient?family=dinh") == {lower}
    assert found(client, "Patient?family=Đinh") == {lower}
    assert found(client, "Patient?name=d") == {duc, lower}
    assert found(client, "Patient?given:exact=Đức") == {duc}
    assert found(client, "Patient?given:exact=Duc") == set()
    assert found(client, "Patient?given:exact=đức") == set()


def test_common_names_are_found_without_accents_and_in_any_case(client):
    nguyen = create(client, patient(family="Nguyễn", given=("Thị", "Hồng", "Nhung")))
    create(client, patient(family="Ngô", given=("Văn", "Thành")))
    for query in ("family=nguyen", "family=NGUYỄN", "family=NgUyEn", "family=nguyễn", "given=thi",
                  "given=THỊ", "given=hong", "given=nhung", "name=nguyen", "name=thi"):
        assert found(client, f"Patient?{query}") == {nguyen}, query
    assert found(client, "Patient?family:exact=Nguyễn") == {nguyen}
    for query in ("family:exact=nguyễn", "family:exact=NGUYỄN", "family:exact=Nguyen", "given:exact=Thi"):
        assert found(client, f"Patient?{query}") == set(), query


def test_a_name_stored_decomposed_is_found_by_the_composed_query_and_the_other_way_round(client):
    composed, decomposed = unicodedata.normalize("NFC", "Nguyễn"), unicodedata.normalize("NFD", "Nguyễn")
    assert composed != decomposed
    stored_nfd = create(client, patient(family=decomposed, given=(unicodedata.normalize("NFD", "Thị"),)))
    stored_nfc = create(client, patient(family="Trương", given=(composed,)))
    assert found(client, f"Patient?family={composed}") == {stored_nfd}
    assert found(client, f"Patient?given={decomposed}") == {stored_nfc}
    assert found(client, "Patient?given=thi") == {stored_nfd}
    # Canonically equivalent strings are the same text, so :exact ignores how they were encoded
    # (yet still tells accents and case apart).
    assert found(client, f"Patient?family:exact={composed}") == {stored_nfd}
    assert found(client, f"Patient?given:exact={decomposed}") == {stored_nfc}
    assert found(client, f"Patient?family:contains={unicodedata.normalize('NFD', 'uyễ')}") == {stored_nfd}
    assert found(client, "Patient?family:exact=Nguyen") == set()
