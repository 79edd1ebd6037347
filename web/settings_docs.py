"""The settings reference, generated from the ``Settings`` model: ``docs/configuration.md`` (a
table) and ``.env.example`` (every setting with its default, commented).

``dispatch settings --format markdown > docs/configuration.md`` and
``dispatch settings --format env > .env.example`` write them; ``tests/test_configuration.py``
regenerates both and fails when a file differs, so they cannot drift from ``web/settings.py``.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from web.settings import Settings

#: Variables the processes read that are not settings: the Procfile's port.
RUNTIME_VARIABLES = {"PORT": "the web process's port in the Procfile (`--port ${PORT:-8000}`)"}


@dataclass(frozen=True)
class SettingDoc:
    name: str
    env: str
    kind: str
    default: str  # as it would be written in the environment; "" for an empty value
    unset: bool  # no default value: the feature it configures is off
    meaning: str


def env_name(name: str, field: FieldInfo) -> str:
    """The environment variable pydantic-settings reads for a field (names are matched
    case-insensitively; the conventional spelling is upper case)."""
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    prefix = str(Settings.model_config.get("env_prefix") or "")
    return (alias or f"{prefix}{name}").upper()


def _kind(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    names = {str: "text", int: "integer", float: "number", bool: "true/false", SecretStr: "secret"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> tuple[str, bool]:
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined or value is None:
        return "", True
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    return str(value), False


def _limits(field: FieldInfo) -> str:
    words: list[str] = []
    length: dict[str, int] = {}
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            words.append(f"at least {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            words.append(f"more than {item.gt}")
        elif isinstance(item, annotated_types.Le):
            words.append(f"at most {item.le}")
        elif isinstance(item, annotated_types.Lt):
            words.append(f"less than {item.lt}")
        elif isinstance(item, annotated_types.MinLen):
            length["min"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            length["max"] = item.max_length
    if length:
        words.append(f"{length.get('min', 0)} to {length['max']} characters" if "max" in length
                     else f"at least {length['min']} characters")
    return " and ".join(words)


def settings_docs() -> list[SettingDoc]:
    """One entry per field of ``Settings``, in the order the model declares them."""
    docs = []
    for name, field in Settings.model_fields.items():
        default, unset = _default(field)
        meaning = " ".join((field.description or "").split())
        limits = _limits(field)
        if limits:
            meaning = f"{meaning} Allowed: {limits}." if meaning else f"Allowed: {limits}."
        docs.append(SettingDoc(name=name, env=env_name(name, field), kind=_kind(field.annotation),
                               default=default, unset=unset, meaning=meaning))
    return docs


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_default(doc: SettingDoc) -> str:
    if doc.unset:
        return "unset"
    if doc.default == "":
        return "empty"
    return f"`{doc.default}`"


def render_markdown() -> str:
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from web/settings.py by `dispatch settings --format markdown > "
        "docs/configuration.md`; tests/test_configuration.py fails when this file differs. -->",
        "",
        "Every process (`dispatch serve`, `dispatch worker`, `dispatch migrate`, the demo) reads its "
        "settings from environment variables, matched case-insensitively, or from a `.env` file in "
        "its working directory; the environment wins. `.env.example` lists them all with their "
        "defaults (`cp .env.example .env`, then uncomment what you set). Outside the demo, "
        "`SECRET_KEY` is required. A setting whose default is *unset* turns its feature off until "
        "it is set. `true`/`false` settings also take `1`/`0`, `yes`/`no`, `on`/`off`.",
        "",
        "Production: `compose.yaml` (PostgreSQL, Redis, migrate, web, worker) sets `DATABASE_URL`, "
        "`REDIS_URL`, `RUN_FEEDS=false` on the web processes and `LOG_JSON=true`, and passes the "
        "feeds' settings through from its environment; see `docs/operations.md`.",
        "",
        "| setting | environment variable | type | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for doc in settings_docs():
        lines.append(f"| `{doc.name}` | `{doc.env}` | {doc.kind} | {_cell(_md_default(doc))} "
                     f"| {_cell(doc.meaning)} |")
    lines += ["", "Other variables the processes read:", ""]
    lines += [f"- `{name}`: {text}" for name, text in RUNTIME_VARIABLES.items()]
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int = 98) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def render_env() -> str:
    lines = [
        "# Every setting of the Dispatch Board with its default (docs/configuration.md explains them).",
        "# Generated from web/settings.py by `dispatch settings --format env > .env.example`.",
        "# Copy to .env and uncomment what you set; the environment wins over the file.",
        "# Outside the demo SECRET_KEY is required: python3 -c 'import secrets; "
        "print(secrets.token_urlsafe(48))'",
    ]
    for doc in settings_docs():
        lines.append("")
        lines += [f"# {line}" for line in _wrap(doc.meaning)]
        if doc.unset:
            lines.append("# (unset by default)")
        lines.append(f"# {doc.env}={doc.default}")
    return "\n".join(lines) + "\n"
