"""The ``dispatch`` command: serve, demo, worker, migrate, seed, simulate, users, bench, settings,
openapi."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from web.settings import InsecureSettings, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "demo", False):
        overrides["demo"] = True
    return Settings(**overrides)


def _refuse_insecure(settings: Settings) -> bool:
    """True (and says why) when the process must not start: no strong SECRET_KEY outside the
    demo."""
    try:
        settings.signing_key()
    except InsecureSettings as error:
        print(f"refusing to start: {error}", file=sys.stderr)
        return True
    return False


def _web_workers(settings: Settings, args: argparse.Namespace) -> int | None:
    """``--workers``, else ``WEB_CONCURRENCY``; None (and why) where they cannot run."""
    from web.cluster import why_not_several

    workers = int(getattr(args, "workers", None) or settings.web_concurrency)
    if reason := why_not_several(settings, workers):
        print(f"refusing to start {workers} web workers: {reason}", file=sys.stderr)
        return None
    return workers


def _configure_logging(settings: Settings) -> dict[str, Any]:
    """The one logging set-up (``LOG_JSON``, ``LOG_LEVEL``); returns uvicorn's ``log_config``."""
    from web.logging_setup import configure_from_settings

    return configure_from_settings(settings)


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def cmd_migrate(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = _settings(args)
    _ensure_sqlite_dir(settings.database_url)
    upgrade(settings.database_url)
    print("database is at the latest schema", file=sys.stderr)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from storage.engine import create_engine
    from web.demo.seed import is_seeded

    settings = _settings(args)

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            if args.if_empty and await is_seeded(engine):
                print("database already seeded; leaving it as it is", file=sys.stderr)
                return 0
            return await _seed(engine, args, replace=args.replace)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _seed(engine: AsyncEngine, args: argparse.Namespace, *, replace: bool) -> int:
    from web.demo.seed import seed

    try:
        counts = await seed(engine, stores=args.stores, technicians=args.technicians,
                            orders=args.orders, seed=args.seed, replace=replace,
                            progress=not args.quiet)
    except RuntimeError as error:
        print(f"seed: {error}", file=sys.stderr)
        return 1
    seconds = counts.pop("seconds_x1000") / 1000
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    print(f"seeded in {seconds:.2f} s: {summary}", file=sys.stderr)
    return 0


def cmd_demo_day(args: argparse.Namespace) -> int:
    """Seed the demo when the database is empty, and seed a new day when the demo's own day is
    over (a database the demo did not create is never touched)."""
    import datetime as dt

    from storage.engine import create_engine
    from web.demo.seed import prepare_demo_day

    settings = _settings(args)

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            message = await prepare_demo_day(
                engine, dt.datetime.now(dt.UTC), keep_day=args.keep_day, stores=args.stores,
                technicians=args.technicians, orders=args.orders, random_seed=args.seed,
                progress=not args.quiet)
        except RuntimeError as error:
            print(f"seed: {error}", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()
        print(message, file=sys.stderr)
        return 0

    return asyncio.run(run())


def _print_banner(settings: Settings, host: str, port: int, technicians: int | None) -> None:
    from web.demo.seed import DEMO_USERS

    print(f"\n  Dispatch Board is starting at http://{host}:{port}/\n", file=sys.stderr)
    if settings.demo:
        names = ", ".join(DEMO_USERS)
        techs = f"tech1 ... tech{technicians}" if technicians else "tech1, tech2, ..."
        print(f"  Demo logins (password 'demo'): {names}, {techs}\n", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web.metrics import prepare_multiprocess
    from web.ws_protocol import UVICORN_OPTIONS

    settings = _settings(args)
    if _refuse_insecure(settings):  # before logging is set up: a refusal changes nothing
        return 2
    workers = _web_workers(settings, args)
    if workers is None:
        return 2
    log_config = _configure_logging(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    if args.demo:
        os.environ["DEMO"] = "true"
    os.environ.setdefault("GC_TUNING", "true")  # the served workers (web.gc_tuning)
    if getattr(args, "database_url", None):
        os.environ["DATABASE_URL"] = args.database_url
    _print_banner(settings, host, port, getattr(args, "technicians", None))
    prepare_multiprocess(workers)  # /metrics adds up every worker's
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port,
                log_level=settings.log_level, log_config=log_config,
                # our own line per API request (with its correlation id) replaces the access log
                access_log=settings.log_level.lower() == "debug",
                ws_max_size=settings.ws_max_frame_bytes,
                **UVICORN_OPTIONS,  # permessage-deflate for large messages only
                workers=workers)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Migrate, seed a day in progress (again when the last one is over), and serve with the demo
    feeds: what ``make run`` does."""
    args.demo = True
    args.quiet = False
    if _web_workers(_settings(args), args) is None:  # before anything is seeded
        return 2
    _configure_logging(_settings(args))
    if cmd_migrate(args) or cmd_demo_day(args):
        return 1
    return cmd_serve(args)


def cmd_worker(args: argparse.Namespace) -> int:
    """The background process: relay, positions pipeline, GeoTab feed, partner poller."""
    import signal

    from web.runtime import build_runtime

    settings = _settings(args)
    if _refuse_insecure(settings):
        return 2
    _configure_logging(settings)

    async def run() -> int:
        runtime = build_runtime(settings)
        await runtime.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("worker running: relay, positions, feeds (Ctrl-C to stop)", file=sys.stderr)
        await stop.wait()
        await runtime.stop()
        return 0

    return asyncio.run(run())


def cmd_simulate(args: argparse.Namespace) -> int:
    """Serve a MyGeotab simulator: the demo's vans, for a real feed client to read."""
    import uvicorn

    from realtime.geotab import Fleet, GeotabSimulator, WallClock

    fleet = Fleet(vans=args.vans, seed=args.seed, clock=WallClock(),
                  center=(args.lat, args.lon), radius_km=args.radius_km)
    sim = GeotabSimulator(fleet, database=args.database,
                          users={args.username: args.password})
    print(f"MyGeotab simulator: http://{args.host}:{args.port}/apiv1 "
          f"(database {args.database}, user {args.username}, {args.vans} vans)", file=sys.stderr)
    uvicorn.run(sim, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from web.admin import run_users_command

    return asyncio.run(run_users_command(_settings(args), args))


def cmd_bench(args: argparse.Namespace) -> int:
    if args.bench == "vrptw":
        from routing.vrptw.solver import solve_instance_json

        result = solve_instance_json(args.file, args.time_limit)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{result['instance']}: {result['vehicles']} vehicles, "
                  f"distance {result['distance']:.2f}")
        return 0
    return 2


def cmd_settings(args: argparse.Namespace) -> int:
    """Print the settings reference, generated from ``Settings``: the table of
    docs/configuration.md or the commented .env.example."""
    from web.settings_docs import render_env, render_markdown

    sys.stdout.write(render_markdown() if args.format == "markdown" else render_env())
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    """Print the API's OpenAPI document (what /api/openapi.json serves; docs/openapi.json)."""
    from web.app import openapi_document

    sys.stdout.write(json.dumps(openapi_document(), indent=1, sort_keys=True) + "\n")
    return 0


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default after its help, except where there is none: ``None`` (the
    help says what applies then), an unset flag, an empty list."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        if action.default == "":
            return f"{action.help} (default: empty)"
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Every parser and subparser (they are made by the same class) shows defaults in its help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from domain.roles import Role
    from web.cluster import worker_count

    roles = ", ".join(role.value for role in Role)
    parser = _Parser(prog="dispatch", description=__doc__,
                     epilog="Settings come from the environment or .env: docs/configuration.md "
                            "(dispatch settings) lists every one.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database-url", help="database URL; overrides the DATABASE_URL setting")
        return p

    db(sub.add_parser("migrate", help="bring the database to the latest schema")).set_defaults(
        func=cmd_migrate)

    def seed_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stores", type=int, default=200, help="stores to create")
        p.add_argument("--technicians", type=int, default=200, help="technicians to create")
        p.add_argument("--orders", type=int, default=300, help="work orders to create")
        p.add_argument("--seed", type=int, default=7,
                       help="random seed: the same seed gives the same company")

    p = db(sub.add_parser("seed", help="seed the demo scenario"))
    seed_args(p)
    p.add_argument("--replace", action="store_true", help="wipe existing data first")
    p.add_argument("--if-empty", action="store_true", help="do nothing if already seeded")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_seed)

    def serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="address to listen on (default: the HOST setting, 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to listen on (default: the PORT setting, 8000)")
        p.add_argument("--workers", type=worker_count, default=None,
                       help="web worker processes behind the port (default: the "
                            "WEB_CONCURRENCY setting, 1); more than one needs PostgreSQL, "
                            "REDIS_URL and RUN_FEEDS=false")

    p = db(sub.add_parser("serve", help="run the web server"))
    serve_args(p)
    p.add_argument("--demo", action="store_true", help="demo mode: demo logins, simulated feeds")
    p.set_defaults(func=cmd_serve)

    p = db(sub.add_parser("demo", help="migrate, seed a day in progress and serve in demo mode"))
    serve_args(p)
    seed_args(p)
    p.add_argument("--keep-day", action="store_true",
                   help="keep the demo's data even when its day is over (otherwise: a new day)")
    p.set_defaults(func=cmd_demo)

    db(sub.add_parser("worker", help="relay, positions pipeline and feeds, without HTTP")
       ).set_defaults(func=cmd_worker)

    p = sub.add_parser("simulate", help="serve a MyGeotab simulator for the feed client")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8900, help="port to listen on")
    p.add_argument("--vans", type=int, default=200, help="vans in the simulated fleet")
    p.add_argument("--seed", type=int, default=1, help="random seed of the fleet")
    p.add_argument("--lat", type=float, default=32.85, help="latitude of the fleet's area's centre")
    p.add_argument("--lon", type=float, default=-96.95,
                   help="longitude of the fleet's area's centre")
    p.add_argument("--radius-km", type=float, default=35.0, help="radius of the fleet's area")
    p.add_argument("--database", default="demo", help="MyGeotab database name it answers to")
    p.add_argument("--username", default="dispatch-service", help="user it accepts")
    p.add_argument("--password", default="demo", help="that user's password (a test fixture)")
    p.set_defaults(func=cmd_simulate)

    p = db(sub.add_parser("users", help="manage user accounts"))
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    c = users.add_parser("create", help="create an account (asks for its password)")
    c.add_argument("username", help="the login name")
    c.add_argument("--role", action="append", required=True, dest="roles",
                   help=f"a role (repeat for several): {roles}")
    c.add_argument("--store", action="append", default=[], dest="stores",
                   help="a store id the account is scoped to (repeat for several; none: all)")
    c.add_argument("--technician-id", help="the technician this account is (technician role)")
    c.add_argument("--phone", default="", help="E.164, for alert escalation texts")
    c.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input (otherwise: a "
                        "prompt); never on the command line, where the process list shows it")
    users.add_parser("list", help="list accounts with their roles and stores")
    s = users.add_parser("set-roles", help="replace an account's roles (and stores)")
    s.add_argument("username", help="the login name")
    s.add_argument("--role", action="append", required=True, dest="roles",
                   help=f"a role (repeat for several): {roles}")
    s.add_argument("--store", action="append", default=None, dest="stores",
                   help="a store id (repeat for several; not given: stores unchanged)")
    ph = users.add_parser("set-phone", help="the number escalation texts reach (empty: none)")
    ph.add_argument("username", help="the login name")
    ph.add_argument("phone", help="E.164 number, or '' for none")
    for name, text in (("deactivate", "no more logins; every token of the account stops working"),
                       ("activate", "allow logins again"),
                       ("sign-out", "end every token of the account (all devices)")):
        users.add_parser(name, help=text).add_argument("username", help="the login name")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("bench", help="benchmarks")
    bench = p.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    v = bench.add_parser("vrptw", help="solve one Solomon-format VRPTW instance")
    v.add_argument("file", help="the instance file")
    v.add_argument("--time-limit", type=float, default=5.0, help="solver time limit in seconds")
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("settings", help="print every setting with its default and meaning")
    p.add_argument("--format", choices=("markdown", "env"), default="markdown",
                   help="markdown: the table of docs/configuration.md; env: .env.example")
    p.set_defaults(func=cmd_settings)

    sub.add_parser("openapi", help="print the API's OpenAPI document (docs/openapi.json)"
                   ).set_defaults(func=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
