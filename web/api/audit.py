"""The audit trail: who changed what, before and after, when, under which request."""

from __future__ import annotations

from typing import Any

from domain.roles import Permission
from storage.engine import read_connection
from storage.queries.audit import list_audit
from web.api.audit_schemas import AuditPage, AuditQuery
from web.api.framework import Api, Call, Empty
from web.api.schemas import page

api = Api()
TAG = "audit"


@api.route("GET", "/api/audit", summary="The audit trail, newest first", tag=TAG,
           query=AuditQuery, response=AuditPage, errors=(403, 422),
           permissions=(Permission.AUDIT_VIEW,))
async def list_audit_entries(call: Call[Empty, AuditQuery]) -> dict[str, Any]:
    """For administrators and operations managers. Entries carry no store, so a store-scoped
    holder of the permission (by delegation) sees only the entries of their own actions."""
    p = call.principal
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await list_audit(
            conn, actor=q.actor, actor_id=p.user_id if p.is_store_scoped else None,
            action=q.action, entity_type=q.entity_type, entity_id=q.entity_id,
            date_from=q.date_from, date_to=q.date_to, limit=q.limit, offset=q.offset)
    return page(items, total, q)
