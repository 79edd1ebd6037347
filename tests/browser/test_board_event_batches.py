"""The board asks for events that queued as one frame, and applies such a frame's events in
order, each once, as if they had come one by one (docs/realtime-protocol.md, ``events``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, login
from tests.browser.test_board import WS_LIVE

pytestmark = pytest.mark.browser

APPLY = """async () => {
  const { Live } = await import('/static/js/shared/live.js');
  const seen = [];
  const live = new Live(['board'], { onEvent: (m) => seen.push([m.seq, m.data.n]) });
  live.seq = 5;
  const ev = (seq) => ({ type: 'event', seq, event: 'WorkOrderUpdated', at: '2026-01-01T00:00:00Z',
                         data: { n: seq * 10 } });
  live.receive(JSON.stringify({ type: 'events', items: [ev(4), ev(5), ev(6), ev(7)] }));
  live.receive(JSON.stringify(ev(7)));
  live.receive(JSON.stringify({ type: 'events', items: [ev(8), ev(9)] }));
  return { seen, seq: live.seq, state: live.state };
}"""


@pytest.mark.skipif(not WS_LIVE, reason="the websocket /ws is not live")
def test_the_board_asks_for_batches_and_applies_one_in_order_once(
        server: LiveServer, browser: Any) -> None:
    board = login(browser, server, "dispatcher")
    sent: list[str] = []
    board.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(
        frame if isinstance(frame, str) else frame.get("payload", ""))))
    board.reload()
    board.wait_for_selector("#connection[data-state=live]")
    subscribes = [json.loads(f) for f in sent if '"subscribe"' in f]
    assert subscribes and all(s["batch"] is True for s in subscribes)

    applied = board.evaluate(APPLY)
    assert applied == {"seen": [[6, 60], [7, 70], [8, 80], [9, 90]], "seq": 9, "state": "live"}
    assert board.errors == []
