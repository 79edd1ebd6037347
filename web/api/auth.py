"""Login and the current user (role delegation: ``delegations.py``)."""

from __future__ import annotations

from typing import Any

from web.api.auth_schemas import LoginIn, MeOut, TokenOut
from web.api.framework import Api, Call, Empty, NoInput
from web.api.problems import ApiError
from web.login_throttle import LoginThrottle, TooManyAttempts, VerifierBusy

api = Api()


@api.route("POST", "/api/auth/login", summary="Log in and receive an access token",
           tag="auth", body=LoginIn, response=TokenOut, errors=(401, 422, 429, 503), auth=False)
async def login(call: Call[LoginIn, Empty]) -> dict[str, Any]:
    runtime = call.runtime
    username = call.body.username.strip().lower()
    address = call.request.client.host if call.request.client else "unknown"
    throttle: LoginThrottle = runtime.login_throttle
    try:
        await throttle.attempt(username, address)  # reserved before the password is checked
    except TooManyAttempts as refused:
        raise ApiError(429, str(refused), code="too_many_attempts",
                       headers={"Retry-After": str(refused.retry_after)}) from None
    try:
        async with runtime.uow() as uow:
            user = await uow.users.by_username(username)
            delegations = await runtime.active_delegations(uow, user.id) if user else []
        ok = await throttle.verify(user.password_hash if user else None, call.body.password)
    except VerifierBusy as busy:
        await throttle.succeeded(username, address)  # not checked: the attempt does not count
        raise ApiError(503, str(busy), code="login_busy",
                       headers={"Retry-After": str(busy.retry_after)}) from None
    except Exception:
        await throttle.succeeded(username, address)
        raise
    if user is None or not ok or not user.active:
        raise ApiError(401, "wrong username or password", code="invalid_credentials")
    await throttle.succeeded(username, address)
    now = runtime.now()
    roles = user.roles | frozenset(d.role for d in delegations)
    ttl = runtime.settings.token_ttl_seconds
    if delegations:  # a delegated role must not outlive its window inside a token
        ttl = min(ttl, int(min(d.ends_at for d in delegations).timestamp() - now.timestamp()))
    lent = {d.id: d.role for d in delegations if d.role not in user.roles}
    token = runtime.tokens.issue(user.principal(roles), now=now, ttl_seconds=ttl, delegated=lent,
                                  token_version=user.token_version)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


@api.route("GET", "/api/auth/me", summary="The logged-in user", tag="auth", response=MeOut,
           errors=(401,))
async def me(call: NoInput) -> dict[str, Any]:
    p = call.principal
    async with call.runtime.uow() as uow:
        user = await uow.users.get(p.user_id)
    if user is None:
        raise ApiError(401, "the account no longer exists", code="invalid_token")
    return {
        "id": p.user_id, "username": p.username, "display_name": user.display_name,
        "roles": sorted(r.value for r in p.roles),
        "store_ids": sorted(p.store_ids) if p.store_ids is not None else None,
        "technician_id": p.technician_id,
        "permissions": sorted(permission.value for permission in p.permissions),
    }
