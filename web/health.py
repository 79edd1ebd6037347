"""``/livez`` and ``/readyz``.

``/livez`` says the process answers: no I/O, so a database or Redis outage never makes a liveness
probe restart a healthy process. ``/readyz`` says whether this process can do its work now: the
database answers, Redis answers (when configured), the relay keeps up (unpublished outbox rows
and the age of the oldest), each feed this process runs has succeeded lately, and no supervised
worker keeps failing. It answers 200 or 503 with a JSON body giving each check and, for those
that fail, the reason. Ages of feeds and workers are wall-clock; the outbox's age is read on the
app's clock, which wrote it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from storage import tables as t

if TYPE_CHECKING:
    from web.runtime import Runtime

#: How long one check may take before it counts as failed.
CHECK_TIMEOUT = 2.0
Check = dict[str, Any]


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


def _failed(reason: str, **extra: Any) -> Check:
    return {"ok": False, "reason": reason, **extra}


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT:.0f}s"
    return f"unreachable ({type(error).__name__})"


async def check_database(runtime: Runtime) -> Check:
    async def probe() -> None:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
    except Exception as error:  # any failure means "not ready"; the probe must answer
        return _failed(f"database {_why(error)}")
    return {"ok": True}


async def check_redis(runtime: Runtime) -> Check | None:
    if not runtime.settings.redis_url:
        return None
    try:
        await asyncio.wait_for(runtime.live.bus.ping(), CHECK_TIMEOUT)
    except Exception as error:
        return _failed(f"redis {_why(error)}")
    return {"ok": True}


async def check_relay(runtime: Runtime, database: Check) -> Check:
    if not database["ok"]:
        return _failed("outbox unreadable: the database is down")
    o = t.outbox

    async def read() -> tuple[int, dt.datetime | None]:
        async with runtime.engine.connect() as conn:
            row = (await conn.execute(select(func.count(), func.min(o.c.occurred_at))
                                      .where(o.c.seq.is_(None)))).one()
        return int(row[0]), row[1]
    try:
        pending, oldest = await asyncio.wait_for(read(), CHECK_TIMEOUT)
    except Exception as error:
        return _failed(f"outbox {_why(error)}")
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    age = max(0.0, (runtime.now() - oldest).total_seconds()) if oldest else 0.0
    out: Check = {"ok": True, "unpublished": pending, "oldest_age_seconds": round(age, 1),
                  "leader": runtime.live.relay.is_leader}
    limit = runtime.settings.ready_outbox_max_age_seconds
    if age > limit:
        out.update(ok=False, reason=f"relay behind: {pending} unpublished events, the oldest "
                                    f"{age:.0f}s old (limit {limit:.0f}s)")
    return out


def check_feeds(runtime: Runtime, now: dt.datetime) -> dict[str, Check]:
    out: dict[str, Check] = {}
    settings = runtime.settings
    for name, client in runtime.live.feeds.items():
        worker = runtime.live.supervisor.workers.get(f"feed:{name}")
        report = worker.health.report if worker is not None else None
        last, error = report() if report is not None else (None, None)
        stale = max(settings.ready_feed_stale_seconds,
                    3 * float(getattr(client, "poll_interval", 0.0)))
        since = last or runtime.started_at
        age = (now - since).total_seconds()
        check: Check = {"ok": True, "last_success": last.isoformat() if last else None,
                        "last_error": error}
        if age > stale:
            what = f"no successful call for {age:.0f}s" if last else \
                f"no successful call since the start {age:.0f}s ago"
            check.update(ok=False, reason=f"feed {name}: {what}"
                                          + (f"; last error: {error}" if error else ""))
        out[f"feed:{name}"] = check
    return out


def check_workers(runtime: Runtime) -> dict[str, Check]:
    out: dict[str, Check] = {}
    limit = runtime.settings.ready_worker_failures
    for name, worker in runtime.live.supervisor.workers.items():
        if name.startswith("feed:"):
            continue  # judged by the feed's own calls above
        health = worker.health.as_dict()
        check: Check = {"ok": True, "state": health["state"],
                        "last_success": health["last_success"], "restarts": health["restarts"]}
        if worker.health.consecutive_failures >= limit:
            check.update(ok=False, reason=f"worker {name} failed "
                                          f"{worker.health.consecutive_failures} times in a row: "
                                          f"{health['last_error']}")
        out[f"worker:{name}"] = check
    return out


async def readiness(runtime: Runtime) -> dict[str, Check]:
    checks: dict[str, Check] = {"database": await check_database(runtime)}
    if (redis := await check_redis(runtime)) is not None:
        checks["redis"] = redis
    checks["relay"] = await check_relay(runtime, checks["database"])
    checks.update(check_feeds(runtime, dt.datetime.now(dt.UTC)))
    checks.update(check_workers(runtime))
    return checks


async def readyz(request: Request) -> Response:
    checks = await readiness(request.app.state.runtime)
    failing = {name: c["reason"] for name, c in checks.items() if not c["ok"]}
    return JSONResponse({"status": "not ready" if failing else "ready", "failing": failing,
                         "checks": checks}, status_code=503 if failing else 200)
