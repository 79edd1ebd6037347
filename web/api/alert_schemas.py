"""Request and response models of the alert endpoints (``alerts.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BeforeValidator, Field

from domain.alerts import AlertKind, AlertStatus, Severity
from web.api.schemas import Out, Page, PageQuery, Strict, split_commas
from web.api.work_order_schemas import Id, Reason, Version


class AlertQuery(PageQuery):
    """``status``, ``severity`` and ``kind`` may repeat or hold a comma list."""

    status: Annotated[list[AlertStatus], BeforeValidator(split_commas)] = Field(
        default_factory=list, max_length=3)
    severity: Annotated[list[Severity], BeforeValidator(split_commas)] = Field(
        default_factory=list, max_length=3)
    kind: Annotated[list[AlertKind], BeforeValidator(split_commas)] = Field(
        default_factory=list, max_length=len(AlertKind))
    store_id: Id | None = None


class AcknowledgeIn(Strict):
    version: Version | None = None


class AckItem(Strict):
    id: Id
    version: Version | None = None


class AcknowledgeManyIn(Strict):
    items: list[AckItem] = Field(min_length=1, max_length=500)


class SkippedOut(Out):
    id: str
    code: str


class ResolveIn(Strict):
    version: Version | None = None
    note: Reason = ""


class AlertOut(Out):
    id: str
    kind: AlertKind
    category: str
    severity: Severity
    status: AlertStatus
    dedup_key: str
    title: str
    message: str
    store_id: str | None
    technician_id: str | None
    work_order_id: str | None
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None
    resolved_by: str | None
    escalation_level: int
    next_escalation_at: dt.datetime | None
    version: int


class AlertPage(Page[AlertOut]):
    pass


class AcknowledgedManyOut(Out):
    acknowledged: list[AlertOut]
    skipped: list[SkippedOut]
