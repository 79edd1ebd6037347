"""Who may subscribe to what, and which events and positions each session may receive."""

from __future__ import annotations

from dataclasses import dataclass

from domain.roles import Permission, Principal, may_see_proposal
from realtime.events import LogEvent, PositionUpdate


class BadTopic(ValueError):
    pass


def parse_topic(topic: str) -> tuple[str, str | None]:
    if not isinstance(topic, str) or len(topic) > 100:
        raise BadTopic("a topic is a short string")
    kind, _, arg = topic.partition(":")
    if kind in {"board", "alerts"} and not arg:
        return kind, None
    if kind in {"store", "technician"} and arg:
        return kind, arg
    raise BadTopic(f"unknown topic {topic!r}")


def may_subscribe(principal: Principal, topic: str) -> bool:
    kind, arg = parse_topic(topic)
    if kind == "board":
        return principal.can(Permission.BOARD_VIEW)
    if kind == "store":
        return principal.can(Permission.BOARD_VIEW) and principal.sees_store(arg)
    if kind == "technician":
        return arg == principal.technician_id or principal.can(Permission.BOARD_VIEW)
    return principal.can(Permission.ALERT_VIEW)


def _sees(principal: Principal, store_id: str | None, technician_id: str | None) -> bool:
    if principal.is_technician_only:
        return technician_id is not None and technician_id == principal.technician_id
    if store_id is None:
        return principal.store_ids is None
    return principal.sees_store(store_id)


@dataclass(frozen=True, slots=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        if not self.south <= lat <= self.north:
            return False
        if self.west <= self.east:
            return self.west <= lon <= self.east
        return lon >= self.west or lon <= self.east  # crosses the antimeridian


def _in_topics(topics: frozenset[str], store_id: str | None, technician_id: str | None,
               *, is_alert: bool = False) -> bool:
    for topic in topics:
        kind, arg = parse_topic(topic)
        if kind == "board":
            return True
        if kind == "store" and store_id == arg:
            return True
        if kind == "technician" and technician_id == arg:
            return True
        if kind == "alerts" and is_alert:
            return True
    return False


def _sees_alert(principal: Principal, store_id: str | None) -> bool:
    """Alerts need the alert view; system alerts (no store) the system-alert permission."""
    if not principal.can(Permission.ALERT_VIEW):
        return False
    return store_id is not None or principal.can(Permission.ALERT_SYSTEM)


def proposal_store_ids(proposal: object) -> frozenset[str] | None:
    """The stores a proposal's jobs belong to, from its snapshot; None when it does not say."""
    store_ids = proposal.get("store_ids") if isinstance(proposal, dict) else None
    if not isinstance(store_ids, list) or not all(isinstance(s, str) for s in store_ids):
        return None
    return frozenset(store_ids)


def proposal_matches(principal: Principal, topics: frozenset[str],
                     store_ids: frozenset[str] | None) -> bool:
    """Proposals go to those with the proposal view, within their stores, on the board topic or
    the topic of a store the proposal touches (snapshots and live events apply the same rule)."""
    if store_ids is None or not may_see_proposal(principal, store_ids):
        return False
    return "board" in topics or any(f"store:{s}" in topics for s in store_ids)


def event_matches(principal: Principal, topics: frozenset[str], event: LogEvent) -> bool:
    if event.aggregate_type == "proposal":
        return proposal_matches(principal, topics,
                                proposal_store_ids(event.data.get("proposal")))
    if event.aggregate_type == "alert" and not _sees_alert(principal, event.store_id):
        return False
    return _sees(principal, event.store_id, event.technician_id) and _in_topics(
        topics, event.store_id, event.technician_id, is_alert=event.aggregate_type == "alert")


def position_matches(principal: Principal, topics: frozenset[str], update: PositionUpdate,
                     bounds: Bounds | None) -> bool:
    if bounds is not None and not bounds.contains(update.lat, update.lon):
        return False
    return _sees(principal, update.store_id, update.technician_id) and _in_topics(
        topics, update.store_id, update.technician_id)
