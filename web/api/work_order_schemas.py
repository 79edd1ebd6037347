"""Request and response models of the work-order endpoints (syntax here; meaning in the domain)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from domain.comments import COMMENT_MAX_CHARS, CommentVisibility
from domain.resources import TechnicianStatus
from domain.work_orders import Channel, Priority, WorkOrderStatus
from web.api.schemas import LocationOut, Out, Page, PageQuery, TimeWindowOut, split_commas
from web.fields import (
    CLEAN,
    Address,
    Description,
    Email,
    Instant,
    LocationIn,
    Minutes,
    Name,
    Notes,
    Phone,
    Ref,
    RequiredReason,
    Skill,
    Strict,
    text,
)

# Fields of other endpoints' bodies, kept importable from here.
from web.fields import Id as Id
from web.fields import Reason as Reason
from web.fields import Version as Version
from web.fields import WindowIn as WindowIn

# -- requests --------------------------------------------------------------------------------


class WorkOrderIn(Strict):
    """A new work order; ``customer_id`` names a known customer, ``customer_name`` a walk-in."""

    store_id: Id
    priority: Priority
    location: LocationIn
    description: Description
    customer_id: Id | None = None
    customer_name: Name | None = None
    customer_phone: Phone | None = None
    customer_email: Email | None = None
    sms_opt_in: bool | None = None
    address: Address = ""
    time_window: WindowIn | None = None
    required_skills: list[Skill] = Field(default_factory=list, max_length=20)
    estimated_minutes: Minutes = 60

    @model_validator(mode="after")
    def _one_customer(self) -> WorkOrderIn:
        if self.customer_id is not None and self.customer_name is not None:
            raise ValueError("give customer_id or customer_name (a walk-in), not both")
        contact = {"customer_phone", "customer_email", "sms_opt_in"} & self.model_fields_set
        if contact and self.customer_name is None:
            raise ValueError(f"{sorted(contact)[0]} needs customer_name (a walk-in customer)")
        return self


#: Fields of a PATCH that may be set to null; the others may only be changed.
NULLABLE = frozenset({"time_window", "customer_id"})


class WorkOrderPatch(Strict):
    """Descriptive fields only; any other field answers 422 naming it."""

    priority: Priority | None = None
    location: LocationIn | None = None
    address: Address | None = None
    description: Description | None = None
    time_window: WindowIn | None = None
    required_skills: list[Skill] | None = Field(default=None, max_length=20)
    estimated_minutes: Minutes | None = None
    customer_id: Id | None = None
    pinned: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> WorkOrderPatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in sorted(self.model_fields_set - NULLABLE):
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class CancelIn(Strict):
    reason: RequiredReason
    version: Version | None = None


class ProofIn(Strict):
    location: LocationIn | None = None
    signature_ref: Ref | None = None
    photo_refs: list[Ref] = Field(default_factory=list, max_length=20)
    notes: Notes = ""


class Step(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETE = "complete"
    FAIL = "fail"


class StepIn(Strict):
    """A technician's step; a dispatcher reports one on a technician's behalf with technician_id."""

    step: Step
    reason: Reason = ""
    device_time: Instant | None = None
    proof: ProofIn | None = None
    technician_id: Id | None = None

    @model_validator(mode="after")
    def _proof_on_completion(self) -> StepIn:
        if self.proof is not None and self.step != Step.COMPLETE:
            raise ValueError("proof goes with the complete step only")
        return self


class CommentIn(Strict):
    """At most 2,000 characters; a work order keeps at most 200 comments (then 409
    ``too_many_comments``)."""

    text: Annotated[str, text(COMMENT_MAX_CHARS, 1), CLEAN]
    visibility: CommentVisibility = Field(
        CommentVisibility.INTERNAL,
        description="``internal`` (the default: the company's people only) or ``customer`` (also "
                    "shown on the customer's tracking page)")


class AssignIn(Strict):
    """Assign, or reassign, by hand; ``version`` is the version of the work order the client saw."""

    technician_id: Id
    version: Version | None = None
    pinned: bool | None = None
    allow_missing_skills: bool = False


class UnassignIn(Strict):
    version: Version | None = None
    reason: Reason = ""


class TechnicianStatusIn(Strict):
    status: TechnicianStatus
    reason: Reason = ""


class WorkOrderSort(StrEnum):
    PRIORITY = "priority"
    CREATED = "created_at"
    CREATED_DESC = "-created_at"


class WorkOrderQuery(PageQuery):
    """``status`` may repeat (``status=new&status=assigned``) or hold a comma list (``new,assigned``)."""

    status: Annotated[list[WorkOrderStatus], BeforeValidator(split_commas)] = Field(
        default_factory=list, max_length=8)
    store_id: Id | None = None
    priority: Priority | None = None
    date_from: Instant | None = None
    date_to: Instant | None = None
    changed_from: Instant | None = None
    technician_id: Id | None = None
    customer_id: Id | None = None
    unassigned: bool | None = None
    sort: WorkOrderSort = WorkOrderSort.PRIORITY

    @model_validator(mode="after")
    def _consistent(self) -> WorkOrderQuery:
        if self.unassigned and self.technician_id is not None:
            raise ValueError("unassigned=true and technician_id exclude each other")
        return self


# -- responses -------------------------------------------------------------------------------


class CommentOut(Out):
    author: str
    text: str
    at: dt.datetime
    visibility: CommentVisibility = CommentVisibility.INTERNAL


class ProofOut(Out):
    device_time: dt.datetime
    location: LocationOut | None = None
    signature_ref: str | None = None
    photo_refs: list[str] = Field(default_factory=list)
    notes: str = ""


class WorkOrderOut(Out):
    id: str
    store_id: str
    customer_id: str | None
    priority: Priority
    location: LocationOut
    address: str
    description: str
    time_window: TimeWindowOut | None
    required_skills: list[str]
    estimated_minutes: int
    status: WorkOrderStatus
    status_reason: str
    status_changed_at: dt.datetime
    en_route_at: dt.datetime | None = Field(
        None, description="When the technician set off (device time)")
    on_site_at: dt.datetime | None = Field(
        None, description="When the technician arrived (device time)")
    finished_at: dt.datetime | None = Field(
        None, description="When the technician completed or failed the job (device time)")
    channel: Channel = Field(
        Channel.PHONE, description="How the job reached us: phone (booked by a person), partner "
                                   "(the partner feed), webhook (a partner's signed webhook) or "
                                   "emergency; a follow-up keeps its original's")
    assigned_at: dt.datetime | None = Field(
        None, description="Its first assignment (kept through reassignments and declines)")
    technician_id: str | None
    sequence: int | None
    planned_arrival: dt.datetime | None
    pinned: bool
    follow_up_of: str | None = Field(
        None, description="The failed work order this one follows up (it could not be finished)")
    follow_ups: list[str] = Field(
        default_factory=list, description="The follow-ups made when this one failed (lists, "
        "detail and the failure step's answer)")
    created_at: dt.datetime
    created_by: str
    comments: list[CommentOut]
    proof: ProofOut | None
    version: int
    tracking_url: str | None = Field(
        None, description="The customer's tracking page (detail only; dispatchers and customer "
                          "service)")


class WorkOrderPage(Page[WorkOrderOut]):
    pass


class CommentPage(Page[CommentOut]):
    pass


class TechnicianStateOut(Out):
    """A technician as their status endpoint answers it."""

    id: str
    name: str
    home_store_id: str
    skills: list[str]
    status: TechnicianStatus
    unit_id: str | None
    active: bool
    version: int
