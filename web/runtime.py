"""The runtime: what one running process works with (engine, bus, hub, clock, planner, tokens,
queues), created once in the lifespan and handed to endpoints as ``call.runtime``.

(Not to be confused with ``domain/services/``, the use cases, which take a unit of work.)"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from dataclasses import dataclass, field
from functools import partial

from prometheus_client.multiprocess import mark_process_dead
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.roles import Delegation, Principal, Role
from realtime.session import CLOSE_TOKEN_REVOKED
from storage import tables as t
from storage.engine import create_engine, create_event_engine
from storage.uow import SqlUnitOfWork
from web.alerts_wiring import AlertServices, start_alerts
from web.clock import Clock, system_clock
from web.cluster import revocations_channel
from web.feeds import start_demo_feed, start_geotab_feed
from web.intake_wiring import start_intake
from web.live import Live, build_live
from web.login_throttle import LoginThrottle
from web.metrics import Metrics, multiprocess_dir
from web.notify_wiring import start_customer_notifications
from web.planning.planner import Planner
from web.security import TokenService
from web.settings import Settings
from web.system_errors import ErrorReports, start_error_reports

log = logging.getLogger("dispatch.runtime")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    tokens: TokenService
    login_throttle: LoginThrottle
    live: Live
    planning: Planner
    clock: Clock = system_clock
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    alerts: AlertServices | None = None
    #: This process's unhandled errors, for the system-error rule (set when it starts).
    error_reports: ErrorReports | None = None
    #: The customer notifications' worker (set when it starts).
    metrics: Metrics = field(default_factory=Metrics)
    #: The event path's own small pool (relay, leader lock, hub repairs, positions store).
    event_engine: AsyncEngine | None = None
    #: Tells this process's own bus messages from the others'.
    _process_mark: str = field(default_factory=lambda: f"{os.getpid()}-{uuid.uuid4().hex}")

    async def start(self) -> None:
        try:
            await self.refresh_revocations(announce=False)
        except Exception:  # no database yet: the process still starts (and /healthz says so)
            log.warning("could not load ended delegations and revoked tokens", exc_info=True)
        # Every process: a revoked role or token stops working at once where the bus reaches
        # (the process that revoked tells the others), and within seconds in any case.
        self.live.bus.subscribe(self.revocations_channel, self._revoked_elsewhere)
        self.live.supervisor.periodic(
            "revocations", partial(self.refresh_revocations, announce=False),
            interval=self.settings.delegation_refresh_seconds,
            initial_delay=self.settings.delegation_refresh_seconds)
        self.live.supervisor.periodic("metrics", self.sample_metrics, interval=5.0)
        await self.live.start()
        await start_customer_notifications(self)  # every process; acts where the relay leads
        start_error_reports(self)  # every process: its unhandled errors, for the system alert
        if not self.settings.run_feeds:
            return
        if self.settings.geotab_server:
            await start_geotab_feed(self.live, self.engine, self.settings)
        elif self.settings.demo:
            await start_demo_feed(self.live, self.engine, self.settings)
        await start_intake(self)
        # after the feeds, whose health the rules watch; in `dispatch worker` too
        self.alerts = await start_alerts(self)

    async def stop(self) -> None:
        try:
            await self.live.supervisor.stop()  # every background worker, before what they use
            if self.alerts is not None:
                await self.alerts.stop()
            await self.planning.stop()
            await self.live.stop()
        finally:
            await self.engine.dispose()
            if self.event_engine is not None:
                await self.event_engine.dispose()
            if multiprocess_dir():
                mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    @property
    def revocations_channel(self) -> str:
        return revocations_channel(self.settings.redis_prefix)

    async def _revoked_elsewhere(self, message: str) -> None:
        if message != self._process_mark:  # this process re-read when it announced
            await self.refresh_revocations(announce=False)

    async def refresh_revocations(self, *, announce: bool = True) -> None:
        """Read what ended tokens before their expiry, then close the websocket sessions whose
        token it ends: delegations ended within a token's lifetime (their roles leave the tokens
        naming them), accounts deactivated or whose roles or stores changed (``token_version``),
        tokens signed out. Every process does this every ``DELEGATION_REFRESH_SECONDS``; the
        process where the change was made, at once, and (``announce``) it tells the other web
        processes on the bus, which re-read at once too."""
        d, u, r = t.role_delegations, t.users, t.revoked_tokens
        now = self.now()
        since = now - dt.timedelta(seconds=self.settings.token_ttl_seconds)
        async with self.engine.connect() as conn:
            ended = (await conn.execute(
                select(d.c.id).where(d.c.ends_at <= now, d.c.ends_at > since))).scalars().all()
            users = (await conn.execute(select(u.c.id, u.c.token_version).where(
                u.c.token_version > 0))).all()
            jtis = (await conn.execute(
                select(r.c.jti).where(r.c.expires_at > now))).scalars().all()
        self.tokens.ended.ids = frozenset(ended)
        self.tokens.revoked.floors = {
            row.id: row.token_version for row in users}
        self.tokens.revoked.jtis = frozenset(jtis)
        self.close_revoked_sessions()
        if announce:
            try:
                await self.live.bus.publish(self.revocations_channel, self._process_mark)
            except Exception:  # the others still re-read within DELEGATION_REFRESH_SECONDS
                log.warning("could not tell the other processes of a revocation", exc_info=True)

    def close_revoked_sessions(self) -> int:
        """Close (4005) every open websocket session whose token no longer holds."""
        closed = 0
        for session in list(self.live.hub.sessions):
            if session.token is not None and self.tokens.revoked_since_issue(session.token):
                session.close_soon(CLOSE_TOKEN_REVOKED, "token revoked: log in again")
                closed += 1
        if closed:
            log.info("closed %s websocket sessions whose tokens were revoked", closed)
        return closed

    async def sample_metrics(self) -> None:
        """Bring this process's gauges and carried counts up to date (multiprocess: its files)."""
        self.metrics.sample(self.live, self.alerts.delivery if self.alerts else None)

    def now(self) -> dt.datetime:
        """The application's one clock (``create_app(clock=...)``; the system's by default)."""
        return self.clock()

    def uow(
        self, actor: Principal | None = None, correlation_id: str | None = None
    ) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, actor=actor, correlation_id=correlation_id,
                             clock=self.now, after_commit=self.live.relay.notify)

    async def active_delegations(self, uow: SqlUnitOfWork, user_id: str) -> list[Delegation]:
        d = t.role_delegations
        now = self.now()
        rows = (await uow.connection.execute(
            select(d).where(d.c.to_user_id == user_id, d.c.starts_at <= now, d.c.ends_at > now)
        )).mappings().all()
        return [Delegation(id=r["id"], from_user_id=r["from_user_id"], to_user_id=r["to_user_id"],
                           role=Role(r["role"]), starts_at=r["starts_at"], ends_at=r["ends_at"])
                for r in rows]

    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not healthy"; the probe must answer, not raise
            return False

    async def counts(self) -> dict[str, int]:
        out = {}
        async with self.engine.connect() as conn:
            for table in (t.stores, t.technicians, t.units, t.work_orders, t.dispatches):
                out[table.name] = int(
                    (await conn.execute(select(func.count()).select_from(table))).scalar() or 0
                )
        return out


def build_runtime(settings: Settings, clock: Clock = system_clock,
                   signing_key: str | None = None, metrics: Metrics | None = None) -> Runtime:
    """Every resource of a process. Refuses (``InsecureSettings``) to build without a strong
    signing key outside the demo, before it opens anything."""
    key = signing_key or settings.signing_key()
    engine = create_engine(settings.database_url)
    event_engine = create_event_engine(settings.database_url)
    metrics = metrics or Metrics(clock)
    planning = Planner.from_settings(engine, settings)
    planning.on_solved = metrics.solved
    return Runtime(
        settings=settings,
        engine=engine,
        clock=clock,
        metrics=metrics,
        event_engine=event_engine,
        live=build_live(settings, engine, clock, metrics, event_engine=event_engine),
        planning=planning,
        tokens=TokenService(key, settings.token_ttl_seconds,
                            clock=clock),
        login_throttle=LoginThrottle.from_settings(settings),
    )
