"""`benhan client …` and `benhan token …` as an operator uses them: register a backend system from
its JWKS file and an app, list, issue a token for a script, revoke it, disable a client; a wrong
registration is one line and exit 1."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from benhan import config
from benhan.auth import tokens
from benhan.cli import app
from benhan.store.store import Store
from tests.auth.oauth_helpers import BackendKey


@pytest.fixture
def run(tmp_path: Path):  # noqa: ANN201
    runner = CliRunner()

    def invoke(*args: str):  # noqa: ANN202
        return runner.invoke(app, [*args, "--data-dir", str(tmp_path)])
    return invoke


def _store(tmp_path: Path) -> Store:
    return Store.open(config.load(env={}, data_dir=tmp_path))


def test_a_backend_system_is_registered_from_its_jwks_file_and_gets_a_token_for_scripts(run, tmp_path):
    jwks = tmp_path / "lab.jwks.json"
    jwks.write_text(BackendKey().jwks, encoding="utf-8")
    added = run("client", "add", "Máy xét nghiệm", "--kind", "system", "--jwks", str(jwks), "--scope", "system/*.rs")
    assert added.exit_code == 0, added.output
    client_id = added.output.split("client_id: ")[1].split()[0]
    assert "private_key_jwt" in added.output and "client_secret" not in added.output

    listed = run("client", "list")
    assert client_id in listed.output and "Máy xét nghiệm" in listed.output and "active" in listed.output

    before = tokens.now_us()
    issued = run("token", "issue", client_id, "--scope", "system/Patient.rs", "--minutes", "5")
    after = tokens.now_us()
    assert issued.exit_code == 0, issued.output
    raw = issued.output.strip()
    store = _store(tmp_path)
    try:
        info = tokens.lookup(store, raw)
        assert info is not None and info.scope == "system/Patient.rs"
        # Bracketed by the clock around the issue: no assumption on how long the command took.
        assert before + 5 * 60_000_000 <= info.expires <= after + 5 * 60_000_000
    finally:
        store.close()

    assert run("token", "revoke", raw).output.strip() == "revoked"
    disabled = run("client", "disable", client_id)
    assert disabled.exit_code == 0 and "disabled" in disabled.output
    assert "disabled" in run("client", "list").output
    refused = run("token", "issue", client_id, "--scope", "system/*.rs")
    assert refused.exit_code == 1


def test_a_confidential_app_without_keys_gets_a_secret_shown_once_and_a_public_app_none(run):
    conf = run("client", "add", "Ứng dụng", "--kind", "app", "--scope", "user/*.rs",
               "--redirect-uri", "https://app.example.vn/cb")
    assert conf.exit_code == 0, conf.output
    assert "client_secret (shown once" in conf.output and "client_secret_basic" in conf.output
    public = run("client", "add", "SPA", "--kind", "app", "--public", "--scope", "patient/*.rs launch/patient",
                 "--redirect-uri", "https://spa.example.vn/cb", "--redirect-uri", "http://localhost:3000/cb")
    assert public.exit_code == 0 and "auth: none" in public.output


@pytest.mark.parametrize("args, message", [
    (["--kind", "system", "--scope", "system/Foo.rs"], "not an R4 resource type"),
    (["--kind", "system", "--scope", "patient/*.rs"], "system/ scopes only"),
    (["--kind", "system", "--scope", "system/*.rs"], "--jwks"),
    (["--kind", "app", "--scope", "user/*.rs"], "redirect-uri"),
    (["--kind", "app", "--scope", "system/*.rs", "--redirect-uri", "https://a.vn/cb"], "not system/"),
    (["--kind", "app", "--scope", "user/*.rs", "--redirect-uri", "http://a.vn/cb"], "https"),
    (["--kind", "robot", "--scope", "user/*.rs"], "kind"),
])
def test_a_wrong_registration_is_one_line_and_exit_1(run, args, message):
    done = run("client", "add", "X", *args)
    assert done.exit_code == 1
    assert message in done.output and done.output.count("\n") == 1


def test_a_private_key_in_the_jwks_is_refused(run, tmp_path):
    key = BackendKey()
    import json
    jwks = tmp_path / "private.json"
    jwks.write_text(json.dumps({"keys": [key.key.as_dict(private=True)]}), encoding="utf-8")
    done = run("client", "add", "X", "--kind", "system", "--jwks", str(jwks), "--scope", "system/*.rs")
    assert done.exit_code == 1 and "private key" in done.output
