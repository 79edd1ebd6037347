"""The billing clerk's API on both backends: the queue to process, processing (who and when),
payments (partial ones add up; an overpayment is refused and changes nothing), another store's
invoice, and customers' balances that add up."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from domain.roles import Role
from domain.users import User
from storage import tables as t
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client
from web.security import hash_password

MANAGER_STORES = {"store-0001", "store-0002"}


def everything(client: TestClient, path: str, headers: dict[str, str],
               **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every page of a list, and the last page's body."""
    items: list[dict[str, Any]] = []
    while True:
        r = client.get(path, params={**params, "limit": 7, "offset": len(items)}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            assert len(items) == body["total"]
            return items, body


def new_invoice(client: TestClient, headers: dict[str, str], amount: int, *,
                store: str = "store-0001", process: bool = True) -> dict[str, Any]:
    customers = client.get("/api/customers", params={"store_id": store}, headers=headers).json()
    order = client.post("/api/sales-orders", headers=headers, json={
        "store_id": store, "customer_id": customers["items"][0]["id"], "total_cents": amount})
    assert order.status_code == 201, order.text
    made = client.post("/api/invoices", headers=headers,
                       json={"sales_order_id": order.json()["id"], "amount_cents": amount})
    assert made.status_code == 201, made.text
    if not process:
        return dict(made.json())
    done = client.post(f"/api/invoices/{made.json()['id']}/process", headers=headers)
    assert done.status_code == 200, done.text
    return dict(done.json())


def invoice(client: TestClient, headers: dict[str, str], invoice_id: str) -> dict[str, Any]:
    r = client.get(f"/api/invoices/{invoice_id}", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def pay(client: TestClient, headers: dict[str, str], invoice_id: str, **body: Any) -> Any:
    return client.post(f"/api/invoices/{invoice_id}/payments", headers=headers,
                       json={"method": "card", **body})


def add_store_clerk(database_url: str) -> None:
    """``localbilling``: a billing clerk limited to stores 1 and 2."""
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with SqlUnitOfWork(engine) as uow:
                uow.users.add(User(username="localbilling", password_hash=hash_password("demo"),
                                   roles=frozenset({Role.BILLING_CLERK}),
                                   store_ids=frozenset(MANAGER_STORES)))
                await uow.commit()
        finally:
            await engine.dispose()
    asyncio.run(run())


def test_the_queue_holds_each_thing_to_process_once_oldest_first_until_it_is_processed(
        database_url: str) -> None:
    with seeded_client(database_url, history=True) as client:
        billing = auth(client, "billing")
        queue, _ = everything(client, "/api/billing/to-process", billing)
        kinds = Counter(i["kind"] for i in queue)
        assert set(kinds) == {"dispatch", "invoice", "work_order"}, kinds
        since = [i["since"] for i in queue]
        assert since == sorted(since, key=dt.datetime.fromisoformat)
        waiting = [inv["id"] for i in queue for inv in i["invoices"]]
        assert len(waiting) == len(set(waiting)), "an invoice is in the queue once"
        unprocessed, _ = everything(client, "/api/invoices", billing, processed="false")
        assert set(waiting) == {i["id"] for i in unprocessed}
        for item in queue:
            if item["kind"] == "dispatch":
                detail = client.get(f"/api/dispatch/{item['id']}", headers=billing).json()
                assert detail["status"] in {"completed", "closed"}
                assert item["amount_cents"] == sum(i["amount_cents"] for i in item["invoices"])
            if item["kind"] == "work_order":
                assert item["status"] == "completed" and item["invoices"] == []
                assert item["amount_cents"] is None
        # processing takes an invoice off; its dispatch leaves once none of its invoices waits
        done = next(i for i in queue if i["kind"] == "dispatch")
        before = app_now(client)
        for waiting_invoice in done["invoices"]:
            r = client.post(f"/api/invoices/{waiting_invoice['id']}/process", headers=billing)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["processed"] is True and body["processed_by"] == "user-billing"
            assert body["processed_by_name"] == "Billing"
            at = dt.datetime.fromisoformat(body["processed_at"])
            assert before - dt.timedelta(seconds=1) <= at <= app_now(client)
        again = client.post(f"/api/invoices/{done['invoices'][0]['id']}/process", headers=billing)
        assert again.json()["processed_at"] == invoice(
            client, billing, done["invoices"][0]["id"])["processed_at"], "the first time is kept"
        after, _ = everything(client, "/api/billing/to-process", billing)
        assert done["id"] not in {i["id"] for i in after}
        assert len(after) == len(queue) - 1
        # the store filter, and a store manager's own stores only
        store = queue[0]["store_id"]
        mine, _ = everything(client, "/api/billing/to-process", billing, store_id=store)
        assert mine and {i["store_id"] for i in mine} == {store}
        managed, _ = everything(client, "/api/billing/to-process", auth(client, "manager"))
        assert {i["id"] for i in managed} == {i["id"] for i in after
                                              if i["store_id"] in MANAGER_STORES}
        assert_problem(client.get("/api/billing/to-process", headers=auth(client, "service")),
                       403)


def test_an_invoice_for_a_dispatch_bills_the_jobs_main_skill(database_url: str) -> None:
    with seeded_client(database_url, history=True) as client:
        billing, admin = auth(client, "billing"), auth(client, "admin")
        queue, _ = everything(client, "/api/billing/to-process", billing)
        item = next(i for i in queue if i["kind"] == "dispatch")
        job = client.get(f"/api/work-orders/{item['work_order_id']}", headers=admin).json()
        so = invoice(client, billing, item["invoices"][0]["id"])["sales_order_id"]
        r = client.post(f"/api/dispatch/{item['id']}/invoices", headers=billing,
                        json={"sales_order_id": so, "amount_cents": 4200})
        assert r.status_code == 201, r.text
        skills = sorted(job["required_skills"])
        assert invoice(client, billing, r.json()["id"])["service_line"] == (
            skills[0] if skills else "general")
        plain = new_invoice(client, billing, 1000, process=False)
        assert plain["service_line"] == "general"
        given = client.post("/api/invoices", headers=billing, json={
            "sales_order_id": plain["sales_order_id"], "amount_cents": 500,
            "service_line": "HVAC"})
        assert given.status_code == 201 and given.json()["service_line"] == "hvac"
        bad = client.post("/api/invoices", headers=billing, json={
            "sales_order_id": plain["sales_order_id"], "amount_cents": 500,
            "service_line": "x" * 33})
        assert_problem(bad, 422, "validation_failed")


def test_partial_payments_add_up_and_an_overpayment_is_refused_changing_nothing(
        database_url: str) -> None:
    with seeded_client(database_url, history=True) as client:
        billing = auth(client, "billing")
        waiting = new_invoice(client, billing, 10_000, process=False)
        refused = pay(client, billing, waiting["id"], amount_cents=100)
        assert assert_problem(refused, 422, "invoice_not_processed")["field"] == "invoice_id"
        inv = new_invoice(client, billing, 10_000)
        assert (inv["paid_cents"], inv["balance_cents"], inv["payment_status"]) == (
            0, 10_000, "unpaid")
        first = pay(client, billing, inv["id"], amount_cents=2_500, reference="card ending 4242")
        assert first.status_code == 201, first.text
        assert first.json()["invoice"]["paid_cents"] == 2_500
        assert first.json()["invoice"]["balance_cents"] == 7_500
        assert first.json()["invoice"]["payment_status"] == "partly_paid"
        seen = invoice(client, billing, inv["id"])
        assert (seen["paid_cents"], seen["balance_cents"]) == (2_500, 7_500)
        # too much: refused in words on the amount, and nothing changes
        over = pay(client, billing, inv["id"], amount_cents=7_501, method="cash")
        problem = assert_problem(over, 422, "overpayment")
        assert problem["field"] == "amount_cents" and problem["balance_cents"] == 7_500
        assert "$75.00" in problem["detail"]
        for body, code in (({"amount_cents": 0}, "validation_failed"),
                           ({"amount_cents": 100, "method": "bitcoin"}, "validation_failed"),
                           ({"amount_cents": 100, "reference": "r" * 129}, "validation_failed"),
                           ({"amount_cents": 100, "extra": 1}, "validation_failed"),
                           ({"amount_cents": 1.5}, "validation_failed"),
                           ({"amount_cents": 100, "received_at": (
                               app_now(client) + dt.timedelta(hours=1)).isoformat()},
                            "received_in_future")):
            assert_problem(pay(client, billing, inv["id"], **body), 422, code)
        assert invoice(client, billing, inv["id"]) == seen
        # the rest, received yesterday by check: paid, and nothing more is taken
        yesterday = app_now(client) - dt.timedelta(days=1)
        rest = pay(client, billing, inv["id"], amount_cents=7_500, method="check",
                   reference="check 1001", received_at=yesterday.isoformat())
        assert rest.status_code == 201, rest.text
        assert dt.datetime.fromisoformat(rest.json()["received_at"]) == yesterday
        assert rest.json()["invoice"]["payment_status"] == "paid"
        assert_problem(pay(client, billing, inv["id"], amount_cents=1), 422, "overpayment")
        listed = client.get(f"/api/invoices/{inv['id']}/payments", headers=billing).json()
        assert [(p["amount_cents"], p["method"]) for p in listed["items"]] == [
            (7_500, "check"), (2_500, "card")], "oldest received first"
        assert {p["recorded_by_name"] for p in listed["items"]} == {"Billing"}
        assert (listed["invoice"]["paid_cents"], listed["invoice"]["balance_cents"]) == (10_000, 0)
        paid, _ = everything(client, "/api/invoices", billing, status="paid")
        partly, _ = everything(client, "/api/invoices", billing, status="partly_paid")
        assert inv["id"] in {i["id"] for i in paid} and inv["id"] not in {i["id"] for i in partly}
        assert all(0 < i["paid_cents"] < i["amount_cents"] for i in partly)


def test_a_payment_is_audited_and_published_in_its_transaction(database_url: str) -> None:
    with seeded_client(database_url) as client:
        billing, admin = auth(client, "billing"), auth(client, "admin")
        inv = new_invoice(client, billing, 4_000)
        made = pay(client, billing, inv["id"], amount_cents=1_500, reference="slip 7")
        assert made.status_code == 201, made.text
        audit = client.get("/api/audit", headers=admin,
                           params={"entity_id": made.json()["id"]}).json()["items"]
        assert [(a["action"], a["actor"]) for a in audit] == [("payment.record", "billing")]
        assert audit[0]["after"]["invoice"]["balance_cents"] == 2_500
        processed = client.get("/api/audit", headers=admin, params={
            "entity_id": inv["id"], "action": "invoice.process"}).json()["items"]
        assert processed[0]["after"]["processed_by"] == "user-billing"
        events = asyncio.run(_outbox(database_url, inv["id"], made.json()["id"]))
        assert [(e["name"], e["store_id"]) for e in events] == [
            ("InvoiceProcessed", inv["store_id"]), ("PaymentRecorded", inv["store_id"])]
        assert events[0]["payload"]["processed_at"] == inv["processed_at"].replace("Z", "+00:00")
        assert events[1]["payload"]["invoice_paid_cents"] == 1_500


async def _outbox(database_url: str, *ids: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(t.outbox).where(t.outbox.c.aggregate_id.in_(ids))
                                       .order_by(t.outbox.c.id))).mappings().all()
    finally:
        await engine.dispose()
    return [dict(r) for r in rows if r["name"] in {"InvoiceProcessed", "PaymentRecorded"}]


def test_a_retried_payment_with_the_same_idempotency_key_is_recorded_once(
        database_url: str) -> None:
    with seeded_client(database_url, history=True) as client:
        billing = auth(client, "billing")
        inv = new_invoice(client, billing, 5_000)
        keyed = {**billing, "Idempotency-Key": "payment-1"}
        first = pay(client, keyed, inv["id"], amount_cents=3_000)
        retry = pay(client, keyed, inv["id"], amount_cents=3_000)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert first.json()["id"] == retry.json()["id"]
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert invoice(client, billing, inv["id"])["paid_cents"] == 3_000


def test_another_stores_invoice_does_not_exist_for_a_store_bound_user(database_url: str) -> None:
    with seeded_client(database_url, history=True) as client:
        add_store_clerk(database_url)
        billing, local = auth(client, "billing"), auth(client, "localbilling")
        theirs = new_invoice(client, billing, 3_000, store="store-0003")
        mine = new_invoice(client, local, 3_000, store="store-0001")
        assert mine["processed_by"] != "user-billing"
        for method, path in (("GET", f"/api/invoices/{theirs['id']}/payments"),
                             ("GET", f"/api/invoices/{theirs['id']}"),
                             ("POST", f"/api/invoices/{theirs['id']}/process")):
            assert_problem(client.request(method, path, headers=local), 404)
        assert_problem(pay(client, local, theirs["id"], amount_cents=100), 404)
        assert invoice(client, billing, theirs["id"])["paid_cents"] == 0
        assert pay(client, local, mine["id"], amount_cents=100).status_code == 201
        manager = auth(client, "manager")
        assert_problem(client.get(f"/api/invoices/{theirs['id']}/payments", headers=manager), 404)
        assert client.get(f"/api/invoices/{mine['id']}/payments",
                          headers=manager).json()["total"] == 1
        assert_problem(pay(client, manager, mine["id"], amount_cents=100), 403)
        balances, _ = everything(client, "/api/billing/balances", local)
        processed, _ = everything(client, "/api/invoices", local, processed="true")
        assert {b["customer_id"] for b in balances} <= {i["customer_id"] for i in processed}
        assert all(i["store_id"] in MANAGER_STORES for i in processed)


def test_customers_balances_add_up_to_billed_less_paid(database_url: str) -> None:
    with seeded_client(database_url, history=True) as client:
        billing = auth(client, "billing")
        inv = new_invoice(client, billing, 8_000)
        assert pay(client, billing, inv["id"], amount_cents=3_000).status_code == 201
        for headers in (billing, auth(client, "manager")):
            balances, last = everything(client, "/api/billing/balances", headers)
            processed, _ = everything(client, "/api/invoices", headers, processed="true")
            billed = sum(i["amount_cents"] for i in processed)
            paid = sum(i["paid_cents"] for i in processed)
            assert paid > 0 and billed > paid
            assert sum(b["balance_cents"] for b in balances) == billed - paid
            assert last["totals"] == {"billed_cents": billed, "paid_cents": paid,
                                      "balance_cents": billed - paid}
            assert [b["balance_cents"] for b in balances] == sorted(
                (b["balance_cents"] for b in balances), reverse=True)
            for b in balances:
                own = [i for i in processed if i["customer_id"] == b["customer_id"]]
                assert b["billed_cents"] == sum(i["amount_cents"] for i in own)
                assert b["paid_cents"] == sum(i["paid_cents"] for i in own)
                assert b["open_invoices"] == sum(1 for i in own if i["balance_cents"] > 0)
                assert b["balance_cents"] == b["billed_cents"] - b["paid_cents"]
        owing, _ = everything(client, "/api/billing/balances", billing, owing="true")
        assert owing and all(b["balance_cents"] > 0 for b in owing)
        mine = next(b for b in owing if b["customer_id"] == inv["customer_id"])
        assert mine["paid_cents"] >= 3_000
