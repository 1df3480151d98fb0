"""0002 users, sessions, OAuth clients and tokens, break-the-glass; audit events gain who/for whom
and a hash chain.

Adds tables and nullable columns only: no existing row changes, so nothing can be lost. Audit rows
written before this revision have no chain position; the chain starts with the first new event
(`benhan audit verify` reports how many older rows precede it).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for name, kind in (("subtype", sa.String(32)), ("role", sa.String(128)), ("client_id", sa.String(64)),
                       ("purpose", sa.String(16)), ("patients", sa.Text()), ("detail", sa.Text()),
                       ("chain_pos", sa.BigInteger()), ("hash", sa.String(64))):
        op.add_column("audit_event", sa.Column(name, kind, nullable=True))
    op.create_index("ux_audit_event_chain_pos", "audit_event", ["chain_pos"], unique=True)
    op.create_table(
        "audit_patient",
        sa.Column("seq", PK, sa.ForeignKey("audit_event.seq"), primary_key=True),
        sa.Column("patient_id", sa.String(64), primary_key=True))
    op.create_index("ix_audit_patient_patient", "audit_patient", ["patient_id", "seq"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("chain_pos", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False))

    op.create_table(
        "user_account",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("departments", sa.Text(), nullable=False),
        sa.Column("practitioner_id", sa.String(64), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("password_changed", sa.BigInteger(), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("mfa_enabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=True),
        sa.Column("last_login", sa.BigInteger(), nullable=True),
        sa.Column("last_activity", sa.BigInteger(), nullable=True),
        sa.Column("access_hours", sa.Text(), nullable=True),
        sa.Column("sessions_valid_after", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True),
        sa.Column("disabled_reason", sa.String(200), nullable=True))
    op.create_table(
        "user_session",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_pk", PK, sa.ForeignKey("user_account.pk"), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("mfa_passed", sa.Boolean(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("source_address", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True))
    op.create_index("ix_user_session_user", "user_session", ["user_pk"])
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("jwks_url", sa.Text(), nullable=True),
        sa.Column("secret_hash", sa.Text(), nullable=True),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "oauth_token",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_pk", PK, nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("family", sa.String(64), nullable=True))
    op.create_index("ix_oauth_token_family", "oauth_token", ["family"])
    op.create_table(
        "oauth_code",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_pk", PK, nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(8), nullable=True),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("nonce", sa.String(255), nullable=True),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "oauth_assertion",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("expires", sa.BigInteger(), nullable=False))
    op.create_table(
        "break_glass",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("user_pk", PK, sa.ForeignKey("user_account.pk"), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_by", PK, nullable=True),
        sa.Column("reviewed_at", sa.BigInteger(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True))
    op.create_index("ix_break_glass_user", "break_glass", ["user_pk", "expires"])


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
