"""A bug is a logged 500 OperationOutcome that still carries the security headers, and says
nothing of the bug; an error raised while authenticating keeps its own status."""
from __future__ import annotations

import logging

from benhan import errors
from benhan.store.repository import Repository


def test_an_unexpected_error_is_a_500_outcome_with_the_security_headers(client, monkeypatch, caplog):
    def broken(self, *a, **kw):  # noqa: ANN001, ANN002, ANN003
        raise RuntimeError("secret internal detail")
    monkeypatch.setattr(Repository, "search_type", broken)
    with caplog.at_level(logging.ERROR):
        r = client.get("/fhir/Patient")
    assert r.status_code == 500
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src" in r.headers["content-security-policy"]
    assert "secret internal detail" in caplog.text           # logged for the operator


def test_an_error_while_authenticating_keeps_its_status(client, monkeypatch):
    from benhan.web import authn

    def busy(*a, **kw):  # noqa: ANN002, ANN003
        raise errors.DatabaseBusy("the database is busy")
    monkeypatch.setattr(authn, "_token_actor_until", busy)
    r = client.get("/fhir/Patient")
    assert r.status_code == 503 and "BENHAN-4005" in r.text
    assert r.headers["x-frame-options"] == "DENY"
