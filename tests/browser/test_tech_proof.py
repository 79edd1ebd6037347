"""Proof of work in Chromium: offline, the technician signs, adds a camera photo and completes;
back online the phone uploads both files, then the completion naming them, exactly once (even when
an upload's answer is lost on the way); the dispatcher's thumbnails show what arrived."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import time
import zlib
from typing import Any

import httpx
import pytest

from tests.browser.conftest import SCREENSHOTS, LiveServer, login, screenshot
from tests.browser.test_board import technician_id, unassigned_job

pytestmark = pytest.mark.browser


def gradient_png(width: int, height: int) -> bytes:
    """A PNG larger than the phone keeps (1600 px), with content a JPEG encoder must work on."""
    xs = bytes(x * 255 // width for x in range(width))
    rows = []
    for y in range(height):
        row = bytearray(width * 3)
        row[0::3] = xs
        row[1::3] = bytes([y * 255 // height]) * width
        row[2::3] = bytes([90]) * width
        rows.append(b"\x00" + bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no frame header in the JPEG")


def on_site_job(server: LiveServer) -> str:
    tech = technician_id(server, "tech1")
    job = unassigned_job(server)
    server.call("POST", f"/api/work-orders/{job['id']}/assign", "dispatcher",
                json={"technician_id": tech, "version": job["version"]})
    for step in ("accept", "en_route", "on_site"):
        server.call("POST", f"/api/work-orders/{job['id']}/status", "tech1", json={"step": step})
    return str(job["id"])


def sign(phone: Any) -> None:
    canvas = phone.wait_for_selector("dialog canvas.signature")
    b = canvas.bounding_box()
    phone.mouse.move(b["x"] + 20, b["y"] + b["height"] / 2)
    phone.mouse.down()
    for i in range(1, 9):
        phone.mouse.move(b["x"] + 20 + i * 30, b["y"] + b["height"] / 2 + (18 if i % 2 else -18))
    phone.mouse.up()


def outbox(phone: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = phone.evaluate(
        "() => JSON.parse(localStorage.getItem('dispatch.outbox') || '[]')")
    return items


STORED_FILES = """() => new Promise((resolve) => {
  const open = indexedDB.open("dispatch-proof", 1);
  open.onsuccess = () => {
    const req = open.result.transaction("files").objectStore("files").getAllKeys();
    req.onsuccess = () => resolve(req.result);
  };
})"""


def test_offline_proof_uploads_then_completes_once(server: LiveServer, browser: Any) -> None:
    job = on_site_job(server)
    phone = login(browser, server, "tech1", mobile=True)
    card = phone.locator(f"li.card[data-order='{job}'][data-status=on_site]")
    card.wait_for()
    phone.context.set_offline(True)
    phone.wait_for_function("() => !navigator.onLine")
    phone.wait_for_selector("#connection[data-state=offline]")  # says so, not "connecting"

    card.locator("button[data-step=complete]").click()
    sign(phone)
    photo = phone.locator("dialog input[name=photos]")
    assert photo.get_attribute("accept") == "image/*"
    assert photo.get_attribute("capture") == "environment"
    photo.set_input_files(files=[{"name": "site.png", "mimeType": "image/png",
                                  "buffer": gradient_png(2000, 1000)}])
    phone.wait_for_selector("dialog .picked img")
    phone.fill("dialog textarea[name=notes]", "Replaced the valve")
    screenshot(phone, "technician-proof-form")
    phone.click("dialog button[value=ok]")

    phone.wait_for_selector("#sync:has-text('1 to sync')")
    phone.wait_for_selector(f"li.card[data-order='{job}'] .proof-thumb[data-state=waiting] img[src]")
    queued = outbox(phone)
    assert len(queued) == 1 and len(queued[0]["uploads"]) == 2
    step = queued[0]["body"]
    refs = [step["proof"]["signature_ref"], *step["proof"]["photo_refs"]]
    assert all(r.startswith("attachment:sha256-") for r in refs)
    assert sorted(phone.evaluate(STORED_FILES)) == sorted(u["hash"] for u in queued[0]["uploads"])
    screenshot(phone, "technician-proof-queued")
    assert server.call("GET", f"/api/work-orders/{job}", "dispatcher")["status"] == "on_site"
    assert server.call("GET", f"/api/work-orders/{job}/attachments", "dispatcher")["items"] == []

    lost: list[str] = []

    def lose_first_answer(route: Any) -> None:
        """The first upload reaches the server, but its answer never reaches the phone."""
        answer = route.fetch()
        if not lost:
            lost.append(route.request.url)
            route.abort()
        else:
            route.fulfill(response=answer)

    phone.route("**/attachments/sha256-*", lose_first_answer)
    phone.context.set_offline(False)
    deadline = time.monotonic() + 40
    while outbox(phone):
        assert time.monotonic() < deadline, outbox(phone)
        phone.evaluate("() => dispatchEvent(new Event('online'))")  # rather than wait 15 s
        phone.wait_for_timeout(300)
    assert lost, "the first upload was not intercepted"
    phone.wait_for_selector("#connection[data-state=live]", timeout=20_000)  # reconnected

    done = server.call("GET", f"/api/work-orders/{job}", "dispatcher")
    assert done["status"] == "completed"
    assert dt.datetime.fromisoformat(done["proof"]["device_time"]) == dt.datetime.fromisoformat(
        step["device_time"].replace("Z", "+00:00"))
    assert [done["proof"]["signature_ref"], *done["proof"]["photo_refs"]] == refs
    assert done["proof"]["notes"] == "Replaced the valve"
    stored = server.call("GET", f"/api/work-orders/{job}/attachments", "dispatcher")["items"]
    assert sorted(a["ref"] for a in stored) == sorted(refs)
    headers = {"Authorization": f"Bearer {server.token('dispatcher')}"}
    for ref, kind in zip(refs, ("image/png", "image/jpeg"), strict=True):
        got = httpx.get(f"{server.url}/api/work-orders/{job}/attachments/"
                        f"{ref.removeprefix('attachment:')}", headers=headers, timeout=10)
        assert got.status_code == 200 and got.headers["content-type"] == kind
        assert "sha256-" + hashlib.sha256(got.content).hexdigest() == ref.split(":", 1)[1]
        if kind == "image/jpeg":
            assert jpeg_size(got.content) == (1600, 800)
    audit = server.call("GET", f"/api/audit?entity_id={job}&limit=100", "admin")["items"]
    assert len([a for a in audit if a["action"] == "work_order.complete"]) == 1, audit
    uploads = [a["after"] for a in audit if a["action"] == "work_order.attachment"]
    assert sorted(u["sha256"] for u in uploads if u["created"]) == sorted(
        r.rsplit("-", 1)[1] for r in refs)
    assert phone.evaluate(STORED_FILES) == []  # nothing left on the phone
    assert not phone.errors

    board = login(browser, server, "dispatcher")
    shown = board.evaluate("""async (wo) => {
      const { renderProofThumbnails } = await import("/static/js/board/proof-view.js");
      const box = document.createElement("section");
      box.id = "proof-test";
      box.style = "position:fixed;top:10px;left:10px;z-index:9999;background:#fff;padding:10px";
      document.body.append(box);
      await renderProofThumbnails(box, wo, sessionStorage.getItem("dispatch.token"));
      return [...box.querySelectorAll("img")].map((i) => [i.alt, i.naturalWidth, i.naturalHeight]);
    }""", done)
    assert [s[0] for s in shown] == ["Signature", "Photo 1"]
    assert shown[1][1:] == [1600, 800] and shown[0][1] > 0
    board.locator("#proof-test").screenshot(path=str(SCREENSHOTS / "proof-view.png"))
    assert not board.errors
