"""0008 the EMR self-assessment (`benhan assess`: the facility's answers) and the provincial
dashboard at the hub (each node's latest posted report; records and readiness per node and day).

New tables only: no existing row changes.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assess_answer",
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(200), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=False))
    op.create_table(
        "province_report",
        sa.Column("node_name", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("generated_at", sa.BigInteger(), nullable=False),
        sa.Column("facility", sa.String(255), nullable=False),
        sa.Column("province", sa.String(255), nullable=True),
        sa.Column("commune", sa.String(255), nullable=True),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("backup_ok", sa.Boolean(), nullable=True),
        sa.Column("signed_share", sa.Float(), nullable=True),
        sa.Column("claims_sent", sa.Integer(), nullable=True),
        sa.Column("report", sa.Text(), nullable=False))
    op.create_table(
        "province_daily",
        sa.Column("node_name", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True))
    op.create_index("ix_province_daily_day", "province_daily", ["day"])


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
