"""Sign-out on the technician's phone, in Chromium: the offline queue is sent first when the
network allows; unsent work is discarded only after a warning with its count; afterwards nothing of
the jobs, the queue or the proof photos is left in localStorage, IndexedDB or Cache Storage; and
another technician signing in on the same browser never sees (nor sends) the previous one's data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import WAIT_MS, LiveServer, login
from tests.browser.no_signal import Signal
from tests.browser.test_board import technician_id, unassigned_job
from tests.browser.test_tech_proof import gradient_png, on_site_job, outbox, sign

pytestmark = pytest.mark.browser

#: Everything the origin keeps on the device: localStorage keys, IndexedDB records (every database
#: and store), Cache Storage entries, and where any of `needles` shows up in them (keys, values,
#: cached URLs and bodies).
DEVICE_STORAGE = """async (needles) => {
  const found = [];
  const hit = (where, text) => needles.forEach((n) => {
    if (String(text).includes(n)) found.push(`${where}: ${n}`);
  });
  const local = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    local.push(key);
    hit(`localStorage ${key}`, key + " " + localStorage.getItem(key));
  }
  const records = [];
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open(info.name, info.version);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    for (const store of db.objectStoreNames) {
      const keys = await new Promise((resolve) => {
        const req = db.transaction(store).objectStore(store).getAllKeys();
        req.onsuccess = () => resolve(req.result);
      });
      keys.forEach((k) => {
        records.push(`${info.name}/${store}/${k}`);
        hit(`indexedDB ${info.name}/${store}`, k);
      });
    }
    db.close();
  }
  const cached = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      cached.push(new URL(request.url).pathname);
      const body = await (await cache.match(request)).text();
      hit(`cache ${name} ${request.url}`, request.url + " " + body);
    }
  }
  return { found, local, records, cached };
}"""


def assigned_job(server: LiveServer, username: str = "tech1") -> str:
    job = unassigned_job(server, username)
    server.call("POST", f"/api/work-orders/{job['id']}/assign", "dispatcher",
                json={"technician_id": technician_id(server, username), "version": job["version"]})
    return str(job["id"])


def finish_with_proof(phone: Any, job: str) -> None:
    """Complete ``job``: the customer signs, a camera photo, "Job done"."""
    phone.locator(f"li.card[data-order='{job}'] button[data-step=complete]").click()
    sign(phone)
    phone.locator("dialog input[name=photos]").set_input_files(
        files=[{"name": "site.png", "mimeType": "image/png", "buffer": gradient_png(400, 300)}])
    phone.wait_for_selector("dialog .picked img")
    phone.click("dialog button[value=ok]")


def queue_offline(phone: Any, accept_job: str, complete_job: str,
                  signal: Signal | None = None) -> list[dict[str, Any]]:
    """Offline: accept one job, complete the other with a signature and a photo; both queued.
    With ``signal`` (the relay the phone reaches the app through) the service worker loses the
    network too."""
    phone.locator(f"li.card[data-order='{accept_job}']").wait_for()
    phone.locator(f"li.card[data-order='{complete_job}'][data-status=on_site]").wait_for()
    # The service worker controls the page (so the sign-in page opens offline after sign-out).
    phone.wait_for_function("() => !!navigator.serviceWorker?.controller", timeout=20_000)
    if signal is not None:
        signal.lose()
    phone.context.set_offline(True)
    phone.wait_for_function("() => !navigator.onLine")
    phone.locator(f"li.card[data-order='{accept_job}'] button[data-step=accept]").click()
    phone.wait_for_selector("#sync:has-text('1 to sync')")
    finish_with_proof(phone, complete_job)
    phone.wait_for_selector("#sync:has-text('2 to sync · 2 files to upload')")
    queued = outbox(phone)
    assert [q["id"] for q in queued] == [accept_job, complete_job]
    return queued


def needles(server: LiveServer, username: str, jobs: list[str],
            queued: list[dict[str, Any]]) -> list[str]:
    """What would betray the user's data: their ids, their jobs' ids, their photos' hashes."""
    me = server.call("GET", "/api/auth/me", username)
    hashes = [u["hash"] for q in queued for u in q.get("uploads", [])]
    assert len(hashes) == 2
    return [me["id"], me["technician_id"], *jobs, *hashes]


def storage(page: Any, what: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(DEVICE_STORAGE, what)
    return result


def assert_nothing_left(page: Any, what: list[str]) -> None:
    left = storage(page, what)
    assert left["found"] == [], left
    assert left["records"] == [], left  # no proof file of anyone
    assert not [k for k in left["local"] if k.startswith("dispatch.")], left
    assert not [p for p in left["cached"] if p.startswith("/api/")], left


def test_offline_sign_out_warns_with_the_count_then_clears_the_device(
        server: LiveServer, browser: Any, signal: Signal) -> None:
    complete_job = on_site_job(server)
    accept_job = assigned_job(server)
    phone = login(browser, LiveServer(signal.url, server.app), "tech1", mobile=True)
    queued = queue_offline(phone, accept_job, complete_job, signal)
    what = needles(server, "tech1", [accept_job, complete_job], queued)
    before = storage(phone, what)
    assert before["found"] and len(before["records"]) == 2, before  # the check can see them

    phone.click("#logout")
    warning = phone.locator("dialog form.signout")
    warning.wait_for()
    assert "2 steps and 2 proof files" in warning.inner_text()
    # Staying signed in keeps everything.
    warning.locator("button[value=cancel]").click()
    warning.wait_for(state="hidden")
    phone.wait_for_selector("#logout:not([disabled])")
    assert phone.url.endswith("/tech")
    assert [q["key"] for q in outbox(phone)] == [q["key"] for q in queued]
    assert len(storage(phone, what)["records"]) == 2

    phone.click("#logout")
    warning.wait_for()
    assert "2 steps and 2 proof files" in warning.inner_text()
    warning.locator("button[value=discard]").click()
    phone.wait_for_url(f"{signal.url}/login")  # no network at all: the cached sign-in page
    assert_nothing_left(phone, what)
    # Nothing was sent: the work was discarded on the phone, as confirmed.
    assert server.call("GET", f"/api/work-orders/{accept_job}", "dispatcher")["status"] == "assigned"
    assert server.call("GET", f"/api/work-orders/{complete_job}", "dispatcher")["status"] == "on_site"
    assert not phone.errors


def test_online_sign_out_sends_the_queue_first_then_clears_the_device(
        server: LiveServer, browser: Any) -> None:
    complete_job = on_site_job(server)
    accept_job = assigned_job(server)
    phone = login(browser, server, "tech1", mobile=True)
    queued = queue_offline(phone, accept_job, complete_job)
    what = needles(server, "tech1", [accept_job, complete_job], queued)

    phone.context.set_offline(False)
    phone.wait_for_function("() => navigator.onLine")
    phone.click("#logout")
    # No warning: everything was sent, then the phone signed out.
    phone.wait_for_url(f"{server.url}/login", timeout=30_000)

    assert server.call("GET", f"/api/work-orders/{accept_job}", "dispatcher")["status"] == "accepted"
    done = server.call("GET", f"/api/work-orders/{complete_job}", "dispatcher")
    assert done["status"] == "completed"
    stored = server.call("GET", f"/api/work-orders/{complete_job}/attachments", "dispatcher")
    assert sorted(a["ref"] for a in stored["items"]) == sorted(
        f"attachment:sha256-{u['hash']}" for u in queued[1]["uploads"])
    assert_nothing_left(phone, what)
    assert not phone.errors


def test_another_technician_on_the_same_browser_never_sees_the_previous_ones_data(
        server: LiveServer, browser: Any) -> None:
    complete_job = on_site_job(server)
    accept_job = assigned_job(server)
    first = login(browser, server, "tech1", mobile=True)
    queued = queue_offline(first, accept_job, complete_job)
    what = needles(server, "tech1", [accept_job, complete_job], queued)
    context = first.context
    first.goto("about:blank")  # tech1 closes the app without signing out, work still queued
    first.close()
    context.set_offline(False)

    touched: list[str] = []
    context.on("request", lambda r: touched.append(f"{r.method} {r.url}")
               if accept_job in r.url or complete_job in r.url else None)
    phone = context.new_page()
    phone.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    phone.on("pageerror", lambda e: errors.append(str(e)))
    phone.goto(f"{server.url}/login")
    held = storage(phone, what)  # tech1's work is still on the device when tech2 signs in
    assert [q["key"] for q in outbox(phone)] == [q["key"] for q in queued]
    assert len(held["records"]) == 2 and held["found"], held
    phone.fill("input[name=username]", "tech2")
    phone.fill("input[name=password]", "demo")
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{server.url}/tech")
    phone.wait_for_function("""() => document.querySelector('#jobs li.card')
        || document.querySelector('#jobs li.empty')?.textContent.startsWith('No jobs')""")
    phone.wait_for_selector("#connection[data-state=live]", timeout=20_000)
    phone.wait_for_function("() => !!navigator.serviceWorker?.controller", timeout=20_000)

    assert touched == []  # tech1's queue was not sent with tech2's session
    assert phone.locator(f"li.card[data-order='{accept_job}'], "
                         f"li.card[data-order='{complete_job}']").count() == 0
    assert phone.inner_text("#sync") == ""
    assert accept_job not in phone.inner_text("#banner") + phone.inner_text("#jobs")
    assert complete_job not in phone.inner_text("#banner") + phone.inner_text("#jobs")
    left = storage(phone, what)
    assert left["found"] == [], left
    assert left["records"] == [], left
    assert outbox(phone) == []
    # tech1's steps never reached the server.
    assert server.call("GET", f"/api/work-orders/{accept_job}", "dispatcher")["status"] == "assigned"
    assert server.call("GET", f"/api/work-orders/{complete_job}", "dispatcher")["status"] == "on_site"
    assert not errors
