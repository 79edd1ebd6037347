"""Calls spaced apart across every process sharing Redis: each caller reserves the next free
instant (``interval`` after the last one reserved, on Redis's own clock) and waits for it, so N
web processes together keep a provider's "one call a second" as one process would."""

from __future__ import annotations

from typing import Any

#: KEYS: the key; ARGV: the interval and the longest wait (ms). Answers the wait (ms), or -1
#: (nothing reserved) when the next free instant is further away than the longest wait.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
if at - now > tonumber(ARGV[2]) then return -1 end
redis.call('SET', KEYS[1], at + tonumber(ARGV[1]), 'PX', at - now + 2 * tonumber(ARGV[1]))
return at - now
"""


async def reserve_turn(url: str, key: str, *, interval: float, longest_wait: float,
                       client: Any = None) -> float | None:
    """Seconds to wait before this call may go (0: at once); None when the line is longer than
    ``longest_wait`` (nothing was reserved)."""
    import redis.asyncio as redis

    own = client is None
    client = client or redis.from_url(url)
    try:
        wait = int(await client.eval(_RESERVE, 1, key, int(interval * 1000),
                                     int(longest_wait * 1000)))
    finally:
        if own:
            await client.aclose()
    return None if wait < 0 else wait / 1000
