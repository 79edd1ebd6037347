"""The settings reference cannot drift: docs/configuration.md and .env.example are regenerated
from the Settings model and compared, every setting has a meaning, and every option of the
``dispatch`` command has help text (with its default shown)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from web.cli import build_parser
from web.settings import Settings
from web.settings_docs import env_name, render_env, render_markdown

ROOT = Path(__file__).resolve().parent.parent
FIELDS = Settings.model_fields
REGENERATE = ("regenerate with `.venv/bin/dispatch settings --format markdown > docs/configuration.md` "
              "and `.venv/bin/dispatch settings --format env > .env.example`")


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in FIELDS.items() if not (field.description or "").strip()]
    assert not missing, f"settings without a description in web/settings.py: {missing}"


def test_configuration_doc_is_generated_from_the_model() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert text == render_markdown(), f"docs/configuration.md is out of date: {REGENERATE}"


def test_env_example_is_generated_from_the_model() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert text == render_env(), f".env.example is out of date: {REGENERATE}"


def test_the_table_has_one_row_per_setting_with_its_default() -> None:
    """Checked against the model directly, so a generator that left a setting out (or wrote a
    wrong default) fails here even though the files match it."""
    rows = {}
    for line in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    assert list(rows) == list(FIELDS)
    for name, field in FIELDS.items():
        _setting, env, _kind, default, meaning = rows[name]
        assert env == f"`{name.upper()}`" == f"`{env_name(name, field)}`"
        assert meaning.startswith(" ".join((field.description or "").split())[:40].replace("|", "\\|"))
        value = field.get_default()
        if value is None:
            assert default == "unset", name
        elif isinstance(value, bool):
            assert default == f"`{str(value).lower()}`", name
        elif hasattr(value, "get_secret_value"):
            assert default in ("empty", f"`{value.get_secret_value()}`"), name
        elif value == "":
            assert default == "empty", name
        else:
            assert default == f"`{value}`", name


def test_env_example_lists_every_setting_commented_and_each_default_parses(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    assert all(not line or line.startswith("#") for line in lines), "everything stays commented"
    assignments = {}
    for line in lines:
        match = re.fullmatch(r"# ([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            assignments[match.group(1)] = match.group(2)
    assert list(assignments) == [env_name(name, field) for name, field in FIELDS.items()]
    # Uncommented as they stand, the defaults give the model's defaults (unset ones left out).
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in assignments.items() if v != ""),
                        encoding="utf-8")
    for key in assignments:
        monkeypatch.delenv(key, raising=False)
    loaded = Settings(_env_file=env_file)
    for name in FIELDS:
        assert getattr(loaded, name) == FIELDS[name].get_default(), name


def _parsers(parser: argparse.ArgumentParser, path: str = "dispatch"
             ) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                assert helps.get(name), f"`{path} {name}` has no help line in `{path} --help`"
                found += _parsers(child, f"{path} {name}")
    return found


def test_every_option_of_every_command_has_help_and_shows_its_default() -> None:
    parsers = _parsers(build_parser())
    names = {path for path, _ in parsers}
    assert {"dispatch serve", "dispatch worker", "dispatch migrate", "dispatch settings",
            "dispatch users create", "dispatch bench vrptw"} <= names
    for path, parser in parsers:
        formatter = parser.formatter_class
        assert isinstance(formatter, type), path
        assert issubclass(formatter, argparse.ArgumentDefaultsHelpFormatter), path
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            label = "/".join(action.option_strings) or action.dest
            assert action.help and action.help != argparse.SUPPRESS, f"{path}: {label} has no help"
            assert " ".join(action.help.split()) in text
            shown = action.default not in (None, False, [], argparse.SUPPRESS)
            if action.option_strings and shown:
                default = "empty" if action.default == "" else action.default
                assert f"(default: {default})" in text, f"{path}: {label} hides its default"


def test_settings_command_prints_both_references(capsys: pytest.CaptureFixture[str]) -> None:
    from web.cli import main

    assert main(["settings"]) == 0
    assert capsys.readouterr().out == render_markdown()
    assert main(["settings", "--format", "env"]) == 0
    assert capsys.readouterr().out == render_env()
