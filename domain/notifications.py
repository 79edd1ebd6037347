"""Keeping the customer informed: which event tells the customer what, on which channel, what
the text says, how long the tracking link lives, and what an SMS reply means for consent.

Pure rules; the handlers that run them off the event path are ``web/notify_wiring.py`` (reading
the published event log) and the use cases in ``domain/services/notifications.py``.

- The **web** channel is every customer's: each notification is posted to the job's tracking
  page (an unguessable link, no login). **SMS** goes only to a customer who opted in and has a
  valid number; a STOP reply opts them out.
- The tracking link lives while the job is open (up to ``open_days`` after its window, or its
  booking when it has none) and for ``after_close`` once it is completed, cancelled or failed.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from domain.alert_delivery import SMS_LIMIT, normalize_phone


class NotificationKind(enum.StrEnum):
    BOOKED = "booked"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    FAILED = "failed"


class Channel(enum.StrEnum):
    WEB = "web"
    SMS = "sms"


#: An event read later than this (after an outage) tells the customer nothing any more.
STALE_AFTER = dt.timedelta(minutes=30)

_BY_EVENT = {
    "WorkOrderCreated": NotificationKind.BOOKED,
    "WorkOrderAssigned": NotificationKind.ASSIGNED,
    "WorkOrderCompleted": NotificationKind.COMPLETED,
    "WorkOrderCancelled": NotificationKind.CANCELLED,
    "WorkOrderRescheduled": NotificationKind.RESCHEDULED,
    "WorkOrderFailed": NotificationKind.FAILED,
}
_BY_STATUS = {"en_route": NotificationKind.EN_ROUTE, "on_site": NotificationKind.ARRIVED}


def notification_for(event_name: str, data: Mapping[str, Any]) -> NotificationKind | None:
    """The notification a work-order event calls for, if any.

    A status change tells the customer only when the technician sets off or arrives; an edit
    only when it moved the time window (a reschedule)."""
    if event_name in _BY_EVENT:
        return _BY_EVENT[event_name]
    order = data.get("work_order") or {}
    if event_name == "WorkOrderStatusChanged":
        return _BY_STATUS.get(str(order.get("status")))
    if event_name == "WorkOrderUpdated" and "time_window" in (data.get("changed") or ()):
        return NotificationKind.RESCHEDULED
    return None


def texted(event_name: str, data: Mapping[str, Any]) -> bool:
    """Whether the event's notification also goes by text (with consent). A follow-up's booking
    is posted to its page only: the failure's text already carried the follow-up's link."""
    order = data.get("work_order") or {}
    return not (event_name == "WorkOrderCreated" and order.get("follow_up_of"))


@dataclass(frozen=True, slots=True)
class CustomerContact:
    customer_id: str
    name: str
    phone: str
    sms_opt_in: bool


def channels_for(customer: CustomerContact | None) -> tuple[Channel, ...]:
    """The web always (the tracking page); SMS only with consent and a number that can take it."""
    if customer is None:
        return (Channel.WEB,)
    if customer.sms_opt_in and normalize_phone(customer.phone) is not None:
        return (Channel.WEB, Channel.SMS)
    return (Channel.WEB,)


def first_name(full_name: str) -> str:
    """What the customer is told of the technician: the first name only."""
    parts = full_name.split()
    return parts[0] if parts else "Your technician"


# --- the arrival estimate ------------------------------------------------------------------------

#: Straight-line distance times this is the road distance, roughly (urban grids).
ROAD_FACTOR = 1.3
#: The van's average speed on the way, km/h, when it is not moving fast enough to use its own.
AVERAGE_SPEED_KMH = 40.0


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the customer may learn of one job (nothing else leaves the server)."""

    work_order_id: str
    status: str
    status_changed_at: dt.datetime
    created_at: dt.datetime
    destination: tuple[float, float]
    timezone: str
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    planned_arrival: dt.datetime | None = None
    technician_name: str | None = None
    van: tuple[float, float] | None = None
    customer: CustomerContact | None = None


def estimated_arrival(job: JobFacts, now: dt.datetime) -> dt.datetime | None:
    """When the technician should ring the bell.

    On the way with a known van position: now plus the road time from there (an early van says
    so). Otherwise the planned arrival, or the window's start while it is ahead. None
    once the technician is there, or when nothing is known."""
    if job.status not in {"assigned", "accepted", "en_route"}:
        return None
    if job.status == "en_route" and job.van is not None:
        km = distance_km(job.van, job.destination) * ROAD_FACTOR
        eta = now + dt.timedelta(hours=km / AVERAGE_SPEED_KMH)
        return eta.replace(microsecond=0)
    if job.planned_arrival is not None and job.planned_arrival >= now:
        return job.planned_arrival
    if job.window_start is not None and job.window_start >= now:
        return job.window_start
    return None


# --- texts ---------------------------------------------------------------------------------------

STATUS_TEXT = {
    "new": "Booked",
    "assigned": "Technician assigned",
    "accepted": "Technician assigned",
    "en_route": "On the way",
    "on_site": "Arrived",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "failed": "Could not be finished",
}


def clock_time(instant: dt.datetime, timezone: str) -> str:
    """``9:05 AM`` in the store's zone."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def window_text(job: JobFacts) -> str:
    if job.window_start is None or job.window_end is None:
        return "a time we will confirm"
    zone = ZoneInfo(job.timezone)
    day = job.window_start.astimezone(zone).strftime("%a %b %d").replace(" 0", " ")
    return (f"{day}, between {clock_time(job.window_start, job.timezone)} and "
            f"{clock_time(job.window_end, job.timezone)}")


def message_text(kind: NotificationKind, job: JobFacts, now: dt.datetime,
                 tracking_url: str) -> str:
    """The text of one notification, within SMS size. The same words on the page and by SMS; a
    text also carries the tracking link (``tracking_url`` empty: the page's own copy)."""
    tech = first_name(job.technician_name or "")
    eta = estimated_arrival(job, now)
    eta_text = f" around {clock_time(eta, job.timezone)}" if eta is not None else " soon"
    text, link = {
        NotificationKind.BOOKED: (f"Your service visit is booked for {window_text(job)}.",
                                  "Follow it here:"),
        NotificationKind.ASSIGNED: (f"{tech} will do your service visit and should arrive"
                                    f"{eta_text}.", "Follow it here:"),
        NotificationKind.EN_ROUTE: (f"{tech} is on the way and should arrive{eta_text}.",
                                    "Watch live:"),
        NotificationKind.ARRIVED: (f"{tech} has arrived.", ""),
        NotificationKind.COMPLETED: ("Your service visit is complete. Thank you!", ""),
        NotificationKind.CANCELLED: ("Your service visit has been cancelled. Call us to book "
                                     "another time.", ""),
        NotificationKind.RESCHEDULED: (f"Your service visit has moved to {window_text(job)}.",
                                       "Follow it here:"),
        NotificationKind.FAILED: (f"{tech} could not finish your service visit. We have booked "
                                  "a follow-up visit and will confirm its time with you.",
                                  "Follow the follow-up here:"),
    }[kind]
    if link and tracking_url:
        text = f"{text} {link} {tracking_url}"
    return text[:SMS_LIMIT]


# --- the tracking link ---------------------------------------------------------------------------

CLOSED_STATUSES = frozenset({"completed", "cancelled", "failed"})


@dataclass(frozen=True, slots=True)
class TrackingPolicy:
    #: How long the page still shows a closed job (the customer sees it is done).
    after_close: dt.timedelta = dt.timedelta(hours=2)
    #: An open job's link ends this long after its window (or its booking, without a window).
    open_days: dt.timedelta = dt.timedelta(days=3)
    #: How often the page asks for news (seconds); slower once the job is closed and the customer
    #: was told so (or ``closing_grace`` passed without a message: none may come).
    poll_seconds: float = 1.0
    closed_poll_seconds: float = 30.0
    closing_grace: dt.timedelta = dt.timedelta(minutes=2)


def link_expires_at(job: JobFacts, policy: TrackingPolicy) -> dt.datetime:
    """When the link stops showing anything."""
    if job.status in CLOSED_STATUSES:
        return job.status_changed_at + policy.after_close
    anchor = max(job.created_at, job.window_end or job.created_at)
    return anchor + policy.open_days


def link_alive(job: JobFacts, now: dt.datetime, policy: TrackingPolicy) -> bool:
    return now < link_expires_at(job, policy)


def public_view(job: JobFacts, now: dt.datetime, policy: TrackingPolicy,
                notes: list[dict[str, Any]]) -> dict[str, Any]:
    """The tracking page's data: this job's status, the technician's first name, the ETA, the
    van while on the way, what the customer was told. Nothing of other jobs or of people."""
    eta = estimated_arrival(job, now)
    on_the_way = job.status == "en_route" and job.van is not None
    closed = job.status in CLOSED_STATUSES
    # The closing message is written a moment after the status changes: keep asking until it is
    # in, so a customer who saw "Completed" also sees what they were told about it.
    settled = closed and (any(n.get("kind") == job.status for n in notes)
                          or now - job.status_changed_at >= policy.closing_grace)
    return {
        "status": job.status,
        "status_text": STATUS_TEXT.get(job.status, job.status),
        "technician": first_name(job.technician_name) if job.technician_name else None,
        "eta": eta.isoformat() if eta else None,
        "eta_text": clock_time(eta, job.timezone) if eta else None,
        "window_text": window_text(job),
        "destination": {"lat": job.destination[0], "lon": job.destination[1]},
        "van": {"lat": job.van[0], "lon": job.van[1]} if on_the_way and job.van else None,
        "updated_at": job.status_changed_at.isoformat(),
        "expires_at": link_expires_at(job, policy).isoformat(),
        "poll_seconds": policy.closed_poll_seconds if settled else policy.poll_seconds,
        "messages": [{**n, "at_text": clock_time(dt.datetime.fromisoformat(n["at"]),
                                                  job.timezone)} for n in notes],
    }


# --- consent -------------------------------------------------------------------------------------

class ConsentSource(enum.StrEnum):
    PHONE_CALL = "phone_call"
    IN_PERSON = "in_person"
    WEB_FORM = "web_form"
    WRITTEN = "written"
    SMS_REPLY = "sms_reply"
    #: Changed on the customer's record (``PATCH`` of ``sms_opt_in``), which does not say how.
    CUSTOMER_UPDATE = "customer_update"


#: Sources the system records by itself; a person recording consent names how it was given.
SYSTEM_SOURCES = frozenset({ConsentSource.SMS_REPLY, ConsentSource.CUSTOMER_UPDATE})


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    customer_id: str
    channel: Channel
    granted: bool
    source: ConsentSource
    recorded_by: str  # a username, or ``sms:<number>`` for a reply
    at: dt.datetime
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "channel": self.channel.value,
                "granted": self.granted, "source": self.source.value,
                "recorded_by": self.recorded_by, "at": self.at.isoformat(), "note": self.note}


#: Carrier keywords (CTIA): these end every text; these start them again.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})


def reply_intent(text: str) -> bool | None:
    """A reply's meaning for consent: False (opt out), True (opt in again), None (neither).
    Only a message that is just the keyword counts ("stop" yes, "don't stop by" no)."""
    word = re.sub(r"[^a-z]", "", (text or "").strip().lower())
    if word in OPT_OUT_WORDS:
        return False
    if word in OPT_IN_WORDS:
        return True
    return None


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for one customer on one channel, from one published event."""

    work_order_id: str
    customer_id: str | None
    kind: NotificationKind
    channel: Channel
    recipient: str
    text: str
    event_seq: int
    status: str = field(default="posted")


def notifications_for(kind: NotificationKind, job: JobFacts, now: dt.datetime,
                      tracking_url: str, event_seq: int, *,
                      text_too: bool = True) -> list[Notification]:
    """Every notification one event makes: the page always, SMS with consent (queued) unless
    ``text_too`` is false."""
    customer = job.customer
    out = []
    for channel in channels_for(customer):
        if channel == Channel.SMS and not text_too:
            continue
        sms = channel == Channel.SMS
        text = message_text(kind, job, now, tracking_url if sms else "")
        out.append(Notification(
            work_order_id=job.work_order_id,
            customer_id=customer.customer_id if customer else None, kind=kind, channel=channel,
            recipient=(normalize_phone(customer.phone) or "") if sms and customer else "",
            text=text, event_seq=event_seq, status="pending" if sms else "posted"))
    return out
