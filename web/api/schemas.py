"""Shared request and response models (syntax at the edge; meaning is checked in the domain)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from web.fields import LocationIn as LocationIn
from web.fields import Strict as Strict

T = TypeVar("T")


def split_commas(value: object) -> list[str]:
    """A query parameter that may repeat (``status=new&status=assigned``) or hold a comma list
    (``status=new,assigned``), as one list (a ``BeforeValidator`` of list-typed query fields)."""
    values = value if isinstance(value, list) else [value]
    return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class LocationOut(BaseModel):
    lat: float
    lon: float


class TimeWindowOut(BaseModel):
    start: dt.datetime
    end: dt.datetime


class PageQuery(Strict):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class Message(BaseModel):
    detail: str


def page(items: list[Any], total: int, q: PageQuery) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": q.limit, "offset": q.offset}
