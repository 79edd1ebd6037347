"""Signing out: the token ends now, on every web process within seconds (REST and websockets)."""

from __future__ import annotations

import datetime as dt

from domain.errors import NotFound
from storage.revocations import revoke_token
from web.api.framework import Api, Call, Empty
from web.api.logout_schemas import LogoutIn

api = Api()


@api.route("POST", "/api/auth/logout", summary="Log out: end this access token (or all of them)",
           tag="auth", body=LogoutIn, status=204, errors=(401, 422))
async def logout(call: Call[LogoutIn, Empty]) -> None:
    """The token used for this call stops working at once on this process and within
    ``DELEGATION_REFRESH_SECONDS`` on the others; open websocket sessions holding it are closed
    with 4005. ``{"everywhere": true}`` ends every token the account holds."""
    runtime = call.runtime
    token = call.request.headers["authorization"].partition(" ")[2].strip()
    claims = runtime.tokens.claims(token)
    await revoke_token(runtime.engine, jti=str(claims["jti"]), user_id=call.principal.user_id,
                       expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC))
    if call.body.everywhere:
        async with call.uow() as uow:
            user = await uow.users.get(call.principal.user_id)
            if user is None:
                raise NotFound("user", call.principal.user_id)
            user.end_sessions()
            uow.audit(action="user.logout_everywhere", entity_type="user", entity_id=user.id,
                      before=None, after={"token_version": user.token_version})
            await uow.commit()
    await runtime.refresh_revocations()
