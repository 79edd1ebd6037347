"""Stores, technicians, units and customers: list and detail for those who may see resources;
create, change and deactivate (soft) for administrators, fleet managers (units) and customer
service (customers). Each endpoint is declared here as it is; the models are in
``resource_schemas.py``; the use cases in ``domain/services/resources.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.geo import Location
from domain.resources import OpeningHours, Shift
from domain.roles import Permission, Principal
from domain.services import resources as uc
from storage.engine import read_connection
from storage.notifications import SqlConsentHistory
from storage.queries.resources import list_resources, resource_detail
from web.api.framework import AnyCall, Api, Call, Empty, NoInput, detail_or_404
from web.api.resource_schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomerQuery,
    StoreIn,
    StoreOut,
    StorePage,
    StorePatch,
    StoreQuery,
    TechnicianIn,
    TechnicianOut,
    TechnicianPage,
    TechnicianPatch,
    TechnicianQuery,
    UnitIn,
    UnitOut,
    UnitPage,
    UnitPatch,
    UnitQuery,
)
from web.api.schemas import PageQuery, page

api = Api()
TAG = "resources"
VIEW = (Permission.RESOURCE_VIEW,)
LIST_ERRORS = (403,)
GET_ERRORS = (403, 404)
CREATE_ERRORS = (403, 409, 422)
CHANGE_ERRORS = (400, 403, 404, 409, 422)


def _manage(kind: str) -> tuple[Permission, ...]:
    return tuple(sorted(uc.MANAGE[kind]))


def _domain_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Request values as the domain's value objects (their own checks may still answer 422)."""
    out = dict(fields)
    if out.get("location") is not None:
        out["location"] = Location(out["location"]["lat"], out["location"]["lon"])
    if out.get("hours") is not None:
        out["hours"] = OpeningHours(dt.time.fromisoformat(out["hours"]["opens"]),
                                    dt.time.fromisoformat(out["hours"]["closes"]))
    if out.get("shift") is not None:
        out["shift"] = Shift(out["shift"]["start"], out["shift"]["end"])
    if out.get("skills") is not None:
        out["skills"] = frozenset(out["skills"])
    return out


async def _detail(call: AnyCall, kind: str, resource_id: str) -> dict[str, Any]:
    async def read(conn: AsyncConnection, principal: Principal, rid: str) -> dict[str, Any] | None:
        return await resource_detail(conn, principal, kind, rid)

    return await detail_or_404(call, kind.replace("_", " "), read, resource_id)


async def _list(call: Call[Empty, PageQuery], kind: str, search: str | None,
                **filters: object) -> dict[str, Any]:
    q = call.query
    async with read_connection(call.runtime.engine) as conn:
        items, total = await list_resources(conn, call.principal, kind, filters=filters, q=search,
                                            limit=q.limit, offset=q.offset)
    return page(items, total, q)


async def _create(call: AnyCall, kind: str) -> dict[str, Any]:
    created = await uc.create_resource(call.uow(), call.context(), kind,
                                       _domain_values(call.body.model_dump()))
    return await _detail(call, kind, created["id"])


async def _update(call: AnyCall, kind: str) -> dict[str, Any]:
    resource_id = call.path_id(kind)
    changes = _domain_values(call.body.model_dump(include=call.body.model_fields_set))
    uow = call.uow()
    # a customer's sms_opt_in goes into the consent history (who, when, customer_update)
    consents = SqlConsentHistory(uow) if kind == "customer" else None
    await uc.update_resource(uow, call.context(), kind, resource_id, changes,
                             expected_version=call.if_match(), consents=consents)
    return await _detail(call, kind, resource_id)


async def _deactivate(call: AnyCall, kind: str) -> None:
    await uc.deactivate_resource(call.uow(), call.context(), kind, call.path_id(kind))


# --- stores ----------------------------------------------------------------------------------


@api.route("GET", "/api/stores", summary="List stores", tag=TAG, query=StoreQuery,
           response=StorePage, errors=LIST_ERRORS, permissions=VIEW)
async def list_stores(call: Call[Empty, StoreQuery]) -> dict[str, Any]:
    """The stores the caller sees (all of them, or a store manager's own)."""
    q = call.query
    return await _list(call, "store", q.q, region=q.region, active=q.active)


@api.route("GET", "/api/stores/{id}", summary="A store", tag=TAG, response=StoreOut,
           errors=GET_ERRORS, permissions=VIEW)
async def get_store(call: NoInput) -> dict[str, Any]:
    """Another store's store answers 404."""
    return await _detail(call, "store", call.path_id("store"))


@api.route("POST", "/api/stores", summary="Create a store", tag=TAG, body=StoreIn,
           response=StoreOut, status=201, errors=CREATE_ERRORS, idempotent=True,
           permissions=_manage("store"))
async def create_store(call: Call[StoreIn, Empty]) -> dict[str, Any]:
    """Audited."""
    return await _create(call, "store")


@api.route("PATCH", "/api/stores/{id}", summary="Change a store", tag=TAG,
           body=StorePatch, response=StoreOut, errors=CHANGE_ERRORS, permissions=_manage("store"))
async def update_store(call: Call[StorePatch, Empty]) -> dict[str, Any]:
    """Send ``If-Match: "<version>"`` to refuse the change when someone changed it meanwhile.
    Audited."""
    return await _update(call, "store")


@api.route("DELETE", "/api/stores/{id}", summary="Deactivate a store (soft)", tag=TAG,
           status=204, errors=GET_ERRORS, permissions=_manage("store"))
async def deactivate_store(call: NoInput) -> None:
    """The record stays for history but is no longer active. Audited."""
    await _deactivate(call, "store")


# --- technicians -----------------------------------------------------------------------------


@api.route("GET", "/api/technicians", summary="List technicians", tag=TAG, query=TechnicianQuery,
           response=TechnicianPage, errors=LIST_ERRORS, permissions=VIEW)
async def list_technicians(call: Call[Empty, TechnicianQuery]) -> dict[str, Any]:
    """The technicians of the caller's stores."""
    q = call.query
    return await _list(call, "technician", q.q, home_store_id=q.store_id, active=q.active,
                       skill=q.skill, status=q.status.value if q.status else None)


@api.route("GET", "/api/technicians/{id}", summary="A technician", tag=TAG, response=TechnicianOut,
           errors=GET_ERRORS, permissions=VIEW)
async def get_technician(call: NoInput) -> dict[str, Any]:
    """Another store's technician answers 404."""
    return await _detail(call, "technician", call.path_id("technician"))


@api.route("POST", "/api/technicians", summary="Create a technician", tag=TAG, body=TechnicianIn,
           response=TechnicianOut, status=201, errors=CREATE_ERRORS, idempotent=True,
           permissions=_manage("technician"))
async def create_technician(call: Call[TechnicianIn, Empty]) -> dict[str, Any]:
    """Audited."""
    return await _create(call, "technician")


@api.route("PATCH", "/api/technicians/{id}", summary="Change a technician", tag=TAG,
           body=TechnicianPatch, response=TechnicianOut, errors=CHANGE_ERRORS,
           permissions=_manage("technician"))
async def update_technician(call: Call[TechnicianPatch, Empty]) -> dict[str, Any]:
    """Send ``If-Match: "<version>"`` to refuse the change when someone changed it meanwhile.
    Audited."""
    return await _update(call, "technician")


@api.route("DELETE", "/api/technicians/{id}", summary="Deactivate a technician (soft)", tag=TAG,
           status=204, errors=GET_ERRORS, permissions=_manage("technician"))
async def deactivate_technician(call: NoInput) -> None:
    """The record stays for history but is no longer active. Audited."""
    await _deactivate(call, "technician")


# --- units -----------------------------------------------------------------------------------


@api.route("GET", "/api/units", summary="List units", tag=TAG, query=UnitQuery,
           response=UnitPage, errors=LIST_ERRORS, permissions=VIEW)
async def list_units(call: Call[Empty, UnitQuery]) -> dict[str, Any]:
    """The units (vans) of the caller's stores; ``active`` is the same as ``in_service``."""
    q = call.query
    return await _list(call, "unit", q.q, home_store_id=q.store_id,
                       in_service=q.in_service if q.in_service is not None else q.active)


@api.route("GET", "/api/units/{id}", summary="A unit", tag=TAG, response=UnitOut,
           errors=GET_ERRORS, permissions=VIEW)
async def get_unit(call: NoInput) -> dict[str, Any]:
    """Another store's unit answers 404."""
    return await _detail(call, "unit", call.path_id("unit"))


@api.route("POST", "/api/units", summary="Create a unit", tag=TAG, body=UnitIn,
           response=UnitOut, status=201, errors=CREATE_ERRORS, idempotent=True,
           permissions=_manage("unit"))
async def create_unit(call: Call[UnitIn, Empty]) -> dict[str, Any]:
    """Audited."""
    return await _create(call, "unit")


@api.route("PATCH", "/api/units/{id}", summary="Change a unit", tag=TAG,
           body=UnitPatch, response=UnitOut, errors=CHANGE_ERRORS, permissions=_manage("unit"))
async def update_unit(call: Call[UnitPatch, Empty]) -> dict[str, Any]:
    """Send ``If-Match: "<version>"`` to refuse the change when someone changed it meanwhile.
    Audited."""
    return await _update(call, "unit")


@api.route("DELETE", "/api/units/{id}", summary="Deactivate a unit (soft)", tag=TAG,
           status=204, errors=GET_ERRORS, permissions=_manage("unit"))
async def deactivate_unit(call: NoInput) -> None:
    """The record stays for history but is no longer active. Audited."""
    await _deactivate(call, "unit")


# --- customers -------------------------------------------------------------------------------


@api.route("GET", "/api/customers", summary="List customers", tag=TAG, query=CustomerQuery,
           response=CustomerPage, errors=LIST_ERRORS, permissions=VIEW)
async def list_customers(call: Call[Empty, CustomerQuery]) -> dict[str, Any]:
    """The customers of the caller's stores; ``q`` finds one by name, e-mail, address, phone or
    order number."""
    q = call.query
    return await _list(call, "customer", q.q, home_store_id=q.store_id, active=q.active)


@api.route("GET", "/api/customers/{id}", summary="A customer", tag=TAG, response=CustomerOut,
           errors=GET_ERRORS, permissions=VIEW)
async def get_customer(call: NoInput) -> dict[str, Any]:
    """Another store's customer answers 404."""
    return await _detail(call, "customer", call.path_id("customer"))


@api.route("POST", "/api/customers", summary="Create a customer", tag=TAG, body=CustomerIn,
           response=CustomerOut, status=201, errors=CREATE_ERRORS, idempotent=True,
           permissions=_manage("customer"))
async def create_customer(call: Call[CustomerIn, Empty]) -> dict[str, Any]:
    """Audited."""
    return await _create(call, "customer")


@api.route("PATCH", "/api/customers/{id}", summary="Change a customer", tag=TAG,
           body=CustomerPatch, response=CustomerOut, errors=CHANGE_ERRORS, permissions=_manage("customer"))
async def update_customer(call: Call[CustomerPatch, Empty]) -> dict[str, Any]:
    """Send ``If-Match: "<version>"`` to refuse the change when someone changed it meanwhile.
    Audited."""
    return await _update(call, "customer")


@api.route("DELETE", "/api/customers/{id}", summary="Deactivate a customer (soft)", tag=TAG,
           status=204, errors=GET_ERRORS, permissions=_manage("customer"))
async def deactivate_customer(call: NoInput) -> None:
    """The record stays for history but is no longer active. Audited."""
    await _deactivate(call, "customer")
