from __future__ import annotations

import pytest

from domain.errors import InvalidTransition, PermissionDenied, ValidationFailed
from domain.resources import TECHNICIAN_TRANSITIONS, TechnicianStatus
from domain.roles import (
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    can_delete_dispatch,
)
from domain.users import User
from tests.unit.factories import technician


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in TechnicianStatus for t in TechnicianStatus
     if t != s and t not in TECHNICIAN_TRANSITIONS[s]],
)
def test_a_technician_status_outside_the_table_is_refused(
    source: TechnicianStatus, target: TechnicianStatus
) -> None:
    tech = technician(status=source)
    with pytest.raises(InvalidTransition):
        tech.change_status(target)
    assert tech.status == source


def test_a_technician_status_change_is_an_event_for_their_store() -> None:
    tech = technician()
    tech.change_status(TechnicianStatus.EN_ROUTE, reason="to job")
    event = tech.events[-1]
    assert event.name == "TechnicianStatusChanged"
    assert event.store_id == "store-1"
    assert event.technician_id == tech.id
    assert event.payload()["previous"] == "available"


def test_skills_are_kept_trimmed_and_in_lower_case() -> None:
    tech = technician(skills=frozenset({"HVAC", " Gas ", " "}))
    assert tech.skills == frozenset({"hvac", "gas"})


def principal(*roles: Role, stores: frozenset[str] | None = None) -> Principal:
    return Principal(user_id="u1", username="u1", roles=frozenset(roles), store_ids=stores)


@pytest.mark.parametrize(
    ("role", "create", "view", "add_invoice"),
    [
        (Role.DISPATCHER, True, True, True),
        (Role.OPERATIONS_MANAGER, True, True, True),
        (Role.STORE_MANAGER, True, True, True),
        (Role.BILLING_CLERK, False, True, True),
    ],
)
def test_the_dispatch_module_matrix(role: Role, create: bool, view: bool,
                                    add_invoice: bool) -> None:
    p = principal(role)
    assert p.can(Permission.DISPATCH_CREATE) is create
    assert p.can(Permission.DISPATCH_EDIT) is create
    assert p.can(Permission.DISPATCH_VIEW) is view
    assert p.can(Permission.DISPATCH_ADD_INVOICE) is add_invoice


def test_dispatch_deletion_is_limited_for_dispatchers_and_refused_for_billing() -> None:
    dispatcher = principal(Role.DISPATCHER)
    assert can_delete_dispatch(dispatcher, created_by="u1", display_status="pending",
                               status="scheduled")
    assert can_delete_dispatch(dispatcher, created_by="u1", display_status="draft",
                               status="draft")
    assert not can_delete_dispatch(dispatcher, created_by="someone-else",
                                   display_status="pending", status="draft")
    assert not can_delete_dispatch(dispatcher, created_by="u1", display_status="scheduled",
                                   status="scheduled")
    assert can_delete_dispatch(principal(Role.OPERATIONS_MANAGER), created_by="x",
                               display_status="dispatched", status="dispatched")
    assert not can_delete_dispatch(principal(Role.BILLING_CLERK), created_by="u1",
                                   display_status="draft", status="draft")


def test_every_role_has_an_entry_and_admin_can_do_everything() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_require_raises_a_clear_permission_error() -> None:
    with pytest.raises(PermissionDenied, match="dispatch:create"):
        principal(Role.BILLING_CLERK).require(Permission.DISPATCH_CREATE)


def test_store_scope_limits_what_a_store_manager_sees() -> None:
    user = User(username="manager", password_hash="x", roles=frozenset({Role.STORE_MANAGER}),
                store_ids=frozenset({"store-1", "store-2"}))
    p = user.principal()
    assert p.sees_store("store-1")
    assert not p.sees_store("store-3")
    assert not p.sees_store(None)
    dispatcher = User(username="disp", password_hash="x", roles=frozenset({Role.DISPATCHER}))
    assert dispatcher.principal().sees_store("store-3")


def test_a_store_manager_without_stores_sees_nothing() -> None:
    user = User(username="lonely", password_hash="x", roles=frozenset({Role.STORE_MANAGER}))
    assert not user.principal().sees_store("store-1")


def test_usernames_and_technician_links_are_validated() -> None:
    with pytest.raises(ValidationFailed):
        User(username="Bad Name!", password_hash="x", roles=frozenset({Role.DISPATCHER}))
    with pytest.raises(ValidationFailed):
        User(username="tech9", password_hash="x", roles=frozenset({Role.TECHNICIAN}))
    with pytest.raises(ValidationFailed):
        User(username="nobody", password_hash="x", roles=frozenset())
