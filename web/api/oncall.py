"""The on-call rota: who each escalation level reaches, when, for which stores.

Those who dispatch read it (``oncall:view``; a store-scoped reader sees the lines that cover
their stores); admins change it (``oncall:manage``), audited. ``GET /api/oncall/now`` answers who
an escalation would reach at an instant (now by default) for a store. See docs/alerts.md, "On call".
"""

from __future__ import annotations

from typing import Any

from domain.alert_delivery import OnCall
from domain.errors import NotFound, ValidationFailed
from domain.oncall import ContactIn
from domain.roles import Permission, Principal
from domain.services import oncall as uc
from storage.oncall import SqlOnCallStore, SqlRotaReader
from web.api.framework import AnyCall, Api, Call, Empty, NoInput
from web.api.oncall_schemas import (
    ContactBody,
    ContactOut,
    ContactPage,
    NowOut,
    NowQuery,
    OverrideIn,
    OverrideOut,
    OverridePage,
    PersonPage,
    ShiftIn,
    ShiftOut,
    ShiftPage,
    ShiftPatch,
)
from web.api.schemas import PageQuery, page

api = Api()
TAG = "on call"


def _reader(call: AnyCall) -> SqlRotaReader:
    return SqlRotaReader(call.runtime.engine,
                         company_zone=call.runtime.settings.report_timezone)


def _visible(principal: Principal, store_ids: list[str]) -> bool:
    """A store-scoped reader sees the lines for every store or for one of theirs."""
    return principal.store_ids is None or not store_ids \
        or bool(principal.store_ids & set(store_ids))


def _page_of(call: Call[Empty, PageQuery], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows the caller may see (a rota is short: paged here, not in SQL)."""
    rows = [r for r in rows if _visible(call.principal, r.get("store_ids") or [])]
    q = call.query
    return page(rows[q.offset:q.offset + q.limit], len(rows), q)


@api.route("GET", "/api/oncall/shifts", summary="The on-call rota's weekly shifts", tag=TAG,
           query=PageQuery, response=ShiftPage, errors=(403, 422),
           permissions=(Permission.ONCALL_VIEW,))
async def list_shifts(call: Call[Empty, PageQuery]) -> dict[str, Any]:
    """By level, then start time."""
    return _page_of(call, await _reader(call).shifts())


@api.route("POST", "/api/oncall/shifts", summary="Add a shift to the on-call rota", tag=TAG,
           body=ShiftIn, response=ShiftOut, status=201, errors=(403, 422),
           permissions=(Permission.ONCALL_MANAGE,))
async def add_shift(call: Call[ShiftIn, Empty]) -> dict[str, Any]:
    """The person must be an active user with a phone who may acknowledge alerts of those
    stores (422 ``invalid_user``, ``no_phone``, ``may_not_acknowledge``, ``outside_scope``)."""
    b = call.body
    uow = call.uow()
    return await uc.add_shift(uow, call.context(), SqlOnCallStore(uow), uc.ShiftIn(
        level=b.level, user_id=b.user_id, weekdays=list(b.weekdays), starts=b.starts, ends=b.ends,
        store_ids=b.store_ids, note=b.note))


@api.route("PATCH", "/api/oncall/shifts/{id}", summary="Change a shift of the on-call rota",
           tag=TAG, body=ShiftPatch, response=ShiftOut, errors=(403, 404, 409, 422),
           permissions=(Permission.ONCALL_MANAGE,))
async def change_shift(call: Call[ShiftPatch, Empty]) -> dict[str, Any]:
    """Fields left out stay; ``version`` other than the current one is 409 ``stale_version``."""
    uow = call.uow()
    changes = call.body.model_dump(exclude={"version"}, exclude_none=True)
    return await uc.change_shift(uow, call.context(), SqlOnCallStore(uow),
                                 shift_id=call.path_id("on-call shift"), changes=changes,
                                 expected_version=call.body.version)


@api.route("DELETE", "/api/oncall/shifts/{id}", summary="Remove a shift from the on-call rota",
           tag=TAG, status=204, errors=(403, 404), permissions=(Permission.ONCALL_MANAGE,))
async def remove_shift(call: NoInput) -> None:
    uow = call.uow()
    await uc.remove_shift(uow, call.context(), SqlOnCallStore(uow),
                          shift_id=call.path_id("on-call shift"))


@api.route("GET", "/api/oncall/overrides", summary="On-call overrides not over yet", tag=TAG,
           query=PageQuery, response=OverridePage, errors=(403, 422),
           permissions=(Permission.ONCALL_VIEW,))
async def list_overrides(call: Call[Empty, PageQuery]) -> dict[str, Any]:
    """Soonest first."""
    return _page_of(call, await _reader(call).overrides(call.runtime.now()))


@api.route("POST", "/api/oncall/overrides", summary="A person covers a level for a while",
           tag=TAG, body=OverrideIn, response=OverrideOut, status=201, errors=(403, 422),
           permissions=(Permission.ONCALL_MANAGE,))
async def add_override(call: Call[OverrideIn, Empty]) -> dict[str, Any]:
    """For the whole level, or in place of ``replaces_user_id``; at most 62 days, ending in the
    future."""
    b = call.body
    uow = call.uow()
    return await uc.add_override(uow, call.context(), SqlOnCallStore(uow), uc.OverrideIn(
        level=b.level, user_id=b.user_id, starts_at=b.starts_at, ends_at=b.ends_at,
        store_ids=b.store_ids, replaces_user_id=b.replaces_user_id, note=b.note))


@api.route("DELETE", "/api/oncall/overrides/{id}", summary="Remove an on-call override", tag=TAG,
           status=204, errors=(403, 404), permissions=(Permission.ONCALL_MANAGE,))
async def remove_override(call: NoInput) -> None:
    uow = call.uow()
    await uc.remove_override(uow, call.context(), SqlOnCallStore(uow),
                             override_id=call.path_id("on-call override"))


@api.route("GET", "/api/oncall/people", summary="Who may be put on call", tag=TAG,
           query=PageQuery, response=PersonPage, errors=(403, 422),
           permissions=(Permission.ONCALL_MANAGE,))
async def list_people(call: Call[Empty, PageQuery]) -> dict[str, Any]:
    """Active users with a phone number (they must also hold ``alert:ack`` for their stores)."""
    return _page_of(call, list((await _reader(call).people()).values()))


@api.route("GET", "/api/oncall/now", summary="Who an escalation reaches now, level by level",
           tag=TAG, query=NowQuery, response=NowOut, errors=(403, 404, 422),
           permissions=(Permission.ONCALL_VIEW,))
async def on_call_now(call: Call[Empty, NowQuery]) -> dict[str, Any]:
    """For a store (its local time) or, without ``store_id``, for system alerts; ``at``
    another instant. A level nobody covers lists its fallback numbers (``ALERT_ONCALL_PHONES``).
    A store outside the caller's scope is 404."""
    q = call.query
    if q.store_id is not None and not call.principal.sees_store(q.store_id):
        raise NotFound("store", q.store_id)
    at = q.at or call.runtime.now()
    reader = _reader(call)
    rota, zones = await reader.rota(at), await reader.zones()
    if q.store_id is not None and q.store_id not in zones.by_store:
        raise NotFound("store", q.store_id)
    try:
        fallback = OnCall.parse(call.runtime.settings.alert_oncall_phones)
    except ValidationFailed:  # a bad setting is reported where escalations start, not here
        fallback = OnCall()
    answers = [rota.on_call(level, q.store_id, at, zones.of(q.store_id)) for level in (1, 2, 3)]
    people = await reader.people({u for a in answers for u in a.user_ids})
    return {"at": at, "store_id": q.store_id, "items": [
        {"level": a.level, "source": a.source,
         "people": [people[u] for u in a.user_ids if u in people],
         "fallback_numbers": list(fallback.numbers(a.level)) if a.source == "none" else []}
        for a in answers]}


@api.route("GET", "/api/oncall/contacts", summary="People's alert e-mail and quiet hours",
           tag=TAG, query=PageQuery, response=ContactPage, errors=(403, 422),
           permissions=(Permission.ONCALL_MANAGE,))
async def list_contacts(call: Call[Empty, PageQuery]) -> dict[str, Any]:
    """Active users with a phone, with their settings (blank when they have none)."""
    return _page_of(call, await _reader(call).contacts())


@api.route("PUT", "/api/oncall/contacts/{id}", summary="Set a person's alert e-mail and quiet hours",
           tag=TAG, body=ContactBody, response=ContactOut, errors=(403, 404, 422),
           permissions=(Permission.ONCALL_MANAGE,))
async def set_contact(call: Call[ContactBody, Empty]) -> dict[str, Any]:
    """Alerts that are not critical wait until a person's quiet hours are over; critical ones
    never do. The address gets the person's escalation e-mails. Audited."""
    b = call.body
    uow = call.uow()
    return await uc.set_contact(uow, call.context(), SqlOnCallStore(uow),
                                user_id=call.path_id("user"), contact=ContactIn(
                                    b.email, b.quiet_starts, b.quiet_ends, b.timezone))
