"""From who is asking to what they may do: an Actor with an Access (store.access) built from the
user's roles, departments, care relationships and break-the-glass grants, narrowed by the SMART
scopes of the token the request came with. The repository enforces it on every interaction."""
from __future__ import annotations

from functools import lru_cache

from benhan.auth import break_glass, roles
from benhan.auth.actor import Actor
from benhan.auth.users import User
from benhan.store import access as access_sql
from benhan.store.access import ALL, SCOPED, Access, PatientScope
from benhan.store.store import Store


@lru_cache(maxsize=256)
def _role_modes(role_codes: tuple[str, ...], all_departments: bool) -> dict[tuple[str, str], str]:
    modes = roles.modes(role_codes)
    # "*": the whole facility (a commune station has one team, not departments).
    return {k: ALL for k in modes} if all_departments else dict(modes)


def user_access(store: Store, user: User, grants: frozenset[str] | None = None) -> Access:
    """`grants`: the patients of the user's active break-the-glass grants, when already known."""
    modes = _role_modes(user.roles, user.all_departments)
    scope = PatientScope(departments=frozenset() if user.all_departments else user.departments,
                         practitioner_id=user.practitioner_id,
                         break_glass=break_glass.active_patients(store, user) if grants is None else grants)
    return Access(modes, scope, acts=_acts(user.roles))


@lru_cache(maxsize=256)
def _acts(role_codes: tuple[str, ...]) -> frozenset[str]:
    """The clinical acts (roles.ACTS) these roles hold: store.act_rules refuses the rest on every write."""
    return roles.privileges(tuple(c for c in role_codes if c in roles.ROLES)) & frozenset(roles.ACTS)


def actor_for_user(store: Store, user: User, *, source: str | None = None, client_id: str | None = None,
                   grants: frozenset[str] | None = None) -> Actor:
    return Actor(name=user.username, kind="user", source_address=source, access=user_access(store, user, grants),
                 roles=user.roles, client_id=client_id, user_pk=user.pk, display=user.display_name)


@lru_cache(maxsize=256)
def _system_modes(scope: str) -> dict[tuple[str, str], str]:
    from benhan.auth.scopes import smart_permissions
    return {k: ALL for k, ctx in smart_permissions(scope).items() if ctx == "system"}


@lru_cache(maxsize=1024)
def _narrowed(role_codes: tuple[str, ...], all_departments: bool, scope: str,
              contexts: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """The role's modes that the token's scopes also grant (cached: a handful of combinations
    serve every request)."""
    from benhan.auth.scopes import smart_permissions
    granted = smart_permissions(scope)
    out = {}
    for (t, letter), mode in _role_modes(role_codes, all_departments).items():
        ctx = granted.get((t, letter)) or granted.get(("*", letter))
        if ctx in contexts:
            out[(t, letter)] = mode
    return out


def actor_for_token(store: Store, *, client_id: str, scope: str, user: User | None = None,
                    patient_id: str | None = None, source: str | None = None,
                    grants: frozenset[str] | None = None) -> Actor:
    """A bearer token's actor: a backend system (client credentials: its system/ scopes), a user
    through an app (their roles ∩ the user/ scopes), or an app in one patient's context (their
    roles ∩ the patient/ scopes, limited to that patient)."""
    from benhan.auth.scopes import smart_permissions
    granted = smart_permissions(scope)
    if user is None:
        return Actor(name=client_id, kind="client", source_address=source, access=Access(_system_modes(scope)),
                     client_id=client_id)
    base = user_access(store, user, grants)
    if patient_id and any(ctx == "patient" for ctx in granted.values()):
        # One patient's context: only that patient, and only what the user could see of them anyway
        # (a type their role reaches only within their scope needs the patient in that scope).
        in_scope = _in_scope(store, base.scope, patient_id)
        narrowed = _narrowed(user.roles, user.all_departments, scope, ("patient", "user", "system"))
        modes = {k: SCOPED for k, mode in narrowed.items() if mode == ALL or in_scope}
        access = Access(modes, PatientScope(patient_id=patient_id), acts=base.acts)
    else:
        access = Access(_narrowed(user.roles, user.all_departments, scope, ("user", "system")), base.scope,
                        acts=base.acts)
    return Actor(name=user.username, kind="user", source_address=source, access=access, roles=user.roles,
                 client_id=client_id, user_pk=user.pk, display=user.display_name)


def _in_scope(store: Store, scope: PatientScope, patient_id: str) -> bool:
    with store.db.read() as conn:
        return access_sql.patient_in_scope(conn, scope, patient_id)
