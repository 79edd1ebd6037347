"""Two payments sent at the same moment against one invoice, which together would pay more than
it is for: real concurrent requests to the app served by uvicorn, on both backends. One is
recorded, the other refused with a problem (the balance check, or the invoice's version), and
what is paid never exceeds the invoice."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx

from tests.browser.conftest import run_server
from tests.web.api_helpers import seed_small
from web.app import create_app
from web.clock import ShiftedClock
from web.settings import Settings

ROUNDS = 4


async def _race(url: str) -> list[tuple[int, int, int, list[dict[str, Any]]]]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        login = await http.post("/api/auth/login", json={"username": "billing", "password": "demo"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        customers = (await http.get("/api/customers", params={"store_id": "store-0001"},
                                    headers=headers)).json()["items"]
        order = (await http.post("/api/sales-orders", headers=headers, json={
            "store_id": "store-0001", "customer_id": customers[0]["id"]})).json()
        out = []
        for _ in range(ROUNDS):
            invoice = (await http.post("/api/invoices", headers=headers, json={
                "sales_order_id": order["id"], "amount_cents": 10_000})).json()
            path = f"/api/invoices/{invoice['id']}"
            assert (await http.post(f"{path}/process", headers=headers)).status_code == 200
            answers = await asyncio.gather(*(
                http.post(f"{path}/payments", headers=headers,
                          json={"amount_cents": 6_000, "method": method})
                for method in ("card", "cash")))
            paid = (await http.get(path, headers=headers)).json()["paid_cents"]
            payments = (await http.get(f"{path}/payments", headers=headers)).json()["items"]
            out.append((paid, len(payments), sum(a.status_code == 201 for a in answers),
                        [{"status": a.status_code, "type": a.headers["content-type"],
                          "body": a.json()} for a in answers]))
        return out


def test_two_payments_at_once_that_together_overpay_one_wins(database_url: str) -> None:
    start = dt.datetime.now(dt.UTC)
    clock = ShiftedClock(start)
    seed_small(database_url, now=start)
    app = create_app(Settings(database_url=database_url), clock=clock)
    with run_server(app) as live:
        rounds = asyncio.run(_race(live.url))
    for paid, payments, recorded, answers in rounds:
        assert recorded == 1, answers
        assert (paid, payments) == (6_000, 1)
        refused = next(a for a in answers if a["status"] != 201)
        assert refused["status"] in {409, 422}, refused
        assert refused["type"].startswith("application/problem+json")
        assert refused["body"]["code"] in {"overpayment", "concurrent_modification"}
