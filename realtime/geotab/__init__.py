"""GeoTab (MyGeotab) positions feed: ingestion client, wire protocol, and a local simulator.

Wire it as: `MyGeotabApi(GeotabLogin(...))` → `GeotabFeedClient(api, cursor_store=...,
on_fixes=..., on_status=...)` → `await client.run()` in a supervised task. For the demo and tests,
serve `GeotabSimulator(Fleet(...))` under an ASGI server and point `GeotabLogin.server` at it.
"""

from __future__ import annotations

from .client import DEVICE_STATUS_INFO, LOG_RECORD, FeedPage, FeedStats, GeotabFeedClient
from .cursor import FeedCursorStore, InMemoryFeedCursorStore
from .pacing import PollPacer
from .protocol import (
    DbUnavailableException,
    GeotabError,
    GeotabTransportError,
    InvalidUserException,
    OverLimitException,
)
from .records import DeviceStatus
from .rpc import GeotabLogin, MyGeotabApi
from .simulator import GeotabSimulator
from .simulator_fleet import Fleet, ManualClock, WallClock

__all__ = [
    "DEVICE_STATUS_INFO",
    "LOG_RECORD",
    "DbUnavailableException",
    "DeviceStatus",
    "FeedCursorStore",
    "FeedPage",
    "FeedStats",
    "Fleet",
    "GeotabError",
    "GeotabFeedClient",
    "GeotabLogin",
    "GeotabSimulator",
    "GeotabTransportError",
    "InMemoryFeedCursorStore",
    "InvalidUserException",
    "ManualClock",
    "MyGeotabApi",
    "OverLimitException",
    "PollPacer",
    "WallClock",
]
