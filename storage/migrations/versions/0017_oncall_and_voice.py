"""on-call and voice: the on-call rota and its overrides, people's alert contact settings (e-mail,
quiet hours), and what alert deliveries now keep: the person reached, the short code of a text,
a call's token, the claim of a sending worker, the key or reply that came back, the group; one
delivery per alert, level, channel and recipient (a unique index)

Deliveries made before this revision keep null in the new columns; a recipient may now be an
e-mail address or a webhook's name (255 characters).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ID = sa.String(length=36)


def upgrade() -> None:
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.alter_column('recipient', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=False)
        batch_op.add_column(sa.Column('user_id', ID, nullable=True))
        batch_op.add_column(sa.Column('ack_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('call_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('response', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('responded_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('group_id', ID, nullable=True))
        batch_op.create_index('ix_alert_notifications_status_next_attempt_at',
                              ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_alert_notifications_recipient_channel',
                              ['recipient', 'channel'], unique=False)
        batch_op.create_index('uq_alert_notifications_call_token', ['call_token'], unique=True)
        batch_op.create_index('uq_alert_notifications_delivery',
                              ['alert_id', 'level', 'channel', 'recipient'], unique=True)

    op.create_table(
        'oncall_shifts',
        sa.Column('id', ID, nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('weekdays', JSON, nullable=False),
        sa.Column('starts', sa.String(length=5), nullable=False),
        sa.Column('ends', sa.String(length=5), nullable=False),
        sa.Column('store_ids', JSON, nullable=False),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('created_by', ID, nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_oncall_shifts_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_shifts')),
    )
    op.create_index('ix_oncall_shifts_user_id', 'oncall_shifts', ['user_id'], unique=False)

    op.create_table(
        'oncall_overrides',
        sa.Column('id', ID, nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('replaces_user_id', ID, nullable=True),
        sa.Column('starts_at', UTC, nullable=False),
        sa.Column('ends_at', UTC, nullable=False),
        sa.Column('store_ids', JSON, nullable=False),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('created_by', ID, nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_oncall_overrides_user_id_users')),
        sa.ForeignKeyConstraint(['replaces_user_id'], ['users.id'],
                                name=op.f('fk_oncall_overrides_replaces_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_overrides')),
    )
    op.create_index('ix_oncall_overrides_ends_at', 'oncall_overrides', ['ends_at'], unique=False)

    op.create_table(
        'alert_contacts',
        sa.Column('user_id', ID, nullable=False),
        sa.Column('email', sa.String(length=254), server_default='', nullable=False),
        sa.Column('quiet_starts', sa.String(length=5), nullable=True),
        sa.Column('quiet_ends', sa.String(length=5), nullable=True),
        sa.Column('timezone', sa.String(length=64), server_default='', nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_alert_contacts_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_alert_contacts')),
    )


def downgrade() -> None:
    op.drop_table('alert_contacts')
    op.drop_index('ix_oncall_overrides_ends_at', table_name='oncall_overrides')
    op.drop_table('oncall_overrides')
    op.drop_index('ix_oncall_shifts_user_id', table_name='oncall_shifts')
    op.drop_table('oncall_shifts')
    with op.batch_alter_table('alert_notifications', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_notifications_delivery')
        batch_op.drop_index('uq_alert_notifications_call_token')
        batch_op.drop_index('ix_alert_notifications_recipient_channel')
        batch_op.drop_index('ix_alert_notifications_status_next_attempt_at')
        for name in ('group_id', 'responded_at', 'response', 'claimed_at', 'call_token',
                     'ack_code', 'user_id'):
            batch_op.drop_column(name)
        batch_op.alter_column('recipient', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=False)
