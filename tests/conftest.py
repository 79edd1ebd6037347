"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and service checks.

PostgreSQL and Redis tests run when the servers answer; with ``CI=true`` they must answer, and a
missing server fails the run instead of skipping it. Each run creates its own PostgreSQL database
and Redis key prefix and removes them afterwards; under pytest-xdist each worker is a run of its
own (``RUN_ID`` is made when a process imports this module), with its own temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.migrate import upgrade
from storage.tables import metadata

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
# The app refuses to start without a strong signing key outside the demo: each run makes its own
# (servers the tests start in other processes inherit it).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {host}:{port} is required when CI=true", pytrace=False)
    pytest.skip(f"{name} at {host}:{port} is not reachable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pg_execute(url: str, sql: str) -> None:
    """``sql`` (one or more statements) on its own connection to ``url``."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _pg_admin(sql: str) -> None:
    await _pg_execute(PG_ADMIN_URL, sql)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"dispatch_test_{RUN_ID}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database; every test that takes it runs on both backends."""
    if request.param == "sqlite":
        path = tmp_path / "dispatch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


#: Every table emptied and every sequence restarted, in one round trip. A DELETE of the few rows a
#: test leaves costs a few milliseconds; TRUNCATE (new files for each of the tables) cost about a
#: tenth of a second more, once for every test on PostgreSQL. Triggers, foreign keys among them,
#: are off meanwhile (``replica``), so the order of the tables does not matter.
_EMPTY = (
    "SET session_replication_role = replica;"
    + "".join(f'DELETE FROM "{table.name}";' for table in metadata.sorted_tables)
    + "SET session_replication_role = DEFAULT;"
    "DO $$ DECLARE s regclass; BEGIN"
    " FOR s IN SELECT c.oid::regclass FROM pg_class c"
    " WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
    " LOOP EXECUTE format('ALTER SEQUENCE %s RESTART', s); END LOOP; END $$;"
)


def empty_postgres(url: str) -> None:
    """The PostgreSQL database at ``url`` as a fresh migration leaves it: no rows (the schema and
    its migration history kept), every sequence at its start."""
    asyncio.run(empty_postgres_async(url))


async def empty_postgres_async(url: str) -> None:
    """``empty_postgres`` from inside a running event loop."""
    await _pg_execute(url, _EMPTY)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=20)
    try:
        yield eng
    finally:
        await eng.dispose()


BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``pytest -n N`` shares the tests out as tests/parallel.py says, unless told otherwise."""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", None) == "no":
        config.option.dist = "loadgroup"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API holds an event loop in the main thread
    while it is open, which the other tests' ``asyncio.run`` calls must not meet. They live in
    tests/browser/, where pytest-xdist keeps them together on one worker, last (tests/parallel.py)."""
    for item in items:
        in_browser_tests = item.path.is_relative_to(BROWSER_TESTS)
        if item.get_closest_marker("browser") is None and in_browser_tests:
            item.add_marker(pytest.mark.browser)
        elif not in_browser_tests and item.get_closest_marker("browser") is not None:
            raise pytest.UsageError(f"{item.nodeid} is marked browser: move it to tests/browser/")
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from tests.parallel import BrowserLastScheduling

    return BrowserLastScheduling(config, log)
