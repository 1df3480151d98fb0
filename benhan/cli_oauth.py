"""`benhan client …` and `benhan token …`: OAuth clients (backend systems and SMART apps) and tokens
for scripts and tests, from the command line (the machine's operator acts as admin)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benhan.cli_common import DataDir, DbUrl, open_store
from benhan.fhir.datetimes import format_instant, from_us

client_app = typer.Typer(help="OAuth clients: backend systems (SMART Backend Services) and apps (SMART App Launch).",
                         no_args_is_help=True)
token_app = typer.Typer(help="OAuth access tokens for scripts and tests: issue, revoke.", no_args_is_help=True)



def _refuse(exc: Exception) -> None:
    # A wrong registration or an unknown client: one line and exit 1, like every CLI error.
    typer.echo(f"benhan: {exc.args[0] if exc.args else exc}", err=True)
    raise typer.Exit(1)


@client_app.command("add")
def client_add(name: str = typer.Argument(..., help="The system's or app's name, shown on the consent page."),
               kind: str = typer.Option(..., "--kind", help="system (a backend service) or app."),
               scope: str = typer.Option(..., "--scope", help="The most it may be granted, space-separated, "
                                                              "e.g. 'system/*.rs' or 'patient/*.rs launch/patient "
                                                              "offline_access'."),
               jwks: Optional[Path] = typer.Option(None, "--jwks", help="A file with the client's public JWKS."),
               jwks_url: Optional[str] = typer.Option(None, "--jwks-url", help="Where the client publishes its JWKS."),
               public: bool = typer.Option(False, "--public", help="An app that keeps no secret (browser, "
                                                                   "mobile): PKCE only."),
               redirect_uri: Optional[list[str]] = typer.Option(None, "--redirect-uri",
                                                                help="An app's redirect URI (repeat for several)."),
               data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Register a client; prints its client_id (and, for an app with neither keys nor --public, its
    secret, shown once)."""
    from benhan.auth.oauth_clients import ClientSetupError, register_client
    jwks_text = None
    if jwks is not None:
        try:
            jwks_text = jwks.read_text(encoding="utf-8")
        except OSError as exc:
            _refuse(ValueError(f"cannot read {jwks}: {exc.strerror}"))
    store = open_store(data_dir, database_url)
    try:
        client, secret = register_client(store, name, kind, scope=scope, jwks=jwks_text, jwks_url=jwks_url,
                                         public=public, redirect_uris=list(redirect_uri or []))
    except ClientSetupError as exc:
        _refuse(exc)
    finally:
        store.close()
    typer.echo(f"client_id: {client.client_id}")
    typer.echo(f"auth: {client.auth_method}; scopes: {client.scopes}")
    if secret:
        typer.echo(f"client_secret (shown once, keep it safe): {secret}")


@client_app.command("list")
def client_list(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Every client: id, kind, authentication, state, name, scopes."""
    from benhan.auth.oauth_clients import list_clients
    store = open_store(data_dir, database_url)
    try:
        for c in list_clients(store):
            state = f"disabled {format_instant(from_us(c.disabled_at))}" if c.disabled_at else "active"
            typer.echo(f"{c.client_id}\t{c.kind}\t{c.auth_method}\t{state}\t{c.name}\t{c.scopes}")
    finally:
        store.close()


@client_app.command("disable")
def client_disable(client_id: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Disable a client at once: its tokens stop working and it gets no new ones."""
    from benhan.auth.oauth_clients import disable_client
    store = open_store(data_dir, database_url)
    try:
        revoked = disable_client(store, client_id)
    except LookupError as exc:
        _refuse(exc)
    finally:
        store.close()
    typer.echo(f"client {client_id} disabled; {revoked} tokens revoked")


@token_app.command("issue")
def token_issue(client_id: str, scope: str = typer.Option(..., "--scope", help="e.g. 'system/*.rs'."),
                user: Optional[str] = typer.Option(None, "--user", help="Act as this user (user/ scopes)."),
                patient: Optional[str] = typer.Option(None, "--patient", help="Patient context (patient/ scopes)."),
                minutes: Optional[int] = typer.Option(None, "--minutes", help="Lifetime (default: "
                                                                               "access_token_minutes)."),
                data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Print an access token for a registered client (for scripts and tests; no OAuth exchange)."""
    from benhan.auth import tokens
    from benhan.auth.scopes import InvalidScope
    store = open_store(data_dir, database_url)
    try:
        user_pk = None
        if user:
            from benhan.auth.users import find_user
            user_pk = find_user(store, user).pk
        raw = tokens.issue_token(store, client_id, scope, user_pk=user_pk, patient_id=patient, minutes=minutes)
    except (LookupError, InvalidScope) as exc:
        _refuse(exc)
    finally:
        store.close()
    typer.echo(raw)


@token_app.command("revoke")
def token_revoke(token: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Revoke a token (a refresh token takes the access tokens issued with it)."""
    from benhan.auth import tokens
    store = open_store(data_dir, database_url)
    try:
        done = tokens.revoke(store, token)
    finally:
        store.close()
    typer.echo("revoked" if done else "not a live token (already revoked, expired or unknown)")
