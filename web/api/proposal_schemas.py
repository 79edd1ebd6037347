"""Request and response models of the proposal, candidate and emergency endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from domain.work_orders import Priority
from web.api.schemas import Out, Page, PageQuery, Strict
from web.api.work_order_schemas import WorkOrderIn, WorkOrderOut

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]


class ScopeIn(Strict):
    """Exactly one of: ``store_id``, ``region``, ``all: true``, ``technician_ids``."""

    store_id: Id | None = None
    region: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    all: bool | None = None
    technician_ids: list[Id] | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one(self) -> ScopeIn:
        given = [n for n in ("store_id", "region", "technician_ids") if getattr(self, n)]
        if self.all:
            given.append("all")
        if len(given) != 1:
            raise ValueError("give exactly one of store_id, region, all (true), technician_ids")
        return self


class PlanIn(Strict):
    scope: ScopeIn
    time_limit_seconds: float = Field(default=5.0, ge=0.5, le=60.0)
    allow_lateness: bool = False


class ConfirmIn(Strict):
    work_order_ids: list[Id] | None = Field(default=None, max_length=5000)


class RejectIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class MoveOut(Out):
    work_order_id: str
    from_technician_id: str | None
    to_technician_id: str | None
    position: int | None
    eta: dt.datetime | None
    reasons: list[str]
    work_order_version: int


class UnassignedOut(Out):
    work_order_id: str
    reason_code: str
    reason: str


class ProposalOut(Out):
    id: str
    scope: str
    status: str
    status_reason: str
    moves: list[MoveOut]
    unassigned: list[UnassignedOut]
    kpis_before: dict[str, float]
    kpis_after: dict[str, float]
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    store_ids: list[str]
    confirmed_moves: list[str]
    version: int
    solve: dict[str, Any] | None = None


class ProposalPage(Page[ProposalOut]):
    pass


class ProposalQuery(PageQuery):
    status: Literal["open", "all"] = "open"


class CandidateQuery(Strict):
    k: int = Field(default=5, ge=1, le=50)


class CandidateOut(Out):
    technician_id: str
    name: str
    home_store_id: str
    position: int
    arrival: dt.datetime
    eta: dt.datetime
    added_drive_seconds: int
    added_drive_km: float
    slack_seconds: int
    lateness_seconds: int
    lateness_risk: str
    binding: list[str]
    currently_assigned: bool


class CandidatesOut(Out):
    work_order_id: str
    items: list[CandidateOut]
    computed_at: dt.datetime
    state_mark: int


class AreaIn(Strict):
    south: float = Field(ge=-90, le=90)
    west: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> AreaIn:
        if self.south > self.north or self.west > self.east:
            raise ValueError("south must not exceed north, nor west east")
        return self


class UnavailableIn(Strict):
    technician_ids: list[Id] | None = Field(default=None, min_length=1, max_length=2000)
    area: AreaIn | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] = "emergency"
    time_limit_seconds: float = Field(default=5.0, ge=0.5, le=60.0)

    @model_validator(mode="after")
    def _one(self) -> UnavailableIn:
        if (self.technician_ids is None) == (self.area is None):
            raise ValueError("give either technician_ids or area")
        return self


class EmergencyOut(ProposalOut):
    marked_unavailable: list[str]


class EmergencyJobIn(WorkOrderIn):
    """A work order created as an emergency whatever ``priority`` says."""

    priority: Priority = Priority.EMERGENCY
    k: int = Field(default=5, ge=1, le=50)


class EmergencyJobOut(Out):
    work_order: WorkOrderOut
    candidates: list[CandidateOut]
