"""Role delegation: lend a role one holds to another user for a window of at most 30 days.

The receiver gets the role at their next login while the window is open; a token never carries a
delegated role past the window's end. Creating and revoking are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.errors import NotFound
from domain.roles import Permission
from domain.services import delegations as uc
from storage.engine import read_connection
from storage.queries.audit import SqlDelegationStore, delegation_detail, list_delegations
from web.api.delegation_schemas import DelegationIn, DelegationPage, DelegationQuery, RoleDelegationOut
from web.api.framework import Api, Call, Empty, NoInput
from web.api.schemas import page

api = Api()
TAG = "auth"


def _shape(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {**row, "active": row["starts_at"] <= now < row["ends_at"]}


@api.route("POST", "/api/delegations", summary="Delegate a role for a time window", tag=TAG,
           body=DelegationIn, response=RoleDelegationOut, status=201, errors=(403, 422),
           idempotent=True, permissions=(Permission.ROLE_DELEGATE,))
async def create_delegation(call: Call[DelegationIn, Empty]) -> dict[str, Any]:
    """Only a role the caller holds (not one delegated to them); ``ends_at`` in the future and
    at most 30 days after ``starts_at`` (default: now). Audited."""
    b = call.body
    uow = call.uow()
    created = await uc.delegate_role(
        uow, call.context(), SqlDelegationStore(uow), to_username=b.to_username, role=b.role,
        starts_at=b.starts_at, ends_at=b.ends_at)
    async with read_connection(call.runtime.engine) as conn:
        row = await delegation_detail(conn, created["id"])
    if row is None:  # pragma: no cover - it was just committed
        raise NotFound("delegation", created["id"])
    return _shape(row, call.runtime.now())


@api.route("GET", "/api/delegations", summary="Delegations given or received", tag=TAG,
           query=DelegationQuery, response=DelegationPage, errors=(403,),
           permissions=(Permission.ROLE_DELEGATE, Permission.USER_ADMIN))
async def list_role_delegations(call: Call[Empty, DelegationQuery]) -> dict[str, Any]:
    """Administrators see every delegation; others those they gave or received."""
    p = call.principal
    q = call.query
    now = call.runtime.now()
    async with read_connection(call.runtime.engine) as conn:
        items, total = await list_delegations(
            conn, user_id=None if p.can(Permission.USER_ADMIN) else p.user_id,
            active_at=now if q.active else None, limit=q.limit, offset=q.offset)
    return page([_shape(r, now) for r in items], total, q)


@api.route("DELETE", "/api/delegations/{id}", summary="Revoke a delegation", tag=TAG,
           status=204, errors=(403, 404),
           permissions=(Permission.ROLE_DELEGATE, Permission.USER_ADMIN))
async def revoke_delegation(call: NoInput) -> None:
    """The giver, the receiver or an administrator ends it now; it stays listed. Audited.

    Tokens issued while it was in force lose the role at once in this process and within
    ``DELEGATION_REFRESH_SECONDS`` (default 5 s) in the others."""
    uow = call.uow()
    await uc.revoke_delegation(uow, call.context(), SqlDelegationStore(uow),
                               delegation_id=call.path_id("delegation"))
    await call.runtime.refresh_revocations()
