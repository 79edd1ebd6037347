"""A local stand-in for Genesys Cloud's OAuth, agentless SMS and Outbound contact list endpoints
(plain ASGI).

It speaks the same wire protocol as ``genesys.py`` and ``voice.py`` expect: ``POST /oauth/token``
with Basic client credentials and the form ``grant_type=client_credentials``; ``POST /api/v2/
conversations/messages/agentless`` and ``POST /api/v2/outbound/contactlists/{id}/contacts`` with a
bearer token it issued and the JSON body. It checks them, records every message and contact it
accepts, and can be told to answer the next requests with a failure (429 with ``Retry-After``,
500, ...) or to revoke its tokens. Its ``campaign`` (``campaign_simulator.py``) lets a test
answer the calls (press a key, or not answer) and reply to texts, through the data actions that
call the app back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from domain.alert_delivery import SMS_LIMIT, normalize_phone
from realtime.notify.campaign_simulator import OutboundCampaign
from realtime.notify.inbound import inbound_body, sign

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Reply = tuple[int, dict[str, Any], dict[str, str]]
MESSENGER_TYPES = {"sms", "whatsapp", "open", "webmessaging", "apple"}
CONTACTS = re.compile(r"^/api/v2/outbound/contactlists/([^/]+)/contacts$")


@dataclass
class _Fault:
    status: int
    on: str  # "send" | "token" | "call"
    retry_after: float | None


class GenesysSimulator:
    def __init__(self, *, client_id: str, client_secret: str, token_ttl: int = 86_400,
                 from_numbers: frozenset[str] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 contact_list_id: str = "alert-calls") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.from_numbers = from_numbers
        self.clock = clock
        self.tokens: dict[str, float] = {}
        self.messages: list[dict[str, Any]] = []
        self.token_requests = 0
        self.send_requests = 0
        self.replies: list[dict[str, str]] = []
        self.call_requests = 0
        self.campaign = OutboundCampaign(contact_list_id)
        self._faults: list[_Fault] = []

    def fail_next(self, status: int, *, times: int = 1, on: str = "send",
                  retry_after: float | None = None) -> None:
        """The next ``times`` requests to ``on`` (``send``, ``call`` or ``token``) answer
        ``status``."""
        self._faults += [_Fault(status, on, retry_after) for _ in range(times)]

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def reply(self, sender: str, text: str, *, secret: str) -> tuple[bytes, dict[str, str]]:
        """A customer's text to the org's number, as Genesys forwards it to the app's
        ``/api/sms/inbound``: the body and its headers (signed with ``secret``)."""
        to = sorted(self.from_numbers)[0] if self.from_numbers else ""
        body = json.dumps(inbound_body(sender, to, text)).encode()
        self.replies.append({"from": sender, "text": text})
        return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers") or []}
        status, payload, extra = self._answer(scope["method"], scope["path"], headers, body,
                                              parse_qs(scope.get("query_string", b"").decode()))
        raw = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
            *((k.encode(), v.encode()) for k, v in extra.items())]})
        await send({"type": "http.response.body", "body": raw})

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes,
                query: dict[str, list[str]]) -> Reply:
        if method != "POST":
            return _error(405, "method not allowed")
        if path == "/oauth/token":
            self.token_requests += 1
            return self._fault("token") or self._token(headers, body)
        if path == "/api/v2/conversations/messages/agentless":
            self.send_requests += 1
            return self._fault("send") or self._send(headers, body)
        contacts = CONTACTS.match(path)
        if contacts:
            self.call_requests += 1
            return self._fault("call") or self._contacts(unquote(contacts.group(1)), headers,
                                                         body, query)
        return _error(404, "not found")

    def _fault(self, on: str) -> Reply | None:
        for index, fault in enumerate(self._faults):
            if fault.on == on:
                del self._faults[index]
                extra = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                return fault.status, {"message": "simulated failure", "status": fault.status}, extra
        return None

    def _token(self, headers: dict[str, str], body: bytes) -> Reply:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        if scheme.lower() != "basic" or not secrets.compare_digest(
                f"{user}:{password}", f"{self.client_id}:{self.client_secret}"):
            return _error(401, "invalid client credentials", code="invalid_client")
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _error(400, "send the form urlencoded", code="invalid_request")
        form = parse_qs(body.decode(errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return _error(400, "grant_type must be client_credentials", code="unsupported_grant_type")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.token_ttl
        return 200, {"access_token": token, "token_type": "bearer",
                     "expires_in": self.token_ttl}, {}

    def _authorized_json(self, headers: dict[str, str], body: bytes) -> tuple[Any, Reply | None]:
        """The JSON body of a call made with a live token it issued, or the error to answer."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        expires = self.tokens.get(token)
        if scheme.lower() != "bearer" or expires is None or self.clock() >= expires:
            return None, _error(401, "authentication required", code="bad.credentials")
        try:
            return json.loads(body), None
        except ValueError:
            return None, _error(400, "the body is not JSON", code="bad.request")

    def _contacts(self, list_id: str, headers: dict[str, str], body: bytes,
                  query: dict[str, list[str]]) -> Reply:
        data, refused = self._authorized_json(headers, body)
        if refused is not None:
            return refused
        return self.campaign.add(list_id, data, query.get("priority") == ["true"])

    def _send(self, headers: dict[str, str], body: bytes) -> Reply:
        data, refused = self._authorized_json(headers, body)
        if refused is not None:
            return refused
        problem = _invalid(data, self.from_numbers)
        if problem:
            return _error(400, problem, code="bad.request")
        message = {
            "id": uuid.uuid4().hex, "conversationId": str(uuid.uuid4()),
            "fromAddress": data["fromAddress"], "toAddress": data["toAddress"],
            "messengerType": data["toAddressMessengerType"], "textBody": data["textBody"],
            "useExistingActiveConversation": bool(data.get("useExistingActiveConversation")),
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        }
        message["selfUri"] = f"/api/v2/conversations/messages/agentless/{message['id']}"
        self.messages.append(message)
        return 200, message, {}


async def read_body(receive: Receive) -> bytes:
    """The whole body of an ASGI request."""
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def _invalid(data: Any, from_numbers: frozenset[str] | None) -> str:
    if not isinstance(data, dict):
        return "the body must be an object"
    for name in ("fromAddress", "toAddress", "toAddressMessengerType"):
        if not isinstance(data.get(name), str) or not data[name]:
            return f"{name} is required"
    if data["toAddressMessengerType"] not in MESSENGER_TYPES:
        return "unknown toAddressMessengerType"
    if data["toAddressMessengerType"] == "sms":
        text = data.get("textBody")
        if not isinstance(text, str) or not text:
            return "textBody is required for sms"
        if len(text) > SMS_LIMIT:
            return f"textBody is limited to {SMS_LIMIT} characters for sms"
        if normalize_phone(data["toAddress"]) != data["toAddress"]:
            return "toAddress must be an E.164 number"
        if from_numbers is not None and data["fromAddress"] not in from_numbers:
            return "fromAddress is not an SMS number of this organization"
    return ""


def _error(status: int, message: str, code: str = "error") -> Reply:
    return status, {"message": message, "code": code, "status": status}, {}
