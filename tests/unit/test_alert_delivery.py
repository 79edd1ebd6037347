"""Escalation delivery rules: on-call numbers, recipients per level, the SMS text, retry spacing."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.alert_delivery import (
    SMS_LIMIT,
    OnCall,
    Person,
    normalize_phone,
    people_for_level,
    recipients,
    retry_delay,
    sms_text,
)
from domain.errors import ValidationFailed
from domain.roles import Role
from domain.users import User

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


PEOPLE = [
    Person("mgr-a", frozenset({"store_manager"}), frozenset({"store-a"}), "+13175550201"),
    Person("mgr-b", frozenset({"store_manager"}), frozenset({"store-b"}), "+13175550202"),
    Person("disp", frozenset({"dispatcher"}), frozenset(), "+1 (317) 555-0203"),
    Person("ops", frozenset({"operations_manager"}), frozenset(), "+13175550204"),
    Person("ops-b", frozenset({"operations_manager"}), frozenset({"store-b"}), "+13175550205"),
    Person("root", frozenset({"admin"}), frozenset(), "+13175550206"),
    Person("nophone", frozenset({"admin"}), frozenset(), "555"),
    Person("clerk", frozenset({"billing_clerk"}), frozenset(), "+13175550207"),
]


def who(level: int, store: str | None) -> list[str]:
    return [r.who for r in people_for_level(PEOPLE, level, store)]


def test_each_level_reaches_its_roles_within_the_alerts_store() -> None:
    assert who(1, "store-a") == ["user mgr-a", "user disp"]  # not store-b's manager
    assert who(2, "store-a") == ["user ops"]  # ops-b is scoped to store-b
    assert who(2, "store-b") == ["user ops", "user ops-b"]
    assert who(3, "store-a") == ["user root"]  # no valid phone, no text
    assert who(1, None) == ["user disp"]  # a system alert: unscoped people only
    work_order = {**ALERT, "category": "work_order", "store_id": "store-a"}
    both = recipients(work_order, 1, OnCall.parse("+13175550203, +13175550100"), None, PEOPLE)
    assert [r.address for r in both] == ["+13175550201", "+13175550203", "+13175550100"]


def test_a_user_phone_is_stored_in_e164_or_refused() -> None:
    user = User(username="ops2", password_hash="x", roles=frozenset({Role.OPERATIONS_MANAGER}),
                phone="+1 317-555-0123")
    assert user.phone == "+13175550123"
    user.set_phone("")
    assert user.phone == ""
    with pytest.raises(ValidationFailed):
        user.set_phone("call me")
