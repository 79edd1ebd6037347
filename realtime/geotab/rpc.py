"""A small async MyGeotab JSON-RPC session over httpx: Authenticate once, reuse, re-authenticate.

Only the calls the feed needs; written against the wire format directly (see `protocol`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .protocol import THIS_SERVER, InvalidUserException, build_request, parse_response

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GeotabLogin:
    """Where and as whom to log in. `server` is a host (`my.geotab.com`, https implied) or a URL
    with a scheme (`http://127.0.0.1:8123` for the local simulator)."""

    server: str
    database: str
    username: str
    password: str = field(repr=False)


def endpoint_for(server: str) -> str:
    """`https://<host>/apiv1` for a bare host; a URL keeps its scheme and port."""
    url = server if "://" in server else f"https://{server}"
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/apiv1", "", ""))


class UntrustedRedirect(Exception):
    """Authenticate named a server outside the configured server's domain: the password would
    go there on the next login, so the feed refuses to follow it."""


def _family(host: str) -> str:
    """The domain a server belongs to: ``my.geotab.com`` -> ``geotab.com``."""
    labels = host.split(".")
    return ".".join(labels[1:]) if len(labels) >= 3 else host


def redirect_endpoint(current: str, path: str) -> str:
    """Authenticate's `path`: `ThisServer` keeps the host; a host name replaces it (same scheme),
    but only within the configured server's domain (``my.geotab.com`` may send us to
    ``my3.geotab.com``, never elsewhere); ``UntrustedRedirect`` otherwise."""
    if not path or path == THIS_SERVER:
        return current
    parts = urlsplit(current)
    scheme = parts.scheme or "https"
    host = urlsplit(path).netloc if "://" in path else path.strip("/")
    new, old = (urlsplit(f"//{host}").hostname or ""), (parts.hostname or "")
    same_host = new == old
    in_family = (not _is_ip(old) and not _is_ip(new) and "." in old
                 and new.endswith("." + _family(old)))
    if not host or "/" in host or "@" in host or not (same_host or in_family):
        raise UntrustedRedirect(f"MyGeotab named server {path!r}, outside {old!r}'s domain")
    return urlunsplit((scheme, host, "/apiv1", "", ""))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class MyGeotabApi:
    """One logged-in MyGeotab session, shared by every feed of a client.

    `call` adds the session credentials (never the password) and, when the server says the
    session is no longer valid (`InvalidUserException`), authenticates again and retries once.
    An `InvalidUserException` from Authenticate itself (wrong password) propagates.
    """

    def __init__(
        self,
        login: GeotabLogin,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.login = login
        self._endpoint = endpoint_for(login.server)
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._credentials: dict[str, str] | None = None
        self._auth_lock = asyncio.Lock()
        self._request_id = 0
        self.authentications = 0

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def credentials(self) -> dict[str, str] | None:
        return dict(self._credentials) if self._credentials else None

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> MyGeotabApi:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def authenticate(self) -> dict[str, str]:
        """Log in with the password; follow the returned `path` to another server if named."""
        async with self._auth_lock:
            return dict(await self._login())

    async def _login(self) -> dict[str, str]:
        result = await self._post(
            "Authenticate",
            {
                "database": self.login.database,
                "userName": self.login.username,
                "password": self.login.password,
            },
        )
        credentials = result.get("credentials") if isinstance(result, dict) else None
        if not isinstance(credentials, dict) or not credentials.get("sessionId"):
            raise InvalidUserException("Authenticate answered without a session")
        path = result.get("path")
        new_endpoint = redirect_endpoint(self._endpoint, path if isinstance(path, str) else "")
        if new_endpoint != self._endpoint:
            log.info("MyGeotab database %s lives on %s", self.login.database, new_endpoint)
            self._endpoint = new_endpoint
        fresh = {
            "database": str(credentials.get("database", self.login.database)),
            "userName": str(credentials.get("userName", self.login.username)),
            "sessionId": str(credentials["sessionId"]),
        }
        self._credentials = fresh
        self.authentications += 1
        return fresh

    async def call(self, method: str, **params: Any) -> Any:
        """Call `method` with the session; re-authenticate once if the session expired."""
        used = await self._ensure_credentials()
        try:
            return await self._post(method, {**params, "credentials": used})
        except InvalidUserException:
            log.info("MyGeotab session expired; authenticating again")
            fresh = await self._reauthenticate(used)
            return await self._post(method, {**params, "credentials": fresh})

    async def _ensure_credentials(self) -> dict[str, str]:
        async with self._auth_lock:
            if self._credentials is None:
                return await self._login()
            return self._credentials

    async def _reauthenticate(self, stale: dict[str, str]) -> dict[str, str]:
        # Several feeds may see the same expired session; only the first logs in again.
        async with self._auth_lock:
            if self._credentials is stale or self._credentials is None:
                self._credentials = None
                return await self._login()
            return self._credentials

    async def _post(self, method: str, params: dict[str, Any]) -> Any:
        self._request_id += 1
        body = json.dumps(build_request(method, params, request_id=self._request_id))
        response = await self._http.post(
            self._endpoint,
            content=body.encode(),
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )
        return parse_response(response.status_code, response.headers, response.content)
