"""Aggregate base: a version for optimistic locking and a list of recorded events."""

from __future__ import annotations

import uuid
from typing import Any

from domain.events import Event


def new_id() -> str:
    """A new random identifier (UUID4 as text), the form every resource id takes."""
    return str(uuid.uuid4())


class Aggregate:
    """A consistency boundary.

    ``version`` is the number the storage layer compares on write: the first change in a unit of
    work moves it from the loaded version to the next one, and the repository writes only if the
    stored row still has the loaded version. Every change records an event, so "has events"
    means "has changes to write".
    """

    id: str

    def __init__(self, *, version: int = 0) -> None:
        self.version = version
        self.loaded_version = version
        self.events: list[Event] = []

    @property
    def is_new(self) -> bool:
        return self.loaded_version == 0

    @property
    def is_dirty(self) -> bool:
        return self.is_new or self.version != self.loaded_version

    def touch(self) -> None:
        """Take the next version (once per unit of work). Called before a snapshot is put into an
        event, so the event shows the version the change creates."""
        if self.version == self.loaded_version:
            self.version = self.loaded_version + 1

    def _record(self, event_type: type[Event], **fields: Any) -> Event:
        self.touch()
        event = event_type(aggregate_id=self.id, **fields)
        self.events.append(event)
        return event

    def mark_persisted(self) -> None:
        """Called by the storage layer after a successful write."""
        self.loaded_version = self.version
        self.events.clear()
