"""Escalation delivery rules: on-call numbers, recipients per level, the SMS text, retry spacing."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.alert_delivery import (
    SMS_LIMIT,
    OnCall,
    normalize_phone,
    recipients,
    retry_delay,
    sms_text,
)
from domain.errors import ValidationFailed

ALERT = {"id": "0123456789abcdef", "severity": "critical", "title": "Tracker offline",
         "message": "No position for 31 min.", "category": "technician",
         "technician_id": "tech-1"}


def test_phone_numbers_are_normalized_to_e164_or_refused() -> None:
    assert normalize_phone("+1 (317) 555-0100") == "+13175550100"
    assert normalize_phone("317-555-0100") is None
    assert normalize_phone("+0123") is None


def test_on_call_numbers_per_level_and_for_every_level() -> None:
    oncall = OnCall.parse("+13175550100, 2=+13175550102, 3=+13175550103")
    assert oncall.numbers(1) == ("+13175550100",)
    assert oncall.numbers(2) == ("+13175550102", "+13175550100")
    assert OnCall.parse("").numbers(3) == ()
    with pytest.raises(ValidationFailed):
        OnCall.parse("4=+13175550100")
    with pytest.raises(ValidationFailed):
        OnCall.parse("2=not-a-number")


def test_a_technician_alert_reaches_the_technician_at_level_one_only() -> None:
    oncall = OnCall.parse("+13175550100")
    first = recipients(ALERT, 1, oncall, "+1 317 555 0199")
    assert [r.address for r in first] == ["+13175550199", "+13175550100"]
    assert [r.address for r in recipients(ALERT, 2, oncall, "+13175550199")] == ["+13175550100"]
    work_order = {**ALERT, "category": "work_order"}
    assert [r.address for r in recipients(work_order, 1, oncall, "+13175550199")] == [
        "+13175550100"]
    assert recipients(ALERT, 1, oncall, "bad") == [recipients(ALERT, 1, oncall)[0]]


def test_the_text_leads_with_severity_and_level_and_fits_an_sms() -> None:
    text = sms_text(ALERT, 2, "Dallas #1")
    assert text.startswith("[CRITICAL L2 operations] Tracker offline (Dallas #1).")
    assert text.endswith("alert 01234567")
    long = sms_text({**ALERT, "message": "x" * 2000}, 1)
    assert len(long) == SMS_LIMIT and long.endswith("alert 01234567")


def test_retries_back_off_exponentially_up_to_five_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(20) == dt.timedelta(minutes=5)
