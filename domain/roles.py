"""Roles and permissions, declared once as a table, and the store scope of a principal.

The dispatch-module matrix comes from its specification, where its "manager" is the operations
manager (and a store manager within their stores):

| action           | dispatcher                       | manager | billing clerk |
|------------------|----------------------------------|---------|---------------|
| create / edit    | yes                              | yes     | no            |
| view             | yes                              | yes     | yes           |
| add invoice      | yes                              | yes     | yes           |
| delete           | only a draft or pending one they created | yes | no        |
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from domain.errors import PermissionDenied


class Role(enum.StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    OPERATIONS_MANAGER = "operations_manager"
    STORE_MANAGER = "store_manager"
    TECHNICIAN = "technician"
    BILLING_CLERK = "billing_clerk"
    CUSTOMER_SERVICE = "customer_service"
    FLEET_MANAGER = "fleet_manager"
    EMERGENCY_COORDINATOR = "emergency_coordinator"


class Permission(enum.StrEnum):
    # dispatch module
    DISPATCH_VIEW = "dispatch:view"
    DISPATCH_CREATE = "dispatch:create"
    DISPATCH_EDIT = "dispatch:edit"
    DISPATCH_DELETE = "dispatch:delete"
    DISPATCH_DELETE_OWN_DRAFT = "dispatch:delete_own_draft"
    DISPATCH_ADD_INVOICE = "dispatch:add_invoice"
    DISPATCH_REMOVE_INVOICE = "dispatch:remove_invoice"
    DISPATCH_CHANGE_STATUS = "dispatch:change_status"
    # billing records
    BILLING_VIEW = "billing:view"
    BILLING_MANAGE = "billing:manage"
    # work orders and assignments
    WORK_ORDER_VIEW = "work_order:view"
    WORK_ORDER_CREATE = "work_order:create"
    WORK_ORDER_EDIT = "work_order:edit"
    WORK_ORDER_CANCEL = "work_order:cancel"
    WORK_ORDER_COMMENT = "work_order:comment"
    WORK_ORDER_ASSIGN = "work_order:assign"
    WORK_ORDER_WORK = "work_order:work"  # accept, decline, en route, on site, done: own jobs
    EMERGENCY_CREATE = "emergency:create"
    EMERGENCY_BULK = "emergency:bulk"
    # planning
    PROPOSAL_VIEW = "proposal:view"
    PROPOSAL_REQUEST = "proposal:request"
    PROPOSAL_DECIDE = "proposal:decide"
    # resources
    RESOURCE_VIEW = "resource:view"
    RESOURCE_ADMIN = "resource:admin"
    UNIT_MANAGE = "unit:manage"
    CUSTOMER_MANAGE = "customer:manage"
    #: what the customer is told: a job's tracking link and the notifications sent
    CUSTOMER_CONTACT = "customer:contact"
    TECHNICIAN_STATUS = "technician:status"
    # board and alerts
    BOARD_VIEW = "board:view"
    ALERT_VIEW = "alert:view"
    ALERT_ACK = "alert:ack"
    ALERT_SYSTEM = "alert:system"  # system (integration) alerts: admins
    #: the alert catalogue: each kind's numbers, severity and template, and the weekly figures
    ALERT_RULE_MANAGE = "alert_rule:manage"
    # administration
    AUDIT_VIEW = "audit:view"
    USER_ADMIN = "user:admin"
    ROLE_DELEGATE = "role:delegate"
    REPORT_VIEW = "report:view"
    #: outbound webhooks to partners: the deliveries (dead letters) and their replay; admins
    WEBHOOK_VIEW = "webhook:view"
    WEBHOOK_REPLAY = "webhook:replay"
    #: the on-call rota: who the escalations reach (those who dispatch read it; admins edit it)
    ONCALL_VIEW = "oncall:view"
    ONCALL_MANAGE = "oncall:manage"


P = Permission
_BOARD = frozenset({P.BOARD_VIEW, P.RESOURCE_VIEW, P.WORK_ORDER_VIEW, P.ALERT_VIEW})
_ONCALL = frozenset({P.ONCALL_VIEW})
_DISPATCH_MANAGE = frozenset(
    {P.DISPATCH_VIEW, P.DISPATCH_CREATE, P.DISPATCH_EDIT, P.DISPATCH_ADD_INVOICE,
     P.DISPATCH_REMOVE_INVOICE, P.DISPATCH_CHANGE_STATUS, P.BILLING_VIEW}
)
_PLANNING = frozenset({P.PROPOSAL_VIEW, P.PROPOSAL_REQUEST, P.PROPOSAL_DECIDE})
_WORK_ORDERS = frozenset(
    {P.WORK_ORDER_CREATE, P.WORK_ORDER_EDIT, P.WORK_ORDER_CANCEL, P.WORK_ORDER_COMMENT,
     P.WORK_ORDER_ASSIGN, P.ALERT_ACK, P.TECHNICIAN_STATUS}
)

#: The one table of who may do what. Scope (which stores) is applied on top of it.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.DISPATCHER: _BOARD | _DISPATCH_MANAGE | _PLANNING | _WORK_ORDERS
    | _ONCALL | {P.DISPATCH_DELETE_OWN_DRAFT, P.EMERGENCY_CREATE, P.CUSTOMER_CONTACT},
    Role.OPERATIONS_MANAGER: _BOARD | _DISPATCH_MANAGE | _PLANNING | _WORK_ORDERS
    | _ONCALL | {P.DISPATCH_DELETE, P.EMERGENCY_CREATE, P.AUDIT_VIEW, P.REPORT_VIEW,
                 P.ROLE_DELEGATE},
    Role.STORE_MANAGER: _BOARD | _DISPATCH_MANAGE | _ONCALL
    | {P.DISPATCH_DELETE, P.PROPOSAL_VIEW, P.WORK_ORDER_CREATE, P.WORK_ORDER_COMMENT, P.ALERT_ACK,
       P.REPORT_VIEW, P.ROLE_DELEGATE},
    Role.TECHNICIAN: frozenset({P.WORK_ORDER_VIEW, P.WORK_ORDER_WORK, P.WORK_ORDER_COMMENT,
                                P.TECHNICIAN_STATUS}),
    Role.BILLING_CLERK: frozenset({P.DISPATCH_VIEW, P.DISPATCH_ADD_INVOICE, P.BILLING_VIEW,
                                   P.BILLING_MANAGE, P.RESOURCE_VIEW, P.REPORT_VIEW}),
    # customer service books, edits, reschedules and cancels (with a reason) the jobs of the
    # customers who call; they do not assign
    Role.CUSTOMER_SERVICE: _BOARD | {P.WORK_ORDER_CREATE, P.WORK_ORDER_EDIT,
                                     P.WORK_ORDER_CANCEL, P.WORK_ORDER_COMMENT,
                                     P.CUSTOMER_MANAGE, P.CUSTOMER_CONTACT, P.DISPATCH_VIEW},
    Role.FLEET_MANAGER: _BOARD | {P.UNIT_MANAGE, P.DISPATCH_VIEW, P.REPORT_VIEW},
    Role.EMERGENCY_COORDINATOR: _BOARD | _PLANNING | _WORK_ORDERS | _ONCALL
    | {P.EMERGENCY_CREATE, P.EMERGENCY_BULK, P.DISPATCH_VIEW},
}

#: Roles whose holders always act within a set of stores.
STORE_SCOPED_ROLES = frozenset({Role.STORE_MANAGER})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: the user, their roles and the stores they may see (None = every store)."""

    user_id: str
    username: str
    roles: frozenset[Role]
    store_ids: frozenset[str] | None = None
    technician_id: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        out: frozenset[Permission] = frozenset()
        for role in self.roles:
            out |= ROLE_PERMISSIONS[role]
        return out

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(f"{self.username} may not {permission.value}",
                                   permission=permission.value)

    @property
    def is_store_scoped(self) -> bool:
        return self.store_ids is not None

    def sees_store(self, store_id: str | None) -> bool:
        if self.store_ids is None:
            return True
        return store_id is not None and store_id in self.store_ids

    @property
    def is_technician_only(self) -> bool:
        """A technician (with no other role) sees only their own work."""
        return self.roles == frozenset({Role.TECHNICIAN})


def may_see_proposal(principal: Principal, store_ids: frozenset[str]) -> bool:
    """A proposal is shown to those with the proposal view, and to a store-scoped user only when
    every job it touches is in their stores (``store_ids``: the stores of those jobs)."""
    if not principal.can(Permission.PROPOSAL_VIEW):
        return False
    return principal.store_ids is None or store_ids <= principal.store_ids


def can_delete_dispatch(principal: Principal, *, created_by: str, display_status: str,
                        status: str) -> bool:
    """Managers may delete any dispatch; a dispatcher only a draft or pending one they created."""
    if principal.can(Permission.DISPATCH_DELETE):
        return True
    if principal.can(Permission.DISPATCH_DELETE_OWN_DRAFT):
        own = created_by == principal.user_id
        return own and (status == "draft" or display_status == "pending")
    return False


@dataclass(frozen=True, slots=True)
class Delegation:
    """A role lent by one user to another for a time window; it lapses by itself."""

    id: str
    from_user_id: str
    to_user_id: str
    role: Role
    starts_at: dt.datetime
    ends_at: dt.datetime


def scope_for(roles: frozenset[Role], store_ids: frozenset[str]) -> frozenset[str] | None:
    """A user's store scope: their stores if they hold any or have a store-scoped role."""
    if store_ids or roles & STORE_SCOPED_ROLES:
        return store_ids
    return None
