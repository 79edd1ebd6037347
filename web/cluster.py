"""Several web processes behind one port (``dispatch serve --workers N``): what they share, and
the configurations that cannot share it.

Shared (the same answer whichever process a request reaches):

* events and positions: the Redis bus; each process's hub repairs gaps from the event log;
* the outbox relay: one leader in the cluster (PostgreSQL advisory lock);
* login counters (``web/login_throttle.py``), the planning queue (``web/planning/shared.py``:
  solver slots, the waiting line and one plan per user) and the spacing of look-ups toward the
  public geocoder (``web/spacing.py``: one a second for the whole cluster): Redis;
* idempotency keys, revoked tokens and ended delegations: PostgreSQL; a process that revokes
  (a web process, or ``dispatch users``) tells the others on the bus (``<prefix>:revocations``)
  so they re-read at once;
* caches (the planning state, board snapshots): per process, each keyed by the event log's
  position, so none answers from a state another process has moved past.

Per process by design (a bound on what one process holds): websocket sessions per user, password
checks at once (argon2 memory), the database pools, each websocket's own rate limits.

Refused with N > 1: SQLite (the embedded one-process database: its relay leader lock is the
process itself), no ``REDIS_URL`` (the in-process bus does not reach other processes), and
``RUN_FEEDS`` on (every worker would run its own feeds: the demo's simulators would drive each van
twice; feeds run once in ``dispatch worker``).
"""

from __future__ import annotations

import argparse

from web.settings import Settings


def worker_count(text: str) -> int:
    """``--workers``: a whole number, at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def revocations_channel(prefix: str) -> str:
    """Where a process that ended tokens says so; every web process re-reads on hearing it."""
    return f"{prefix}:revocations"


async def announce_revocation(settings: Settings) -> None:
    """Tell every web process sharing ``REDIS_URL`` that tokens were ended (from a process
    without a bus of its own, such as ``dispatch users``); without Redis they re-read within
    ``DELEGATION_REFRESH_SECONDS`` anyway."""
    if not settings.redis_url:
        return
    import redis.asyncio as redis

    client = redis.from_url(settings.redis_url)
    try:
        await client.publish(revocations_channel(settings.redis_prefix), "dispatch users")
    finally:
        await client.aclose()


def why_not_several(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` web processes cannot run with these settings (None: they can)."""
    if workers <= 1:
        return None
    if settings.is_sqlite:
        return ("SQLite is the embedded one-process database; several workers need PostgreSQL "
                "(DATABASE_URL=postgresql://...) and Redis (REDIS_URL)")
    if not settings.redis_url:
        return ("without REDIS_URL the event bus is in-process and cannot carry events, "
                "login counters or the planning queue between workers; set REDIS_URL")
    if settings.run_feeds:
        return ("RUN_FEEDS is on: every worker would run its own feeds (GeoTab, partner orders, "
                "alert rules, the demo's simulators); set RUN_FEEDS=false for the web processes "
                "and run the feeds once with `dispatch worker`")
    return None
