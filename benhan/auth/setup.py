"""Accounts made at setup: the first administrator of a new installation (a one-time password,
shown once), and the demo facility's staff, one per role, with printed demo credentials."""
from __future__ import annotations

from dataclasses import dataclass

from benhan.auth import mfa, users
from benhan.store.store import Store

DEMO_PASSWORD = "benhan-demo-2026"   # ≥ 14 characters: the rule for accounts without MFA


@dataclass(frozen=True)
class Credential:
    username: str
    role: str
    password: str
    totp_secret: str | None = None


def first_admin(store: Store) -> Credential | None:
    """On a database with no account yet: an 'admin' facility administrator with a one-time
    password (they set their own, and enrol two-step login, at first login). None otherwise."""
    if users.has_users(store):
        return None
    _, one_time = users.create_user(store, "admin", "Quản trị hệ thống", ["facility_admin"], by="setup")
    assert one_time is not None
    return Credential("admin", "facility_admin", one_time)


DEMO_STAFF = (("tiepdon", "Phạm Thị Lan", "registrar"), ("bacsi", "Lê Văn Hùng", "doctor"),
              ("dieuduong", "Nguyễn Thị Mai", "nurse"), ("duocsi", "Trần Văn Dược", "pharmacist"),
              ("xetnghiem", "Hoàng Thị Xuân", "lab_technician"), ("thungan", "Vũ Thị Thu", "cashier"),
              ("giamdoc", "Đỗ Văn Minh", "director"), ("kiemtra", "Bùi Thị Kiểm", "auditor"),
              ("quantri", "Ngô Văn Quản", "facility_admin"))


def demo_staff(store: Store) -> list[Credential]:
    """One account per role for the demo facility (a commune station: the whole facility is one
    department). The admin gets a TOTP secret, printed, since admins must use two-step login."""
    made = []
    for username, name, role in DEMO_STAFF:
        secret = mfa.new_secret() if role == "facility_admin" else None
        try:
            users.create_user(store, username, name, [role], password=DEMO_PASSWORD, by="demo",
                              mfa_secret=secret)
        except users.errors.UserExists:
            continue
        made.append(Credential(username, role, DEMO_PASSWORD, secret))
    return made
