"""No forgeable tokens: outside the demo every entry point refuses to start without a strong
``SECRET_KEY``; the demo makes a random key of its own and keeps it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from web.app import create_app
from web.cli import main
from web.runtime import build_runtime
from web.settings import MIN_SECRET_LENGTH, InsecureSettings, Settings

PUBLISHED = "dev-only-insecure-key-change-me-0123456789abcdef"
POSTGRES = "postgresql://dispatch@127.0.0.1:5432/dispatch"


@pytest.mark.parametrize("database_url", ["sqlite+aiosqlite:///./var/x.db", POSTGRES])
@pytest.mark.parametrize("key", [None, "", "short-key", PUBLISHED, "x" * (MIN_SECRET_LENGTH - 1)])
def test_the_app_and_the_worker_refuse_a_missing_short_or_published_key(
        database_url: str, key: str | None) -> None:
    settings = Settings(database_url=database_url, secret_key=key)
    with pytest.raises(InsecureSettings, match="SECRET_KEY"):
        create_app(settings)  # what the Procfile's web process and uvicorn --factory call
    with pytest.raises(InsecureSettings, match="SECRET_KEY"):
        build_runtime(settings)  # what `dispatch worker` builds


@pytest.mark.parametrize("command", [["serve"], ["worker"]])
def test_the_commands_say_why_and_exit_without_serving(
        command: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DEMO", raising=False)
    assert main([*command, "--database-url", POSTGRES]) == 2
    assert "refusing to start: SECRET_KEY is not set" in capsys.readouterr().err


def test_a_strong_key_is_used_as_it_is() -> None:
    key = "k" * MIN_SECRET_LENGTH
    assert Settings(secret_key=key).signing_key() == key


def test_the_demo_makes_a_private_random_key_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    settings = Settings(demo=True, secret_key=None, demo_secret_file=str(path))
    first = settings.signing_key()
    assert len(first) >= MIN_SECRET_LENGTH and first != PUBLISHED
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.signing_key() == first  # kept: demo logins survive a restart
    other = Settings(demo=True, secret_key=None, demo_secret_file=str(tmp_path / "other"))
    assert other.signing_key() != first  # random, not a constant


def test_every_procfile_process_goes_through_the_dispatch_command() -> None:
    procfile = Path(__file__).resolve().parents[2] / "Procfile"
    for line in procfile.read_text().splitlines():
        name, command = line.split(":", 1)
        words = [w for w in command.split() if "=" not in w]
        assert words[0] == "dispatch", (name, command)
