"""Use cases for resources: stores, technicians, units and customers.

Each opens the unit of work, checks permission and store scope, applies the change, records an
audit row (before and after) and commits. Another store's resource is "not found", so its
existence does not leak.
"""

from __future__ import annotations

from typing import Any

from domain.errors import NotFound, PermissionDenied, RuleViolation
from domain.notifications import ConsentSource
from domain.ports import ConsentHistory, Repository, UnitOfWork
from domain.resources import Customer, Resource, Store, Technician, Unit
from domain.roles import Permission
from domain.services.context import Context, add_audited, audited_change, check_version
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
    if isinstance(item, Technician | Unit | Customer):
        return item.home_store_id
    return item.id  # a store is its own


async def _load(uow: UnitOfWork, ctx: Context, kind: str, resource_id: str) -> Resource:
    item: Resource | None = await _repo(uow, kind).get(resource_id)
    if item is None or not ctx.principal.sees_store(_store_of(item)):
        raise NotFound(kind, resource_id)
    return item


async def check_store(uow: UnitOfWork, ctx: Context, store_id: str | None, field: str) -> None:
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
        await check_store(uow, ctx, fields["home_store_id"], "home_store_id")
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
        item.record_created()
        return await add_audited(uow, _repo(uow, kind), item, entity_type=kind)


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
        if getattr(item, flag):
            async with audited_change(uow, item, entity_type=kind, action=f"{kind}.deactivate"):
                item.update(**{flag: False})
        return item.snapshot()


async def customer_in_scope(uow: UnitOfWork, ctx: Context, customer_id: str) -> Customer:
    """An active customer the caller may refer to; a store-scoped caller only their stores' (any
    other is answered as not existing, so its existence does not leak)."""
    customer = await uow.customers.get(customer_id)
    if customer is None or not customer.active or (
            ctx.principal.is_store_scoped and not ctx.principal.sees_store(customer.home_store_id)):
        raise RuleViolation(f"customer {customer_id} does not exist", field="customer_id",
                            code="invalid_customer")
    return customer
