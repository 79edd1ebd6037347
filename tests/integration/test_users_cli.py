"""`dispatch users ...` against a real database: accounts with roles, stores and a phone."""

from __future__ import annotations

import asyncio
import io

import pytest

from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from web.admin import run_users_command
from web.cli import build_parser
from web.settings import Settings


def users(database_url: str, *argv: str) -> int:
    args = build_parser().parse_args(["users", *argv])
    return asyncio.run(run_users_command(Settings(database_url=database_url), args))


def load(database_url: str, username: str) -> tuple[list[str], list[str], str]:
    async def run() -> tuple[list[str], list[str], str]:
        engine = create_engine(database_url)
        try:
            async with SqlUnitOfWork(engine) as uow:
                user = await uow.users.by_username(username)
                assert user is not None
                return sorted(r.value for r in user.roles), sorted(user.store_ids), user.phone
        finally:
            await engine.dispose()
    return asyncio.run(run())


def test_accounts_get_roles_stores_and_an_e164_phone(database_url: str,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert users(database_url, "create", "ops2", "--role", "operations_manager",
                 "--phone", "+1 (317) 555-0144", "--password-stdin") == 0
    assert load(database_url, "ops2") == (["operations_manager"], [], "+13175550144")
    assert users(database_url, "set-phone", "ops2", "call me") == 1  # refused, nothing changes
    assert "E.164" in capsys.readouterr().err
    assert load(database_url, "ops2")[2] == "+13175550144"
    assert users(database_url, "set-phone", "ops2", "") == 0
    assert users(database_url, "set-roles", "ops2", "--role", "store_manager",
                 "--store", "s-1") == 0
    assert load(database_url, "ops2") == (["store_manager"], ["s-1"], "")
    assert users(database_url, "set-phone", "nobody", "+13175550144") == 1
    assert users(database_url, "list") == 0
    assert "ops2\tstore_manager\ts-1\t-" in capsys.readouterr().out


def test_a_password_is_never_an_argument() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["users", "create", "x1", "--role", "dispatcher",
                                   "--password", "visible-in-ps"])
