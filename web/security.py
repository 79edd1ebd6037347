"""Passwords (argon2) and access tokens (JWT, HS256)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.roles import Principal, Role
from web.clock import Clock, system_clock

_hasher = PasswordHasher()
ALGORITHM = "HS256"
#: A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class InvalidToken(Exception):
    pass


@dataclass
class EndedDelegations:
    """Delegations that ended before their window's end (revoked) while a token naming them may
    still be valid. Each web process refreshes it from the database (``Services``), so a revoked
    role leaves tokens already issued within seconds, not at the token's expiry."""

    ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TokenService:
    secret: str
    ttl_seconds: int = 8 * 3600
    ended: EndedDelegations = field(default_factory=EndedDelegations)
    #: The application's clock: a token's issue and expiry are read on it, not on the host's.
    clock: Clock = system_clock

    def issue(self, principal: Principal, now: dt.datetime | None = None,
              ttl_seconds: int | None = None, delegated: Mapping[str, Role] | None = None) -> str:
        """``delegated``: delegation id -> the role it lends (roles the user does not hold)."""
        now = now or self.clock()
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        claims: dict[str, Any] = {
            "sub": principal.user_id,
            "name": principal.username,
            "roles": sorted(r.value for r in principal.roles),
            "stores": sorted(principal.store_ids) if principal.store_ids is not None else None,
            "tech": principal.technician_id,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + ttl,
            "jti": str(uuid.uuid4()),
        }
        if delegated:
            claims["dlg"] = {key: role.value for key, role in delegated.items()}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        return self.verify_with_expiry(token)[0]

    def verify_with_expiry(self, token: str) -> tuple[Principal, dt.datetime]:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM],
                options={"require": ["sub", "exp", "iat", "jti"], "verify_exp": False,
                         "verify_iat": False, "verify_nbf": False},
            )
            if int(claims["exp"]) <= self.clock().timestamp():
                raise InvalidToken("the token has expired")
            stores = claims.get("stores")
            roles = frozenset(Role(r) for r in claims.get("roles", []))
            ended = self.ended.ids
            lent = claims.get("dlg") or {}
            roles -= {Role(role) for key, role in lent.items() if key in ended}
            principal = Principal(
                user_id=str(claims["sub"]),
                username=str(claims.get("name", "")),
                roles=roles,
                store_ids=frozenset(stores) if stores is not None else None,
                technician_id=claims.get("tech"),
            )
            return principal, dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise InvalidToken(str(error)) from error
