"""0004 sync between facility nodes and the hub: enrolled nodes, answered batches, scope, traffic,
the conflict and duplicate-patient review queues, and resolution markers (docs/sync.md).

New tables only: no existing row changes.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_node",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("node_id", sa.String(64), nullable=True, unique=True),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("invite_client", sa.String(64), nullable=True),
        sa.Column("organization_id", sa.String(64), nullable=True),
        sa.Column("invited_at", sa.BigInteger(), nullable=False),
        sa.Column("enrolled_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("last_contact", sa.BigInteger(), nullable=True),
        sa.Column("push_seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("backlog", sa.BigInteger(), nullable=True),
        sa.Column("pull_seq", sa.BigInteger(), nullable=True))
    op.create_table(
        "sync_traffic",
        sa.Column("node_name", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("bytes_in", sa.BigInteger(), nullable=False),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False))
    op.create_table(
        "sync_batch",
        sa.Column("batch_id", sa.String(160), primary_key=True),
        sa.Column("node_name", sa.String(64), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False))
    op.create_table(
        "sync_scope",
        sa.Column("node_name", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False))
    op.create_table(
        "sync_conflict",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("origin_node", sa.String(64), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("kept_version", sa.Integer(), nullable=False),
        sa.Column("their_versions", sa.Text(), nullable=False),
        sa.Column("their_deleted", sa.Boolean(), nullable=False),
        sa.Column("their_body", sa.LargeBinary(), nullable=True),
        sa.Column("their_agent", sa.String(128), nullable=True),
        sa.Column("their_seq", sa.BigInteger(), nullable=True),
        sa.Column("detected_at", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("resolved_by", sa.String(128), nullable=True),
        sa.Column("resolved_version", sa.Integer(), nullable=True))
    op.create_index("ix_sync_conflict_resource", "sync_conflict", ["res_type", "res_id", "status"])
    op.create_index("ix_sync_conflict_status", "sync_conflict", ["status", "pk"])
    op.create_table(
        "sync_resolution",
        sa.Column("resource_pk", PK, primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True))
    op.create_table(
        "sync_duplicate",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("patient_a", sa.String(64), nullable=False),
        sa.Column("patient_b", sa.String(64), nullable=False),
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("detected_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reviewed_by", sa.String(128), nullable=True),
        sa.Column("reviewed_at", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("patient_a", "patient_b", name="uq_sync_duplicate_pair"))


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
