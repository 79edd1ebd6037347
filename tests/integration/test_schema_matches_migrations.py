"""The migrations build exactly the schema ``storage/tables.py`` declares, on both backends, and
the newest one can be taken back and applied again."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.engine import create_engine
from storage.migrate import alembic_config
from storage.tables import metadata


def _differences(url: str) -> list[object]:
    async def read() -> list[object]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: list(compare_metadata(MigrationContext.configure(sync), metadata))
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_sqlite_schema_is_the_declared_one(sqlite_template: Path) -> None:
    assert _differences(f"sqlite+aiosqlite:///{sqlite_template}") == []


@pytest.mark.postgres
def test_postgres_schema_is_the_declared_one(postgres_url: str) -> None:
    assert _differences(postgres_url) == []


def test_newest_migration_goes_down_and_up_again(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    command.downgrade(alembic_config(url), "-1")
    assert _differences(url) != []
    command.upgrade(alembic_config(url), "head")
    assert _differences(url) == []
