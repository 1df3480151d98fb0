"""`benhan user …`: accounts from the command line (the machine's operator acts as admin)."""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Optional

import typer

from benhan.cli_common import DataDir, DbUrl, open_store


user_app = typer.Typer(help="User accounts: add, list, disable, enable, reset, unlock, set access.",
                       no_args_is_help=True)
Roles = typer.Option(None, "--role", help="A role (repeat for several): registrar, doctor, nurse, pharmacist, "
                                          "lab_technician, cashier, facility_admin, auditor, director.")
Departments = typer.Option(None, "--department", help="An Organization id of a department (repeat); * = all.")
Hours = typer.Option(None, "--hours", help="Access hours, e.g. 'Mon-Sat 07:00-17:30' (empty: any time).")



def _by() -> str:
    return f"cli:{getpass.getuser()}"


@user_app.command("add")
def add(username: str, name: str = typer.Option(..., "--name", help="Full name, with diacritics."),
        role: Optional[list[str]] = Roles, department: Optional[list[str]] = Departments,
        practitioner: Optional[str] = typer.Option(None, help="The user's existing FHIR Practitioner id."),
        licence: Optional[str] = typer.Option(None, help="Practising licence number (CCHN): creates the "
                                                         "user's Practitioner and PractitionerRoles."),
        hours: Optional[str] = Hours,
        data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Create an account; prints a one-time password (shown once) that must be changed at first login."""
    from benhan.auth import users
    from benhan.auth.actor import Actor
    from benhan.store.repository import Repository
    store = open_store(data_dir, database_url)
    try:
        users.check_new_user(store, username, list(role or []), list(department) if department else None, hours)
        if licence and not practitioner:
            from benhan.clinical import staff
            practitioner = staff.register(Repository(store, Actor.system(_by())), name, licence=licence,
                                          roles=list(role or []), departments=list(department or ["*"]))
        user, one_time = users.create_user(store, username, name, list(role or []),
                                           departments=list(department) if department else None,
                                           practitioner_id=practitioner, access_hours_text=hours, by=_by())
    finally:
        store.close()
    typer.echo(f"user {user.username} created ({', '.join(user.roles)}); one-time password: {one_time}")


@user_app.command("list")
def list_(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Every account, its roles, departments and state."""
    from benhan.auth import users
    store = open_store(data_dir, database_url)
    try:
        now = users.now_us()
        for u in users.list_users(store):
            state = users.refusal_reason(u, store, now) or "active"
            typer.echo(f"{u.username}\t{u.display_name}\t{' '.join(u.roles)}\t{' '.join(sorted(u.departments))}\t"
                       f"{'mfa' if u.mfa_enabled else 'no-mfa'}\t{state}")
    finally:
        store.close()


def _change(username: str, data_dir: Optional[Path], database_url: Optional[str], action) -> None:  # noqa: ANN001
    from benhan.auth import users
    store = open_store(data_dir, database_url)
    try:
        action(store, users.find_user(store, username))
    finally:
        store.close()


@user_app.command("disable")
def disable(username: str, reason: str = typer.Option("disabled by an admin", help="Why (kept in the audit trail)."),
            data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Disable an account and end its sessions and tokens."""
    from benhan.auth import users
    _change(username, data_dir, database_url, lambda s, u: users.disable(s, u, by=_by(), reason=reason))
    typer.echo(f"user {username} disabled")


@user_app.command("enable")
def enable(username: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Enable a disabled account again."""
    from benhan.auth import users
    _change(username, data_dir, database_url, lambda s, u: users.enable(s, u, by=_by()))
    typer.echo(f"user {username} enabled")


@user_app.command("unlock")
def unlock(username: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Unlock an account locked by failed logins."""
    from benhan.auth import users
    _change(username, data_dir, database_url, lambda s, u: users.unlock(s, u, by=_by()))
    typer.echo(f"user {username} unlocked")


@user_app.command("reset")
def reset(username: str,
          two_step: bool = typer.Option(False, "--two-step", help="Reset two-step login instead (a lost or new "
                                        "phone): the user enrols a new key at the next login."),
          data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Set a new one-time password (shown once), end every session, unlock; or, with --two-step, reset
    two-step login."""
    from benhan.auth import users
    if two_step:
        _change(username, data_dir, database_url, lambda s, u: users.reset_mfa(s, u, by=_by()))
        typer.echo(f"user {username}: two-step login reset; a new key is enrolled at the next login")
        return
    shown: list[str] = []
    _change(username, data_dir, database_url, lambda s, u: shown.append(users.reset_password(s, u, by=_by())))
    typer.echo(f"user {username}: one-time password: {shown[0]}")


@user_app.command("set")
def set_(username: str, role: Optional[list[str]] = Roles, department: Optional[list[str]] = Departments,
         hours: Optional[str] = Hours, practitioner: Optional[str] = typer.Option(None, help="Practitioner id."),
         data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DbUrl) -> None:
    """Change an account's roles, departments, access hours or practitioner (what is given)."""
    from benhan.auth import users
    _change(username, data_dir, database_url, lambda s, u: users.set_access(
        s, u, by=_by(), roles=list(role) if role else None, departments=list(department) if department else None,
        access_hours_text=hours, practitioner_id=practitioner))
    typer.echo(f"user {username} updated")
