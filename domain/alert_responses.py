"""What a person answers to an escalation: a key pressed on the call, or a text sent back.

On a call: 1 acknowledges the alert (as that person), 2 passes it to the next level at once;
no key (or no answer) within the call's timeout counts as not acknowledged, and the alert goes
on climbing on the clock. A text back: ``ACK <code>`` (the alert's short code the text carried)
or just ``1`` / ``ACK`` (the latest alert texted to that number) acknowledges. Pure functions;
the use cases are ``domain/services/alert_responses.py``, which find the delivery answered
(``Delivered``) through ``domain.ports.ResponseStore``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import secrets
from dataclasses import dataclass

KEY_ACKNOWLEDGE = "1"
KEY_PASS_ON = "2"
#: ``response`` of a call that got no key within its timeout (or was not answered).
NO_KEY = "none"
#: ``response`` of a text that was answered by a reply.
REPLIED = "reply"
CODE_DIGITS = 6
_REPLY = re.compile(r"^\s*(?:ACK(?:NOWLEDGE)?\b[\s:#-]*(?P<code>[\d\s-]*)|1)\s*[.!]*\s*$",
                    re.IGNORECASE)


class Outcome(enum.StrEnum):
    """What an answer did (the callback's answer to the provider, and the log)."""

    ACKNOWLEDGED = "acknowledged"
    PASSED_ON = "passed_on"
    NO_KEY = "no_key"                      # the call ended without 1 or 2
    ALREADY_HANDLED = "already_handled"    # acknowledged or resolved meanwhile, or passed on
    ANSWERED_BEFORE = "answered_before"    # this call (or text) already had its answer
    EXPIRED = "expired"                    # the call's timeout had passed
    TOP_LEVEL = "top_level"                # 2 at the last level: nobody to pass it to
    NOT_ALLOWED = "not_allowed"            # the person may not acknowledge this alert
    UNKNOWN = "unknown"                    # no such call, or a text that matches nothing


@dataclass(frozen=True, slots=True)
class Delivered:
    """A delivery that may be answered (an ``alert_notifications`` row)."""

    id: str
    alert_id: str
    level: int
    user_id: str | None
    sent_at: dt.datetime | None
    response: str | None
    ack_code: str | None = None
    #: Every alert the message was about (a group's; empty: just ``alert_id``).
    alert_ids: tuple[str, ...] = ()

    @property
    def about(self) -> tuple[str, ...]:
        return self.alert_ids or (self.alert_id,)


@dataclass(frozen=True, slots=True)
class Reply:
    """An acknowledging text: with the alert's code, or without (the latest one texted)."""

    code: str | None


def parse_reply(text: str) -> Reply | None:
    """``ACK 123456`` / ``ack123-456`` / ``ACK`` / ``1``; anything else is not an acknowledgement."""
    match = _REPLY.match(text or "")
    if match is None:
        return None
    code = re.sub(r"\D", "", match.group("code") or "")
    return Reply(code or None)


def new_ack_code() -> str:
    """An alert's short code for replies: six digits (with the number it went to, not guessable)."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def new_call_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """What is stored of a call's token: a leaked table cannot forge a keypress."""
    return hashlib.sha256(token.encode()).hexdigest()


def say(outcome: Outcome) -> str:
    """A short sentence the call can read out (or the reply text can carry) after an answer."""
    return {
        Outcome.ACKNOWLEDGED: "Thank you. The alert is acknowledged.",
        Outcome.PASSED_ON: "Thank you. The alert goes to the next level now.",
        Outcome.NO_KEY: "No key was pressed. The alert stays open.",
        Outcome.ALREADY_HANDLED: "The alert was already taken care of.",
        Outcome.ANSWERED_BEFORE: "This alert already had your answer.",
        Outcome.EXPIRED: "This call has timed out. The alert went on without an answer.",
        Outcome.TOP_LEVEL: "The alert is at the last level and stays with you.",
        Outcome.NOT_ALLOWED: "You may not acknowledge this alert.",
        Outcome.UNKNOWN: "",
    }[outcome]
