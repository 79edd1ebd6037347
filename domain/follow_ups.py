"""A job that fails comes back: "could not finish" makes a follow-up work order in the queue.

The follow-up is a new work order for the same customer, place, skills and job (its description
says it is a follow-up), pointing back at the original (``follow_up_of``), so the original's
history (comments, proof, audit) stays one link away. It records ``FollowUpCreated`` (for the
customer notifications) and calls for a ``job_failed`` alert to the store's dispatchers, which
the rules' pass resolves once the follow-up is assigned or closed.
"""

from __future__ import annotations

import datetime as dt

from domain import events as ev
from domain.alert_catalogue import AlertRule
from domain.alert_fields import job_text
from domain.alerts import AlertCandidate
from domain.work_orders import WorkOrder, WorkOrderStatus


def open_follow_up(original: WorkOrder, now: dt.datetime, *, created_by: str,
                   author: str) -> WorkOrder:
    """The follow-up of a failed work order, with the failure's reason as its first comment."""
    reason = original.status_reason
    follow = original.follow_up(now, created_by)
    follow.add_comment(author, f"Follow-up of {original.id}, which could not be finished: "
                       f"{reason}"[:2000], now)
    # The aggregate's own record: the follow-up is the event's subject (notifications read it).
    follow._record(ev.FollowUpCreated, store_id=follow.store_id, technician_id=None,
                   data={"work_order": follow.snapshot(), "follow_up_of": original.id,
                         "reason": reason, "customer_id": follow.customer_id,
                         "failed_by": original.technician_id})
    return follow


def job_failed_alert(original: WorkOrder, follow: WorkOrder, rule: AlertRule,
                     technician_name: str | None = None,
                     store_name: str | None = None) -> AlertCandidate:
    """The alert to the store's dispatchers: who could not finish what, and why (the text from
    the catalogue's ``job_failed`` rule)."""
    if original.status != WorkOrderStatus.FAILED:
        raise ValueError("only a failed work order raises a job_failed alert")
    fields = {
        "order_id": follow.id, "job": job_text(original.description, original.address),
        "description": original.description, "address": original.address or "—",
        "priority": original.priority.value, "status": follow.status.value,
        "store": store_name or original.store_id, "store_id": original.store_id,
        "technician": technician_name or "The technician", "reason": original.status_reason,
    }
    return rule.candidate(follow.id, fields, store_id=original.store_id,
                          technician_id=original.technician_id, work_order_id=follow.id)
