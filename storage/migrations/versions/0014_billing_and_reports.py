"""billing and reports: payments, when an invoice was processed, the job's channel and first
assignment, declined assignments, and the indexes the reports read

Invoices processed before this revision are counted on the day they were created; jobs that came
through the partner intake get the ``partner`` channel (``webhook`` when a signed webhook brought
them), emergencies ``emergency``, the rest ``phone``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processed_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('processed_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('service_line', sa.String(length=32),
                                      server_default='general', nullable=False))
        batch_op.create_index('ix_invoices_processed_at', ['processed_at'], unique=False)
        batch_op.create_index('ix_invoices_store_processed_at', ['store_id', 'processed_at'],
                              unique=False)
    op.execute("UPDATE invoices SET processed_at = created_at WHERE processed")

    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='phone',
                                      nullable=False))
        batch_op.add_column(sa.Column('assigned_at', UTC, nullable=True))
        batch_op.create_index('ix_work_orders_store_created', ['store_id', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_work_orders_technician_finished',
                              ['technician_id', 'finished_at'], unique=False)
    op.execute("UPDATE work_orders SET channel = 'emergency' WHERE priority = 'emergency'")
    op.execute(
        "UPDATE work_orders SET channel = CASE WHEN EXISTS (SELECT 1 FROM intake_orders i "
        "WHERE i.work_order_id = work_orders.id AND i.webhook_id IS NOT NULL) "
        "THEN 'webhook' ELSE 'partner' END "
        "WHERE id IN (SELECT work_order_id FROM intake_orders)"
    )

    op.create_table(
        'payments',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('invoice_id', sa.String(length=36), nullable=False),
        sa.Column('store_id', sa.String(length=36), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('reference', sa.String(length=128), server_default='', nullable=False),
        sa.Column('received_at', UTC, nullable=False),
        sa.Column('recorded_by', sa.String(length=36), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'],
                                name=op.f('fk_payments_invoice_id_invoices')),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_payments_store_id_stores')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    )
    op.create_index('ix_payments_invoice_id', 'payments', ['invoice_id'], unique=False)
    op.create_index('ix_payments_store_id', 'payments', ['store_id'], unique=False)

    op.create_table(
        'assignment_declines',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('work_order_id', sa.String(length=36), nullable=False),
        sa.Column('technician_id', sa.String(length=36), nullable=False),
        sa.Column('store_id', sa.String(length=36), nullable=False),
        sa.Column('declined_at', UTC, nullable=False),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_declines')),
    )
    op.create_index('ix_assignment_declines_work_order_id', 'assignment_declines',
                    ['work_order_id'], unique=False)
    op.create_index('ix_assignment_declines_technician_at', 'assignment_declines',
                    ['technician_id', 'declined_at'], unique=False)
    op.create_index('ix_assignment_declines_at', 'assignment_declines', ['declined_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('assignment_declines')
    op.drop_table('payments')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_work_orders_technician_finished')
        batch_op.drop_index('ix_work_orders_store_created')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('channel')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_store_processed_at')
        batch_op.drop_index('ix_invoices_processed_at')
        batch_op.drop_column('service_line')
        batch_op.drop_column('processed_by')
        batch_op.drop_column('processed_at')
