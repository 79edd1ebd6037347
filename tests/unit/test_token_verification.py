"""Access tokens: what a process remembers of a verified token never outlives its expiry or a
revocation, and a token changed by one character is checked afresh."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.roles import Principal, Role
from web.security import InvalidToken, Revocations, TokenService

T0 = dt.datetime(2026, 12, 7, 3, 10, tzinfo=dt.UTC)
SECRET = "a-test-signing-key-of-sufficient-length-0123456789"
DISPATCHER = Principal(user_id="user-dispatcher", username="dispatcher",
                       roles=frozenset({Role.DISPATCHER}))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_verified_token_still_expires_on_the_clock() -> None:
    clock = Clock()
    tokens = TokenService(SECRET, ttl_seconds=600, clock=clock)
    token = tokens.issue(DISPATCHER)
    assert tokens.verify(token) == DISPATCHER
    clock.now = T0 + dt.timedelta(seconds=599)
    assert tokens.verify(token) == DISPATCHER
    clock.now = T0 + dt.timedelta(seconds=600)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_a_verified_token_stops_working_once_revoked() -> None:
    clock = Clock()
    tokens = TokenService(SECRET, clock=clock)
    token = tokens.issue(DISPATCHER)
    jti = tokens.claims(token)["jti"]
    tokens.revoked.jtis = frozenset({jti})
    with pytest.raises(InvalidToken, match="revoked"):
        tokens.verify(token)
    tokens.revoked.jtis = frozenset()
    tokens.revoked.floors = {"user-dispatcher": 1}  # e.g. the user's roles changed
    with pytest.raises(InvalidToken, match="revoked"):
        tokens.verify(token)


def test_a_changed_token_is_checked_afresh_and_callers_get_their_own_claims() -> None:
    clock = Clock()
    tokens = TokenService(SECRET, clock=clock, revoked=Revocations())
    token = tokens.issue(DISPATCHER)
    tokens.verify(token)
    head, payload, signature = token.split(".")
    changed = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(InvalidToken):
        tokens.verify(changed)
    claims = tokens.claims(token)
    claims["roles"] = ["admin"]
    assert tokens.verify(token).roles == frozenset({Role.DISPATCHER})
    other = TokenService("another-signing-key-of-sufficient-length-0123456", clock=clock)
    with pytest.raises(InvalidToken):
        other.verify(token)
