"""Order intake from partners: the signed webhook ``POST /api/intake/webhooks/orders``, and
`OrderIntake`, which turns a partner order into a work order (the poller uses it too).

The webhook is not Bearer-authenticated: it is signed as Standard Webhooks do
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; see ``realtime/intake/webhooks.py``)
with the secret ``INTAKE_WEBHOOK_SECRET``. Answers:

- 201 with the work order: created (through the same use case as ``POST /api/work-orders``, so the
  same rules, audit row and events apply), acting as the system principal ``intake:<partner>``;
- 200 with the work order and ``Intake-Outcome: duplicate``: that ``external_id`` was taken before;
- 200 with the work order and ``Intake-Outcome: replayed``: this ``webhook-id`` was handled before
  (a redelivery, or a replay within the timestamp tolerance): nothing changes, and the sender
  stops retrying; 409 ``webhook_id_reused`` when that id came with another order;
- 200 with the work order and ``Intake-Outcome: updated | cancelled | blocked | closed | duplicate
  | stale``: a change of an order taken before (``order.updated``, ``order.priority_changed``,
  ``order.cancelled``; ``web/api/partner_changes.py``); 404 for an order never taken;
- 401 missing or bad signature, or a timestamp outside the tolerance; 400 malformed headers or
  JSON; 415 not JSON; 422 an invalid order (nothing is created); 404 when no secret is
  configured (the webhook is off).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse, Response

from domain.errors import ConcurrencyConflict, Conflict, DomainError, RuleViolation
from domain.geo import Location, TimeWindow
from domain.roles import Principal, Role
from domain.services import work_orders as uc
from domain.services.context import Context
from domain.work_orders import Channel, Priority
from realtime.intake.webhooks import MalformedHeader, Webhook, WebhookVerificationError
from storage.intake import AlreadyTaken, IntakeClaim, IntakeLedger, IntakeUnitOfWork
from storage.queries.work_orders import work_order_detail
from web.api.bodies import MAX_BODY, read_capped
from web.api.framework import Api, Call
from web.api.partner_changes import CHANGE_TYPES, PartnerChanges, is_change, parse_change
from web.api.problems import ApiError, from_validation
from web.api.schemas import LocationIn, Strict
from web.api.work_order_schemas import (
    Address,
    Description,
    Email,
    Id,
    Minutes,
    Name,
    Phone,
    Skill,
    WindowIn,
    WorkOrderOut,
)

log = logging.getLogger("dispatch.intake")
api = Api()
TAG = "intake"
ORDER_EVENT_TYPES = frozenset({"order.created"})
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                              pattern=r"^[\x21-\x7e]+$")]


def setting(settings: Any, name: str, default: Any) -> Any:
    """A setting that may not be declared yet; secrets come back as plain strings."""
    value = getattr(settings, name, default)
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return default if value is None or value == "" else value


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


def order_payload(data: Any) -> Any:
    """The order inside a Standard Webhooks envelope ``{"type", "timestamp", "data"}``, or
    the body itself when it is a bare order."""
    if isinstance(data, dict) and "type" in data and "data" in data:
        if data["type"] not in ORDER_EVENT_TYPES:
            raise ApiError(422, f"unsupported event type {str(data['type'])[:60]!r}; "
                           f"send {', '.join(sorted(ORDER_EVENT_TYPES | CHANGE_TYPES))}",
                           code="unsupported_event_type")
        return data["data"]
    return data


@dataclass(frozen=True, slots=True)
class Taken:
    work_order: dict[str, Any]
    outcome: str  # created | duplicate | replayed


class OrderIntake:
    """Takes partner orders: once per (partner, external id), through the work-order use case."""

    def __init__(self, engine: AsyncEngine, *, source: str,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 after_commit: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.source = source
        self.now = now
        self.after_commit = after_commit
        self.ledger = IntakeLedger(engine)
        self.principal = Principal(user_id="intake", username=f"intake:{source}"[:64],
                                   roles=frozenset({Role.DISPATCHER}))
        self.changes = PartnerChanges(engine, source=source, principal=self.principal, now=now,
                                      after_commit=after_commit)

    async def take(self, order: IntakeOrderIn, *, webhook_id: str | None = None,
                   correlation_id: str | None = None) -> Taken:
        if webhook_id is not None:
            seen = await self.ledger.find_webhook(webhook_id)
            if seen is not None:
                return await self._again(seen.work_order_id, seen.external_id, order, "replayed")
        known = await self.ledger.find(self.source, order.external_id)
        if known is not None:
            return await self._again(known.work_order_id, known.external_id, order, "duplicate")
        # how it reached us: a signed webhook, or the feed the poller reads
        new = await self._new_work_order(
            order, Channel.WEBHOOK if webhook_id is not None else Channel.PARTNER)
        uow: Any = IntakeUnitOfWork(  # structurally the domain's UnitOfWork, as in Services
            self.engine, claim=IntakeClaim(self.source, order.external_id, webhook_id,
                                           order.version),
            actor=self.principal, correlation_id=correlation_id or f"intake-{uuid.uuid4().hex}",
            clock=self.now, after_commit=self.after_commit,
        )
        try:
            created = await uc.create_work_order(uow, Context(self.principal, self.now()), new)
        except AlreadyTaken:  # a concurrent delivery won the race
            return await self.take(order, webhook_id=webhook_id, correlation_id=correlation_id)
        log.info("intake %s: order %s became work order %s", self.source, order.external_id,
                 created["id"])
        return Taken(created, "created")

    async def take_feed(self, orders: list[dict[str, Any]]) -> dict[str, int]:
        """A page of the partner feed. An order that is invalid or breaks a rule is logged and
        skipped (it would never pass); a transient failure raises, so the page is read again."""
        counts = {"created": 0, "duplicate": 0, "replayed": 0, "invalid": 0}
        for raw in orders:
            inner = raw.get("data")
            body = inner if isinstance(inner, dict) else raw
            ref = str(body.get("external_id", "?"))[:128]
            correlation_id = f"intake-poll-{uuid.uuid4().hex}"
            try:
                if is_change(raw):  # an update, priority change or cancellation
                    changed = await self.changes.apply(parse_change(raw),
                                                       correlation_id=correlation_id)
                    counts[changed.outcome] = counts.get(changed.outcome, 0) + 1
                    continue
                order = IntakeOrderIn.model_validate(order_payload(raw))
                taken = await self.take(order, correlation_id=correlation_id)
            except ValidationError as error:
                counts["invalid"] += 1
                log.warning("intake %s: order %s is invalid: %s", self.source, ref,
                            error.errors(include_url=False, include_input=False)[:3])
                continue
            except ConcurrencyConflict:
                raise
            except (DomainError, ApiError, ValueError) as error:
                counts["invalid"] += 1
                log.warning("intake %s: order %s refused: %s", self.source, ref,
                            getattr(error, "message", str(error)))
                continue
            counts[taken.outcome] += 1
        return counts

    async def _again(self, work_order_id: str, external_id: str, order: IntakeOrderIn,
                     outcome: str) -> Taken:
        if external_id != order.external_id:
            raise Conflict("this webhook-id was already used for another order",
                           code="webhook_id_reused")
        async with self.engine.connect() as conn:
            found = await work_order_detail(conn, self.principal, work_order_id)
        if found is None:
            raise Conflict(f"order {external_id} was taken but its work order is gone",
                           code="already_taken")
        return Taken(found, outcome)

    async def _new_work_order(self, o: IntakeOrderIn, channel: Channel) -> uc.NewWorkOrder:
        store_id = o.store_id
        if store_id is None and o.store_code is not None:
            store_id = await self.ledger.store_id_for_code(o.store_code)
            if store_id is None:
                raise RuleViolation(f"store {o.store_code} does not exist", field="store_code",
                                    code="invalid_store")
        assert store_id is not None
        walk_in = None
        if o.customer_name is not None:
            walk_in = uc.WalkInCustomer(name=o.customer_name, phone=o.customer_phone or "",
                                        email=o.customer_email or "", sms_opt_in=bool(o.sms_opt_in))
        window = (TimeWindow(o.time_window.start, o.time_window.end)
                  if o.time_window is not None else None)
        return uc.NewWorkOrder(
            store_id=store_id, priority=o.priority, location=Location(o.location.lat, o.location.lon),
            description=o.description, walk_in=walk_in, address=o.address, time_window=window,
            required_skills=frozenset(o.required_skills), estimated_minutes=o.estimated_minutes,
            channel=channel,
        )


def order_intake(services: Any) -> OrderIntake:
    return OrderIntake(services.engine, source=setting(services.settings, "intake_partner", "partner"),
                       now=services.now, after_commit=services.live.relay.notify)


def _verifier(services: Any) -> Webhook:
    settings = services.settings
    secrets = str(setting(settings, "intake_webhook_secret", "")).split()
    if not secrets:
        raise ApiError(404, "the order-intake webhook is not enabled (INTAKE_WEBHOOK_SECRET)",
                       code="intake_not_configured")
    tolerance = float(setting(settings, "intake_webhook_tolerance_seconds", 300))
    try:
        return Webhook(secrets, tolerance=tolerance, clock=lambda: services.now().timestamp())
    except ValueError as error:
        log.error("INTAKE_WEBHOOK_SECRET is unusable: %s", error)
        raise ApiError(404, "the order-intake webhook is not enabled (its secret is unusable)",
                       code="intake_not_configured") from error


@api.route("POST", "/api/intake/webhooks/orders", summary="Receive a partner order (signed webhook)",
           tag=TAG, response=WorkOrderOut, status=201, auth=False,
           errors=(400, 401, 404, 409, 413, 415, 422))
async def receive_order(call: Call[Any, Any]) -> Response:
    """Signed as Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature: v1,<base64>``), not Bearer-authenticated. The body is an order
    (``external_id``, ``store_id`` or ``store_code``, ``priority``, ``location``, ``description``,
    optional walk-in ``customer_name``/``customer_phone``/``customer_email``, ``address``,
    ``time_window``, ``required_skills``, ``estimated_minutes``), bare or as ``data`` of an
    ``{"type": "order.created", "data": ...}`` envelope. 201: created; 200 with
    ``Intake-Outcome: duplicate`` (external id taken before) or ``replayed`` (webhook-id handled
    before). See docs/intake.md."""
    request = call.request
    verifier = _verifier(call.services)
    raw = await read_capped(request, MAX_BODY)
    try:
        message = verifier.verify(request.headers, raw)
    except MalformedHeader as error:
        raise ApiError(400, str(error), code=error.code) from error
    except WebhookVerificationError as error:
        raise ApiError(401, str(error), code=error.code) from error
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if content_type != "application/json":
        raise ApiError(415, "send the body as application/json", code="unsupported_media_type")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, f"the body is not valid JSON: {error}", code="malformed_json") from error
    if is_change(data):
        try:
            change = parse_change(data)
        except ValidationError as error:
            return from_validation(error, "body", request.url.path)
        changed = await order_intake(call.services).changes.apply(
            change, webhook_id=message.id, correlation_id=call.correlation_id)
        body = WorkOrderOut.model_validate(changed.work_order).model_dump(mode="json")
        return JSONResponse(body, headers={"Intake-Outcome": changed.outcome})
    try:
        order = IntakeOrderIn.model_validate(order_payload(data))
    except ValidationError as error:
        return from_validation(error, "body", request.url.path)
    taken = await order_intake(call.services).take(order, webhook_id=message.id,
                                                   correlation_id=call.correlation_id)
    body = WorkOrderOut.model_validate(taken.work_order).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if taken.outcome == "created" else 200,
                        headers={"Intake-Outcome": taken.outcome})
