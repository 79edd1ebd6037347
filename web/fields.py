"""Field types every way in shares: the API's request bodies and the partner's orders, pushed or
polled, take text, ids, places, instants and time windows by the same rules (syntax at the edge;
what a value means is checked in the domain)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo answers 422 naming the field."""

    model_config = ConfigDict(extra="forbid")


class LocationIn(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


def _storable(value: str) -> str:
    """Text the databases can store: no NUL character, no lone surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid UTF-8 text") from error
    return value


#: With `text`, the validator of every text field: ``Annotated[str, text(...), CLEAN]``.
CLEAN = AfterValidator(_storable)
_NUL_FREE = r"^[^\x00]*$"


def text(max_length: int, min_length: int = 0) -> StringConstraints:
    """The length bounds of a text field (its schema says there is no NUL in it too)."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=_NUL_FREE)


Id = Annotated[str, text(64, 1), CLEAN]
Name = Annotated[str, text(200, 1), CLEAN]
Phone = Annotated[str, text(32), CLEAN]
Email = Annotated[str, text(200), CLEAN]
Description = Annotated[str, text(4000, 1), CLEAN]
Notes = Annotated[str, text(4000), CLEAN]
Address = Annotated[str, text(300), CLEAN]
Reason = Annotated[str, text(1000), CLEAN]
RequiredReason = Annotated[str, text(1000, 1), CLEAN]
Ref = Annotated[str, text(500, 1), CLEAN]
Skill = Annotated[str, text(64, 1), CLEAN]


def _plausible(value: dt.datetime) -> dt.datetime:
    """An aware instant the databases can hold in UTC (years 1900 to 2199)."""
    if not MIN_INSTANT <= value <= MAX_INSTANT:
        raise ValueError("must be between the years 1900 and 2199")
    return value


MIN_INSTANT = dt.datetime(1900, 1, 2, tzinfo=dt.UTC)
MAX_INSTANT = dt.datetime(2199, 12, 31, tzinfo=dt.UTC)
Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]
Version = Annotated[int, Field(ge=0, le=2**31 - 1)]
Minutes = Annotated[int, Field(ge=1, le=24 * 60)]


class WindowIn(Strict):
    """A time window: ``start`` and ``end`` are ISO times with a zone offset."""

    start: Instant
    end: Instant
