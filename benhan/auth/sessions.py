"""Web sessions: a random cookie value, stored only as its SHA-256; idle and absolute timeouts;
a CSRF token per session; ended by logout, logout-everywhere, disabling or resetting the account."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from benhan.auth.users import User, now_us, refusal_reason
from benhan.store import audit_log, user_tables
from benhan.store.audit_log import AuditRecord
from benhan.store.store import Store

MINUTE_US = 60_000_000
# last_seen is written at most once a minute per session: a write per page view would make every
# read a write on an old PC's disk.
TOUCH_EVERY_US = MINUTE_US


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    id_hash: str
    user: User
    csrf: str
    mfa_passed: bool
    created: int
    grants: frozenset[str] | None = None    # patients of active break-the-glass grants, when read


def start(store: Store, user: User, *, mfa_passed: bool, source: str | None = None,
          user_agent: str | None = None) -> tuple[str, Session]:
    raw = secrets.token_urlsafe(32)
    now = now_us()
    csrf = secrets.token_urlsafe(24)
    with store.db.write() as conn:
        user_tables.insert_session(conn, {
            "id_hash": _hash(raw), "user_pk": user.pk, "created": now, "last_seen": now,
            "mfa_passed": mfa_passed, "csrf": csrf, "source_address": source,
            "user_agent": (user_agent or "")[:200] or None})
    return raw, Session(_hash(raw), user, csrf, mfa_passed, now)


def resolve(store: Store, raw: str | None) -> Session | None:
    """The live session for a cookie value, or None (unknown, ended, idle, too old, or its user may
    no longer act: disabled, locked, outside access hours, inactive)."""
    if not raw or len(raw) > 100:
        return None
    cfg = store.config
    now = now_us()
    id_hash = _hash(raw)
    with store.db.read() as conn:
        row = user_tables.session_row(conn, id_hash)
        urow = user_tables.user_row(conn, pk=row.user_pk) if row is not None else None
        grants = (frozenset(g.patient_id for g in user_tables.active_break_glass(conn, urow.pk, now))
                  if urow is not None else None)
    if row is None or urow is None or row.ended_at is not None:
        return None
    user = User.from_row(urow)
    if (now - row.last_seen > cfg.session_idle_minutes * MINUTE_US
            or now - row.created > cfg.session_max_hours * 60 * MINUTE_US
            or row.created < user.sessions_valid_after
            or refusal_reason(user, store, now) is not None):
        with store.db.write() as conn:
            user_tables.update_session(conn, id_hash, ended_at=now)
        return None
    if now - row.last_seen > TOUCH_EVERY_US:
        with store.db.write() as conn:
            user_tables.update_session(conn, id_hash, last_seen=now)
            user_tables.update_user(conn, user.pk, last_activity=now)
    return Session(id_hash, user, row.csrf, bool(row.mfa_passed), row.created, grants)


def mfa_passed(store: Store, session: Session) -> Session:
    with store.db.write() as conn:
        user_tables.update_session(conn, session.id_hash, mfa_passed=True, last_seen=now_us())
    return Session(session.id_hash, session.user, session.csrf, True, session.created)


def end(store: Store, session: Session, *, source: str | None = None) -> None:
    with store.db.write() as conn:
        user_tables.update_session(conn, session.id_hash, ended_at=now_us())
        audit_log.write(conn, [AuditRecord(
            recorded=now_us(), interaction="logout", subtype="logout", agent=session.user.username,
            source_address=source, role=" ".join(session.user.roles),
            detail=json.dumps({"user": session.user.username}))])


def check_csrf(session: Session, token: str | None) -> bool:
    return bool(token) and secrets.compare_digest(session.csrf, token or "")
