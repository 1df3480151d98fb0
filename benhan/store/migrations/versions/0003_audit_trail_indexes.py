"""0003 indexes for searching the audit trail by date and by user (AuditEvent?date=…, ?agent=…).

Indexes only: no row changes. The patient (audit_patient) and entity (res_type, res_id) indexes
came with 0002 and 0001.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_recorded", "audit_event", ["recorded"])
    op.create_index("ix_audit_event_agent", "audit_event", ["agent", "seq"])


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
