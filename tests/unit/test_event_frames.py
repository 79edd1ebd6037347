"""Which queued messages go out together: only a run of events, in order, for a client that
asked, and never past the frame size cap."""

from __future__ import annotations

import json
from collections import deque

from realtime.event_frames import MAX_FRAME_CHARS, Outgoing, next_frame


def event(seq: int, pad: int = 0) -> Outgoing:
    return json.dumps({"type": "event", "seq": seq, "data": {"pad": "x" * pad}}), True


def drain(out: deque[Outgoing], *, batch: bool) -> list[dict]:  # type: ignore[type-arg]
    frames = []
    while out:
        frames.append(json.loads(next_frame(out, batch=batch)))
    return frames


def test_a_run_of_events_is_one_frame_and_other_messages_keep_their_place() -> None:
    out = deque([event(1), event(2), ('{"type":"subscribed","topics":["board"]}', False),
                 event(3), event(4), event(5)])
    frames = drain(out, batch=True)
    assert [f["type"] for f in frames] == ["events", "subscribed", "events"]
    assert [[i["seq"] for i in f["items"]] for f in frames if f["type"] == "events"] == [
        [1, 2], [3, 4, 5]]


def test_one_event_alone_and_a_client_that_did_not_ask_get_event_messages() -> None:
    assert drain(deque([event(1)]), batch=True) == [json.loads(event(1)[0])]
    frames = drain(deque([event(1), event(2), event(3)]), batch=False)
    assert [(f["type"], f["seq"]) for f in frames] == [("event", 1), ("event", 2), ("event", 3)]


def test_a_frame_stays_under_the_cap_and_a_large_event_goes_alone() -> None:
    out = deque([event(n, pad=9_000) for n in range(1, 21)] + [event(21, pad=MAX_FRAME_CHARS)])
    raw = []
    while out:
        raw.append(next_frame(out, batch=True))
    assert all(len(frame) < MAX_FRAME_CHARS + 200 for frame in raw[:-1])
    seqs = [i["seq"] for f in map(json.loads, raw)
            for i in (f["items"] if f["type"] == "events" else [f])]
    assert seqs == list(range(1, 22))
    assert json.loads(raw[-1])["type"] == "event" and len(raw) >= 4
