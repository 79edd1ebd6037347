"""The partner's messages, pushed to the signed webhook or read from its feed alike: a new order
(bare, or the ``data`` of an ``order.created`` envelope), and the changes of an order it created
(``order.updated``, ``order.priority_changed`` and ``order.cancelled`` envelopes
``{"type", "data": {"external_id", "version", ...}}``; see docs/intake.md).

Syntax only: each message is checked here (a pydantic ``ValidationError`` names what is wrong)
and turned into the domain's `PartnerOrder` or `PartnerChange`; the rules are the use cases' in
``domain/services/intake.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from domain.errors import RuleViolation
from domain.geo import Location, TimeWindow
from domain.partner_orders import ChangeKind, PartnerChange
from domain.services.intake import PartnerOrder
from domain.services.work_orders import WalkInCustomer
from domain.work_orders import Priority
from web.fields import (
    Address,
    Description,
    Email,
    Id,
    LocationIn,
    Minutes,
    Name,
    Phone,
    Skill,
    Strict,
    WindowIn,
)

ORDER_EVENT_TYPES = frozenset({"order.created"})
CHANGE_TYPES = frozenset({"order.updated", "order.priority_changed", "order.cancelled"})
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                              pattern=r"^[\x21-\x7e]+$")]


class IntakeOrderIn(Strict):
    """A partner's order: the fields of ``POST /api/work-orders`` plus the partner's
    ``external_id``; the store by ``store_id`` or by ``store_code``; a walk-in customer by
    ``customer_name`` (known customers' ids are ours, not the partner's)."""

    external_id: ExternalId
    store_id: Id | None = None
    store_code: Id | None = None
    priority: Priority
    location: LocationIn
    description: Description
    address: Address = ""
    customer_name: Name | None = None
    customer_phone: Phone | None = None
    customer_email: Email | None = None
    sms_opt_in: bool | None = None
    time_window: WindowIn | None = None
    required_skills: list[Skill] = Field(default_factory=list, max_length=20)
    estimated_minutes: Minutes = 60
    version: int = Field(0, ge=0, le=2**31 - 1,
                         description="the partner's version of the order; its changes are newer")

    @model_validator(mode="after")
    def _consistent(self) -> IntakeOrderIn:
        if (self.store_id is None) == (self.store_code is None):
            raise ValueError("give store_id or store_code (exactly one)")
        contact = {"customer_phone", "customer_email", "sms_opt_in"} & self.model_fields_set
        if contact and self.customer_name is None:
            raise ValueError(f"{sorted(contact)[0]} needs customer_name (a walk-in customer)")
        return self

    def partner_order(self) -> PartnerOrder:
        walk_in = None
        if self.customer_name is not None:
            walk_in = WalkInCustomer(name=self.customer_name, phone=self.customer_phone or "",
                                     email=self.customer_email or "",
                                     sms_opt_in=bool(self.sms_opt_in))
        window = self.time_window
        return PartnerOrder(
            external_id=self.external_id, store_id=self.store_id, store_code=self.store_code,
            priority=self.priority, location=Location(self.location.lat, self.location.lon),
            description=self.description, address=self.address, walk_in=walk_in,
            time_window=(window.start, window.end) if window is not None else None,
            required_skills=frozenset(self.required_skills),
            estimated_minutes=self.estimated_minutes, version=self.version)


def parse_order(data: Any) -> PartnerOrder:
    """The order inside a Standard Webhooks envelope ``{"type", "timestamp", "data"}``, or the
    body itself when it is a bare order; 422 ``unsupported_event_type`` for another type."""
    if isinstance(data, dict) and "type" in data and "data" in data:
        if data["type"] not in ORDER_EVENT_TYPES:
            raise RuleViolation(f"unsupported event type {str(data['type'])[:60]!r}; "
                                f"send {', '.join(sorted(ORDER_EVENT_TYPES | CHANGE_TYPES))}",
                                code="unsupported_event_type")
        data = data["data"]
    return IntakeOrderIn.model_validate(data).partner_order()


class _ChangeIn(Strict):
    external_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    version: int = Field(ge=1, le=2**31 - 1, description="the partner's version of the order; "
                         "grows with each change")


class OrderUpdateIn(_ChangeIn):
    """``order.updated``: the fields to change (at least one)."""

    priority: Priority | None = None
    location: LocationIn | None = None
    address: Address | None = None
    description: Description | None = None
    time_window: WindowIn | None = None
    required_skills: list[Skill] | None = Field(None, max_length=20)
    estimated_minutes: Minutes | None = None

    @model_validator(mode="after")
    def _something(self) -> OrderUpdateIn:
        fields = self.model_fields_set - {"external_id", "version"}
        if not fields:
            raise ValueError("an update changes at least one field")
        nulls = sorted(name for name in fields if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{nulls[0]} may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.model_fields_set - {"external_id", "version"}:
            value = getattr(self, name)
            if name == "location":
                value = Location(value.lat, value.lon)
            elif name == "time_window":
                value = TimeWindow(value.start, value.end)
            elif name == "required_skills":
                value = frozenset(value)
            out[name] = value
        return out


class PriorityChangeIn(_ChangeIn):
    """``order.priority_changed``."""

    priority: Priority


class CancellationIn(_ChangeIn):
    """``order.cancelled``."""

    reason: str = Field("", max_length=500)


def is_change(data: Any) -> bool:
    return isinstance(data, dict) and data.get("type") in CHANGE_TYPES and "data" in data


def parse_change(data: dict[str, Any]) -> PartnerChange:
    """The domain change of a change envelope; a pydantic ``ValidationError`` when malformed."""
    kind = data["type"]
    if kind == "order.cancelled":
        c = CancellationIn.model_validate(data["data"])
        return PartnerChange(c.external_id, c.version, ChangeKind.CANCEL, reason=c.reason.strip())
    if kind == "order.priority_changed":
        p = PriorityChangeIn.model_validate(data["data"])
        return PartnerChange(p.external_id, p.version, ChangeKind.UPDATE,
                             {"priority": p.priority})
    u = OrderUpdateIn.model_validate(data["data"])
    return PartnerChange(u.external_id, u.version, ChangeKind.UPDATE, u.changes())
