"""Use cases for resources (stores, technicians, units, customers), billing records (trip tickets,
sales orders; invoices and payments are in ``billing.py``) and delegation.

Each opens the unit of work, checks permission and store scope, applies the change, records an
audit row (before and after) and commits. Another store's resource is "not found", so its
existence does not leak.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from domain.aggregate import new_id
from domain.dispatch import SalesOrder, SalesOrderStatus, TripTicket
from domain.errors import NotFound, PermissionDenied, RuleViolation
from domain.geo import ensure_aware
from domain.notifications import ConsentHistory, ConsentSource
from domain.ports import Repository, UnitOfWork
from domain.resources import Customer, Store, Technician, Unit
from domain.roles import Delegation, Permission, Role
from domain.services.context import Context, check_version
from domain.services.notifications import apply_consent

P = Permission
#: Who may create, change and deactivate each kind of resource (any one of the permissions).
MANAGE: dict[str, frozenset[Permission]] = {
    "store": frozenset({P.RESOURCE_ADMIN}),
    "technician": frozenset({P.RESOURCE_ADMIN}),
    "unit": frozenset({P.RESOURCE_ADMIN, P.UNIT_MANAGE}),
    "customer": frozenset({P.RESOURCE_ADMIN, P.CUSTOMER_MANAGE}),
}
#: The flag that deactivation clears (deactivation is soft).
ACTIVE_FLAG = {"store": "active", "technician": "active", "unit": "in_service",
               "customer": "active"}
MAX_DELEGATION = dt.timedelta(days=30)
BACKDATE_TOLERANCE = dt.timedelta(minutes=5)

Resource = Store | Technician | Unit | Customer


def _require_any(ctx: Context, kind: str) -> None:
    allowed = MANAGE[kind]
    if not any(ctx.principal.can(p) for p in allowed):
        raise PermissionDenied(f"{ctx.principal.username} may not manage {kind}s",
                               permission=sorted(p.value for p in allowed)[0])


def _repo(uow: UnitOfWork, kind: str) -> Repository[Any]:
    repos: dict[str, Repository[Any]] = {"store": uow.stores, "technician": uow.technicians,
                                         "unit": uow.units, "customer": uow.customers}
    return repos[kind]


def _store_of(item: Resource) -> str | None:
    return item.id if isinstance(item, Store) else item.home_store_id


async def _load(uow: UnitOfWork, ctx: Context, kind: str, resource_id: str) -> Resource:
    item: Resource | None = await _repo(uow, kind).get(resource_id)
    if item is None or not ctx.principal.sees_store(_store_of(item)):
        raise NotFound(kind, resource_id)
    return item


async def _check_store(uow: UnitOfWork, ctx: Context, store_id: str | None, field: str) -> None:
    if store_id is None:
        return
    store = await uow.stores.get(store_id)
    if store is None or not ctx.principal.sees_store(store.id):
        raise RuleViolation(f"store {store_id} does not exist", field=field,
                            code="invalid_store")
    if not store.active:
        raise RuleViolation(f"store {store.code} is deactivated", field=field,
                            code="invalid_store")


async def _check_refs(uow: UnitOfWork, ctx: Context, fields: dict[str, Any]) -> None:
    """References a create or update names must exist within the caller's stores."""
    if "home_store_id" in fields:
        await _check_store(uow, ctx, fields["home_store_id"], "home_store_id")
    if fields.get("unit_id") is not None:
        unit = await uow.units.get(fields["unit_id"])
        if unit is None or not ctx.principal.sees_store(unit.home_store_id):
            raise RuleViolation(f"unit {fields['unit_id']} does not exist", field="unit_id",
                                code="invalid_unit")


async def create_resource(uow: UnitOfWork, ctx: Context, kind: str,
                          fields: dict[str, Any]) -> dict[str, Any]:
    """Create a store, technician, unit or customer from already-typed ``fields``."""
    _require_any(ctx, kind)
    if kind == "store" and ctx.principal.is_store_scoped:
        raise PermissionDenied("a store-scoped user may not create stores")
    async with uow:
        await _check_refs(uow, ctx, fields)
        if kind == "customer" and fields.get("home_store_id") is None and \
                ctx.principal.is_store_scoped:
            raise RuleViolation("give the customer's home_store_id (one of your stores)",
                                field="home_store_id")
        builders: dict[str, type[Resource]] = {"store": Store, "technician": Technician,
                                               "unit": Unit, "customer": Customer}
        item = builders[kind](**fields)
        _repo(uow, kind).add(item)
        after = item.snapshot()
        uow.audit(action=f"{kind}.create", entity_type=kind, entity_id=item.id, before=None,
                  after=after)
        await uow.commit()
        return item.snapshot()


async def update_resource(uow: UnitOfWork, ctx: Context, kind: str, resource_id: str,
                          changes: dict[str, Any], expected_version: int | None = None, *,
                          consents: ConsentHistory | None = None) -> dict[str, Any]:
    """A customer's ``sms_opt_in`` is consent: a change of it goes into the consent history
    (``consents``, in the same unit of work: who changed it, when, source ``customer_update``)
    after the other changes (a new phone number first); without ``consents`` it is refused."""
    _require_any(ctx, kind)
    changes = dict(changes)
    opt_in = changes.pop("sms_opt_in", None) if kind == "customer" else None
    async with uow:
        item = await _load(uow, ctx, kind, resource_id)
        before = item.snapshot()
        check_version(kind, resource_id, item.version, expected_version, before)
        await _check_refs(uow, ctx, changes)
        if changes:
            item.update(**changes)
            uow.audit(action=f"{kind}.update", entity_type=kind, entity_id=item.id,
                      before=before, after=item.snapshot())
        if isinstance(item, Customer) and opt_in is not None and opt_in != item.sms_opt_in:
            if consents is None:
                raise RuleViolation("record the customer's consent to texts with POST "
                                    f"/api/customers/{item.id}/consents", field="sms_opt_in")
            await apply_consent(uow, ctx, consents, item, granted=opt_in,
                                source=ConsentSource.CUSTOMER_UPDATE,
                                note="changed on the customer's record")
        await uow.commit()
        return item.snapshot()


async def deactivate_resource(uow: UnitOfWork, ctx: Context, kind: str,
                              resource_id: str) -> dict[str, Any]:
    """Soft: the row stays (history refers to it); it stops being offered for new work."""
    _require_any(ctx, kind)
    async with uow:
        item = await _load(uow, ctx, kind, resource_id)
        flag = ACTIVE_FLAG[kind]
        if not getattr(item, flag):
            return item.snapshot()
        before = item.snapshot()
        item.update(**{flag: False})
        after = item.snapshot()
        uow.audit(action=f"{kind}.deactivate", entity_type=kind, entity_id=item.id,
                  before=before, after=after)
        await uow.commit()
        return after


# --- billing records ------------------------------------------------------------------------


def _number(prefix: str, id: str) -> str:
    return f"{prefix}-{id[:8].upper()}"


async def create_trip_ticket(
    uow: UnitOfWork, ctx: Context, *, store_id: str, number: str | None = None,
    description: str = "", work_order_id: str | None = None, customer_id: str | None = None,
) -> dict[str, Any]:
    ctx.principal.require(P.DISPATCH_CREATE)
    async with uow:
        await _check_store(uow, ctx, store_id, "store_id")
        if work_order_id is not None:
            order = await uow.work_orders.get(work_order_id)
            if order is None or order.store_id != store_id:
                raise RuleViolation(f"work order {work_order_id} does not exist in that store",
                                    field="work_order_id", code="invalid_work_order")
        if customer_id is not None:
            await customer_in_scope(uow, ctx, customer_id)
        ticket_id = new_id()
        ticket = TripTicket(id=ticket_id, number=number or _number("TT", ticket_id),
                            store_id=store_id, created_at=ctx.now, description=description,
                            work_order_id=work_order_id, customer_id=customer_id)
        uow.trip_tickets.add(ticket)
        uow.audit(action="trip_ticket.create", entity_type="trip_ticket", entity_id=ticket.id,
                  before=None, after=ticket.snapshot())
        await uow.commit()
        return ticket.snapshot()


async def customer_in_scope(uow: UnitOfWork, ctx: Context, customer_id: str) -> Customer:
    """An active customer the caller may refer to; a store-scoped caller only their stores' (any
    other is answered as not existing, so its existence does not leak)."""
    customer = await uow.customers.get(customer_id)
    if customer is None or not customer.active or (
            ctx.principal.is_store_scoped and not ctx.principal.sees_store(customer.home_store_id)):
        raise RuleViolation(f"customer {customer_id} does not exist", field="customer_id",
                            code="invalid_customer")
    return customer


async def create_sales_order(
    uow: UnitOfWork, ctx: Context, *, store_id: str, customer_id: str,
    number: str | None = None, total_cents: int = 0,
) -> dict[str, Any]:
    ctx.principal.require(P.BILLING_MANAGE)
    async with uow:
        await _check_store(uow, ctx, store_id, "store_id")
        await customer_in_scope(uow, ctx, customer_id)
        order_id = new_id()
        order = SalesOrder(id=order_id, number=number or _number("SO", order_id),
                           customer_id=customer_id, store_id=store_id, created_at=ctx.now,
                           total_cents=total_cents)
        uow.sales_orders.add(order)
        uow.audit(action="sales_order.create", entity_type="sales_order", entity_id=order.id,
                  before=None, after=order.snapshot())
        await uow.commit()
        return order.snapshot()


async def cancel_sales_order(uow: UnitOfWork, ctx: Context, *, sales_order_id: str) -> None:
    """Cancelling is the sales order's soft delete: it can no longer be invoiced."""
    ctx.principal.require(P.BILLING_MANAGE)
    async with uow:
        order = await uow.sales_orders.get(sales_order_id)
        if order is None or not ctx.principal.sees_store(order.store_id):
            raise NotFound("sales order", sales_order_id)
        if order.status == SalesOrderStatus.CANCELLED:
            return
        before = order.snapshot()
        order.status = SalesOrderStatus.CANCELLED
        order.touch()
        uow.audit(action="sales_order.cancel", entity_type="sales_order", entity_id=order.id,
                  before=before, after=order.snapshot())
        await uow.commit()


# --- role delegation -------------------------------------------------------------------------


class DelegationStore(Protocol):
    """Where delegations live; it writes within the same unit of work as the audit row."""

    async def add(self, delegation: Delegation, *, created_at: dt.datetime) -> None: ...

    async def get(self, delegation_id: str) -> Delegation | None: ...

    async def end(self, delegation_id: str, *, at: dt.datetime) -> None: ...


def delegation_snapshot(d: Delegation) -> dict[str, Any]:
    return {"id": d.id, "from_user_id": d.from_user_id, "to_user_id": d.to_user_id,
            "role": d.role.value, "starts_at": d.starts_at.isoformat(),
            "ends_at": d.ends_at.isoformat()}


async def delegate_role(
    uow: UnitOfWork, ctx: Context, store: DelegationStore, *, to_username: str, role: Role,
    ends_at: dt.datetime, starts_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Lend a role one holds to another user for at most 30 days; it lapses by itself."""
    p = ctx.principal
    p.require(P.ROLE_DELEGATE)
    starts = ensure_aware(starts_at, "starts_at") if starts_at is not None else ctx.now
    ends = ensure_aware(ends_at, "ends_at")
    if starts < ctx.now - BACKDATE_TOLERANCE:
        raise RuleViolation("a delegation cannot start in the past", field="starts_at")
    if ends <= max(starts, ctx.now):
        raise RuleViolation("a delegation must end in the future, after it starts",
                            field="ends_at")
    if ends - starts > MAX_DELEGATION:
        raise RuleViolation("a delegation lasts at most 30 days", field="ends_at")
    async with uow:
        me = await uow.users.get(p.user_id)
        if me is None or role not in me.roles:
            raise PermissionDenied(f"you may delegate only a role you hold, not {role.value}",
                                   permission=P.ROLE_DELEGATE.value)
        target = await uow.users.by_username(to_username.strip().lower())
        if target is None or not target.active:
            raise RuleViolation(f"user {to_username} does not exist", field="to_username",
                                code="invalid_user")
        if target.id == me.id:
            raise RuleViolation("you cannot delegate a role to yourself", field="to_username")
        if p.store_ids is not None and not (target.store_ids and target.store_ids <= p.store_ids):
            raise RuleViolation("you may delegate only to users of your own stores",
                                field="to_username")
        delegation = Delegation(id=new_id(), from_user_id=me.id, to_user_id=target.id,
                                role=role, starts_at=starts, ends_at=ends)
        await store.add(delegation, created_at=ctx.now)
        after = delegation_snapshot(delegation)
        uow.audit(action="delegation.create", entity_type="delegation", entity_id=delegation.id,
                  before=None, after=after)
        await uow.commit()
        return after


async def revoke_delegation(uow: UnitOfWork, ctx: Context, store: DelegationStore, *,
                            delegation_id: str) -> None:
    """The giver, the receiver or an administrator ends a delegation now (kept for history)."""
    p = ctx.principal
    async with uow:
        found = await store.get(delegation_id)
        involved = found is not None and p.user_id in {found.from_user_id, found.to_user_id}
        if found is None or not (involved or p.can(P.USER_ADMIN)):
            raise NotFound("delegation", delegation_id)
        if found.ends_at <= ctx.now:
            return
        end = max(ctx.now, found.starts_at)
        await store.end(found.id, at=end)
        uow.audit(action="delegation.revoke", entity_type="delegation", entity_id=found.id,
                  before=delegation_snapshot(found),
                  after={**delegation_snapshot(found), "ends_at": end.isoformat()})
        await uow.commit()
