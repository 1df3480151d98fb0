"""`benhan node …` (enrolment, on the hub and on the node) and `benhan sync …` (running it by hand)."""
from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Optional

import typer

from benhan import errors
from benhan.cli_common import DataDir, DbUrl, open_store

node_app = typer.Typer(help="Facility nodes and the hub: invite, enroll, revoke, list.", no_args_is_help=True)
REFUSED_SHOWN = 20          # refusals printed one per line by `sync now`; a count for the rest
sync_app = typer.Typer(help="Sync with the hub: run a round now, status, fetch a patient.", no_args_is_help=True)



def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _run(work):  # noqa: ANN001, ANN202
    from benhan.sync.transport import SyncFailed
    try:
        return work()
    except (errors.BenhanError, SyncFailed, ValueError, OSError) as exc:
        _fail(getattr(exc, "message", None) or str(exc))


@node_app.command("invite")
def invite(name: str, organization: Optional[str] = typer.Option(
        None, "--organization", help="The facility's Organization id (referrals to it reach the node)."),
        data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """On the hub: register a node and print its one-time enrolment token (valid 7 days)."""
    from benhan.sync import enrolment
    store = open_store(data_dir, database_url)
    try:
        token = _run(lambda: enrolment.invite(store, name, organization_id=organization,
                                              by=f"cli:{getpass.getuser()}"))
    finally:
        store.close()
    typer.echo(token)


@node_app.command("enroll")
def enroll(hub_url: str, token: str, data_dir: Optional[Path] = DataDir,
           database_url: Optional[str] = DbUrl) -> None:
    """On the node: make this node's key pair and register it with the hub using the invite token."""
    from benhan.sync import node
    store = open_store(data_dir, database_url)
    try:
        answer = _run(lambda: node.enroll(store, hub_url, token))
    finally:
        store.close()
    typer.echo(f"enrolled as node {answer['node']} (client {answer['client_id']})")


@node_app.command("revoke")
def revoke(name: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """On the hub: revoke a node (its credentials stop working at once)."""
    from benhan.sync import enrolment
    store = open_store(data_dir, database_url)
    try:
        _run(lambda: enrolment.revoke(store, name, by=f"cli:{getpass.getuser()}"))
    finally:
        store.close()
    typer.echo(f"revoked node {name}")


@node_app.command("may-author")
def may_author(name: str, types: Optional[list[str]] = typer.Argument(
        None, help="Shared resource types (Practitioner, Medication …; * for all); none: only its own."),
        data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """On the hub: let a node change shared reference data of these types that is not its own."""
    from benhan.sync import enrolment
    store = open_store(data_dir, database_url)
    try:
        allowed = _run(lambda: enrolment.allow_authoring(store, name, list(types or []),
                                                         by=f"cli:{getpass.getuser()}"))
    finally:
        store.close()
    typer.echo(f"node {name} may author: {' '.join(allowed) or 'only its own facility’s data'}")


@node_app.command("list")
def list_nodes(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """On the hub: each node's last contact, backlog, conflicts and bytes today (JSON lines)."""
    from benhan.sync import status
    store = open_store(data_dir, database_url)
    try:
        for row in status.hub_dashboard(store):
            typer.echo(json.dumps(row))
    finally:
        store.close()


@sync_app.command("now")
def sync_now(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """On the node: push and pull until both are done; one line with the figures."""
    from benhan.sync.node import NodeSync
    store = open_store(data_dir, database_url)
    try:
        result = _run(lambda: NodeSync.from_settings(store).round())
    finally:
        store.close()
    typer.echo(f"pushed {result.pushed}, pulled {result.pulled}, conflicts {len(result.conflicts)}, "
               f"refused {len(result.refused)}, {result.seconds:.1f} s")
    for line in refusal_lines(result.refused):
        typer.echo(line)
    if result.recovered:
        typer.echo("after the restore, this node's own changes held by the hub have been pulled back")


def refusal_lines(refused: list[dict]) -> list[str]:
    """A line for each of the first REFUSED_SHOWN refusals, then how many more there were."""
    lines = [f"refused by the hub: {r['type']}/{r['id']} version {r['version']} ({r['reason']})"
             for r in refused[:REFUSED_SHOWN]]
    if len(refused) > REFUSED_SHOWN:
        lines.append(f"… and {len(refused) - REFUSED_SHOWN} more refused by the hub (the hub's audit trail names "
                     f"each one; /admin/sync counts them)")
    return lines


@sync_app.command("status")
def sync_status(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """This server's sync status as JSON."""
    from benhan.sync import status
    store = open_store(data_dir, database_url)
    try:
        typer.echo(json.dumps(status.node_status(store)))
    finally:
        store.close()


@sync_app.command("fetch")
def fetch(cccd: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """On the node: fetch a patient's record from the hub by CCCD (referral, emergency)."""
    from benhan.sync.node import NodeSync
    store = open_store(data_dir, database_url)
    try:
        ids = _run(lambda: NodeSync.from_settings(store).fetch(cccd, f"cli:{getpass.getuser()}"))
    finally:
        store.close()
    typer.echo(" ".join(ids))
