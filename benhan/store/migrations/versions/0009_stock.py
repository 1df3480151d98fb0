"""0009 pharmacy stock: stores, lots, the append-only ledger of stock movements, reorder levels
(store/stock_ledger.py, docs/pharmacy.md).

New tables only: no existing row changes.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stock_store",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False))
    op.create_table(
        "stock_lot",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("store", sa.String(64), sa.ForeignKey("stock_store.code"), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("item_name", sa.String(255), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("expiry", sa.String(10), nullable=False),
        sa.Column("controlled", sa.String(16), nullable=True),
        sa.UniqueConstraint("store", "item_code", "lot_number", "expiry", name="uq_stock_lot"))
    op.create_index("ix_stock_lot_item", "stock_lot", ["store", "item_code", "expiry"])
    op.create_table(
        "stock_move",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("lot_id", sa.BigInteger(), sa.ForeignKey("stock_lot.id"), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), sa.CheckConstraint("balance >= 0", name="ck_stock_move_balance"),
                  nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("supplier", sa.String(255), nullable=True),
        sa.Column("invoice", sa.String(64), nullable=True),
        sa.Column("unit_price", sa.BigInteger(), nullable=True),
        sa.Column("other_store", sa.String(64), nullable=True),
        sa.Column("prescription", sa.String(64), nullable=True),
        sa.Column("patient_id", sa.String(64), nullable=True),
        sa.Column("dispense_id", sa.String(64), nullable=True))
    op.create_index("ix_stock_move_lot", "stock_move", ["lot_id", "id"])
    op.create_index("ix_stock_move_at", "stock_move", ["at"])
    op.create_table(
        "stock_reorder",
        sa.Column("store", sa.String(64), primary_key=True),
        sa.Column("item_code", sa.String(64), primary_key=True),
        sa.Column("level", sa.BigInteger(), nullable=False))


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
