"""report indexes: a year of jobs read from indexes alone, and a job's follow-ups found at once

On PostgreSQL the index on ``work_orders.created_at`` also carries what the SLA and volume
reports read of a job, and a new one on ``finished_at`` what the technician report reads, so a
year of jobs is counted from the index (an index-only scan) instead of the table's wide rows.
SQLite has no included columns: there they are plain indexes. ``ix_work_orders_follow_up_of``
(partial: only follow-ups) answers "did this job get a follow-up?" without reading the table.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BOOKED = ['store_id', 'status', 'channel', 'priority', 'assigned_at', 'on_site_at', 'window_end']
FINISHED = ['id', 'technician_id', 'store_id', 'status', 'follow_up_of', 'en_route_at',
            'on_site_at', 'window_end']
FOLLOW_UPS = sa.text('follow_up_of IS NOT NULL')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_work_orders_created_at', table_name='work_orders')
        op.create_index('ix_work_orders_created_at', 'work_orders', ['created_at'], unique=False,
                        postgresql_include=BOOKED)
    op.create_index('ix_work_orders_finished_at', 'work_orders', ['finished_at'], unique=False,
                    postgresql_include=FINISHED)
    op.create_index('ix_work_orders_follow_up_of', 'work_orders', ['follow_up_of'], unique=False,
                    sqlite_where=FOLLOW_UPS, postgresql_where=FOLLOW_UPS)


def downgrade() -> None:
    op.drop_index('ix_work_orders_follow_up_of', table_name='work_orders')
    op.drop_index('ix_work_orders_finished_at', table_name='work_orders')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_work_orders_created_at', table_name='work_orders')
        op.create_index('ix_work_orders_created_at', 'work_orders', ['created_at'], unique=False)
