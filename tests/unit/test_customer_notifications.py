"""The rules of customer notifications: which event says what, on which channel, the tracking
link's lifetime, and what a reply means for consent."""

from __future__ import annotations

import dataclasses
import datetime as dt

from domain.notifications import (
    Channel,
    CustomerContact,
    JobFacts,
    NotificationKind,
    TrackingPolicy,
    estimated_arrival,
    link_alive,
    notification_for,
    notifications_for,
    public_view,
    reply_intent,
)

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
CONSENTING = CustomerContact("c1", "Ada Lovelace", "+1 (214) 555-0101", True)


def job(**changes: object) -> JobFacts:
    base = JobFacts(work_order_id="wo1", status="new", status_changed_at=NOW, created_at=NOW,
                    destination=(32.78, -96.8), timezone="America/Chicago",
                    window_start=NOW + dt.timedelta(hours=2),
                    window_end=NOW + dt.timedelta(hours=4), technician_name="Maria Gomez",
                    customer=CONSENTING)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_each_step_of_a_job_tells_the_customer_once() -> None:
    def order(status: str) -> dict[str, object]:
        return {"work_order": {"status": status}}

    assert notification_for("WorkOrderCreated", order("new")) == NotificationKind.BOOKED
    assert notification_for("WorkOrderAssigned", order("assigned")) == NotificationKind.ASSIGNED
    assert notification_for("WorkOrderAccepted", order("accepted")) is None
    assert notification_for("WorkOrderStatusChanged", order("en_route")) == NotificationKind.EN_ROUTE
    assert notification_for("WorkOrderStatusChanged", order("on_site")) == NotificationKind.ARRIVED
    assert notification_for("WorkOrderCompleted", order("completed")) == NotificationKind.COMPLETED
    assert notification_for("WorkOrderCancelled", order("cancelled")) == NotificationKind.CANCELLED
    moved = {"changed": ["time_window"], "work_order": {"status": "new"}}
    assert notification_for("WorkOrderUpdated", moved) == NotificationKind.RESCHEDULED
    assert notification_for("WorkOrderUpdated", {"changed": ["description"]}) is None
    assert notification_for("WorkOrderCommented", {}) is None


def test_texts_need_consent_and_a_number_the_page_needs_neither() -> None:
    url = "https://x.example/t/abc"
    both = notifications_for(NotificationKind.BOOKED, job(), NOW, url, 7)
    assert [(n.channel, n.status) for n in both] == [(Channel.WEB, "posted"),
                                                     (Channel.SMS, "pending")]
    assert both[1].recipient == "+12145550101" and url in both[1].text
    assert url not in both[0].text and "between 12:00 PM and 2:00 PM" in both[0].text  # CDT
    for customer in (dataclasses.replace(CONSENTING, sms_opt_in=False),
                     dataclasses.replace(CONSENTING, phone="555"), None):
        only = notifications_for(NotificationKind.BOOKED, job(customer=customer), NOW, url, 7)
        assert [n.channel for n in only] == [Channel.WEB]


def test_the_eta_comes_from_the_van_on_the_way_else_the_plan_or_the_window() -> None:
    assert estimated_arrival(job(status="assigned"), NOW) == NOW + dt.timedelta(hours=2)
    planned = NOW + dt.timedelta(minutes=50)
    assert estimated_arrival(job(status="assigned", planned_arrival=planned), NOW) == planned
    driving = job(status="en_route", van=(32.78, -96.9))  # ~9.4 km away, 1.3x road, 40 km/h
    eta = estimated_arrival(driving, NOW)
    assert eta is not None and 15 <= (eta - NOW).total_seconds() / 60 <= 20
    assert estimated_arrival(job(status="on_site"), NOW) is None


def test_the_link_lives_while_the_job_is_open_and_a_while_after_it_closed() -> None:
    policy = TrackingPolicy(after_close=dt.timedelta(hours=2))
    assert link_alive(job(), NOW + dt.timedelta(days=2), policy)
    assert not link_alive(job(), NOW + dt.timedelta(days=4), policy)
    done = job(status="completed", status_changed_at=NOW)
    assert link_alive(done, NOW + dt.timedelta(minutes=119), policy)
    assert not link_alive(done, NOW + dt.timedelta(hours=2), policy)


def test_the_page_shows_the_van_only_on_the_way_and_the_first_name_only() -> None:
    policy = TrackingPolicy()
    driving = public_view(job(status="en_route", van=(32.7, -96.9)), NOW, policy, [])
    assert driving["van"] == {"lat": 32.7, "lon": -96.9} and driving["technician"] == "Maria"
    arrived = public_view(job(status="on_site", van=(32.78, -96.8)), NOW, policy, [])
    assert arrived["van"] is None and arrived["eta"] is None
    assert "customer" not in arrived and "Ada" not in str(arrived)


def test_only_a_bare_keyword_changes_consent() -> None:
    assert reply_intent("STOP") is False and reply_intent(" stop. ") is False
    assert reply_intent("Unsubscribe") is False and reply_intent("START") is True
    assert reply_intent("please don't stop by before 10") is None
    assert reply_intent("") is None


def test_a_closed_job_is_asked_about_often_until_its_closing_message_is_in() -> None:
    policy = TrackingPolicy()
    done = job(status="completed", status_changed_at=NOW)
    told = [{"kind": "completed", "text": "Your service visit is complete",
             "at": NOW.isoformat()}]
    assert public_view(done, NOW, policy, [])["poll_seconds"] == policy.poll_seconds
    assert public_view(done, NOW, policy, told)["poll_seconds"] == policy.closed_poll_seconds
    later = NOW + policy.closing_grace
    assert public_view(done, later, policy, [])["poll_seconds"] == policy.closed_poll_seconds
    open_job = job(status="en_route")
    assert public_view(open_job, later, policy, [])["poll_seconds"] == policy.poll_seconds
