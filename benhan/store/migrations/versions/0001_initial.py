"""0001 initial schema: resources, versions, search indexes, change log, audit, node settings.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('recorded', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=1), nullable=False),
    sa.Column('interaction', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=2), nullable=False),
    sa.Column('agent', sa.String(length=128), nullable=False),
    sa.Column('source_address', sa.String(length=64), nullable=True),
    sa.Column('res_type', sa.String(length=64), nullable=True),
    sa.Column('res_id', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('query', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_audit_event_entity', 'audit_event', ['res_type', 'res_id'], unique=False)
    op.create_table('change_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('origin_node', sa.String(length=64), nullable=False),
    sa.Column('committed_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_change_log_resource', 'change_log', ['resource_pk', 'seq'], unique=False)
    op.create_index('ix_change_log_type_seq', 'change_log', ['res_type', 'seq'], unique=False)
    op.create_table('node_setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('resource',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('res_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.BigInteger(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('content_hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('res_type', 'res_id', name='uq_resource_type_id')
    )
    op.create_index('ix_resource_type_updated', 'resource', ['res_type', 'last_updated'], unique=False)
    op.create_table('idx_date',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('low', sa.BigInteger(), nullable=False),
    sa.Column('high', sa.BigInteger(), nullable=False),
    sa.Column('grp', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], )
    )
    op.create_index('ix_idx_date_lookup0', 'idx_date', ['res_type', 'param', 'low'], unique=False)
    op.create_index('ix_idx_date_lookup1', 'idx_date', ['res_type', 'param', 'high'], unique=False)
    op.create_index('ix_idx_date_resource', 'idx_date', ['resource_pk'], unique=False)
    op.create_table('idx_number',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.Column('grp', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], )
    )
    op.create_index('ix_idx_number_lookup0', 'idx_number', ['res_type', 'param', 'value'], unique=False)
    op.create_index('ix_idx_number_resource', 'idx_number', ['resource_pk'], unique=False)
    op.create_table('idx_quantity',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.Column('grp', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], )
    )
    op.create_index('ix_idx_quantity_lookup0', 'idx_quantity', ['res_type', 'param', 'code', 'value'], unique=False)
    op.create_index('ix_idx_quantity_resource', 'idx_quantity', ['resource_pk'], unique=False)
    op.create_table('idx_reference',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=255), nullable=True),
    sa.Column('grp', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], )
    )
    op.create_index('ix_idx_reference_lookup0', 'idx_reference', ['res_type', 'param', 'target_id', 'target_type'], unique=False)
    op.create_index('ix_idx_reference_lookup1', 'idx_reference', ['res_type', 'param', 'url'], unique=False)
    op.create_index('ix_idx_reference_resource', 'idx_reference', ['resource_pk'], unique=False)
    op.create_table('idx_string',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('exact', sa.String(length=255), nullable=False),
    sa.Column('value_long', sa.Text(), nullable=True),
    sa.Column('exact_long', sa.Text(), nullable=True),
    sa.Column('grp', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], )
    )
    op.create_index('ix_idx_string_lookup0', 'idx_string', ['res_type', 'param', 'value'], unique=False)
    op.create_index('ix_idx_string_resource', 'idx_string', ['resource_pk'], unique=False)
    op.create_table('idx_token',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('system', sa.String(length=255), nullable=True),
    sa.Column('code', sa.String(length=255), nullable=True),
    sa.Column('text', sa.String(length=255), nullable=True),
    sa.Column('grp', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], )
    )
    op.create_index('ix_idx_token_lookup0', 'idx_token', ['res_type', 'param', 'code', 'system'], unique=False)
    op.create_index('ix_idx_token_resource', 'idx_token', ['resource_pk'], unique=False)
    op.create_table('idx_uri',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('res_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=100), nullable=False),
    sa.Column('uri', sa.String(length=255), nullable=False),
    sa.Column('grp', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], )
    )
    op.create_index('ix_idx_uri_lookup0', 'idx_uri', ['res_type', 'param', 'uri'], unique=False)
    op.create_index('ix_idx_uri_resource', 'idx_uri', ['resource_pk'], unique=False)
    op.create_table('resource_version',
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('encoding', sa.SmallInteger(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], ),
    sa.PrimaryKeyConstraint('resource_pk', 'version')
    )


def downgrade() -> None:
    raise RuntimeError("benhan migrations do not go backwards; restore the pre-migration backup instead")
