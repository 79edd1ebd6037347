"""A world for escalation tests: the Genesys Cloud simulator (texts, the campaign's calls and its
data actions) on a loopback port, the real app serving the callbacks on another, people on the
on-call rota, and delivery workers (the same wiring as the app's) over the test's database. Time
is the test's clock, shared by the app, the rules and the workers."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.alert_channels import parse_emails, parse_webhooks
from domain.alert_delivery import OnCall
from domain.alerts import AlertPolicy
from domain.geo import Location
from domain.roles import Principal, Role
from domain.services import alerts as uc
from domain.services import oncall as oncall_uc
from domain.services import work_orders as wo_uc
from domain.services.context import Context
from domain.users import User
from domain.work_orders import Priority
from realtime.notify import DeliveryWorker, GenesysSimulator
from realtime.notify.campaign_simulator import Contact
from storage import tables as t
from storage.alert_notifications import SqlNotificationStore
from storage.alerts import SqlAlertFacts
from storage.oncall import SqlOnCallStore, SqlRotaReader
from storage.uow import SqlUnitOfWork
from tests.integration.helpers import DISPATCHER, seed_world
from tests.realtime.conftest import serve_asgi
from web.alert_delivery_wiring import Escalations, build_channels, watch_providers
from web.app import create_app
from web.settings import Settings

CLIENT, CLIENT_SECRET, FROM = "dispatch-alerts", "s3cret-value", "+13175550100"
CALLBACK_SECRET = "callback-secret-of-the-org"
CONTACT_LIST = "alert-calls"
#: Who is on call (every day, all day): level 1 Alice, level 2 Olga, level 3 Adam.
PEOPLE = {"alice": (Role.DISPATCHER, "+13175550201", 1),
          "olga": (Role.OPERATIONS_MANAGER, "+13175550202", 2),
          "adam": (Role.ADMIN, "+13175550203", 3)}
ALICE, OLGA, ADAM = (PEOPLE[n][1] for n in ("alice", "olga", "adam"))
ADMIN = Principal(user_id="user-root", username="root", roles=frozenset({Role.ADMIN}))
POLICY = AlertPolicy()  # escalation every 5 minutes
CALL_TIMEOUT = dt.timedelta(minutes=3)


class Now:
    def __init__(self) -> None:
        self.at = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


@dataclass
class Process:
    """What one worker process runs of delivery: its workers, over its own engine."""

    store: SqlNotificationStore
    worker: DeliveryWorker
    escalations: Escalations


@dataclass
class World:
    engine: AsyncEngine
    database_url: str
    now: Now
    sim: GenesysSimulator
    genesys_url: str
    app_url: str = ""
    app: Any = None
    #: Settings beyond Genesys's (e-mail, webhooks) for the app and the processes.
    extra: dict[str, Any] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def settings(self, **extra: Any) -> Settings:
        return Settings(
            database_url=self.database_url, run_feeds=False, alerts_enabled=False,
            genesys_base_url=self.genesys_url, genesys_login_url=self.genesys_url,
            genesys_client_id=CLIENT, genesys_client_secret=CLIENT_SECRET,
            genesys_from_number=FROM, genesys_contact_list_id=CONTACT_LIST,
            genesys_callback_secret=CALLBACK_SECRET,
            alert_call_timeout_seconds=CALL_TIMEOUT.total_seconds(), **{**self.extra, **extra})

    def process(self, engine: AsyncEngine | None = None) -> Process:
        """A delivery process (a first one, a restarted one, or a second worker)."""
        engine = engine or self.engine
        store = SqlNotificationStore(engine)
        channels = build_channels(self.settings(), self.now)
        worker = DeliveryWorker(channels, store, clock=self.now, call_timeout=CALL_TIMEOUT)
        settings = self.settings()
        escalations = Escalations(store, worker, OnCall(), self.now, rota=SqlRotaReader(engine),
                                  channels=frozenset(channels),
                                  emails=parse_emails(settings.alert_emails),
                                  webhooks=parse_webhooks(settings.alert_webhooks),
                                  warnings=settings.alert_notify_warnings,
                                  group_window=dt.timedelta(seconds=settings.alert_group_seconds))
        made = Process(store, worker, escalations)
        self.processes.append(made)
        return made

    @property
    def first(self) -> Process:
        return self.processes[0]

    async def emergency(self, *, deliver: bool = True) -> dict[str, Any]:
        """An emergency order: its critical alert raised at level 1 and queued (and, unless
        told otherwise, delivered by the first process)."""
        await wo_uc.create_work_order(
            SqlUnitOfWork(self.engine, actor=DISPATCHER), Context(DISPATCHER, self.now.at),
            wo_uc.NewWorkOrder(store_id="store-1", priority=Priority.EMERGENCY,
                               location=Location(32.76, -96.8), description="Gas smell"))
        result = await self.rules_pass()
        [alert] = [a for a in result.raised if a["kind"] == "emergency_order"]
        if deliver:
            await self.first.worker.run_once()
        return dict(alert)

    async def rules_pass(self, *, facts: SqlAlertFacts | None = None) -> uc.PassResult:
        """One pass of the alert rules, then the escalations queue what it changed."""
        result = await uc.evaluate_alerts(lambda: SqlUnitOfWork(self.engine),
                                          facts or SqlAlertFacts(self.engine), self.now.at,
                                          POLICY)
        await self.first.escalations(result)
        return result

    def facts(self) -> SqlAlertFacts:
        """The rules' facts with the first process's providers watched."""
        facts = SqlAlertFacts(self.engine)
        watch_providers(facts, self.first.worker.channels)
        return facts

    def headers(self, name: str) -> dict[str, str]:
        """A bearer token of one of ``PEOPLE``, issued by the app."""
        role = PEOPLE[name][0]
        principal = Principal(user_id=self.users[name], username=name, roles=frozenset({role}))
        return {"Authorization": f"Bearer {self.app.state.runtime.tokens.issue(principal)}"}

    def calls_to(self, number: str) -> list[Contact]:
        return self.sim.campaign.calls_to(number)

    async def alert(self, alert_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t.alerts).where(t.alerts.c.id == alert_id))
                   ).mappings().one()
        return dict(row)

    async def audit(self, alert_id: str) -> list[tuple[str, str | None]]:
        a = t.audit_log
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(a.c.action, a.c.actor_id).where(
                a.c.entity_id == alert_id).order_by(a.c.id))).all()
        return [(r[0], r[1]) for r in rows]

    async def events(self, alert_id: str) -> list[str]:
        o = t.outbox
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(o.c.name).where(o.c.aggregate_id == alert_id)
                                       .order_by(o.c.id))).scalars().all()
        return list(rows)


async def add_people(engine: AsyncEngine, now: dt.datetime) -> dict[str, str]:
    """The people of ``PEOPLE`` as users, each on call for their level all week."""
    ids: dict[str, str] = {}
    async with SqlUnitOfWork(engine) as uow:
        for name, (role, phone, _) in PEOPLE.items():
            user = User(username=name, password_hash="x", roles=frozenset({role}),
                        store_ids=frozenset(), phone=phone)
            uow.users.add(user)
            ids[name] = user.id
        await uow.commit()
    for name, (_, _, level) in PEOPLE.items():
        uow = SqlUnitOfWork(engine, actor=ADMIN)
        await oncall_uc.add_shift(uow, Context(ADMIN, now), SqlOnCallStore(uow), oncall_uc.ShiftIn(
            level=level, user_id=ids[name], weekdays=["mon", "tue", "wed", "thu", "fri", "sat",
                                                      "sun"],
            starts="00:00", ends="00:00", store_ids=[]))
    return ids


@asynccontextmanager
async def escalation_world(engine: AsyncEngine, database_url: str,
                           **settings: Any) -> AsyncIterator[World]:
    now = Now()
    sim = GenesysSimulator(client_id=CLIENT, client_secret=CLIENT_SECRET, token_ttl=3600,
                           from_numbers=frozenset({FROM}), contact_list_id=CONTACT_LIST)
    async with serve_asgi(sim) as genesys_url:
        # alerts are not grouped unless a test asks (each is its own message)
        world = World(engine, database_url, now, sim, genesys_url,
                      extra={"alert_group_seconds": 0, **settings})
        await seed_world(engine)
        world.users = await add_people(engine, now.at)
        app = create_app(world.settings(), clock=now)
        async with app.router.lifespan_context(app), serve_asgi(app) as app_url:
            world.app_url, world.app = app_url, app
            sim.campaign.callback_url, sim.campaign.secret = app_url, CALLBACK_SECRET
            world.process()
            try:
                yield world
            finally:
                for process in world.processes:
                    await process.worker.stop()
