"""partner orders both ways: the partner's version of each order, its changes, webhooks back

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('intake_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_version', sa.Integer(), server_default='0',
                                      nullable=False))
    op.create_table(
        'intake_changes',
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('work_order_id', sa.String(length=36), nullable=False),
        sa.Column('webhook_id', sa.String(length=255), nullable=True),
        sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source', 'external_id', 'version', name=op.f('pk_intake_changes')),
    )
    op.create_index('uq_intake_changes_webhook_id', 'intake_changes', ['webhook_id'], unique=True)
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('partner', sa.String(length=64), nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('work_order_id', sa.String(length=36), nullable=False),
        sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('replays', sa.Integer(), server_default='0', nullable=False),
        sa.Column('replayed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('replayed_by', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
        sa.UniqueConstraint('message_id', name=op.f('uq_webhook_deliveries_message_id')),
    )
    op.create_index('ix_webhook_deliveries_external_id', 'webhook_deliveries', ['external_id'])
    op.create_index('ix_webhook_deliveries_status_next', 'webhook_deliveries',
                    ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_status_next', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_external_id', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_index('uq_intake_changes_webhook_id', table_name='intake_changes')
    op.drop_table('intake_changes')
    with op.batch_alter_table('intake_orders', schema=None) as batch_op:
        batch_op.drop_column('partner_version')
