"""Shared request and response models (syntax at the edge; meaning is checked in the domain)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo answers 422 naming the field."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class LocationIn(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class LocationOut(BaseModel):
    lat: float
    lon: float


class TimeWindowIn(Strict):
    start: AwareDatetime
    end: AwareDatetime


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
