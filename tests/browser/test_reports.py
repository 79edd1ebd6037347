"""The reports screen in Chromium, against the real reports API. An operations manager opens
/reports from the top bar: a uPlot chart canvas and a table whose rows and total row are the API's
JSON for the same query (money in dollars from cents, rates as percentages, nulls as "—"); they
switch report and grouping (the URL follows, and opening it again shows the same), the CSV export
downloads exactly the rows of the table, an empty range says so in words, and a refused range shows
the API's reason in words. A store manager sees only their stores, in the filter and in the table,
and is told in words when a shared link names another store. No failed request, no answer of 400 or
more and no console error along the way (except the refusals the test asks for)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

import storage.tables as t
from storage.engine import create_engine, write_transaction
from storage.migrate import upgrade
from tests.browser.conftest import WAIT_MS, LiveServer, _in_thread, build_app, run_server, screenshot
from tests.web.api_helpers import seed_small
from web.settings import Settings

pytestmark = pytest.mark.browser

#: The table's columns after the label, as reports-kinds.js declares them: (field, how written).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "revenue": [("invoices", "count"), ("revenue_cents", "money")],
    "sla": [("jobs", "count"), ("assigned", "count"), ("arrived", "count"),
            ("avg_minutes_to_assign", "minutes"), ("avg_minutes_to_arrive", "minutes"),
            ("with_window", "count"), ("on_time", "count"), ("on_time_rate", "rate"),
            ("emergencies", "count"), ("emergency_avg_minutes_to_site", "minutes")],
    "technicians": [("store_id", "store"), ("jobs_completed", "count"), ("jobs_failed", "count"),
                    ("on_time", "count"), ("with_window", "count"), ("on_time_rate", "rate"),
                    ("first_time_completions", "count"), ("first_time_rate", "rate"),
                    ("drive_minutes", "minutes"), ("on_site_minutes", "minutes"),
                    ("declined", "count")],
    "volume": [("phone", "count"), ("partner", "count"), ("webhook", "count"),
               ("emergency", "count"), ("total", "count")],
}
TABLE = """(table) => [...table.querySelectorAll(":scope > tbody > tr, :scope > tfoot > tr")]
  .map((tr) => [...tr.cells].map((c) => c.textContent.trim()))"""
NONE = "—"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The small company, two thirds of its invoices processed over the last three weeks (revenue
    to report on several days)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('reports') / 'board.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=4, technicians=6, orders=24)))
    with run_server(build_app(Settings(database_url=url, tile_url=""))) as live:
        now = live.app.state.runtime.now()  # type: ignore[attr-defined]
        _in_thread(lambda: asyncio.run(process_invoices(url, now)))
        yield live


async def process_invoices(url: str, now: dt.datetime) -> None:
    """What the billing clerk's "Mark processed" leaves behind, written on the app's clock."""
    engine = create_engine(url)
    try:
        async with write_transaction(engine) as conn:
            ids = (await conn.execute(select(t.invoices.c.id).order_by(t.invoices.c.number))).scalars().all()
            assert len(ids) >= 4, "the seed has invoices to process"
            for n, invoice in enumerate(ids[: len(ids) * 2 // 3]):
                await conn.execute(update(t.invoices).where(t.invoices.c.id == invoice).values(
                    processed=True, processed_by="user-billing",
                    processed_at=now - dt.timedelta(days=n * 3 % 20, hours=n % 5)))
    finally:
        await engine.dispose()


# -- how the page writes values (en-US, as Chromium runs here) ---------------------------------------


def _decimal(value: float, places: str) -> Decimal:
    return Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def written(how: str, value: Any, stores: dict[str, str]) -> str:
    if value is None or value == "":
        return NONE
    if how == "store":
        return stores.get(value, str(value))
    if how == "count":
        return f"{int(value):,}"
    if how == "money":
        cents = int(value)
        return f"${cents // 100:,}.{cents % 100:02d}"
    if how == "rate":
        return f"{_decimal(float(value) * 100, '0.1'):,}%"
    if how == "minutes":
        return f"{_decimal(float(value), '0.1'):,}"
    raise AssertionError(how)


def expected_table(answer: dict[str, Any], stores: dict[str, str]) -> list[list[str]]:
    columns = COLUMNS[answer["report"]]
    rows = [[str(item["label"]), *(written(how, item[field], stores) for field, how in columns)]
            for item in answer["items"]]
    total = answer["total"]
    return [*rows, ["Total", *(written(how, total[field], stores) if field in total else ""
                               for field, how in columns)]]


def csv_table(text: str, kind: str, stores: dict[str, str]) -> list[list[str]]:
    """The CSV's rows written as the table writes them (money in cents, rates as fractions)."""
    lines = list(csv.reader(io.StringIO(text)))
    header, rows = lines[0], lines[1:]
    columns = COLUMNS[kind]
    assert header == ["key", "label", *(field for field, _ in columns)], header
    return [[row[1], *(written(how, row[2 + i], stores) for i, (_, how) in enumerate(columns))]
            for row in rows]


# -- the API beside the page (generous timeouts: the machine may be busy) ----------------------------


def sign_in(server: LiveServer, username: str) -> str:
    """One sign-in per user and test (a password hash is slow on purpose)."""
    r = httpx.post(f"{server.url}/api/auth/login", json={"username": username, "password": "demo"},
                   timeout=60)
    r.raise_for_status()
    return str(r.json()["access_token"])


def get(server: LiveServer, token: str, path: str) -> Any:
    r = httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


# -- the page ------------------------------------------------------------------------------------


class Watched:
    """A signed-in page that records every failure the user must not meet."""

    def __init__(self, browser: Any, server: LiveServer, username: str) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1440, "height": 900},
                                           timezone_id="UTC", accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.problems: list[str] = []
        page = self.page
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("requestfailed", lambda r: self.problems.append(
            f"request failed: {r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: self.problems.append(
            f"{r.request.method} {r.url} answered {r.status}") if r.status >= 400 else None)
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        self.token = sign_in(server, username)
        self.stores = {s["id"]: s["name"] for s in self.get("/api/stores?limit=500")["items"]}

    def get(self, path: str) -> Any:
        return get(self.server, self.token, path)

    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.page.url).query).items()}

    def shown(self, **expected: str) -> dict[str, str]:
        """Wait until the URL says ``expected`` and the table (or the empty note) is drawn."""
        page = self.page
        page.wait_for_function(
            """(want) => { const q = new URLSearchParams(location.search);
              return Object.entries(want).every(([k, v]) => q.get(k) === v)
                && !document.querySelector("section.report[aria-busy]")
                && document.querySelector(".report-table table, .report-empty"); }""",
            arg=expected)
        return self.query()

    def api(self, q: dict[str, str]) -> dict[str, Any]:
        params = "&".join(f"{k}={v}" for k, v in q.items() if k != "r")
        answer: dict[str, Any] = self.get(f"/api/reports/{q['r']}?{params}")
        return answer

    def table(self) -> list[list[str]]:
        rows: list[list[str]] = self.page.locator("table.report-rows").evaluate(TABLE)
        return rows


def test_an_operations_manager_reads_switches_and_exports(server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    w = Watched(browser, server, "operations")
    page = w.page
    page.click("#areas a[href='/reports']")  # the top bar offers the screen
    q = w.shown(r="revenue", group="day")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", q["from"]) and q["to"] >= q["from"]
    expect(page.locator(".report-chart canvas")).to_have_count(1)
    expect(page.locator("button.tab[aria-selected=true]")).to_have_text("Revenue")
    expect(page.locator("button.preset[aria-pressed=true]")).to_have_text("Last 30 days")
    revenue = w.api(q)
    assert revenue["total"]["revenue_cents"] > 0, "processed invoices to report"
    assert w.table() == expected_table(revenue, w.stores)
    total = page.locator("table.report-rows tfoot tr")
    expect(total.locator("td").last).to_have_text(written("money", revenue["total"]["revenue_cents"], {}))
    screenshot(page, "reports-revenue-by-day")
    today = dt.date.fromisoformat(q["to"])  # the default range ends today on the app's calendar
    assert dt.date.fromisoformat(q["from"]) == today - dt.timedelta(days=29)

    # the presets count back from today; a year of days is shown by month
    page.click("button.preset[data-preset='7d']")
    w.shown(r="revenue", group="day", to=q["to"],
            **{"from": (today - dt.timedelta(days=6)).isoformat()})
    assert len(w.table()) == 7 + 1
    page.click("button.preset[data-preset='12m']")
    months_back = today.year * 12 + today.month - 1 - 11
    year = w.shown(r="revenue", group="month", to=q["to"],
                   **{"from": f"{months_back // 12:04d}-{months_back % 12 + 1:02d}-01"})
    assert w.table() == expected_table(w.api(year), w.stores)
    assert len(w.table()) == 12 + 1
    expect(page.locator("button.preset[aria-pressed=true]")).to_have_text("Last 12 months")
    page.click("button.preset[data-preset='30d']")
    page.select_option("select[name=group]", "day")
    assert w.shown(r="revenue", group="day") == q

    # by store: bars by store, the table largest first
    page.select_option("select[name=group]", "store")
    q = w.shown(r="revenue", group="store")
    by_store = w.api(q)
    assert w.table() == expected_table(by_store, w.stores)
    assert by_store["total"] == revenue["total"]

    # another report: response time & SLA, its own groupings; by store
    page.click("button.tab[data-report=sla]")
    q = w.shown(r="sla", group="store")  # the grouping is kept where the report has it
    assert page.locator("select[name=group] option").evaluate_all(
        "(os) => os.map((o) => o.value)") == ["day", "week", "month", "store"]
    page.select_option("select[name=group]", "week")
    q = w.shown(r="sla", group="week")
    sla = w.api(q)
    assert sla["total"]["jobs"] > 0
    assert w.table() == expected_table(sla, w.stores)
    expect(page.locator(".report-chart canvas")).to_have_count(1)
    screenshot(page, "reports-sla-by-week")

    # the CSV export: exactly the rows of the table, named after the query
    with page.expect_download() as info:
        page.click("button.export")
    download = info.value
    assert download.suggested_filename == f"sla-{q['from']}-{q['to']}-week.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert csv_table(text, "sla", w.stores) == w.table()[:-1]
    expect(page.locator(".report-message")).to_contain_text("Exported")

    # the URL keeps the state: opened again (a bookmark), the same report shows
    shared = page.url
    page.click("button.tab[data-report=volume]")
    q = w.shown(r="volume", group="week")  # call volume has weeks too
    by_week = w.api(q)
    assert w.table() == expected_table(by_week, w.stores)
    page.select_option("select[name=group]", "hour")
    q = w.shown(r="volume", group="hour")
    volume = w.api(q)
    assert w.table() == expected_table(volume, w.stores)
    with page.expect_download() as info:
        page.click("button.export")
    assert csv_table(Path(info.value.path()).read_text(encoding="utf-8"),
                     "volume", w.stores) == w.table()[:-1]
    screenshot(page, "reports-volume-by-hour")
    page.go_back()  # the browser's history follows the choices
    w.shown(r="volume", group="week")
    assert w.table() == expected_table(by_week, w.stores)
    page.goto(shared)
    w.shown(r="sla", group="week", **{"from": q["from"], "to": q["to"]})
    assert w.table() == expected_table(sla, w.stores)

    # technicians: one grouping, the store of each technician by name
    page.click("button.tab[data-report=technicians]")
    q = w.shown(r="technicians", group="technician")
    expect(page.locator("select[name=group]")).to_be_disabled()
    technicians = w.api(q)
    if technicians["items"]:
        assert w.table() == expected_table(technicians, w.stores)
    assert not w.problems, "\n".join(w.problems)

    # an empty range says so in words; a refused one shows the reason in words
    page.fill("input[name=from]", "2001-01-01")  # a date input's fill fires its change
    page.fill("input[name=to]", "2001-01-31")
    w.shown(r="technicians", **{"from": "2001-01-01", "to": "2001-01-31"})
    expect(page.locator(".report-empty")).to_have_text(
        "No technician finished a job from Jan 1, 2001 to Jan 31, 2001 in all stores.")
    expect(page.locator(".report-chart canvas")).to_have_count(0)
    expect(page.locator("button.export")).to_be_disabled()
    page.wait_for_load_state("networkidle")  # the answer to the first change may still be due
    page.goto(f"{server.url}/reports?r=revenue&from=2026-03-10&to=2026-03-01")
    message = page.locator(".report-message.error")
    expect(message).to_contain_text("This report cannot be made for that choice")
    expect(message).to_contain_text("to must not be before from")
    expect(page.locator("table.report-rows")).to_have_count(0)
    refusals = [p for p in w.problems if "422" not in p]
    assert not refusals, "\n".join(refusals)


def test_a_store_manager_sees_only_their_stores(server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    w = Watched(browser, server, "manager")
    page = w.page
    every = {s["id"]: s["name"] for s in
             get(server, sign_in(server, "operations"), "/api/stores?limit=500")["items"]}
    assert 0 < len(w.stores) < len(every)
    page.goto(f"{server.url}/reports?r=volume&group=store")
    q = w.shown(r="volume", group="store")
    options = page.locator("select[name=store_id] option").evaluate_all(
        "(os) => os.map((o) => [o.value, o.textContent])")
    assert options[0] == ["", "All my stores"]
    assert sorted(options[1:]) == sorted([sid, name] for sid, name in w.stores.items())
    volume = w.api(q)
    assert w.table() == expected_table(volume, w.stores)
    assert {row[0] for row in w.table()[:-1]} <= set(w.stores.values())
    screenshot(page, "reports-store-manager-volume-by-store")

    # one of their stores
    mine = sorted(w.stores)[0]
    page.select_option("select[name=store_id]", mine)
    q = w.shown(r="volume", group="store", store_id=mine)
    assert w.table() == expected_table(w.api(q), w.stores)
    expect(page.locator(".report-title")).to_contain_text(w.stores[mine])
    assert not w.problems, "\n".join(w.problems)

    # a link naming another store: refused, in words
    other = next(sid for sid in every if sid not in w.stores)
    page.goto(f"{server.url}/reports?r=revenue&store_id={other}")
    expect(page.locator(".report-message.error")).to_contain_text("You may not see this report")
    expect(page.locator("table.report-rows")).to_have_count(0)
    refusals = [p for p in w.problems if "403" not in p]
    assert not refusals, "\n".join(refusals)
