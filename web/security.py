"""Passwords (argon2) and access tokens (JWT, HS256)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import OrderedDict
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
#: How many verified tokens' claims each process remembers (least recently used go first).
DECODED_CACHE = 4096
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
    still be valid. Each web process refreshes it from the database (``Runtime``), so a revoked
    role leaves tokens already issued within seconds, not at the token's expiry."""

    ids: frozenset[str] = frozenset()


@dataclass
class Revocations:
    """Which tokens stopped working before their expiry, as each web process last read it
    (``Runtime`` refreshes it every few seconds, and at once where the change was made).

    ``floors``: user id -> the lowest token version still accepted (a user whose roles or stores
    changed, who signed out everywhere, or who was deactivated); ``jtis``: single tokens ended by
    signing out."""

    floors: Mapping[str, int] = field(default_factory=dict)
    jtis: frozenset[str] = frozenset()

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        version = claims.get("tv", 0)
        floor = self.floors.get(str(claims["sub"]), 0)
        return (not isinstance(version, int) or version < floor
                or str(claims["jti"]) in self.jtis)


@dataclass(frozen=True)
class TokenService:
    secret: str
    ttl_seconds: int = 8 * 3600
    ended: EndedDelegations = field(default_factory=EndedDelegations)
    revoked: Revocations = field(default_factory=Revocations)
    #: The application's clock: a token's issue and expiry are read on it, not on the host's.
    clock: Clock = system_clock
    #: Claims of tokens whose signature verified lately (the HMAC and decoding are about a
    #: twentieth of a list request's CPU; a board or a phone sends the same token all shift).
    #: Only the decoding is remembered: expiry and revocation are checked on every use.
    _decoded: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict, repr=False,
                                                       compare=False)

    def issue(self, principal: Principal, now: dt.datetime | None = None,
              ttl_seconds: int | None = None, delegated: Mapping[str, Role] | None = None,
              token_version: int = 0) -> str:
        """``delegated``: delegation id -> the role it lends (roles the user does not hold);
        ``token_version``: the user's, so that bumping it ends this token."""
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
            "tv": token_version,
        }
        if delegated:
            claims["dlg"] = {key: role.value for key, role in delegated.items()}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        return self.verify_with_expiry(token)[0]

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a token that verifies (signature, expiry, revocation)."""
        try:
            claims = self._decode(token)
            expired = int(claims["exp"]) <= self.clock().timestamp()
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            raise InvalidToken(str(error)) from error
        if expired:
            raise InvalidToken("the token has expired")
        if self.revoked.refuses(claims):
            raise InvalidToken("the token was revoked")
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature verified (a copy: callers may not share one)."""
        known = self._decoded.get(token)
        if known is not None:
            self._decoded.move_to_end(token)
            return dict(known)
        claims: dict[str, Any] = jwt.decode(
            token, self.secret, algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat", "jti"], "verify_exp": False,
                     "verify_iat": False, "verify_nbf": False},
        )
        self._decoded[token] = dict(claims)
        if len(self._decoded) > DECODED_CACHE:
            self._decoded.popitem(last=False)
        return claims

    def revoked_since_issue(self, token: str) -> bool:
        """Whether a token that verified earlier (an open websocket's) has been ended since: the
        revocations above, or a delegation it names revoked. Expiry is not checked here."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM],
                                options={"verify_exp": False, "verify_iat": False})
            lent = claims.get("dlg") or {}
            return self.revoked.refuses(claims) or any(key in self.ended.ids for key in lent)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
            return True

    def verify_with_expiry(self, token: str) -> tuple[Principal, dt.datetime]:
        claims = self.claims(token)
        try:
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
