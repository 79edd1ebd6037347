"""work order progress times

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_COLUMNS = ('en_route_at', 'on_site_at', 'finished_at')


def upgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.add_column(sa.Column(name, storage.types.UTCDateTime(timezone=True),
                                          nullable=True))
    # Jobs already done: their last status change is when they finished.
    op.execute("UPDATE work_orders SET finished_at = status_changed_at "
               "WHERE status IN ('completed', 'failed')")


def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
