"""External order intake: Standard Webhooks verification, the partner feed poller, a feed simulator.

Wire it as: `PartnerFeedPoller(url, cursor_store=..., on_orders=...)` → `await poller.run()` in a
supervised task; verify pushed orders with `Webhook(secret).verify(headers, body)`. Turning an
order into a work order (validation, idempotency, the use case) is the composition root's job.
"""

from __future__ import annotations

from .partner_sim import DemoStore, PartnerFeedSimulator, Trickle, make_order
from .poller import FeedError, OrderPage, PartnerFeedPoller, PollerStats
from .webhooks import (
    InvalidSignature,
    MalformedHeader,
    MalformedSignature,
    MalformedTimestamp,
    MissingHeaders,
    TimestampOutOfTolerance,
    VerifiedMessage,
    Webhook,
    WebhookVerificationError,
)

__all__ = [
    "DemoStore",
    "FeedError",
    "InvalidSignature",
    "MalformedHeader",
    "MalformedSignature",
    "MalformedTimestamp",
    "MissingHeaders",
    "OrderPage",
    "PartnerFeedPoller",
    "PartnerFeedSimulator",
    "PollerStats",
    "TimestampOutOfTolerance",
    "Trickle",
    "VerifiedMessage",
    "Webhook",
    "WebhookVerificationError",
    "make_order",
]
