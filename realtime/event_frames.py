"""Events that queued for one session go out as one frame, for clients that ask for it.

A board that keeps up gets each event as its own ``event`` message, as it always did. When a
session's writer finds several events waiting (50 events a second to 500 boards: the writer of
each board is behind by a few events as soon as the server is busy), a client that subscribed with
``"batch": true`` gets them as one ``events`` message, ``{"type": "events", "items": [<event>,
...]}``, in ``seq`` order: one frame and one socket write instead of one per event. The items are
the hub's serialized ``event`` messages, joined as they are (no parsing, no re-encoding), up to
``MAX_FRAME_CHARS`` a frame, which keeps a frame under the size from which ``dispatch serve``
compresses a message (docs/realtime-protocol.md). A client that did not ask (an older cached page)
keeps getting ``event`` messages one by one.
"""

from __future__ import annotations

from collections import deque

#: Below the 64 KiB from which the server deflates a message (a batch stays uncompressed, as
#: events do); a single event larger than this goes alone, as it always did.
MAX_FRAME_CHARS = 60_000

#: A queued outgoing message: its text, and whether it is an ``event`` message.
Outgoing = tuple[str, bool]


def next_frame(out: deque[Outgoing], *, batch: bool) -> str:
    """Take the next frame's worth of ``out`` (not empty): one message, or, with ``batch``, the
    run of event messages at its head as one ``events`` message when there are two or more."""
    text, is_event = out.popleft()
    if not (batch and is_event and out and out[0][1]):
        return text
    items, size = [text], len(text)
    while out and out[0][1] and size + 1 + len(out[0][0]) < MAX_FRAME_CHARS:
        item = out.popleft()[0]
        items.append(item)
        size += 1 + len(item)  # the comma before it
    if len(items) == 1:  # the next event alone would pass the cap
        return text
    return '{"type":"events","items":[' + ",".join(items) + "]}"
