"""The audit trail: who changed what, before and after, when, under which request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from domain.roles import Permission
from storage.queries.audit import list_audit
from web.api.framework import Api, Call, Empty
from web.api.schemas import Page, PageQuery, page

api = Api()
TAG = "audit"


class AuditQuery(PageQuery):
    actor: str | None = Field(default=None, min_length=1, max_length=64,
                              description="the acting user's username")
    action: str | None = Field(default=None, min_length=1, max_length=64,
                               description="e.g. store.create, dispatch.edit")
    entity_type: str | None = Field(default=None, min_length=1, max_length=32)
    entity_id: str | None = Field(default=None, min_length=1, max_length=64)
    date_from: AwareDatetime | None = None
    date_to: AwareDatetime | None = None


class AuditEntryOut(BaseModel):
    id: str
    at: dt.datetime
    actor_id: str | None
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correlation_id: str | None


class AuditPage(Page[AuditEntryOut]):
    pass


@api.route("GET", "/api/audit", summary="The audit trail, newest first", tag=TAG,
           query=AuditQuery, response=AuditPage, errors=(403, 422),
           permissions=(Permission.AUDIT_VIEW,))
async def list_audit_entries(call: Call[Empty, AuditQuery]) -> dict[str, Any]:
    """For administrators and operations managers. Entries carry no store, so a store-scoped
    holder of the permission (by delegation) sees only the entries of their own actions."""
    p = call.principal
    q = call.query
    async with call.runtime.engine.connect() as conn:
        items, total = await list_audit(
            conn, actor=q.actor, actor_id=p.user_id if p.is_store_scoped else None,
            action=q.action, entity_type=q.entity_type, entity_id=q.entity_id,
            date_from=q.date_from, date_to=q.date_to, limit=q.limit, offset=q.offset)
    return page(items, total, q)
