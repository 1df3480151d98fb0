"""User accounts: creation, the login rules (password, lockout, access hours, inactivity, MFA) and
the admin's changes. Every change and every login attempt is an audit event written in the same
transaction as the change."""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from benhan import errors
from benhan.auth import access_hours, mfa, passwords
from benhan.auth.roles import ROLES, privileges, unknown_roles
from benhan.store import audit_log, user_tables
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ALL_DEPARTMENTS = "*"
DAY_US = 86_400_000_000


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True)
class User:
    pk: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    departments: frozenset[str]
    practitioner_id: str | None
    mfa_enabled: bool
    must_change_password: bool
    access_hours: str | None
    disabled_at: int | None
    disabled_reason: str | None
    locked_until: int | None
    last_activity: int | None
    sessions_valid_after: int
    created: int

    @property
    def privileges(self) -> frozenset[str]:
        return privileges(self.roles)

    @property
    def all_departments(self) -> bool:
        return ALL_DEPARTMENTS in self.departments

    @property
    def needs_mfa(self) -> bool:
        """Admins must use two-step login (issue 4; CV 365 for remote and privileged access)."""
        return "manage-users" in self.privileges

    @classmethod
    def from_row(cls, row: Any) -> "User":
        return cls(row.pk, row.username, row.display_name, tuple(row.roles.split()),
                   frozenset(row.departments.split()), row.practitioner_id, bool(row.mfa_enabled),
                   bool(row.must_change_password), row.access_hours, row.disabled_at, row.disabled_reason,
                   row.locked_until, row.last_activity, row.sessions_valid_after, row.created)


def _event(subtype: str, agent: str, *, outcome: str = "0", actor: str | None = None, source: str | None = None,
           detail: dict | None = None, role: str | None = None) -> AuditRecord:
    # Logins are AuditEvents of their own type; account changes name the admin as agent and the
    # account changed in the detail.
    return AuditRecord(recorded=now_us(), interaction=subtype, agent=actor or agent, outcome=outcome,
                       source_address=source, subtype=subtype, role=role,
                       detail=json.dumps({"user": agent, **(detail or {})}, ensure_ascii=False))


def _check_roles_departments(roles: list[str], departments: list[str]) -> None:
    if not roles:
        raise errors.InvalidUserSetting("a user needs at least one role: " + ", ".join(ROLES))
    bad = unknown_roles(roles)
    if bad:
        raise errors.InvalidUserSetting(f"unknown role {bad[0]!r}; roles are: " + ", ".join(ROLES))
    for d in departments:
        if d != ALL_DEPARTMENTS and not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", d):
            raise errors.InvalidUserSetting(f"department {d!r} is not an Organization id (or * for all)")


def _validated(username: str, roles: list[str], departments: list[str] | None,
               access_hours_text: str | None) -> tuple[str, list[str]]:
    """The normalised user name and departments; InvalidUserSetting for anything malformed."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise errors.InvalidUserSetting(
            f"user name {name!r}: 2–64 lower-case letters, digits, dot, dash or underscore")
    departments = departments if departments is not None else [ALL_DEPARTMENTS]
    _check_roles_departments(roles, departments)
    access_hours.parse(access_hours_text)
    return name, departments


def check_new_user(store: Store, username: str, roles: list[str], departments: list[str] | None,
                   access_hours_text: str | None) -> None:
    """Everything create_user would refuse, checked before anything else is written."""
    name, _ = _validated(username, roles, departments, access_hours_text)
    with store.db.read() as conn:
        if user_tables.user_row(conn, username=name) is not None:
            raise errors.UserExists(f"user {name!r} already exists")


def one_time_password() -> str:
    # 4 groups of 4 from an unambiguous alphabet: easy to read aloud or copy from a printout.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def create_user(store: Store, username: str, display_name: str, roles: list[str], *,
                departments: list[str] | None = None, practitioner_id: str | None = None,
                password: str | None = None, access_hours_text: str | None = None,
                by: str = "system", mfa_secret: str | None = None) -> tuple[User, str | None]:
    """Create an account. Without a password a one-time password is generated and returned (to be
    shown once); the user must change it at first login."""
    username, departments = _validated(username, roles, departments, access_hours_text)
    cfg = store.config
    one_time = None
    if password is None:
        one_time = password = one_time_password()
    else:
        passwords.check_rules(password, username=username, mfa=mfa_secret is not None,
                              min_length=cfg.password_min_length, min_length_mfa=cfg.password_min_length_mfa,
                              demo=by == "demo")    # only the demo accounts may have the published password
    now = now_us()
    with store.db.write() as conn:
        if user_tables.user_row(conn, username=username) is not None:
            raise errors.UserExists(f"user {username!r} already exists")
        pk = user_tables.insert_user(conn, {
            "username": username, "display_name": display_name.strip() or username, "roles": " ".join(roles),
            "departments": " ".join(departments), "practitioner_id": practitioner_id,
            "password_hash": passwords.hash_password(password), "password_changed": now,
            "must_change_password": one_time is not None, "totp_secret": mfa_secret,
            "mfa_enabled": mfa_secret is not None, "failed_logins": 0, "access_hours": access_hours_text or None,
            "sessions_valid_after": 0, "created": now})
        audit_log.write(conn, [_event("permission", username, actor=by, detail={
            "change": "user-created", "roles": roles, "departments": departments})])
        user = User.from_row(user_tables.user_row(conn, pk=pk))
    return user, one_time


def get_user(store: Store, pk: int) -> User | None:
    with store.db.read() as conn:
        row = user_tables.user_row(conn, pk=pk)
    return User.from_row(row) if row else None


def get_user_and_grants(store: Store, pk: int) -> tuple[User | None, frozenset[str], int | None]:
    """The user, the patients of their active break-the-glass grants and when the first of those
    grants ends (µs; None without any), in one connection (this runs whenever a user's token is
    resolved: web/authn.py keeps the result no longer than that end)."""
    with store.db.read() as conn:
        row = user_tables.user_row(conn, pk=pk)
        if row is None:
            return None, frozenset(), None
        grants = user_tables.active_break_glass(conn, pk, now_us())
    return (User.from_row(row), frozenset(g.patient_id for g in grants),
            min((g.expires for g in grants), default=None))


def find_user(store: Store, username: str) -> User:
    with store.db.read() as conn:
        row = user_tables.user_row(conn, username=username.strip().lower())
    if row is None:
        raise errors.UnknownUser(f"no user {username!r}")
    return User.from_row(row)


def list_users(store: Store) -> list[User]:
    with store.db.read() as conn:
        return [User.from_row(r) for r in user_tables.user_rows(conn)]


def has_users(store: Store) -> bool:
    with store.db.read() as conn:
        return user_tables.count_users(conn) > 0


# --- login -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginResult:
    user: User
    mfa_required: bool          # the password was right; a TOTP code must follow
    mfa_enrolment_required: bool  # an admin without MFA: must enrol before anything else


def refusal_reason(user: User, store: Store, now: int) -> str | None:
    """Why this account may not act now (None: it may). Checked at login and on every request."""
    cfg = store.config
    if user.disabled_at is not None:
        return "disabled"
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    if not access_hours.allows(user.access_hours, now, cfg.timezone):
        return "outside-hours"
    last = user.last_activity or user.created
    if now - last > cfg.inactive_disable_days * DAY_US:
        return "inactive"
    return None


def _refuse(store: Store, user: User | None, username: str, reason: str, source: str | None) -> None:
    now = now_us()
    with store.db.write() as conn:
        records = [_event("login", username, outcome="4", source=source, detail={"reason": reason})]
        if user is not None and reason == "inactive":
            user_tables.update_user(conn, user.pk, disabled_at=now, disabled_reason="inactive")
            records.append(_event("permission", username, detail={"change": "disabled", "reason": "inactive"}))
        audit_log.write(conn, records)
    raise errors.LoginRefused(reason)


def authenticate(store: Store, username: str, password: str, *, source: str | None = None,
                 now: int | None = None) -> LoginResult:
    """Check a user name and password. Raises LoginRefused with the reason as message: 'invalid'
    (unknown user or wrong password — the same for both), 'locked', 'disabled', 'outside-hours',
    'inactive' (then the account is disabled). `now` (µs): the clock, for tests of access hours."""
    cfg = store.config
    username = username.strip().lower()
    now = now_us() if now is None else now
    with store.db.read() as conn:
        row = user_tables.user_row(conn, username=username)
    user = User.from_row(row) if row else None
    if user is None:
        passwords.verify_password(None, password)
        _refuse(store, None, username, "invalid", source)
    assert user is not None and row is not None
    if user.locked_until is not None and user.locked_until > now:
        _refuse(store, user, username, "locked", source)
    if not passwords.verify_password(row.password_hash, password):
        with store.db.write() as conn:
            fresh = user_tables.user_row(conn, pk=user.pk)
            failures = fresh.failed_logins + 1
            values: dict[str, Any] = {"failed_logins": failures}
            records = [_event("login", username, outcome="4", source=source,
                              detail={"reason": "invalid", "failures": failures})]
            if failures >= cfg.lockout_attempts:
                values.update(failed_logins=0, locked_until=now + cfg.lockout_minutes * 60_000_000)
                records.append(_event("permission", username, detail={"change": "locked", "failures": failures}))
            user_tables.update_user(conn, user.pk, **values)
            audit_log.write(conn, records)
        raise errors.LoginRefused("invalid")
    reason = refusal_reason(user, store, now)
    if reason:
        _refuse(store, user, username, reason, source)
    with store.db.write() as conn:
        values = {"failed_logins": 0, "locked_until": None}
        if passwords.needs_rehash(row.password_hash):
            values["password_hash"] = passwords.hash_password(password)
        if not user.mfa_enabled:
            values.update(last_login=now, last_activity=now)
        user_tables.update_user(conn, user.pk, **values)
        if not user.mfa_enabled:
            audit_log.write(conn, [_event("login", username, source=source, role=" ".join(user.roles))])
    return LoginResult(user, user.mfa_enabled, user.needs_mfa and not user.mfa_enabled)


def second_step(store: Store, user: User, code: str, *, source: str | None = None) -> None:
    """The TOTP code after a right password. Wrong codes count towards the lockout like passwords."""
    cfg = store.config
    now = now_us()
    with store.db.read() as conn:
        row = user_tables.user_row(conn, pk=user.pk)
    ok = mfa.verify(row.totp_secret, code)
    with store.db.write() as conn:
        if ok:
            user_tables.update_user(conn, user.pk, failed_logins=0, last_login=now, last_activity=now)
            audit_log.write(conn, [_event("login", user.username, source=source, role=" ".join(user.roles),
                                          detail={"mfa": True})])
            return
        failures = row.failed_logins + 1
        values: dict[str, Any] = {"failed_logins": failures}
        records = [_event("login", user.username, outcome="4", source=source,
                          detail={"reason": "invalid-mfa-code", "failures": failures})]
        if failures >= cfg.lockout_attempts:
            values.update(failed_logins=0, locked_until=now + cfg.lockout_minutes * 60_000_000)
            records.append(_event("permission", user.username, detail={"change": "locked", "failures": failures}))
        user_tables.update_user(conn, user.pk, **values)
        audit_log.write(conn, records)
    raise errors.LoginRefused("invalid-mfa-code")


# --- changes by the user or an admin -------------------------------------------------------------

def _change(store: Store, user: User, by: str, detail: dict, **values: Any) -> User:
    with store.db.write() as conn:
        user_tables.update_user(conn, user.pk, **values)
        audit_log.write(conn, [_event("permission", user.username, actor=by, detail=detail)])
        return User.from_row(user_tables.user_row(conn, pk=user.pk))


def change_password(store: Store, user: User, current: str | None, new: str, *, by: str | None = None) -> User:
    """The user changes their own password (current required) — or an admin sets one (by=admin)."""
    cfg = store.config
    if by is None:
        with store.db.read() as conn:
            row = user_tables.user_row(conn, pk=user.pk)
        if not passwords.verify_password(row.password_hash, current or ""):
            exc = errors.PasswordRejected("the current password is not right")
            exc.reason, exc.values = "wrong_current", {}
            raise exc
    passwords.check_rules(new, username=user.username, mfa=user.mfa_enabled,
                          min_length=cfg.password_min_length, min_length_mfa=cfg.password_min_length_mfa)
    return _change(store, user, by or user.username, {"change": "password"},
                   password_hash=passwords.hash_password(new), password_changed=now_us(),
                   must_change_password=False)


def reset_password(store: Store, user: User, *, by: str) -> str:
    """An admin's reset: a one-time password, every session ended, unlocked and enabled again."""
    one_time = one_time_password()
    now = now_us()
    with store.db.write() as conn:
        user_tables.update_user(conn, user.pk, password_hash=passwords.hash_password(one_time),
                                password_changed=now, must_change_password=True, failed_logins=0,
                                locked_until=None, sessions_valid_after=now)
        user_tables.end_user_sessions(conn, user.pk, now)
        audit_log.write(conn, [_event("permission", user.username, actor=by, detail={"change": "password-reset"})])
    return one_time


def reset_mfa(store: Store, user: User, *, by: str) -> User:
    """An admin's reset of two-step login (a lost or replaced phone): the old key stops working, every
    session ends, and the user enrols a new key at the next login (an admin must, before anything else)."""
    now = now_us()
    with store.db.write() as conn:
        user_tables.update_user(conn, user.pk, totp_secret=None, mfa_enabled=False, sessions_valid_after=now)
        user_tables.end_user_sessions(conn, user.pk, now)
        audit_log.write(conn, [_event("permission", user.username, actor=by, detail={"change": "mfa-reset"})])
        return User.from_row(user_tables.user_row(conn, pk=user.pk))


def enrol_mfa(store: Store, user: User, secret: str, code: str) -> User:
    """Turn on two-step login once the user proves their app produces the right codes."""
    if not mfa.verify(secret, code):
        raise errors.LoginRefused("invalid-mfa-code")
    return _change(store, user, user.username, {"change": "mfa-enabled"}, totp_secret=secret, mfa_enabled=True)


def disable(store: Store, user: User, *, by: str, reason: str = "disabled by an admin") -> User:
    now = now_us()
    with store.db.write() as conn:
        user_tables.update_user(conn, user.pk, disabled_at=now, disabled_reason=reason[:200],
                                sessions_valid_after=now)
        user_tables.end_user_sessions(conn, user.pk, now)
        audit_log.write(conn, [_event("permission", user.username, actor=by,
                                      detail={"change": "disabled", "reason": reason})])
        return User.from_row(user_tables.user_row(conn, pk=user.pk))


def enable(store: Store, user: User, *, by: str) -> User:
    # Re-enabling counts as activity, or an inactive account would be disabled again at once.
    return _change(store, user, by, {"change": "enabled"}, disabled_at=None, disabled_reason=None,
                   last_activity=now_us(), failed_logins=0, locked_until=None)


def unlock(store: Store, user: User, *, by: str) -> User:
    return _change(store, user, by, {"change": "unlocked"}, failed_logins=0, locked_until=None)


def set_access(store: Store, user: User, *, by: str, roles: list[str] | None = None,
               departments: list[str] | None = None, access_hours_text: str | None = None,
               practitioner_id: str | None = None) -> User:
    roles = roles if roles is not None else list(user.roles)
    departments = departments if departments is not None else sorted(user.departments)
    _check_roles_departments(roles, departments)
    values: dict[str, Any] = {"roles": " ".join(roles), "departments": " ".join(departments)}
    if access_hours_text is not None:
        access_hours.parse(access_hours_text)
        values["access_hours"] = access_hours_text or None
    if practitioner_id is not None:
        values["practitioner_id"] = practitioner_id or None
    return _change(store, user, by, {"change": "access", "roles": roles, "departments": departments,
                                     "access_hours": values.get("access_hours", user.access_hours)}, **values)


def logout_everywhere(store: Store, user: User) -> None:
    now = now_us()
    with store.db.write() as conn:
        user_tables.update_user(conn, user.pk, sessions_valid_after=now)
        user_tables.end_user_sessions(conn, user.pk, now)
        audit_log.write(conn, [_event("logout", user.username, detail={"everywhere": True})])


def disable_inactive(store: Store) -> list[str]:
    """Disable every account unused for inactive_disable_days (run at start-up and daily)."""
    now = now_us()
    done = []
    for user in list_users(store):
        if user.disabled_at is None and refusal_reason(user, store, now) == "inactive":
            disable(store, user, by="system", reason="inactive")
            done.append(user.username)
    return done
