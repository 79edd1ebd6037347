"""Stores, technicians, units and customers: list and detail for those who may see resources;
create, update and deactivate (soft) for administrators, fleet managers (units) and customer
service (customers). The billing records live in ``resources_billing`` and are included here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from domain.errors import NotFound
from domain.geo import Location
from domain.resources import OpeningHours, Shift, TechnicianStatus
from domain.roles import Permission
from domain.services import resources as uc
from storage.notifications import SqlConsentHistory
from storage.queries.resources import list_resources, resource_detail
from web.api.framework import Api, Call, Handler
from web.api.resources_billing import api as billing_api
from web.api.schemas import LocationIn, LocationOut, Out, Page, PageQuery, Strict, page

api = Api()
TAG = "resources"
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
Text = Field(min_length=1, max_length=200)
Ref = Field(min_length=1, max_length=64)
Search = Field(default=None, min_length=1, max_length=100)


class Patch(Strict):
    """A partial update: at least one field, and null only where ``NULLABLE`` allows it."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _something(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        nulls = sorted(f for f in self.model_fields_set
                       if getattr(self, f) is None and f not in self.NULLABLE)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} may not be null")
        return self


class HoursIn(Strict):
    opens: str = Field(pattern=HHMM)
    closes: str = Field(pattern=HHMM)


class TimeZoneField(Strict):
    @field_validator("timezone", check_fields=False)
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value


class StoreIn(TimeZoneField):
    code: str = Field(min_length=1, max_length=32)
    name: str = Text
    location: LocationIn
    region: str = Field(min_length=1, max_length=64)
    hours: HoursIn
    address: str = Field(default="", max_length=300)
    timezone: str = Field(default="America/Chicago", min_length=1, max_length=64)


class StorePatch(Patch, TimeZoneField):
    code: str | None = Field(default=None, min_length=1, max_length=32)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    location: LocationIn | None = None
    region: str | None = Field(default=None, min_length=1, max_length=64)
    hours: HoursIn | None = None
    address: str | None = Field(default=None, max_length=300)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = Field(default=None, description="true reactivates it")


def _check_skills(value: list[str] | None) -> list[str] | None:
    if value is not None and any(not 1 <= len(s.strip()) <= 40 for s in value):
        raise ValueError("each skill is 1 to 40 characters")
    return value


class ShiftIn(Strict):
    start: AwareDatetime
    end: AwareDatetime


class TechnicianIn(Strict):
    name: str = Text
    home_store_id: str = Ref
    skills: list[str] = Field(default_factory=list, max_length=50)
    shift: ShiftIn | None = None
    unit_id: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str = Field(default="", max_length=32)

    _skills = field_validator("skills")(_check_skills)


class TechnicianPatch(Patch):
    NULLABLE = frozenset({"shift", "unit_id"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)
    skills: list[str] | None = Field(default=None, max_length=50)
    shift: ShiftIn | None = None
    unit_id: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    active: bool | None = Field(default=None, description="true reactivates it")

    _skills = field_validator("skills")(_check_skills)


class UnitIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    home_store_id: str = Ref
    geotab_device_id: str | None = Field(default=None, min_length=1, max_length=64)
    plate: str = Field(default="", max_length=32)
    model: str = Field(default="", max_length=100)


class UnitPatch(Patch):
    NULLABLE = frozenset({"geotab_device_id"})
    name: str | None = Field(default=None, min_length=1, max_length=64)
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)
    geotab_device_id: str | None = Field(default=None, min_length=1, max_length=64)
    plate: str | None = Field(default=None, max_length=32)
    model: str | None = Field(default=None, max_length=100)
    in_service: bool | None = None


class CustomerIn(Strict):
    name: str = Text
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300)
    location: LocationIn | None = None
    sms_opt_in: bool = False
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)


class CustomerPatch(Patch):
    NULLABLE = frozenset({"location", "home_store_id"})
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    location: LocationIn | None = None
    sms_opt_in: bool | None = Field(
        default=None, description="A change is recorded in the consent history (who, when, "
                                  "source customer_update); granting needs a phone that takes "
                                  "texts (422 no_sms_number)")
    home_store_id: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = Field(default=None, description="true reactivates it")


class HoursOut(BaseModel):
    opens: str
    closes: str


class ShiftOut(BaseModel):
    start: dt.datetime
    end: dt.datetime


class StoreOut(Out):
    id: str
    code: str
    name: str
    location: LocationOut
    region: str
    hours: HoursOut
    address: str
    timezone: str
    active: bool
    version: int


class TechnicianOut(Out):
    id: str
    name: str
    home_store_id: str
    skills: list[str]
    shift: ShiftOut | None
    status: str
    unit_id: str | None
    phone: str
    active: bool
    version: int


class UnitOut(Out):
    id: str
    name: str
    home_store_id: str
    geotab_device_id: str | None
    plate: str
    model: str
    in_service: bool
    version: int


class CustomerOut(Out):
    id: str
    name: str
    phone: str
    email: str
    address: str
    location: LocationOut | None
    sms_opt_in: bool
    home_store_id: str | None
    active: bool
    version: int


class StorePage(Page[StoreOut]):
    pass


class TechnicianPage(Page[TechnicianOut]):
    pass


class UnitPage(Page[UnitOut]):
    pass


class CustomerPage(Page[CustomerOut]):
    pass


class StoreQuery(PageQuery):
    region: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    q: str | None = Search


class TechnicianQuery(PageQuery):
    store_id: str | None = Field(default=None, max_length=64)
    status: TechnicianStatus | None = None
    skill: str | None = Field(default=None, min_length=1, max_length=40)
    active: bool | None = None
    q: str | None = Search


class UnitQuery(PageQuery):
    store_id: str | None = Field(default=None, max_length=64)
    active: bool | None = Field(default=None, description="the same as in_service")
    in_service: bool | None = None
    q: str | None = Search


class CustomerQuery(PageQuery):
    store_id: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    q: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="Find a customer by name, email, address, phone (any punctuation: its "
                    "digits match) or order number (a sales order's or invoice's number, or a "
                    "work order's id)")


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



async def detail(call: Call[Any, Any], kind: str, resource_id: str) -> dict[str, Any]:
    async with call.services.engine.connect() as conn:
        found = await resource_detail(conn, call.principal, kind, resource_id)
    if found is None:
        raise NotFound(kind.replace("_", " "), resource_id)
    return found


@dataclass(frozen=True)
class Spec:
    kind: str
    plural: str
    body: type[Strict]
    patch: type[Patch]
    out: type[BaseModel]
    page: type[BaseModel]
    query: type[PageQuery]
    filters: Callable[[Any], dict[str, Any]]


SPECS = (
    Spec("store", "stores", StoreIn, StorePatch, StoreOut, StorePage, StoreQuery,
         lambda q: {"region": q.region, "active": q.active}),
    Spec("technician", "technicians", TechnicianIn, TechnicianPatch, TechnicianOut,
         TechnicianPage, TechnicianQuery,
         lambda q: {"home_store_id": q.store_id, "active": q.active, "skill": q.skill,
                    "status": q.status.value if q.status else None}),
    Spec("unit", "units", UnitIn, UnitPatch, UnitOut, UnitPage, UnitQuery,
         lambda q: {"home_store_id": q.store_id,
                    "in_service": q.in_service if q.in_service is not None else q.active}),
    Spec("customer", "customers", CustomerIn, CustomerPatch, CustomerOut, CustomerPage,
         CustomerQuery, lambda q: {"home_store_id": q.store_id, "active": q.active}),
)


def _named(handler: Handler, name: str, doc: str) -> Handler:
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = doc
    return handler


def _register(s: Spec) -> None:
    path, item = f"/api/{s.plural}", f"/api/{s.plural}/{{id}}"
    words = s.kind.replace("_", " ")

    async def list_(call: Call[Any, Any]) -> dict[str, Any]:
        q = call.query
        async with call.services.engine.connect() as conn:
            items, total = await list_resources(conn, call.principal, s.kind,
                                                filters=s.filters(q), q=q.q, limit=q.limit,
                                                offset=q.offset)
        return page(items, total, q)

    async def get(call: Call[Any, Any]) -> dict[str, Any]:
        return await detail(call, s.kind, call.path["id"])

    async def create(call: Call[Any, Any]) -> dict[str, Any]:
        fields = _domain_values(call.body.model_dump())
        created = await uc.create_resource(call.uow(), call.context(), s.kind, fields)
        return await detail(call, s.kind, created["id"])

    async def update(call: Call[Any, Any]) -> dict[str, Any]:
        changes = _domain_values(call.body.model_dump(include=call.body.model_fields_set))
        uow = call.uow()
        # a customer's sms_opt_in goes into the consent history (who, when, customer_update)
        consents = SqlConsentHistory(uow) if s.kind == "customer" else None
        await uc.update_resource(uow, call.context(), s.kind, call.path["id"], changes,
                                 expected_version=call.if_match(), consents=consents)
        return await detail(call, s.kind, call.path["id"])

    async def deactivate(call: Call[Any, Any]) -> None:
        await uc.deactivate_resource(call.uow(), call.context(), s.kind, call.path["id"])

    view = (Permission.RESOURCE_VIEW,)
    manage = tuple(sorted(uc.MANAGE[s.kind]))
    api.route("GET", path, summary=f"List {s.plural}", tag=TAG, query=s.query,
              response=s.page, errors=(403,), permissions=view)(
        _named(list_, f"list_{s.plural}", f"The {s.plural} of the caller's stores."))
    api.route("GET", item, summary=f"A {words}", tag=TAG, response=s.out, errors=(403, 404),
              permissions=view)(
        _named(get, f"get_{s.kind}", f"Another store's {words} answers 404."))
    api.route("POST", path, summary=f"Create a {words}", tag=TAG, body=s.body, response=s.out,
              status=201, errors=(403, 409, 422), idempotent=True, permissions=manage)(
        _named(create, f"create_{s.kind}", "Audited."))
    api.route("PATCH", item, summary=f"Change a {words}", tag=TAG, body=s.patch,
              response=s.out, errors=(400, 403, 404, 409, 422), permissions=manage)(
        _named(update, f"update_{s.kind}",
               "Send ``If-Match: \"<version>\"`` to refuse the change when someone changed it "
               "meanwhile. Audited."))
    api.route("DELETE", item, summary=f"Deactivate a {words} (soft)", tag=TAG, status=204,
              errors=(403, 404), permissions=manage)(
        _named(deactivate, f"deactivate_{s.kind}",
               "The record stays for history but is no longer active. Audited."))


for _spec in SPECS:
    _register(_spec)
api.include(billing_api)
