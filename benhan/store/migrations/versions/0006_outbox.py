"""0006 the outbox: one durable queue of messages to other services (BHYT check-in and claims now;
VNeID, e-invoices and SMS later), with idempotency keys, leases, retries and the receipts kept
(docs/claims.md "The outbox").

A new table only: no existing row changes.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox_item",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("idem_key", sa.String(200), nullable=False, unique=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("patient", sa.String(255), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("next_attempt", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("late_reason", sa.Text(), nullable=True))
    op.create_index("ix_outbox_item_state_next", "outbox_item", ["state", "next_attempt"])
    op.create_index("ix_outbox_item_subject", "outbox_item", ["kind", "subject"])


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
