"""Assignments and proposals: what the optimizer suggests and a dispatcher confirms."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.errors import InvalidTransition, RuleViolation, ValidationFailed
from domain.geo import ensure_aware


@dataclass(frozen=True, slots=True)
class Assignment:
    """A work order on a technician's route at a position, with the planned arrival."""

    work_order_id: str
    technician_id: str
    sequence: int
    planned_arrival: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "work_order_id": self.work_order_id,
            "technician_id": self.technician_id,
            "sequence": self.sequence,
            "planned_arrival": self.planned_arrival.isoformat() if self.planned_arrival else None,
        }


@dataclass(frozen=True, slots=True)
class Move:
    """One change a proposal makes: a job goes from one technician (or the queue) to another."""

    work_order_id: str
    from_technician_id: str | None
    to_technician_id: str | None
    position: int | None
    eta: dt.datetime | None
    reasons: tuple[str, ...] = ()
    #: The work order version the proposal was computed on; confirming checks it is unchanged.
    work_order_version: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "work_order_id": self.work_order_id,
            "from_technician_id": self.from_technician_id,
            "to_technician_id": self.to_technician_id,
            "position": self.position,
            "eta": self.eta.isoformat() if self.eta else None,
            "reasons": list(self.reasons),
            "work_order_version": self.work_order_version,
        }


@dataclass(frozen=True, slots=True)
class Unassigned:
    work_order_id: str
    reason_code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"work_order_id": self.work_order_id, "reason_code": self.reason_code,
                "reason": self.reason}


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    PARTIALLY_CONFIRMED = "partially_confirmed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNDONE = "undone"


_P = ProposalStatus
PROPOSAL_TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    _P.PROPOSED: frozenset({_P.CONFIRMED, _P.PARTIALLY_CONFIRMED, _P.REJECTED, _P.EXPIRED}),
    _P.CONFIRMED: frozenset({_P.UNDONE}),
    _P.PARTIALLY_CONFIRMED: frozenset({_P.UNDONE}),
    _P.REJECTED: frozenset(),
    _P.EXPIRED: frozenset(),
    _P.UNDONE: frozenset(),
}


class ProposalUndone(ev.ProposalEvent):
    """A confirmed proposal was reverted in one step (its jobs back where they were)."""


class Proposal(Aggregate):
    """A set of moves with reasons and KPIs before and after, for a dispatcher to review."""

    def __init__(
        self,
        *,
        scope: str,
        moves: tuple[Move, ...],
        unassigned: tuple[Unassigned, ...],
        kpis_before: dict[str, float],
        kpis_after: dict[str, float],
        created_at: dt.datetime,
        created_by: str,
        expires_at: dt.datetime,
        store_ids: frozenset[str] = frozenset(),
        status: ProposalStatus = ProposalStatus.PROPOSED,
        confirmed_moves: tuple[str, ...] = (),
        status_reason: str = "",
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        self.id = id or new_id()
        self.scope = scope
        self.moves = moves
        self.unassigned = unassigned
        self.kpis_before = kpis_before
        self.kpis_after = kpis_after
        self.created_at = ensure_aware(created_at, "created_at")
        self.created_by = created_by
        self.expires_at = ensure_aware(expires_at, "expires_at")
        self.store_ids = store_ids
        self.status = status
        self.confirmed_moves = confirmed_moves
        self.status_reason = status_reason

    def record_created(self) -> None:
        self.touch()
        self._record(ev.ProposalCreated, data={"proposal": self.snapshot()})

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope,
            "status": self.status.value,
            "status_reason": self.status_reason,
            "moves": [m.as_dict() for m in self.moves],
            "unassigned": [u.as_dict() for u in self.unassigned],
            "kpis_before": self.kpis_before,
            "kpis_after": self.kpis_after,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "expires_at": self.expires_at.isoformat(),
            "store_ids": sorted(self.store_ids),
            "confirmed_moves": list(self.confirmed_moves),
            "version": self.version,
        }

    def select(self, work_order_ids: list[str] | None) -> list[Move]:
        """The moves to confirm: all of them, or the named subset (each must be in the proposal)."""
        if work_order_ids is None:
            return list(self.moves)
        by_id = {m.work_order_id: m for m in self.moves}
        missing = [w for w in work_order_ids if w not in by_id]
        if missing:
            raise ValidationFailed(
                f"work order(s) {', '.join(missing)} are not in this proposal", field="moves"
            )
        if not work_order_ids:
            raise ValidationFailed("choose at least one move to confirm", field="moves")
        return [by_id[w] for w in dict.fromkeys(work_order_ids)]

    def confirm(self, moves: list[Move], now: dt.datetime) -> None:
        self._require_open(now)
        target = _P.CONFIRMED if len(moves) == len(self.moves) else _P.PARTIALLY_CONFIRMED
        self.status = target
        self.confirmed_moves = tuple(m.work_order_id for m in moves)
        self.touch()
        self._record(ev.ProposalConfirmed, data={"proposal": self.snapshot()})

    def reject(self, reason: str, now: dt.datetime) -> None:
        self._require_open(now)
        self.status = _P.REJECTED
        self.status_reason = reason
        self.touch()
        self._record(ev.ProposalRejected, data={"proposal": self.snapshot()})

    def expire(self, reason: str) -> None:
        if _P.EXPIRED not in PROPOSAL_TRANSITIONS[self.status]:
            raise InvalidTransition("proposal", self.status.value, _P.EXPIRED.value)
        self.status = _P.EXPIRED
        self.status_reason = reason
        self.touch()
        self._record(ev.ProposalExpired, data={"proposal": self.snapshot()})

    def undo(self, reason: str) -> None:
        if _P.UNDONE not in PROPOSAL_TRANSITIONS[self.status]:
            raise InvalidTransition("proposal", self.status.value, _P.UNDONE.value)
        self.status = _P.UNDONE
        self.status_reason = reason
        self.touch()
        self._record(ProposalUndone, data={"proposal": self.snapshot()})

    def confirmed(self) -> list[Move]:
        """The moves a confirmation committed."""
        chosen = set(self.confirmed_moves)
        return [m for m in self.moves if m.work_order_id in chosen]

    def _require_open(self, now: dt.datetime) -> None:
        if self.status != _P.PROPOSED:
            raise InvalidTransition("proposal", self.status.value, "confirmed")
        if now >= self.expires_at:
            raise RuleViolation("the proposal has expired", code="proposal_expired")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A technician who could take a job, with the figures a dispatcher needs to choose."""

    technician_id: str
    eta: dt.datetime
    added_drive_seconds: int
    lateness_seconds: int
    reasons: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "technician_id": self.technician_id,
            "eta": self.eta.isoformat(),
            "added_drive_seconds": self.added_drive_seconds,
            "lateness_seconds": self.lateness_seconds,
            "reasons": list(self.reasons),
        }
