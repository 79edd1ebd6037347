"""Request and response models of the role-delegation endpoints (``delegations.py``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from domain.roles import Role
from web.api.schemas import Page, PageQuery, Strict


class DelegationIn(Strict):
    to_username: str = Field(min_length=1, max_length=64)
    role: Role
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime


class DelegationQuery(PageQuery):
    active: bool = Field(default=False, description="true: only those in force now")


class RoleDelegationOut(BaseModel):
    id: str
    from_user_id: str
    from_username: str
    to_user_id: str
    to_username: str
    role: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_at: dt.datetime
    active: bool


class DelegationPage(Page[RoleDelegationOut]):
    pass
