"""Genesys Cloud agentless SMS: OAuth client credentials, then one POST per message.

``GenesysApi`` holds the token and makes the authorized POSTs (the voice adapter,
``realtime/notify/voice.py``, shares it).

``POST {login}/oauth/token`` (Basic client id:secret, form ``grant_type=client_credentials``) gives
a bearer token, cached until shortly before it expires; ``POST {api}/api/v2/conversations/
messages/agentless`` with ``{fromAddress, toAddress, toAddressMessengerType: "sms", textBody}``
sends (``textBody`` at most 765 characters). A 401 on send refreshes the token once; 429 is
reported with its ``Retry-After``; 5xx and network errors are transient; other 4xx are permanent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from domain.alert_delivery import SMS_LIMIT, normalize_phone
from realtime.geotab.protocol import parse_retry_after
from realtime.notify.base import DeliveryFailed, SendReceipt

SEND_PATH = "/api/v2/conversations/messages/agentless"
TOKEN_PATH = "/oauth/token"


@dataclass(frozen=True)
class GenesysConfig:
    base_url: str     # e.g. https://api.mypurecloud.com
    login_url: str    # e.g. https://login.mypurecloud.com
    client_id: str
    client_secret: str
    from_number: str  # an SMS number provisioned in the org (E.164)
    timeout: float = 15.0

    def __post_init__(self) -> None:
        if normalize_phone(self.from_number) is None:
            raise ValueError(f"GENESYS_FROM_NUMBER {self.from_number!r} is not an E.164 number")


class GenesysApi:
    """OAuth client credentials and authorized JSON POSTs to the API: shared by the SMS and the
    voice adapters of one organization (one token)."""

    def __init__(self, config: GenesysConfig, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.monotonic, token_margin: float = 60.0) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=config.timeout)
        self._owned = client is None
        self._clock = clock
        self._margin = token_margin
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.token_requests = 0

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()

    async def token(self) -> str:
        """The cached bearer token, or a new one when it is (about to be) expired."""
        async with self._lock:
            if self._token is not None and self._clock() < self._expires:
                return self._token
            self.token_requests += 1
            response = await self._post(
                self.config.login_url.rstrip("/") + TOKEN_PATH,
                data={"grant_type": "client_credentials"},
                auth=(self.config.client_id, self.config.client_secret))
            if response.status_code != 200:
                raise _failure("token", response, permanent=False)
            body = _json(response)
            token = body.get("access_token")
            if not isinstance(token, str) or not token:
                raise DeliveryFailed("token: the answer has no access_token")
            lifetime = float(body.get("expires_in") or 3600)
            self._token = token
            self._expires = self._clock() + max(0.0, lifetime - self._margin)
            return token

    def forget_token(self) -> None:
        self._token = None

    async def post(self, path: str, body: Any, *, what: str,
                   params: dict[str, str] | None = None) -> httpx.Response:
        """POST ``body`` as JSON with the bearer token; a 401 fetches a new token once. A 2xx
        answer is returned; anything else raises ``DeliveryFailed`` (429 with its
        ``Retry-After``; 5xx and network errors transient; other 4xx permanent)."""
        url = self.config.base_url.rstrip("/") + path
        for attempt in (1, 2):
            token = await self.token()
            response = await self._post(url, json=body, params=params,
                                        headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 401 and attempt == 1:
                self.forget_token()  # revoked or expired early: one fresh token, once
                continue
            if 200 <= response.status_code < 300:
                return response
            raise _failure(what, response, permanent=response.status_code < 500
                           and response.status_code not in {401, 408, 409, 429})
        raise DeliveryFailed(f"{what}: unauthorized after a fresh token")  # pragma: no cover

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.post(url, **kwargs)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error


class GenesysSmsNotifier:
    """Implements ``realtime.notify.Notifier`` over Genesys Cloud's REST API."""

    channel = "sms"

    def __init__(self, config: GenesysConfig, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.monotonic, token_margin: float = 60.0,
                 api: GenesysApi | None = None) -> None:
        self.config = config
        self.api = api or GenesysApi(config, client=client, clock=clock,
                                     token_margin=token_margin)

    @property
    def token_requests(self) -> int:
        return self.api.token_requests

    async def aclose(self) -> None:
        await self.api.aclose()

    async def send(self, to: str, text: str) -> SendReceipt:
        phone = normalize_phone(to)
        if phone is None:
            raise DeliveryFailed(f"{to!r} is not an E.164 phone number", permanent=True)
        body = {"fromAddress": self.config.from_number, "toAddress": phone,
                "toAddressMessengerType": "sms", "textBody": text[:SMS_LIMIT]}
        response = await self.api.post(SEND_PATH, body, what="send")
        provider_id = _json(response).get("id")
        return SendReceipt(provider_id=str(provider_id or ""), channel=self.channel)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _failure(what: str, response: httpx.Response, *, permanent: bool) -> DeliveryFailed:
    detail = _json(response).get("message") or response.text[:200]
    if response.status_code == 429:
        return DeliveryFailed(f"{what}: rate limited (429)",
                              retry_after=parse_retry_after(response.headers.get("retry-after")))
    return DeliveryFailed(f"{what}: HTTP {response.status_code} {detail}".strip(),
                          permanent=permanent)
