"""The technician with no signal, in Chromium (issue 19): signed in online, the app closed, the
phone without network, the app opened again: the day's jobs and the queue, with a note that it is
offline since the last contact; a job completed offline with a photo and a signature (and the
positions taken meanwhile) survives closing and reopening; back online it is sent once, with the
phone's time; signing out leaves nothing. A session the server ended while the phone was offline
ends once it is back online; a kept session past its end is not used; a dispatcher's session
stays the tab's.

The browser context is the phone (its storage outlives the pages); the network is a relay it
reaches the app through (``no_signal.py``), so that the service worker loses it too."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

import httpx
import pytest

from tests.browser.conftest import WAIT_MS, LiveServer, login
from tests.browser.no_signal import Signal
from tests.browser.test_board import technician_id
from tests.browser.test_tech_proof import STORED_FILES, on_site_job, outbox
from tests.browser.test_tech_signout import (
    assert_nothing_left,
    assigned_job,
    finish_with_proof,
    needles,
)

pytestmark = pytest.mark.browser

WORKSHOP = {"latitude": 32.78, "longitude": -96.80}
ROADSIDE = {"latitude": 32.7391, "longitude": -96.8612}  # taken without network

KEPT = "() => JSON.parse(localStorage.getItem('dispatch.session'))"
CACHES = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname).sort();
  }
  return out;
}"""


def phone_context(browser: Any) -> Any:
    return browser.new_context(viewport={"width": 412, "height": 860}, is_mobile=True,
                               has_touch=True, timezone_id="UTC",
                               permissions=["geolocation"], geolocation=WORKSHOP)


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(url)
    return page


def sign_in(context: Any, signal: Signal, username: str) -> Any:
    page = open_page(context, f"{signal.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{signal.url}/tech")
    page.wait_for_selector("#connection[data-state=live]", timeout=20_000)
    page.wait_for_function("() => !!navigator.serviceWorker?.controller", timeout=20_000)
    return page


def go_offline(context: Any, signal: Signal) -> None:
    signal.lose()
    context.set_offline(True)


def go_online(context: Any, signal: Signal) -> None:
    signal.restore()
    context.set_offline(False)


def worker(server: LiveServer) -> tuple[str, list[str]]:
    """The version and the shell list the served worker carries."""
    body = httpx.get(f"{server.url}/sw.js", timeout=10).text
    version = re.search(r'^const VERSION = "([0-9a-f]+)";', body, re.MULTILINE)
    shell = re.search(r"^const SHELL = (\[.*?\]);", body, re.MULTILINE | re.DOTALL)
    assert version and shell, body[:400]
    return version.group(1), sorted(json.loads(shell.group(1)))


def shown_jobs(page: Any) -> list[str]:
    jobs: list[str] = page.eval_on_selector_all("#jobs li.card", "els => els.map(e => e.dataset.order)")
    return jobs


def offline_since(page: Any) -> dt.datetime:
    note = page.locator("#offline")
    note.wait_for()
    assert "Offline since" in note.inner_text()
    return dt.datetime.fromisoformat(note.locator("time").get_attribute("datetime").replace("Z", "+00:00"))


def held_positions(page: Any, user: str) -> list[dict[str, Any]]:
    held: list[dict[str, Any]] = page.evaluate(
        "(key) => JSON.parse(localStorage.getItem(key) || '[]')", f"dispatch.tech.{user}.positions")
    return held


def test_reopened_without_signal_the_app_works_on_and_sends_once_when_back(
        server: LiveServer, browser: Any, signal: Signal) -> None:
    complete_job = on_site_job(server)
    accept_job = assigned_job(server)
    version, shell = worker(server)
    me = server.call("GET", "/api/auth/me", "tech1")
    context = phone_context(browser)
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))

    # An older version of the app left its shell on the phone.
    first = open_page(context, f"{signal.url}/login")
    first.evaluate("""() => caches.open("dispatch-shell-0123456789abcdef")
        .then((c) => c.put("/static/js/tech/tech.js", new Response("// an older version")))""")
    signed_in = time.time()
    first.close()
    phone = sign_in(context, signal, "tech1")
    phone.locator(f"li.card[data-order='{complete_job}'][data-status=on_site]").wait_for()
    phone.check("#share")  # the van has no tracker

    # The session stays on the phone until the server's end of it (the token's 8 hours).
    kept = phone.evaluate(KEPT)
    assert kept["user"] == me["id"] and kept["name"] == "tech1"
    assert abs(kept["ends_at"] / 1000 - (signed_in + 8 * 3600)) < 120, kept
    # Everything the view loaded is in the shell; the shell, and only this version's, is cached.
    phone.wait_for_function("async () => (await caches.keys()).length === 1", timeout=20_000)
    assert phone.evaluate(CACHES) == {f"dispatch-shell-{version}": shell}
    loaded = {httpx.URL(u).path for u in requested if u.startswith(signal.url)}
    assert "/static/js/shared/chunks.js" in shell
    assert sorted(p for p in loaded - {"/sw.js", "/ws"} if not p.startswith("/api/")
                  and p not in shell) == []

    online_jobs = shown_jobs(phone)
    assert {complete_job, accept_job} <= set(online_jobs)
    phone.close()  # the app is closed; the phone loses its signal and drives on
    go_offline(context, signal)
    context.set_geolocation(ROADSIDE)
    cut = time.time()

    phone = open_page(context, f"{signal.url}/tech")
    phone.locator(f"li.card[data-order='{complete_job}'][data-status=on_site]").wait_for()
    assert shown_jobs(phone) == online_jobs  # as last seen, in route order
    since = offline_since(phone).timestamp()
    assert signed_in - 1 <= since <= cut + 1, (signed_in, since, cut)
    assert phone.get_attribute("#connection", "data-state") == "offline"
    assert phone.inner_text("#who")  # the profile as last seen
    # The position taken without network is held on the phone.
    phone.wait_for_function("(key) => (JSON.parse(localStorage.getItem(key)) || [])"
                            f".some((p) => p.lat === {ROADSIDE['latitude']})",
                            arg=f"dispatch.tech.{me['id']}.positions")

    finish_with_proof(phone, complete_job)
    phone.wait_for_selector("#sync:has-text('1 to sync · 2 files to upload')")
    queued = outbox(phone)
    assert len(queued) == 1 and queued[0]["id"] == complete_job
    hashes = sorted(u["hash"] for u in queued[0]["uploads"])
    assert not phone.errors
    phone.close()

    # Reopened, still without network: the step, both files and the fix are still there.
    phone = open_page(context, f"{signal.url}/tech")
    phone.wait_for_selector("#sync:has-text('1 to sync · 2 files to upload')")
    phone.locator(f"li.card[data-order='{complete_job}'] .queued").wait_for()
    assert offline_since(phone).timestamp() == pytest.approx(since, abs=1)
    assert [q["key"] for q in outbox(phone)] == [queued[0]["key"]]
    assert sorted(phone.evaluate(STORED_FILES)) == hashes
    held = held_positions(phone, me["id"])
    assert held and all(p["lat"] == ROADSIDE["latitude"] for p in held), held
    assert server.call("GET", f"/api/work-orders/{complete_job}", "dispatcher")["status"] == "on_site"

    go_online(context, signal)
    deadline = time.monotonic() + 40
    while outbox(phone) or held_positions(phone, me["id"]):
        assert time.monotonic() < deadline, (outbox(phone), held_positions(phone, me["id"]))
        phone.evaluate("() => dispatchEvent(new Event('online'))")  # rather than wait 15 s
        phone.wait_for_timeout(300)
    phone.wait_for_selector("#offline", state="hidden")

    done = server.call("GET", f"/api/work-orders/{complete_job}", "dispatcher")
    assert done["status"] == "completed"
    assert dt.datetime.fromisoformat(done["proof"]["device_time"]) == dt.datetime.fromisoformat(
        queued[0]["body"]["device_time"].replace("Z", "+00:00"))
    audit = server.call("GET", f"/api/audit?entity_id={complete_job}&limit=100", "admin")["items"]
    assert len([a for a in audit if a["action"] == "work_order.complete"]) == 1, audit
    stored = server.call("GET", f"/api/work-orders/{complete_job}/attachments", "dispatcher")
    assert sorted(a["ref"].rsplit("-", 1)[1] for a in stored["items"]) == hashes
    tech = technician_id(server, "tech1")
    times = sorted(dt.datetime.fromisoformat(p["device_time"].replace("Z", "+00:00"))
                   for p in held)
    deadline = time.monotonic() + 15
    while True:  # breadcrumbs are stored in batches every second
        trail = server.call("GET", f"/api/technicians/{tech}/track", "dispatcher")["trail"]
        crumbs = sorted(dt.datetime.fromisoformat(p["at"]) for p in trail
                        if (p["lat"], p["lon"]) == (ROADSIDE["latitude"], ROADSIDE["longitude"]))
        if set(times) <= set(crumbs) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert [c for c in crumbs if c in times] == times  # each held fix stored, once

    what = needles(server, "tech1", [complete_job, accept_job], queued)
    phone.click("#logout")
    phone.wait_for_url(f"{signal.url}/login", timeout=30_000)
    assert_nothing_left(phone, what)
    assert phone.evaluate(KEPT) is None
    assert not phone.errors
    phone.close()
    after = open_page(context, f"{signal.url}/tech")  # the session ended with the sign-out
    after.wait_for_url(f"{signal.url}/login")
    context.close()


def test_a_session_ended_while_the_phone_was_offline_ends_there_once_it_is_back_online(
        server: LiveServer, browser: Any, signal: Signal) -> None:
    job = assigned_job(server)
    me = server.call("GET", "/api/auth/me", "tech1")
    context = phone_context(browser)
    phone = sign_in(context, signal, "tech1")
    phone.locator(f"li.card[data-order='{job}']").wait_for()
    phone.close()
    go_offline(context, signal)

    phone = open_page(context, f"{signal.url}/tech")
    phone.locator(f"li.card[data-order='{job}']").wait_for()  # the phone cannot know yet
    offline_since(phone)
    # Every session of the account ends (an administrator's sign-out, a changed password).
    ended = httpx.post(f"{server.url}/api/auth/logout", json={"everywhere": True}, timeout=10,
                       headers={"Authorization": f"Bearer {server.token('tech1')}"})
    assert ended.status_code == 204, ended.text

    go_online(context, signal)
    phone.wait_for_url(f"{signal.url}/login", timeout=30_000)
    left = phone.evaluate("() => Object.keys(localStorage)")
    assert "dispatch.session" not in left
    assert not [k for k in left if k.startswith(f"dispatch.tech.{me['id']}.")
                and k.rsplit(".", 1)[1] in ("me", "jobs", "online-at")], left
    phone.close()
    again = open_page(context, f"{signal.url}/tech")
    again.wait_for_url(f"{signal.url}/login")
    context.close()


def test_a_kept_session_past_its_end_is_not_used(
        server: LiveServer, browser: Any, signal: Signal) -> None:
    context = phone_context(browser)
    phone = sign_in(context, signal, "tech1")
    phone.close()
    go_offline(context, signal)
    page = open_page(context, f"{signal.url}/login")
    page.locator(".kept-session a[href='/tech']").wait_for()  # offline: the way back to the jobs
    page.evaluate("""() => {
      const kept = JSON.parse(localStorage.getItem('dispatch.session'));
      localStorage.setItem('dispatch.session', JSON.stringify({ ...kept, ends_at: Date.now() - 1000 }));
    }""")
    page.goto(f"{signal.url}/tech")
    page.wait_for_url(f"{signal.url}/login")
    assert page.evaluate(KEPT) is None
    assert page.locator(".kept-session").count() == 0
    assert not page.errors
    context.close()


def test_a_dispatchers_session_stays_the_tabs(server: LiveServer, browser: Any) -> None:
    board = login(browser, server, "dispatcher")
    board.wait_for_selector("#connection[data-state=live]", timeout=20_000)
    assert board.evaluate("() => localStorage.getItem('dispatch.session')") is None
    assert board.evaluate("() => !!sessionStorage.getItem('dispatch.token')")
    other = board.context.new_page()
    other.goto(f"{server.url}/")  # a new tab: not signed in
    other.wait_for_url(f"{server.url}/login")
    board.context.close()
