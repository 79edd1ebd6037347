"""comment visibility: every stored work-order comment says who may read it

Each comment (in ``work_orders.comments``) gets ``visibility``: the ones written before it
existed are ``internal`` (the company's people only); ``customer`` ones are shown on the
customer's tracking page.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

work_orders = sa.table(
    'work_orders',
    sa.column('id', sa.String(36)),
    sa.column('comments', storage.types.JSONType),
)


def _rewrite(change: Any) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(work_orders.c.id, work_orders.c.comments)).all()
    for id, comments in rows:
        new = [change(dict(c)) for c in comments or []]
        if new != list(comments or []):
            bind.execute(work_orders.update().where(work_orders.c.id == id)
                         .values(comments=new))


def _internal(comment: dict[str, Any]) -> dict[str, Any]:
    comment.setdefault('visibility', 'internal')
    return comment


def _plain(comment: dict[str, Any]) -> dict[str, Any]:
    comment.pop('visibility', None)
    return comment


def upgrade() -> None:
    _rewrite(_internal)


def downgrade() -> None:
    _rewrite(_plain)
