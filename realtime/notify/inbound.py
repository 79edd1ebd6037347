"""Customers' replies as Genesys Cloud forwards them to us: a normalized message (its Open
Messaging shape) in a POST signed with ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of
the raw body with the shared secret (``GENESYS_INBOUND_SECRET``).

```json
{"id": "...", "direction": "Inbound", "type": "Text", "text": "STOP",
 "channel": {"platform": "SMS", "type": "Private", "messageId": "...", "time": "<iso>",
             "from": {"id": "+19725550123", "idType": "Phone"}, "to": {"id": "+13175550100"}}}
```
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "x-hub-signature-256"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    id: str
    sender: str
    to: str
    text: str


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """The header matches the body under the secret (constant-time); no secret, no match."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def inbound_body(sender: str, to: str, text: str, *, message_id: str | None = None,
                 at: dt.datetime | None = None) -> dict[str, Any]:
    """A reply in the forwarded shape (what the simulator sends, and tests)."""
    message_id = message_id or uuid.uuid4().hex
    return {"id": message_id, "direction": "Inbound", "type": "Text", "text": text,
            "channel": {"platform": "SMS", "type": "Private", "messageId": message_id,
                        "time": (at or dt.datetime.now(dt.UTC)).isoformat(),
                        "from": {"id": sender, "idType": "Phone"}, "to": {"id": to}}}


def parse(data: Any) -> InboundMessage | None:
    """The reply in a forwarded body; None for anything else (receipts, outbound echoes)."""
    if not isinstance(data, dict) or data.get("direction") != "Inbound":
        return None
    channel = data.get("channel")
    text = data.get("text")
    if not isinstance(channel, dict) or not isinstance(text, str):
        return None
    sender = (channel.get("from") or {}).get("id")
    to = (channel.get("to") or {}).get("id")
    if not isinstance(sender, str) or not sender:
        return None
    return InboundMessage(id=str(data.get("id") or ""), sender=sender,
                          to=to if isinstance(to, str) else "", text=text[:1000])
