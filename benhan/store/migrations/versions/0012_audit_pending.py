"""0012 an index of the audit rows written but not linked into the chain yet.

On PostgreSQL a write's audit rows are written *pending* (hash 'pending', no chain position) and
linked a moment later by `audit_log.link_pending`, in seq order, in a short transaction of its
own: linking inside each write held the chain head's row lock across every commit's WAL flush
(docs/audit.md "Writing"). The linker finds them through this partial index, which holds only
them: it is empty between two runs. SQLite links inside the write and never has such rows.

No row changes.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    where = sa.text("hash = 'pending'")
    op.create_index("ix_audit_event_pending", "audit_event", ["seq"], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
