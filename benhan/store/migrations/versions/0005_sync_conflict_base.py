"""0005 the version a set-aside edit was made from, kept with it (docs/sync.md "Conflicts"): the
review page shows the base value beside both versions, and resolving applies each set-aside edit
as the changes it made to that base — so a second edit set aside after the first cannot erase it.

One nullable column: no existing row changes (rows from before have no base body; they resolve as
before, taking the set-aside body whole).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_conflict", sa.Column("base_body", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
