"""alert catalogue: an admin's overrides of each alert kind's trigger numbers, severity and
message template, and the index the weekly figure per kind reads

A kind nobody edited has no row and keeps the catalogue's defaults (``domain/alert_catalogue.py``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'alert_rules',
        sa.Column('kind', sa.String(length=48), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=True),
        sa.Column('severity', sa.String(length=16), nullable=True),
        sa.Column('settings', JSON, nullable=True),
        sa.Column('template', sa.Text(), nullable=True),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('updated_by', sa.String(length=36), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.PrimaryKeyConstraint('kind', name=op.f('pk_alert_rules')),
    )
    op.create_index('ix_alerts_kind_raised_at', 'alerts', ['kind', 'raised_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_alerts_kind_raised_at', table_name='alerts')
    op.drop_table('alert_rules')
