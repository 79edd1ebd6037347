"""The application answers over HTTP on both databases."""

from __future__ import annotations

from starlette.testclient import TestClient

from web.app import create_app
from web.settings import Settings


def test_the_home_page_and_health_check_answer(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url))
    with TestClient(app) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.json()["database"] is True
        assert health.json()["live"]["relay"]["leader"] is True
        page = client.get("/status")
        assert page.status_code == 200
        assert "Dispatch Board" in page.text
        board = client.get("/")
        assert board.status_code == 200
        assert "leaflet" in board.text.lower()


def test_the_health_check_reports_a_missing_database(tmp_path: object) -> None:
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] is False
