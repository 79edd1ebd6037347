"""Standard Webhooks 1.0 signatures: verify a received message (and sign one, for tests and tools).

A message carries three headers:

- ``webhook-id``: the message id, stable across redeliveries (the idempotency key);
- ``webhook-timestamp``: unix seconds when it was (re)sent;
- ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``
  entries (several during a secret rotation; other schemes such as ``v1a`` are ignored).

The secret is shown as ``whsec_<base64 of the key>``. Verification checks the headers' syntax, the
timestamp against a tolerance (both ways: too old and too far in the future), then compares each
``v1`` signature in constant time. Replay protection beyond the tolerance window (remembering
``webhook-id``) is the receiver's job, since it needs storage.

Pure standard library: no framework, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

SECRET_PREFIX: Final = "whsec_"
DEFAULT_TOLERANCE: Final = 300.0
MAX_SIGNATURES: Final = 16
_ID = re.compile(r"^[\x21-\x7e]{1,255}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


class WebhookVerificationError(Exception):
    """The message is not authentic (or not verifiable); ``code`` is stable and machine-readable."""

    code = "invalid_webhook"


class MissingHeaders(WebhookVerificationError):
    code = "missing_signature"


class MalformedHeader(WebhookVerificationError):
    code = "malformed_webhook_header"


class MalformedTimestamp(MalformedHeader):
    code = "bad_webhook_timestamp"


class TimestampOutOfTolerance(WebhookVerificationError):
    code = "webhook_timestamp_out_of_tolerance"


class InvalidSignature(WebhookVerificationError):
    code = "invalid_signature"


class MalformedSignature(InvalidSignature):
    code = "malformed_signature"


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    id: str
    timestamp: int
    body: bytes


def decode_secret(secret: str | bytes) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (a bare base64 string is accepted too)."""
    if isinstance(secret, bytes):
        if not secret:
            raise ValueError("the webhook secret is empty")
        return secret
    text = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("the webhook secret must be whsec_ followed by base64") from error
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of a message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class Webhook:
    """Verifies messages signed with any of ``secrets`` (several during a rotation)."""

    def __init__(
        self,
        secrets: str | bytes | Iterable[str | bytes],
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        items = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
        self._keys = [decode_secret(s) for s in items]
        if not self._keys:
            raise ValueError("give at least one webhook secret")
        if tolerance <= 0:
            raise ValueError("the tolerance must be positive")
        self.tolerance = tolerance
        self._clock = clock

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """Sign with the first secret (for tests, simulators and outgoing pushes)."""
        return sign(self._keys[0], msg_id, timestamp, body)

    def headers(self, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The three headers of a message sent now (or at ``timestamp``)."""
        ts = int(self._clock()) if timestamp is None else timestamp
        return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
                "webhook-signature": self.sign(msg_id, ts, body)}

    def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedMessage:
        """Return the verified message, or raise a `WebhookVerificationError` saying why not."""
        lowered = {k.lower(): v for k, v in headers.items()}
        msg_id = lowered.get("webhook-id")
        stamp = lowered.get("webhook-timestamp")
        signatures = lowered.get("webhook-signature")
        if not msg_id or not stamp or not signatures:
            missing = [name for name, value in (("webhook-id", msg_id),
                                                 ("webhook-timestamp", stamp),
                                                 ("webhook-signature", signatures)) if not value]
            raise MissingHeaders(f"missing header(s): {', '.join(missing)}")
        if not _ID.match(msg_id):
            raise MalformedHeader("webhook-id must be 1 to 255 printable ASCII characters")
        timestamp = parse_timestamp(stamp)
        now = self._clock()
        if timestamp < now - self.tolerance:
            raise TimestampOutOfTolerance("the message timestamp is too old")
        if timestamp > now + self.tolerance:
            raise TimestampOutOfTolerance("the message timestamp is too far in the future")
        candidates = _v1_signatures(signatures)
        for key in self._keys:
            expected = sign(key, msg_id, timestamp, body).encode("ascii")
            # Check every candidate, so the time taken does not depend on which one matched.
            matched = False
            for candidate in candidates:
                matched |= hmac.compare_digest(expected, candidate)
            if matched:
                return VerifiedMessage(msg_id, timestamp, body)
        raise InvalidSignature("no signature matches the message")


def parse_timestamp(value: str) -> int:
    text = value.strip()
    if not _TIMESTAMP.match(text):
        raise MalformedTimestamp("webhook-timestamp must be unix seconds (an integer)")
    return int(text)


def _v1_signatures(header: str) -> list[bytes]:
    entries = header.split()
    if len(entries) > MAX_SIGNATURES:
        raise MalformedSignature(f"webhook-signature carries more than {MAX_SIGNATURES} signatures")
    found: list[bytes] = []
    for entry in entries:
        version, sep, value = entry.partition(",")
        if not sep or not version or not value:
            raise MalformedSignature("webhook-signature entries look like v1,<base64>")
        if version == "v1":
            found.append(("v1," + value).encode("utf-8", errors="replace"))
    if not found:
        raise InvalidSignature("no v1 signature in webhook-signature")
    return found
