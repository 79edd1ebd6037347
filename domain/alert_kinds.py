"""The catalogue's defaults: every alert kind, what triggers it, its numbers, its title and
message template, and the fields (with example values, for the preview) its templates may name.
An admin's overrides are stored apart (``alert_rules`` table) and laid over these."""

from __future__ import annotations

from domain.alert_catalogue import Choice, KindSpec, Number, RuleBook, RuleOverride
from domain.alerts import AlertKind, Severity
from domain.resources import TechnicianStatus
from domain.work_orders import Priority

_K, _S = AlertKind, Severity

ORDER = {"order_id": "wo-1234", "job": "No cooling in the walk-in freezer (1 Main St, Dallas)",
         "description": "No cooling in the walk-in freezer", "address": "1 Main St, Dallas",
         "priority": "high", "status": "assigned", "store": "Dallas Downtown",
         "store_id": "store-0001", "technician": "Maria Lopez"}
TECH = {"technician": "Maria Lopez", "technician_id": "tech-0001", "status": "en route",
        "store": "Dallas Downtown", "store_id": "store-0001"}
SYSTEM = {"store": "—"}


def minutes(name: str, default: float, label: str, low: float = 0, high: float = 1440) -> Number:
    return Number(name, default, low, high, "min", label)


CLEAR = minutes("clear_after_minutes", 60, "Clears itself after", 1)
HOLD = minutes("hold_minutes", 10, "Stays at least", 0, 240)

SPECS: tuple[KindSpec, ...] = (
    KindSpec(_K.NEW_ORDER, _S.INFO, "An order was booked (any way in), at a chosen priority; "
             "clears once it is assigned or closed",
             "New {priority} job", "{job}, booked by {channel}.",
             {**ORDER, "channel": "phone"},
             (Choice("priorities", ("high", "normal", "low"), tuple(p.value for p in Priority),
                     "Priorities"), CLEAR)),
    KindSpec(_K.EMERGENCY_ORDER, _S.CRITICAL, "An emergency order is unassigned",
             "Emergency job waiting for a technician", "{job}.", {**ORDER, "waited": "3 min"},
             (minutes("after_minutes", 0, "Unassigned for at least", 0, 120),)),
    KindSpec(_K.URGENT_ORDER, _S.WARNING, "A high-priority order is unassigned for a while",
             "Urgent job unassigned", "{job}; unassigned for {waited}.",
             {**ORDER, "waited": "12 min"},
             (minutes("after_minutes", 10, "Unassigned for at least", 1, 240),)),
    KindSpec(_K.ORDER_COMMENT, _S.INFO, "Someone commented on an order (internal note)",
             "Comment by {author}", "{job}: “{comment}”",
             {**ORDER, "author": "dispatcher", "comment": "Customer asks to call ahead"},
             (CLEAR,)),
    KindSpec(_K.CUSTOMER_NOTE, _S.INFO, "A note the customer sees was added to an order",
             "Note to the customer by {author}", "{job}: “{comment}”",
             {**ORDER, "author": "service", "comment": "The technician arrives after 2 pm"},
             (CLEAR,)),
    KindSpec(_K.PARTNER_CHANGE, _S.WARNING, "The partner changed or cancelled an order it sent "
             "(applied: nobody worked on it yet)",
             "{partner} {change} a job", "Order {external_id} (version {version}) was {change} "
             "by {partner}: {job}.",
             {**ORDER, "partner": "acme", "change": "cancelled", "external_id": "P-77",
              "version": "3"}, (CLEAR,)),
    KindSpec(_K.PARTNER_CHANGE_BLOCKED, _S.WARNING, "The partner changed or cancelled a job "
             "already under way: nothing was changed; clears when the job is closed",
             "{partner} wants to {change} of a job under way",
             "Order {external_id} (version {version}) is {status} with {technician}: nothing "
             "was changed. Settle it with {partner} and the technician.",
             {**ORDER, "partner": "acme", "change": "cancel it", "external_id": "P-77",
              "version": "4"}),
    KindSpec(_K.ASSIGNMENT_NOT_ACCEPTED, _S.WARNING, "A job assigned to a technician is not "
             "accepted within a while",
             "{technician} has not accepted a job", "{job}; assigned {waited} ago.",
             {**ORDER, "waited": "16 min"},
             (minutes("after_minutes", 15, "Not accepted within", 1, 480),)),
    KindSpec(_K.JOB_DECLINED, _S.WARNING, "A technician declined a job; clears when someone "
             "else takes it", "Job declined by {technician}",
             "{job}: {reason}. It needs another technician.",
             {**ORDER, "reason": "van broke down"}),
    KindSpec(_K.TECHNICIAN_STATUS, _S.INFO, "A technician moved to one of the chosen statuses",
             "{technician} is now {status}", "{technician} went from {previous} to {status}.",
             {**TECH, "status": "unavailable", "previous": "available"},
             (Choice("statuses", ("unavailable",), tuple(s.value for s in TechnicianStatus),
                     "Statuses"), minutes("clear_after_minutes", 30, "Clears itself after", 1))),
    KindSpec(_K.RUNNING_LATE, _S.WARNING, "Before the window ends, the expected arrival (from "
             "the van on the way, else the route's plan) already falls after it",
             "{technician} will be late for a job",
             "{job}; expected at {eta}, the window ends at {window_end} ({late_by} late).",
             {**ORDER, "eta": "14:40", "window_end": "14:00", "late_by": "40 min"},
             (minutes("grace_minutes", 0, "Late by more than", 0, 240),
              Number("average_speed_kmh", 40, 5, 130, "km/h", "Average speed on the way"))),
    KindSpec(_K.JOB_LATE, _S.WARNING, "A job assigned or accepted is not started by the end of "
             "its window", "{technician} has not started a job",
             "{job}; its window ended {late_by} ago.",
             {**ORDER, "late_by": "20 min", "window_end": "14:00"},
             (minutes("grace_minutes", 0, "Window ended more than", 0, 240),)),
    KindSpec(_K.NO_SHOW, _S.WARNING, "The shift began, the technician is still off duty and has "
             "jobs waiting", "{technician} has not started the shift",
             "The shift began {since} ago; still off duty with {jobs} job(s) waiting.",
             {**TECH, "since": "25 min", "jobs": "3"},
             (minutes("grace_minutes", 15, "Shift started more than", 0, 240),)),
    KindSpec(_K.TRACKER_STALE, _S.WARNING, "En route or on site, the van's tracker sent nothing "
             "for a while", "{technician}'s van tracker is quiet",
             "No position for {quiet_for} while {status}.", {**TECH, "quiet_for": "6 min"},
             (minutes("after_minutes", 5, "Quiet for", 1, 240),)),
    KindSpec(_K.TRACKER_OFFLINE, _S.CRITICAL, "En route or on site, the van's tracker sent "
             "nothing for longer still (it counts as offline)",
             "{technician}'s van tracker is offline",
             "No position for {quiet_for} while {status}.", {**TECH, "quiet_for": "31 min"},
             (minutes("after_minutes", 30, "Quiet for", 1, 1440),)),
    KindSpec(_K.SPEEDING, _S.WARNING, "A van on duty reports a speed above the limit",
             "{technician}'s van is speeding", "{speed} km/h where the limit is {limit} km/h.",
             {**TECH, "speed": "131", "limit": "120"},
             (Number("limit_kmh", 120, 30, 250, "km/h", "Speed limit"), HOLD)),
    KindSpec(_K.OUT_OF_AREA, _S.WARNING, "A van on duty is farther from its store than the "
             "service area", "{technician}'s van left the service area",
             "{distance} km from {store}, beyond the {limit} km of its area.",
             {**TECH, "distance": "92", "limit": "80"},
             (Number("max_km", 80, 1, 1000, "km", "Service area radius"), HOLD)),
    KindSpec(_K.PROPOSAL_WAITING, _S.WARNING, "An optimizer proposal waits for review too long",
             "A proposal waits for review",
             "{moves} change(s) for {scope} proposed {waited} ago; it expires at {expires}.",
             {"proposal_id": "prop-1", "moves": "4", "waited": "12 min", "scope": "store-0001",
              "expires": "15:30", "store": "Dallas Downtown"},
             (minutes("after_minutes", 10, "Waiting for", 1, 480),)),
    KindSpec(_K.JOB_FAILED, _S.WARNING, "A technician could not finish a job; its follow-up "
             "waits in the queue until it is assigned", "{technician} could not finish a job",
             "{job}: {reason}. A follow-up is in the queue and needs a technician.",
             {**ORDER, "reason": "compressor part not in the van"}),
    KindSpec(_K.INTEGRATION_FAILING, _S.CRITICAL, "A feed (GeoTab, a partner's orders) failed "
             "repeatedly", "Integration {integration} is failing",
             "{failures} failures in a row. Last error: {error}",
             {**SYSTEM, "integration": "geotab", "failures": "3", "error": "ReadTimeout"},
             (Number("failures", 3, 1, 100, "", "Failures in a row"),)),
    KindSpec(_K.WEBHOOK_DEAD, _S.WARNING, "Webhooks to a partner were dead-lettered (gave up "
             "after every attempt, not replayed)",
             "Webhooks to {partner} are dead-lettered",
             "{count} delivery(ies) gave up; the last error: {error}. Replay them once "
             "{partner} answers again.",
             {**SYSTEM, "partner": "acme", "count": "2", "error": "HTTP 503"},
             (Number("count", 1, 1, 10000, "", "Dead deliveries, at least"),)),
    KindSpec(_K.SYSTEM_ERROR, _S.CRITICAL, "Unhandled errors, the relay falling behind, the "
             "database or Redis unreachable", "System error: {component}", "{detail}",
             {**SYSTEM, "component": "relay",
              "detail": "The relay is behind: the oldest unpublished event is 75 s old."},
             (Number("relay_lag_seconds", 60, 5, 3600, "s", "Relay behind by"),
              Number("exceptions", 5, 1, 10000, "", "Unhandled errors, at least"),
              minutes("window_minutes", 10, "Within", 1, 1440),
              minutes("clear_after_minutes", 60, "An outage's alert clears after", 1))),
)
CATALOGUE: dict[AlertKind, KindSpec] = {s.kind: s for s in SPECS}


def rule_book(overrides: tuple[RuleOverride, ...] | list[RuleOverride] = ()) -> RuleBook:
    """The effective catalogue: the defaults with ``overrides`` laid over them."""
    return RuleBook(CATALOGUE, overrides)
