"""Property-based requests generated from the OpenAPI document, against the app on PostgreSQL.

Whatever schemathesis sends, the API must never answer 5xx, and every answer must match the
document (status codes and bodies).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import empty_postgres, free_port
from tests.web.api_helpers import seed_small
from web.api.openapi import build_openapi
from web.app import build_api, create_app
from web.settings import Settings

schema = schemathesis.openapi.from_dict(build_openapi(build_api(), title="t", version="1"))


@pytest.fixture(scope="module")
def live_api(postgres_url: str) -> Iterator[dict[str, Any]]:
    empty_postgres(postgres_url)
    seed_small(postgres_url)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        create_app(Settings(database_url=postgres_url, login_max_failures=10_000)),
        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    login = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": "demo"})
    yield {"base_url": base, "headers": {"Authorization": f"Bearer {login.json()['access_token']}"}}
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.postgres
@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_reaches_a_server_error_and_answers_match_the_document(
    case: Any, live_api: dict[str, Any]
) -> None:
    case.call_and_validate(
        base_url=live_api["base_url"], headers=live_api["headers"],
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
