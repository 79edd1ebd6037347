"""Request and response models of the audit-log endpoints (``audit.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from web.api.schemas import Page, PageQuery


class AuditQuery(PageQuery):
    actor: str | None = Field(default=None, min_length=1, max_length=64,
                              description="the acting user's username")
    action: str | None = Field(default=None, min_length=1, max_length=64,
                               description="e.g. store.create, dispatch.edit")
    entity_type: str | None = Field(default=None, min_length=1, max_length=32)
    entity_id: str | None = Field(default=None, min_length=1, max_length=64)
    date_from: AwareDatetime | None = None
    date_to: AwareDatetime | None = None


class AuditEntryOut(BaseModel):
    id: str
    at: dt.datetime
    actor_id: str | None
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correlation_id: str | None


class AuditPage(Page[AuditEntryOut]):
    pass
