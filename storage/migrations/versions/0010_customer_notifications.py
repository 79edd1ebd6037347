"""customer notifications: tracking links, notifications sent, consent history

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'tracking_links',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('work_order_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'],
                                name=op.f('fk_tracking_links_work_order_id_work_orders')),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_tracking_links')),
        sa.UniqueConstraint('work_order_id', name=op.f('uq_tracking_links_work_order_id')),
    )
    op.create_table(
        'customer_notifications',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('work_order_id', sa.String(length=36), nullable=False),
        sa.Column('customer_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=64), server_default='', nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('event_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('provider_id', sa.String(length=128), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('error', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_customer_notifications_customer_id_customers')),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'],
                                name=op.f('fk_customer_notifications_work_order_id_work_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_notifications')),
    )
    op.create_index('ix_customer_notifications_work_order_id', 'customer_notifications',
                    ['work_order_id'])
    op.create_index('uq_customer_notifications_event_channel', 'customer_notifications',
                    ['event_seq', 'channel'], unique=True)
    op.create_index('ix_customer_notifications_due', 'customer_notifications',
                    ['status', 'next_attempt_at'])
    op.create_table(
        'customer_consents',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('customer_id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('recorded_by', sa.String(length=200), nullable=False),
        sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_customer_consents_customer_id_customers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_consents')),
    )
    op.create_index('ix_customer_consents_customer_id', 'customer_consents', ['customer_id'])


def downgrade() -> None:
    op.drop_index('ix_customer_consents_customer_id', table_name='customer_consents')
    op.drop_table('customer_consents')
    op.drop_index('ix_customer_notifications_due', table_name='customer_notifications')
    op.drop_index('uq_customer_notifications_event_channel', table_name='customer_notifications')
    op.drop_index('ix_customer_notifications_work_order_id', table_name='customer_notifications')
    op.drop_table('customer_notifications')
    op.drop_table('tracking_links')
