"""Login and tokens: what a client can and cannot get in with."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest
from starlette.testclient import TestClient

from domain.roles import ROLE_PERMISSIONS, Principal, Role
from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client, token
from web.security import TokenService


def test_a_dispatcher_logs_in_and_sees_who_they_are(database_url: str) -> None:
    with seeded_client(database_url) as client:
        response = client.post("/api/auth/login",
                               json={"username": "dispatcher", "password": "demo"})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 8 * 3600
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["roles"] == ["dispatcher"]
        assert claims["exp"] - claims["iat"] == 8 * 3600
        assert {"sub", "jti", "iat", "exp"} <= set(claims)
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200
        assert me.json()["username"] == "dispatcher"
        assert me.json()["store_ids"] is None


def test_a_store_manager_token_carries_their_stores(database_url: str) -> None:
    with seeded_client(database_url) as client:
        me = client.get("/api/auth/me", headers=auth(client, "manager")).json()
    assert me["roles"] == ["store_manager"]
    assert me["store_ids"] == ["store-0001", "store-0002"]


def test_me_lists_what_each_demo_role_may_do(database_url: str) -> None:
    """The pages decide which actions to show from ``permissions``: exactly the role table's."""
    logins = {"admin": Role.ADMIN, "dispatcher": Role.DISPATCHER,
              "coordinator": Role.EMERGENCY_COORDINATOR, "operations": Role.OPERATIONS_MANAGER,
              "manager": Role.STORE_MANAGER, "billing": Role.BILLING_CLERK,
              "service": Role.CUSTOMER_SERVICE, "fleet": Role.FLEET_MANAGER,
              "tech1": Role.TECHNICIAN}
    assert set(logins.values()) == set(Role)
    with seeded_client(database_url) as client:
        for username, role in logins.items():
            me = client.get("/api/auth/me", headers=auth(client, username)).json()
            assert me["roles"] == [role.value], username
            assert me["permissions"] == sorted(p.value for p in ROLE_PERMISSIONS[role]), username
    # a store manager may watch proposals and book jobs but not assign (the board hides it)
    manager = sorted(p.value for p in ROLE_PERMISSIONS[Role.STORE_MANAGER])
    assert "proposal:view" in manager and "work_order:assign" not in manager


def test_wrong_passwords_and_unknown_users_get_the_same_401(database_url: str) -> None:
    with seeded_client(database_url) as client:
        wrong = client.post("/api/auth/login", json={"username": "dispatcher", "password": "x"})
        unknown = client.post("/api/auth/login", json={"username": "ghost", "password": "x"})
        assert_problem(wrong, 401, "invalid_credentials")
        assert_problem(unknown, 401, "invalid_credentials")
        assert wrong.json()["detail"] == unknown.json()["detail"]


def test_repeated_failed_logins_are_throttled_then_even_the_right_password_waits(
    database_url: str,
) -> None:
    with seeded_client(database_url, login_max_failures=3) as client:
        for _ in range(3):
            client.post("/api/auth/login", json={"username": "billing", "password": "bad"})
        blocked = client.post("/api/auth/login", json={"username": "billing", "password": "demo"})
        assert_problem(blocked, 429, "too_many_attempts")
        assert int(blocked.headers["Retry-After"]) > 0
        # another user from the same address is not affected
        assert client.post("/api/auth/login",
                           json={"username": "fleet", "password": "demo"}).status_code == 200


@pytest.mark.parametrize("body", [
    "not json", '{"username": "dispatcher"}', '{"username": 1, "password": []}', "[]",
    '{"username": "dispatcher", "password": "demo", "extra": 1}',
])
def test_malformed_login_requests_get_a_4xx_problem(database_url: str, body: str) -> None:
    with seeded_client(database_url) as client:
        response = client.post("/api/auth/login", content=body,
                               headers={"content-type": "application/json"})
    assert response.status_code in {400, 422}
    assert response.headers["content-type"].startswith("application/problem+json")


def _tampered(_: TestClient, good: str) -> str:
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _alg_none(_: TestClient, good: str) -> str:
    claims = jwt.decode(good, options={"verify_signature": False})
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}."


def _expired(client: TestClient, _: str) -> str:
    """Signed with the app's own key, issued nine hours ago on the app's clock."""
    principal = Principal(user_id="user-dispatcher", username="dispatcher",
                          roles=frozenset({Role.DISPATCHER}))
    past = app_now(client) - dt.timedelta(hours=9)
    tokens: TokenService = client.app.state.runtime.tokens  # type: ignore[attr-defined]
    return tokens.issue(principal, now=past)


def _wrong_key(*_: object) -> str:
    principal = Principal(user_id="user-admin", username="admin", roles=frozenset({Role.ADMIN}))
    return TokenService("another-secret-key-of-sufficient-length-0123").issue(principal)


def _published_key(*_: object) -> str:
    """The development key that was once committed to the repository: anyone could sign with it."""
    principal = Principal(user_id="user-admin", username="admin", roles=frozenset({Role.ADMIN}))
    return TokenService("dev-only-insecure-key-change-me-0123456789abcdef").issue(principal)


@pytest.mark.parametrize("forge", [_tampered, _alg_none, _expired, _wrong_key, _published_key,
                                   lambda *_: "garbage", lambda *_: ""])
def test_tampered_expired_wrongly_signed_and_alg_none_tokens_get_401(database_url: str,
                                                                      forge: object) -> None:
    with seeded_client(database_url) as client:
        good = token(client, "dispatcher")
        bad = forge(client, good)  # type: ignore[operator]
        response = client.get("/api/dispatch", headers={"Authorization": f"Bearer {bad}"})
        audit = client.get("/api/audit", headers={"Authorization": f"Bearer {bad}"})
    assert_problem(audit, 401)
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers


def test_no_token_at_all_gets_401(database_url: str) -> None:
    with seeded_client(database_url) as client:
        assert_problem(client.get("/api/dispatch"), 401, "unauthenticated")
        assert_problem(client.get("/api/dispatch", headers={"Authorization": "Basic abc"}), 401)


def test_the_openapi_document_describes_the_api(database_url: str) -> None:
    with seeded_client(database_url) as client:
        doc = client.get("/api/openapi.json").json()
        docs_page = client.get("/api/docs")
    assert doc["openapi"].startswith("3.1")
    for path in ("/api/dispatch", "/api/dispatch/{id}", "/api/dispatch/{id}/invoices",
                 "/api/dispatch/{id}/invoices/{invoice_id}", "/api/auth/login"):
        assert path in doc["paths"], path
    assert set(doc["paths"]["/api/dispatch"]) == {"get", "post"}
    assert set(doc["paths"]["/api/dispatch/{id}"]) == {"get", "patch", "delete"}
    assert docs_page.status_code == 200 and "/api/dispatch" in docs_page.text
