"""A session's positions lane: the vans that moved, coalesced per van while the board is behind.

Positions are not events: a lost or superseded fix is repaired by the van's next one, so the lane
keeps only the newest fix per van and never grows past the fleet. A board that sees every van and
has sent its last flush takes the hub's messages as they are (serialized once for all of them);
any other board, or one still behind, gets its own messages built from the coalesced fixes.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from typing import Any

from realtime.events import PositionUpdate
from realtime.scope import Bounds

#: Vans per ``positions`` message (about 210 bytes each): a flush of 2,000 vans reporting every
#: second is two messages of about 50 KB rather than one of 105 KB, which keeps each under the
#: 64 KiB from which ``dispatch serve`` compresses a message, per connection (positions go to
#: every board four times a second: deflating about 100 KB takes about half a millisecond, so
#: compressing them once per board would cost the fan-out most of a core at 500 boards).
POSITIONS_PER_MESSAGE = 250


def positions_messages(updates: list[PositionUpdate]) -> list[str]:
    """``positions`` messages of at most ``POSITIONS_PER_MESSAGE`` vans each."""
    return [json.dumps({"type": "positions",
                        "items": [u.item() for u in updates[i:i + POSITIONS_PER_MESSAGE]]},
                       separators=(",", ":"))
            for i in range(0, len(updates), POSITIONS_PER_MESSAGE)]


def parse_bounds(msg: dict[str, Any]) -> Bounds | None:
    """A board's ``bounds`` message: the map's box, or None (all null) for no box; a
    ``ValueError`` saying what is wrong otherwise."""
    values = [msg.get(k) for k in ("south", "west", "north", "east")]
    if all(v is None for v in values):
        return None
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        raise ValueError("bounds need numeric south, west, north, east")
    south, west, north, east = (float(v) for v in values)  # type: ignore[arg-type]
    if not (-90 <= south <= north <= 90 and -180 <= west <= 180 and -180 <= east <= 180):
        raise ValueError("bounds are out of range")
    return Bounds(south, west, north, east)


def json_items(frame: str) -> list[PositionUpdate]:
    return [PositionUpdate.from_item(i) for i in json.loads(frame)["items"]]


class PositionsLane:
    def __init__(self) -> None:
        #: The newest fix per van not sent yet (a filtered board, or one that fell behind).
        self.coalesced: dict[str, PositionUpdate] = {}
        #: The hub's messages of its last flush, shared by every board that sees all the vans.
        self.shared: list[str] = []

    def offer(self, updates: list[PositionUpdate], shared: list[str], *, sees_all: bool,
              matches: Callable[[PositionUpdate], bool]) -> None:
        if sees_all and not self.coalesced and not self.shared:
            self.shared = shared
            return
        # Behind (the last flush is not sent yet) or filtered: coalesce per van, so the board gets
        # each van's newest fix and loses none that moved in an unsent flush.
        unsent = [u for frame in self.shared for u in json_items(frame)]
        self.shared = []
        for u in itertools.chain(unsent, updates):
            if matches(u):
                self.coalesced[u.unit_id] = u

    @property
    def pending(self) -> bool:
        return bool(self.shared or self.coalesced)

    def take(self) -> list[str]:
        """The messages to send now; the lane is empty afterwards."""
        frames, self.shared = self.shared, []
        if self.coalesced:
            frames = positions_messages(list(self.coalesced.values()))
            self.coalesced.clear()
        return frames
