"""What a websocket session needs from the web layer: the transport it talks through, its close
codes (``docs/realtime-protocol.md``) and its limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from domain.roles import Principal

CLOSE_TOO_BIG, CLOSE_INTERNAL = 1009, 1011
CLOSE_AUTH_TIMEOUT, CLOSE_AUTH_FAILED, CLOSE_TOKEN_EXPIRED = 4001, 4003, 4004
#: The token was ended before its expiry: signed out, account deactivated, roles or stores changed.
CLOSE_TOKEN_REVOKED = 4005
CLOSE_TOO_SLOW = 4008
#: The user already holds ``max_sessions_per_user`` sessions on this worker.
CLOSE_TOO_MANY = 4009


class Transport(Protocol):
    async def receive_text(self) -> str: ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int, reason: str = "") -> None: ...


class Disconnected(Exception):
    """The peer went away (raised by transports on receive/send)."""


@dataclass(frozen=True)
class SessionConfig:
    auth_timeout: float = 5.0
    max_frame: int = 64 * 1024
    max_pending: int = 2_000
    max_replay: int = 5_000
    heartbeat_interval: float = 15.0
    messages_per_second: float = 20.0
    close_grace: float = 2.0
    #: Each subscribe may read a whole snapshot: at most this many a minute per session.
    subscribes_per_minute: int = 10
    #: Open sessions of one user on one worker (boards, phones, tabs).
    max_sessions_per_user: int = 10
    #: A session that asked for batches gets at most one pass per this many seconds while
    #: traffic streams in: one frame of the events that came meanwhile, with the positions that
    #: came meanwhile, in one socket write; an event after a quiet spell goes at once. At 50
    #: events a second to 500 boards with positions 4 times a second: 10,000 writes a second,
    #: not 27,000.
    event_linger: float = 0.05


Authenticator = Callable[[str], tuple[Principal, dt.datetime]]
PhonePosition = Callable[[Principal, dict[str, Any]], Awaitable[None]]
