"""0010 the hub's pull feed (store/sync_tables.build_feed, docs/scaling.md): the change log
classified once by scope key ("*" shared, a patient id, "~" judged by body), so that a node's pull
reads the rows of its own scope instead of every node's traffic since its cursor.

A new table only: no existing row changes. It starts empty and its watermark (node_setting
sync.feed_built) at 0: the hub's first pulls after the upgrade classify the existing change log
in bounded chunks, each pull reading no further than the feed is built.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_feed",
        sa.Column("scope_key", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("origin_node", sa.String(64), nullable=False))


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
