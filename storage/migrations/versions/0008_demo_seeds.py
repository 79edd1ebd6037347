"""the demo's own record

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'demo_seeds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seeded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('alive_until', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('stores', sa.Integer(), nullable=False),
        sa.Column('technicians', sa.Integer(), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('demo_seeds')
