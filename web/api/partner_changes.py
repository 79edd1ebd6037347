"""Partner changes of orders it created, by the signed webhook and the feed alike:
``order.updated``, ``order.priority_changed`` and ``order.cancelled`` envelopes
(``{"type", "data": {"external_id", "version", ...}}``; see docs/intake.md).

`PartnerChanges.apply` answers a `Taken` whose outcome says what happened: ``updated``,
``cancelled``, ``blocked`` (the job is under way: an alert, nothing changed), ``closed`` (the job
is over), ``duplicate`` (this version was handled), ``stale`` (a newer one was), ``replayed``
(this webhook message was handled). Only the first three change anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import ConcurrencyConflict, Conflict, NotFound
from domain.geo import Location, TimeWindow
from domain.partner_orders import ChangeKind, PartnerChange, already_handled
from domain.roles import Principal
from domain.services.context import Context
from domain.services.partner_orders import apply_partner_change
from domain.work_orders import Priority
from storage.intake import AlreadyTaken, IntakeLedger
from storage.partner_changes import ChangeClaim, ChangeLedger, PartnerChangeUnitOfWork, StaleChange
from storage.queries.work_orders import work_order_detail
from web.api.schemas import LocationIn, Strict
from web.api.work_order_schemas import Address, Description, Minutes, Skill, WindowIn

log = logging.getLogger("dispatch.intake")
CHANGE_TYPES = frozenset({"order.updated", "order.priority_changed", "order.cancelled"})
#: A race lost to another delivery is tried again this often before it is answered as a conflict.
RACE_RETRIES = 3


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


@dataclass(frozen=True, slots=True)
class Changed:
    work_order: dict[str, Any]
    outcome: str


class PartnerChanges:
    """Applies a partner's changes once per version, as the intake's system principal."""

    def __init__(self, engine: AsyncEngine, *, source: str, principal: Principal,
                 now: Callable[[], dt.datetime], after_commit: Callable[[], None] | None) -> None:
        self.engine = engine
        self.source = source
        self.principal = principal
        self.now = now
        self.after_commit = after_commit
        self.orders = IntakeLedger(engine)
        self.changes = ChangeLedger(engine)

    async def apply(self, change: PartnerChange, *, webhook_id: str | None = None,
                    correlation_id: str | None = None) -> Changed:
        for _ in range(RACE_RETRIES):
            try:
                return await self._apply(change, webhook_id, correlation_id)
            except (AlreadyTaken, StaleChange, ConcurrencyConflict):
                continue  # another delivery won: look again
        raise ConcurrencyConflict(f"order {change.external_id} is being changed; try again")

    async def _apply(self, change: PartnerChange, webhook_id: str | None,
                     correlation_id: str | None) -> Changed:
        if webhook_id is not None:
            seen = await self.changes.find_webhook(webhook_id)
            created = await self.orders.find_webhook(webhook_id)
            if seen is not None and (seen.external_id, seen.version) == (change.external_id,
                                                                          change.version):
                return Changed(await self._current(seen.work_order_id), "replayed")
            if seen is not None or created is not None:
                raise Conflict("this webhook-id was already used for another message",
                               code="webhook_id_reused")
        known = await self.orders.find(self.source, change.external_id)
        if known is None:
            raise NotFound("partner order", change.external_id)
        done = already_handled(
            change.version, known.partner_version,
            await self.changes.find(self.source, change.external_id, change.version) is not None)
        if done is not None:
            return Changed(await self._current(known.work_order_id), done.value)
        uow: Any = PartnerChangeUnitOfWork(  # structurally the domain's unit of work
            self.engine, claim=ChangeClaim(self.source, change.external_id, change.version,
                                           change.kind.value, known.work_order_id, webhook_id),
            actor=self.principal, clock=self.now, after_commit=self.after_commit,
            correlation_id=correlation_id or f"intake-{uuid.uuid4().hex}")
        outcome, _ = await apply_partner_change(
            uow, Context(self.principal, self.now()), work_order_id=known.work_order_id,
            change=change, partner=self.source)
        log.info("intake %s: order %s version %s: %s", self.source, change.external_id,
                 change.version, outcome.value)
        return Changed(await self._current(known.work_order_id), outcome.value)

    async def _current(self, work_order_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            found = await work_order_detail(conn, self.principal, work_order_id)
        if found is None:
            raise Conflict(f"the work order {work_order_id} is gone", code="already_taken")
        return found
