"""Comments on a work order: who wrote what, when, and who may read it.

A comment is ``internal`` (the company's people only) unless it is marked ``customer``
(customer-visible): then the customer's tracking page shows it too. Internal is the default, so a
note is never shown to a customer by accident.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import Conflict, ValidationFailed
from domain.geo import ensure_aware

#: Bounds on comments: every snapshot of a work order carries them all.
COMMENT_MAX_CHARS, COMMENTS_PER_ORDER = 2_000, 200


class CommentVisibility(enum.StrEnum):
    INTERNAL = "internal"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class Comment:
    author: str
    text: str
    at: dt.datetime
    visibility: CommentVisibility = CommentVisibility.INTERNAL

    @property
    def customer_visible(self) -> bool:
        return self.visibility is CommentVisibility.CUSTOMER

    def as_dict(self) -> dict[str, str]:
        return {"author": self.author, "text": self.text, "at": self.at.isoformat(),
                "visibility": self.visibility.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comment:
        """A stored comment; one stored before comments had a visibility is internal."""
        return cls(author=data["author"], text=data["text"],
                   at=dt.datetime.fromisoformat(data["at"]),
                   visibility=CommentVisibility(data.get("visibility") or "internal"))


def new_comment(existing: Sequence[Comment], author: str, text: str, at: dt.datetime,
                visibility: CommentVisibility | str = CommentVisibility.INTERNAL) -> Comment:
    """A comment checked against the rules: not empty, not too long, not one too many."""
    text = text.strip()
    if not text:
        raise ValidationFailed("a comment must not be empty", field="text")
    if len(text) > COMMENT_MAX_CHARS:
        raise ValidationFailed(f"a comment is limited to {COMMENT_MAX_CHARS} characters",
                               field="text", code="comment_too_long")
    try:
        kind = CommentVisibility(visibility)
    except ValueError:
        raise ValidationFailed("visibility is internal or customer",
                               field="visibility") from None
    if len(existing) >= COMMENTS_PER_ORDER:
        raise Conflict(f"a work order keeps at most {COMMENTS_PER_ORDER} comments",
                       code="too_many_comments", limit=COMMENTS_PER_ORDER)
    return Comment(author=author, text=text, at=ensure_aware(at, "at"), visibility=kind)


def customer_visible(comments: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The stored comments a customer may read: the customer-visible ones only."""
    return [{"author": c["author"], "text": c["text"], "at": c["at"]} for c in comments
            if c.get("visibility") == CommentVisibility.CUSTOMER.value]
