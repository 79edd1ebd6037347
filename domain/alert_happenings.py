"""Happenings: the things that happened that an alert kind reports once each (an order booked, a
comment, a customer-visible note, a technician's status change, a partner's change, a database
outage), built from the published event log, the partner's ledger and the process's own
observations.

Each has a key that names it for good (the event's published sequence number, the partner's
order version, the outage's start), so reading it again never raises a second alert
(``reconcile``'s ``raised``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.alert_facts import Happening
from domain.alert_fields import ago, job_text
from domain.alerts import AlertKind

_K = AlertKind
#: How far back happenings are read when the pass has no cursor yet (and partner changes each
#: pass): the longest a happening stays news (``clear_after_minutes`` is at most a day).
LOOKBACK = dt.timedelta(hours=24)
#: The events a happening comes from (read from the log after the pass's cursor).
EVENT_NAMES = ("WorkOrderCreated", "WorkOrderCommented", "TechnicianStatusChanged")
#: A partner's change that was applied (not blocked): its ledger outcome, and how it is written.
PARTNER_OUTCOMES = {"updated": "changed", "cancelled": "cancelled"}
#: The audit actions of those changes (how the pass finds the recent ones by an index).
PARTNER_ACTIONS = ("work_order.partner_updated", "work_order.partner_cancelled")


def from_event(seq: int, name: str, at: dt.datetime, data: dict[str, Any], *,
               store_id: str | None, technician_id: str | None) -> Happening | None:
    """The happening a published event is, or None (an event no kind reports)."""
    if name == "WorkOrderCreated":
        order = data.get("work_order") or {}
        return Happening(
            kind=_K.NEW_ORDER, key=f"{order.get('id')}", at=at, store_id=store_id,
            work_order_id=order.get("id"), tag=str(order.get("priority") or ""),
            fields={"order_id": str(order.get("id")), "priority": str(order.get("priority")),
                    "channel": str(order.get("channel") or "phone"),
                    "job": job_text(str(order.get("description") or ""),
                                    str(order.get("address") or "")),
                    "description": str(order.get("description") or ""),
                    "address": str(order.get("address") or "—")})
    if name == "WorkOrderCommented":
        comment = data.get("comment") or {}
        visible = comment.get("visibility") == "customer"
        return Happening(
            kind=_K.CUSTOMER_NOTE if visible else _K.ORDER_COMMENT, key=f"{seq}", at=at,
            store_id=store_id, technician_id=technician_id,
            work_order_id=data.get("work_order_id"),
            fields={"author": str(comment.get("author") or "someone"),
                    "comment": str(comment.get("text") or "")[:500]})
    if name == "TechnicianStatusChanged":
        tech = data.get("technician") or {}
        status = str(tech.get("status") or "")
        return Happening(
            kind=_K.TECHNICIAN_STATUS, key=f"{technician_id}:{seq}", at=at, store_id=store_id,
            technician_id=technician_id, tag=status,
            fields={"technician": str(tech.get("name") or technician_id),
                    "technician_id": str(technician_id), "status": status.replace("_", " "),
                    "previous": str(data.get("previous") or "").replace("_", " ")})
    return None


def partner_change(*, outcome: str, at: dt.datetime, work_order_id: str, store_id: str | None,
                   partner: str, external_id: str, version: int) -> Happening | None:
    """A partner's update or cancellation that was applied (a row of the partner's ledger; a
    blocked one raises ``partner_change_blocked`` in its own transaction instead)."""
    change = PARTNER_OUTCOMES.get(outcome)
    if change is None:
        return None
    return Happening(
        kind=_K.PARTNER_CHANGE, key=f"{work_order_id}:v{version}", at=at, store_id=store_id,
        work_order_id=work_order_id,
        fields={"partner": partner, "change": change, "external_id": external_id,
                "version": str(version)})


def database_outage(since: dt.datetime, until: dt.datetime, error: str) -> Happening:
    """The database did not answer the rules' pass from ``since`` to ``until``: raised once it
    answers again (nothing can be written while it is down)."""
    return Happening(
        kind=_K.SYSTEM_ERROR, key=f"database:{since.isoformat()}", at=until,
        fields={"component": "database",
                "detail": (f"The database did not answer for {ago(until - since)} (since "
                           f"{since:%H:%M} UTC): {error}")[:1000]})
