"""The one logging set-up of every process (``dispatch serve``, its uvicorn workers, ``worker``,
``demo``).

structlog renders every line, and the standard library's logging is routed through the same
renderer, so uvicorn's loggers, ours (``dispatch.*``) and third-party ones come out alike: readable
lines by default (``time level logger message key=value ...``), one JSON object per line when
``LOG_JSON`` is on. Context bound with ``structlog.contextvars`` (the request's
``correlation_id``) and ``extra={...}`` fields of standard-library calls become fields of the
line. Phone numbers, e-mail addresses, customer names and addresses are masked before rendering.

``logging_config()`` is a ``logging.config.dictConfig`` dictionary; uvicorn gets it as its
``log_config``, so each worker process it spawns (``--workers N``) configures itself the same way
(the formatter factory also configures structlog in that process).
"""

from __future__ import annotations

import copy
import json
import logging
import logging.config
import re
from collections.abc import Iterable
from typing import Any

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from web.settings import Settings

LEVELS = ("critical", "error", "warning", "info", "debug")

#: Field names whose values are personal data, and how each is masked.
PHONE_FIELDS = frozenset({"phone", "phones", "mobile", "to", "recipient", "oncall_phones"})
EMAIL_FIELDS = frozenset({"email", "e_mail", "emails"})
NAME_FIELDS = frozenset({"customer", "customer_name", "contact", "contact_name", "full_name"})
ADDRESS_FIELDS = frozenset({"address", "customer_address", "street", "site_address"})

#: E.164 (``+12145550123``) and North American national forms (``(214) 555-0123``).
E164 = re.compile(r"(?<![\w+])\+\d{8,15}\b")
NATIONAL_PHONE = re.compile(r"(?<![\w-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])")
EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
#: Libraries that log every statement, request or frame (with its data, personal data included)
#: at DEBUG or INFO: only their warnings are worth a line, whatever ``LOG_LEVEL`` says.
QUIET = ("aiosqlite", "asyncio", "httpx", "httpx2", "httpcore", "websockets")
#: Added by uvicorn to its records for its own coloured formatter; not a field of the line.
_DROPPED_EXTRAS = ("color_message",)


def mask_phone(value: str) -> str:
    """``+12145550123`` -> ``+1214*****23``: the country and area code stay, for triage."""
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:5] + "*" * (len(digits) - 7) + digits[-2:]


def mask_email(value: str) -> str:
    """``carol@example.com`` -> ``c***@example.com``."""
    local, at, domain = value.strip().partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    """``Carol Diaz`` -> ``C*** D***``."""
    return " ".join(f"{word[:1]}***" for word in value.split()) or value


def mask_text(text: str) -> str:
    """Phone numbers and e-mail addresses found anywhere in ``text``, masked."""
    text = E164.sub(lambda m: mask_phone(m.group(0)), text)
    text = NATIONAL_PHONE.sub(lambda m: mask_phone(m.group(0)), text)
    return EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def _mask_field(key: str, value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_mask_field(key, item) for item in value]
    if not isinstance(value, str):
        return value
    if key in PHONE_FIELDS:
        return mask_phone(value) if value.startswith("+") or value[:1].isdigit() else mask_text(
            value)
    if key in EMAIL_FIELDS:
        return mask_email(value)
    if key in NAME_FIELDS:
        return mask_name(value)
    if key in ADDRESS_FIELDS:
        return "***" if value else value
    return mask_text(value)


def mask_personal_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: masks personal data in known fields and in every text value."""
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue
        event_dict[key] = _mask_field(key.lower(), value)
    return event_dict


def _drop_extras(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for key in _DROPPED_EXTRAS:
        event_dict.pop(key, None)
    return event_dict


#: Fields that lead the key=value part of a readable line, in this order.
_LEADING = ("correlation_id",)
_HEAD = frozenset({"timestamp", "level", "logger", "event", "exception", "stack"})


def _readable_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c.isspace() or c in "\"=" for c in text):
        return json.dumps(text)
    return text


def render_readable(_: WrappedLogger, __: str, event_dict: EventDict) -> str:
    """``2026-12-06T09:30:00.123Z INFO  dispatch.api request finished correlation_id=... k=v``."""
    head = (f"{event_dict.get('timestamp', '')} {str(event_dict.get('level', '')).upper():<5} "
            f"{event_dict.get('logger', '-')} {event_dict.get('event', '')}")
    keys = [k for k in _LEADING if k in event_dict]
    keys += [k for k in event_dict if k not in _HEAD and k not in _LEADING]
    fields = " ".join(f"{k}={_readable_value(event_dict[k])}" for k in keys
                      if event_dict[k] is not None)
    line = f"{head} {fields}" if fields else head
    for extra in ("stack", "exception"):
        if event_dict.get(extra):
            line += "\n" + str(event_dict[extra])
    return line


def _shared_processors() -> list[Processor]:
    """What every line goes through before rendering, from structlog or the standard library."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _configure_structlog() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def make_formatter(json_lines: bool = False) -> logging.Formatter:
    """The formatter of the one handler (the ``()`` factory of ``logging_config``); it also
    configures structlog, so a process configured only through ``dictConfig`` (a uvicorn worker)
    gets both."""
    _configure_structlog()
    renderer: list[Processor] = (
        [structlog.processors.EventRenamer("message"), _json_order,
         structlog.processors.JSONRenderer()]
        if json_lines else [render_readable])
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder(), _drop_extras],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_personal_data,
            *renderer,
        ],
    )


_JSON_FIRST = ("timestamp", "level", "logger", "message", "correlation_id")


def _json_order(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The fixed fields first, so JSON lines read well raw too."""
    first = {k: event_dict.pop(k) for k in _JSON_FIRST if k in event_dict}
    return {**first, **event_dict}


def _level(level: str) -> str:
    name = level.strip().lower()
    if name not in LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    return name.upper()


def logging_config(*, json_lines: bool, level: str) -> dict[str, Any]:
    """The ``dictConfig`` of every process: one stderr handler on the root logger, uvicorn's
    loggers propagating to it, everything at ``level`` (``dispatch.*`` INFO lines included)."""
    lvl = _level(level)
    passthrough = {"handlers": [], "propagate": True, "level": "NOTSET"}  # the root's level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"dispatch": {"()": f"{__name__}.make_formatter", "json_lines": json_lines}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "dispatch",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": lvl},
        "loggers": {**{name: dict(passthrough) for name in _propagating()},
                    **{name: {"level": "WARNING"} for name in QUIET}},
    }


def _propagating() -> Iterable[str]:
    """Loggers that bring handlers of their own elsewhere; here they go through the root's."""
    return ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def configure_logging(*, json_lines: bool, level: str) -> None:
    """Configure this process (idempotent: a second call replaces the first)."""
    logging.config.dictConfig(logging_config(json_lines=json_lines, level=level))


def configure_from_settings(settings: Settings) -> dict[str, Any]:
    """Configure from ``Settings`` (``LOG_JSON``, ``LOG_LEVEL``) and return the dictionary, for
    uvicorn's ``log_config``."""
    config = logging_config(json_lines=bool(settings.log_json), level=str(settings.log_level))
    logging.config.dictConfig(copy.deepcopy(config))
    return config

