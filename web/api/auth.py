"""Login, the current user, and role delegation."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from typing import Any

from pydantic import BaseModel, Field

from domain.roles import Role
from web.api.framework import Api, Call
from web.api.problems import ApiError
from web.api.schemas import Strict
from web.security import verify_password

api = Api()


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class MeOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    store_ids: list[str] | None
    technician_id: str | None


class LoginThrottle:
    """Failed logins per (username, address): after ``limit`` in ``window`` seconds, 429."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = asyncio.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque(maxlen=self.limit))
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, key: tuple[str, str]) -> int:
        now = time.monotonic()
        q = self._recent(key, now)
        if len(q) >= self.limit:
            return max(1, int(q[0] + self.window - now) + 1)
        return 0

    def fail(self, key: tuple[str, str]) -> None:
        self._recent(key, time.monotonic()).append(time.monotonic())
        if len(self._failures) > 100_000:  # bounded: forget the oldest entries
            for stale in list(self._failures)[:10_000]:
                del self._failures[stale]

    def succeed(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)


@api.route("POST", "/api/auth/login", summary="Log in and receive an access token",
           tag="auth", body=LoginIn, response=TokenOut, errors=(401, 422, 429), auth=False)
async def login(call: Call[LoginIn, Any]) -> dict[str, Any]:
    services = call.services
    username = call.body.username.strip().lower()
    address = call.request.client.host if call.request.client else "unknown"
    key = (username, address)
    throttle: LoginThrottle = services.login_throttle
    wait = throttle.retry_after(key)
    if wait:
        raise ApiError(429, f"too many failed logins; try again in {wait} s",
                       code="too_many_attempts", headers={"Retry-After": str(wait)})
    async with services.uow() as uow:
        user = await uow.users.by_username(username)
        delegations = await services.active_delegations(uow, user.id) if user else []
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None,
                                 call.body.password)
    if user is None or not ok or not user.active:
        throttle.fail(key)
        raise ApiError(401, "wrong username or password", code="invalid_credentials")
    throttle.succeed(key)
    now = services.now()
    roles = user.roles | frozenset(d.role for d in delegations)
    ttl = services.settings.token_ttl_seconds
    if delegations:  # a delegated role must not outlive its window inside a token
        ttl = min(ttl, int(min(d.ends_at for d in delegations).timestamp() - now.timestamp()))
    lent = {d.id: d.role for d in delegations if d.role not in user.roles}
    token = services.tokens.issue(user.principal(roles), now=now, ttl_seconds=ttl, delegated=lent,
                                  token_version=user.token_version)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


@api.route("GET", "/api/auth/me", summary="The logged-in user", tag="auth", response=MeOut,
           errors=(401,))
async def me(call: Call[Any, Any]) -> dict[str, Any]:
    p = call.principal
    async with call.services.uow() as uow:
        user = await uow.users.get(p.user_id)
    if user is None:
        raise ApiError(401, "the account no longer exists", code="invalid_token")
    return {
        "id": p.user_id, "username": p.username, "display_name": user.display_name,
        "roles": sorted(r.value for r in p.roles),
        "store_ids": sorted(p.store_ids) if p.store_ids is not None else None,
        "technician_id": p.technician_id,
    }


class DelegationIn(Strict):
    to_username: str = Field(min_length=1, max_length=64)
    role: Role
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime


class DelegationOut(BaseModel):
    id: str
    from_user_id: str
    to_user_id: str
    role: str
    starts_at: dt.datetime
    ends_at: dt.datetime
