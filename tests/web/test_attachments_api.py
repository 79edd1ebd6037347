"""Proof-of-work uploads over HTTP, on SQLite and on PostgreSQL: content-addressed, type-checked,
size-limited, scoped like their work order, and required by a completion that names them."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from tests.web.api_helpers import assert_problem, auth, seeded_client
from tests.web.test_work_orders_api import create, running_server
from web.api.attachments import read_limited
from web.api.openapi import build_openapi
from web.api.problems import ApiError
from web.app import build_api


def png(shade: int = 0, size: int = 4) -> bytes:
    """A small valid PNG of one colour (different shades hash differently)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    row = b"\x00" + bytes([shade % 256, 80, 160]) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(200)) + b"\xff\xd9"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def url(order_id: str, data: bytes | None = None, digest: str | None = None) -> str:
    base = f"/api/work-orders/{order_id}/attachments"
    if data is None and digest is None:
        return base
    return f"{base}/sha256-{digest or sha(data or b'')}"


def put(client: TestClient, order_id: str, data: bytes, headers: dict[str, str],
        content_type: str = "image/png", **kwargs: Any) -> Any:
    return client.put(url(order_id, data, kwargs.pop("digest", None)), content=data,
                      headers={**headers, "Content-Type": content_type}, **kwargs)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url, attachment_max_bytes=4096) as c:
        yield c


@pytest.fixture
def dispatcher(client: TestClient) -> dict[str, str]:
    return auth(client, "dispatcher")


@pytest.fixture
def tech(client: TestClient) -> dict[str, str]:
    return auth(client, "tech1")


def on_site(client: TestClient, dispatcher: dict[str, str], tech: dict[str, str],
            **overrides: Any) -> dict[str, Any]:
    """A new work order assigned to tech1 (tech-0001), who is on site."""
    order = create(client, dispatcher, **overrides)
    path = f"/api/work-orders/{order['id']}"
    assert client.post(f"{path}/assign", json={"technician_id": "tech-0001"},
                       headers=dispatcher).status_code == 200
    for step in ("accept", "en_route", "on_site"):
        response = client.post(f"{path}/status", json={"step": step}, headers=tech)
        assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_upload_is_stored_once_and_read_back_with_its_hash_as_etag(
        client: TestClient, dispatcher: dict[str, str], tech: dict[str, str]) -> None:
    order = on_site(client, dispatcher, tech)
    data = png(1)
    first = put(client, order["id"], data, tech)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["sha256"] == sha(data) and body["size"] == len(data)
    assert body["content_type"] == "image/png" and body["ref"] == f"attachment:sha256-{sha(data)}"
    assert first.headers["location"] == url(order["id"], data)
    again = put(client, order["id"], data, tech)
    assert again.status_code == 200, again.text
    assert again.json() == body

    got = client.get(url(order["id"], data), headers=dispatcher)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["etag"] == f'"{sha(data)}"'
    assert got.headers["cache-control"].startswith("private, max-age=")
    assert got.headers["x-content-type-options"] == "nosniff"
    cached = client.get(url(order["id"], data),
                        headers={**dispatcher, "If-None-Match": f'"{sha(data)}"'})
    assert cached.status_code == 304 and cached.content == b""

    listed = client.get(url(order["id"]), headers=tech)
    assert listed.status_code == 200
    assert [(a["sha256"], a["size"]) for a in listed.json()["items"]] == [(sha(data), len(data))]
    audit = client.get("/api/audit", params={"entity_id": order["id"], "limit": 100},
                       headers=auth(client, "admin")).json()["items"]
    uploads = [a for a in audit if a["action"] == "work_order.attachment"]
    assert len(uploads) == 2 and all(a["actor"] == "tech1" for a in uploads)
    assert {u["after"]["created"] for u in uploads} == {True, False}
    assert uploads[0]["after"]["sha256"] == sha(data)
    assert uploads[0]["after"]["size"] == len(data) and "data" not in uploads[0]["after"]


def test_the_bytes_must_hash_to_the_name_and_be_the_image_type_sent(
        client: TestClient, dispatcher: dict[str, str], tech: dict[str, str]) -> None:
    order_id = on_site(client, dispatcher, tech)["id"]
    mismatch = assert_problem(put(client, order_id, png(2), tech, digest=sha(png(3))), 422,
                              "hash_mismatch")
    assert mismatch["sha256"] == sha(png(2))
    assert_problem(client.put(f"{url(order_id)}/sha256-nothex", content=png(2),
                              headers={**tech, "Content-Type": "image/png"}), 422,
                   "bad_attachment_name")
    assert_problem(put(client, order_id, png(2), tech, "image/jpeg"), 415,
                   "unsupported_media_type")
    assert_problem(put(client, order_id, JPEG, tech, "image/webp"), 415)
    assert_problem(put(client, order_id, b"<svg onload=alert(1)>", tech, "image/png"), 415)
    assert_problem(put(client, order_id, b"hello", tech, "application/octet-stream"), 415)
    assert_problem(put(client, order_id, b"", tech, "image/png"), 415)
    assert put(client, order_id, JPEG, tech, "image/jpeg; charset=binary").status_code == 201
    assert client.get(url(order_id), headers=tech).json()["items"][0]["sha256"] == sha(JPEG)
    assert_problem(client.get(f"{url(order_id)}/sha256-{sha(b'none')}", headers=tech), 404)
    assert_problem(client.get(f"{url(order_id)}/sha256-zz", headers=tech), 404)


def test_a_body_over_the_limit_is_refused_while_it_is_read(
        client: TestClient, dispatcher: dict[str, str], tech: dict[str, str]) -> None:
    order_id = on_site(client, dispatcher, tech)["id"]
    big = b"\x89PNG\r\n\x1a\n" + bytes(5000)
    assert_problem(put(client, order_id, big, tech), 413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        yield b"\x89PNG\r\n\x1a\n" + bytes(1016)
        for _ in range(10):
            yield bytes(1024)

    response = client.put(f"{url(order_id)}/sha256-{'0' * 64}", content=chunks(),
                          headers={**tech, "Content-Type": "image/png"})
    assert_problem(response, 413, "too_large")
    assert client.get(url(order_id), headers=tech).json()["items"] == []


def test_reading_stops_at_the_limit_without_buffering_the_rest() -> None:
    received: list[int] = []

    async def receive() -> dict[str, Any]:  # an endless body
        received.append(1)
        return {"type": "http.request", "body": bytes(1000), "more_body": True}

    request = Request({"type": "http", "method": "PUT", "headers": []}, receive)
    with pytest.raises(ApiError) as refused:
        asyncio.run(read_limited(request, 4500))
    assert refused.value.status == 413 and len(received) == 5
    declared = Request({"type": "http", "method": "PUT",
                        "headers": [(b"content-length", b"999999")]}, receive)
    with pytest.raises(ApiError):
        asyncio.run(read_limited(declared, 4500))
    assert len(received) == 5  # refused by its declared length, before reading


def test_only_the_technician_or_an_editor_uploads_and_other_stores_do_not_exist(
        client: TestClient, dispatcher: dict[str, str], tech: dict[str, str]) -> None:
    order_id = on_site(client, dispatcher, tech)["id"]
    assert_problem(put(client, order_id, png(5), auth(client, "tech2")), 404)
    assert_problem(put(client, order_id, png(5), auth(client, "manager")), 403)
    assert_problem(put(client, order_id, png(5), auth(client, "billing")), 403)
    assert_problem(put(client, order_id, png(5), {}), 401)
    assert_problem(put(client, "wo-missing", png(5), tech), 404)
    assert put(client, order_id, png(5), dispatcher).status_code == 201
    assert_problem(client.get(url(order_id, png(5)), headers=auth(client, "tech2")), 404)
    assert client.get(url(order_id, png(5)), headers=auth(client, "manager")).status_code == 200

    elsewhere = on_site(client, dispatcher, tech, store_id="store-0003")["id"]
    assert put(client, elsewhere, png(6), tech).status_code == 201
    manager = auth(client, "manager")  # holds store-0001 and store-0002 only
    assert_problem(client.get(url(elsewhere, png(6)), headers=manager), 404)
    assert_problem(client.get(url(elsewhere), headers=manager), 404)


def test_a_completion_needs_the_attachments_it_names(
        client: TestClient, dispatcher: dict[str, str], tech: dict[str, str]) -> None:
    order = on_site(client, dispatcher, tech)
    path = f"/api/work-orders/{order['id']}"
    signature, photo = png(7), JPEG
    assert put(client, order["id"], signature, tech).status_code == 201
    proof = {"signature_ref": f"attachment:sha256-{sha(signature)}",
             "photo_refs": [f"attachment:sha256-{sha(photo)}"], "notes": "new valve"}
    missing = assert_problem(client.post(f"{path}/status", headers=tech, json={
        "step": "complete", "proof": proof}), 422, "missing_attachment")
    assert missing["missing"] == [f"attachment:sha256-{sha(photo)}"]
    assert sha(photo) in missing["detail"]
    bad = {**proof, "photo_refs": ["attachment:sha256-XYZ"]}
    assert_problem(client.post(f"{path}/status", headers=tech, json={
        "step": "complete", "proof": bad}), 422, "bad_attachment_ref")
    unchanged = client.get(path, headers=dispatcher).json()
    assert unchanged["status"] == "on_site" and unchanged["version"] == order["version"]
    assert unchanged["proof"] is None

    other = on_site(client, dispatcher, tech)["id"]  # the photo on another order does not count
    assert put(client, other, photo, tech, "image/jpeg").status_code == 201
    assert_problem(client.post(f"{path}/status", headers=tech, json={
        "step": "complete", "proof": proof}), 422, "missing_attachment")

    assert put(client, order["id"], photo, tech, "image/jpeg").status_code == 201
    done = client.post(f"{path}/status", headers=tech, json={
        "step": "complete", "device_time": "2020-01-01T10:00:00+00:00", "proof": proof})
    assert done.status_code == 200, done.text
    finished = done.json()
    assert finished["status"] == "completed"
    assert finished["proof"]["signature_ref"] == proof["signature_ref"]
    assert finished["proof"]["photo_refs"] == proof["photo_refs"]
    for ref, data in ((proof["signature_ref"], signature), (proof["photo_refs"][0], photo)):
        got = client.get(f"{path}/attachments/{ref.removeprefix('attachment:')}",
                         headers=dispatcher)
        assert got.status_code == 200 and got.content == data
        assert hashlib.sha256(got.content).hexdigest() == ref.rsplit("-", 1)[1]


def test_the_document_describes_binary_uploads() -> None:
    doc = build_openapi(build_api(), title="t", version="1")
    item = doc["paths"]["/api/work-orders/{id}/attachments/sha256-{digest}"]
    body = item["put"]["requestBody"]["content"]
    assert sorted(body) == ["image/jpeg", "image/png", "image/webp"]
    assert body["image/png"]["schema"] == {"type": "string", "format": "binary"}
    assert {"200", "201", "413", "415", "422", "404", "403"} <= set(item["put"]["responses"])
    assert sorted(item["get"]["responses"]["200"]["content"]) == sorted(body)
    assert "204" not in item["get"]["responses"]
    assert "AttachmentList" in str(doc["paths"]["/api/work-orders/{id}/attachments"]["get"])
    assert "items" in doc["components"]["schemas"]["AttachmentList"]["properties"]


def test_concurrent_uploads_of_the_same_bytes_make_one_row(database_url: str) -> None:
    data = png(9)

    async def scenario(base: str) -> tuple[list[httpx.Response], list[Any]]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            async def login(name: str) -> dict[str, str]:
                r = await http.post("/api/auth/login", json={"username": name, "password": "demo"})
                return {"Authorization": f"Bearer {r.json()['access_token']}"}
            boss, tech = await login("dispatcher"), await login("tech1")
            order = (await http.post("/api/work-orders", headers=boss, json={
                "store_id": "store-0001", "priority": "normal", "description": "Leak",
                "location": {"lat": 32.78, "lon": -96.8}})).json()
            await http.post(f"/api/work-orders/{order['id']}/assign", headers=boss,
                            json={"technician_id": "tech-0001"})
            answers = await asyncio.gather(*(
                http.put(url(order["id"], data), content=data,
                         headers={**tech, "Content-Type": "image/png"}) for _ in range(6)))
            listed = (await http.get(url(order["id"]), headers=tech)).json()["items"]
            return list(answers), listed

    with running_server(database_url) as base:
        answers, listed = asyncio.run(scenario(base))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [201], [a.text for a in answers]
    assert len(listed) == 1 and listed[0]["sha256"] == sha(data)
