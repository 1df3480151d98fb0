"""Whose home page lists a critical value: the doctor who ordered the test, found by account or
Practitioner, not by the name shown (namesakes are common); and every flag still awaiting the
doctor, however many flags were written or closed since. Both databases."""
from __future__ import annotations

from benhan.auth.actor import Actor
from benhan.clinical import orders
from benhan.clinical.common import ACCOUNT, is_actor, requester
from benhan.lab import critical, validation
from benhan.store.access import Access, PatientScope
from benhan.store.repository import Repository
from tests.forms import seed

NAME = seed.V["doctor"]


def _doctor(account: str, practitioner: str | None = None) -> Actor:
    return Actor(name=account, display=NAME, access=Access(scope=PatientScope(practitioner_id=practitioner)))


def _critical(repo: Repository, order_id: str, value: str) -> str:
    """A critical potassium for the order, as the analyser's message makes it (lab/oru.py)."""
    order = repo.read("ServiceRequest", order_id).json()
    obs = {"resourceType": "Observation", "status": "preliminary", "subject": order["subject"],
           "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Kali"},
           "valueQuantity": {"value": float(value), "unit": "mmol/L"}}
    oid = repo.create("Observation", obs).res_id
    return repo.create("Flag", critical.flag_for(obs, oid, order, "2026-12-14T08:00:00+07:00")).res_id


def _visit(store) -> tuple[Repository, dict, dict]:  # noqa: ANN001
    ids = seed.build(store)
    repo = Repository(store, Actor.system())
    return repo, repo.read("Encounter", ids["encounter"]).json(), ids


def _order(repo: Repository, doctor: Actor, encounter: dict) -> str:
    return orders.place(repo, doctor, encounter, "lab", {"order_lab": "panel:electrolytes"})


def test_the_requester_names_the_account_and_the_practitioner():
    linked = requester(_doctor("bs.hung", "P1"))
    assert linked == {"reference": "Practitioner/P1", "identifier": {"system": ACCOUNT, "value": "bs.hung"},
                      "display": NAME}
    assert requester(Actor(name="bs.an")) == {"identifier": {"system": ACCOUNT, "value": "bs.an"}, "display": "bs.an"}
    assert is_actor(linked, _doctor("bs.hung")) and is_actor(linked, _doctor("bs.moi", "P1"))
    assert not is_actor(linked, _doctor("bs.hung2", "P2"))            # a namesake: another account and person
    # Written before accounts were recorded: only the name shown tells.
    assert is_actor({"display": NAME}, _doctor("bs.bat.ky")) and not is_actor({"display": "Khác"}, _doctor("x"))
    assert not is_actor({}, Actor(name="", display=""))


def test_the_flag_reaches_the_ordering_doctor_and_not_a_namesake(store):  # noqa: ANN001
    repo, encounter, ids = _visit(store)
    hung, namesake = _doctor("bs.hung", ids["doctor"]), _doctor("bs.hung2")
    mine = _critical(repo, _order(repo, hung, encounter), "7.1")
    theirs = _critical(repo, _order(repo, namesake, encounter), "2.1")
    assert [f["id"] for f in validation.flags_for(repo, hung)] == [mine]
    assert [f["id"] for f in validation.flags_for(repo, namesake)] == [theirs]
    # The same doctor through a new account linked to the same Practitioner still sees theirs.
    assert [f["id"] for f in validation.flags_for(repo, _doctor("bs.hung.moi", ids["doctor"]))] == [mine]
    validation.acknowledge(repo, hung, mine)
    assert validation.flags_for(repo, hung) == []
    assert "tag" not in repo.read("Flag", mine).json().get("meta", {})       # no longer awaiting


def test_an_old_unacknowledged_flag_stays_listed_behind_many_newer_flags(store):  # noqa: ANN001
    repo, encounter, ids = _visit(store)
    hung, other = _doctor("bs.hung", ids["doctor"]), _doctor("bs.khac")
    waiting = _critical(repo, _order(repo, hung, encounter), "7.4")
    busy = _order(repo, other, encounter)
    for i in range(12):                       # other doctors' flags, acknowledged or not, written since
        flag = _critical(repo, busy, f"{7 + i / 10}")
        if i % 2:
            validation.acknowledge(repo, other, flag)
    # A scan of the 10 latest flags (the home page looked at the 200 latest) no longer reaches it;
    # the flag's tag does.
    assert [f["id"] for f in validation.flags_for(repo, hung, legacy_scan=10)] == [waiting]
    assert len(validation.flags_for(repo, other, legacy_scan=10)) == 6


def test_a_flag_written_before_the_tag_is_still_found_among_the_recent_ones(store):  # noqa: ANN001
    repo, encounter, _ = _visit(store)
    order_id = _order(repo, Actor(name="bstrang", display=NAME), encounter)
    order = repo.read("ServiceRequest", order_id).json()
    order["requester"] = {"display": NAME}            # as an order of an earlier version recorded it
    flag = critical.flag_for({"code": {"text": "Kali"}, "valueQuantity": {"value": 7.0, "unit": "mmol/L"}}, "o1", order,
                             "2026-12-14T08:00:00+07:00")
    flag.pop("meta")
    old = repo.create("Flag", flag).res_id
    assert [f["id"] for f in validation.flags_for(repo, _doctor("bs.any"))] == [old]
