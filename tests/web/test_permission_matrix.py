"""The whole role x endpoint matrix, generated from the declarative role table.

For every endpoint that declares the permissions it needs, every role is tried: a role the table
(``domain.roles.ROLE_PERMISSIONS``) does not allow must get 403; a role it allows must get past the
gate (any answer but 401/403: the request is deliberately empty, so 404 or 422 are expected).
"""

from __future__ import annotations

import re

import pytest

from domain.roles import ROLE_PERMISSIONS, Permission, Role
from tests.web.api_helpers import auth, seeded_client
from web.app import build_api

#: One demo login per role.
LOGIN_FOR_ROLE = {
    Role.ADMIN: "admin", Role.DISPATCHER: "dispatcher", Role.EMERGENCY_COORDINATOR: "coordinator",
    Role.OPERATIONS_MANAGER: "operations", Role.STORE_MANAGER: "manager",
    Role.BILLING_CLERK: "billing", Role.CUSTOMER_SERVICE: "service", Role.FLEET_MANAGER: "fleet",
    Role.TECHNICIAN: "tech1",
}
#: Endpoints open to any logged-in user (their handlers scope what each user sees).
OPEN_TO_ANY_USER = {("GET", "/api/auth/me"), ("POST", "/api/auth/login"),
                    ("POST", "/api/auth/logout")}


def test_every_role_has_a_demo_login() -> None:
    assert set(LOGIN_FOR_ROLE) == set(Role)


def test_every_authenticated_endpoint_declares_its_permissions() -> None:
    undeclared = [f"{ep.method} {ep.path}" for ep in build_api().endpoints
                  if ep.auth and not ep.permissions
                  and (ep.method, ep.path) not in OPEN_TO_ANY_USER]
    assert not undeclared, undeclared


def _url(path: str) -> str:
    return re.sub(r"{\w+(?::\w+)?}", "no-such-id", path)


@pytest.mark.slow
def test_each_role_gets_exactly_what_the_role_table_allows(database_url: str) -> None:
    endpoints = [ep for ep in build_api().endpoints if ep.permissions]
    assert endpoints
    wrong = []
    with seeded_client(database_url) as client:
        headers = {role: auth(client, login) for role, login in LOGIN_FOR_ROLE.items()}
        for ep in endpoints:
            for role in Role:
                allowed = any(p in ROLE_PERMISSIONS[role] for p in ep.permissions)
                response = client.request(ep.method, _url(ep.path), headers=headers[role],
                                          json={} if ep.body is not None else None)
                got = response.status_code
                if allowed and got in {401, 403}:
                    wrong.append(f"{role.value} {ep.method} {ep.path}: {got}, should pass")
                if not allowed and got != 403:
                    wrong.append(f"{role.value} {ep.method} {ep.path}: {got}, should be 403")
                if got >= 500:
                    wrong.append(f"{role.value} {ep.method} {ep.path}: server error {got}")
    assert not wrong, "\n".join(wrong)


def test_the_reports_are_for_the_roles_their_contract_names() -> None:
    """Operations managers, admins, store managers (their stores), billing clerks and fleet
    managers read the four reports; the matrix above tries every role on each of them."""
    reports = {ep.path: ep.permissions for ep in build_api().endpoints
               if ep.path.startswith("/api/reports/")}
    assert set(reports) == {f"/api/reports/{kind}"
                            for kind in ("revenue", "sla", "technicians", "volume")}
    assert set(reports.values()) == {(Permission.REPORT_VIEW,)}
    readers = {role for role, granted in ROLE_PERMISSIONS.items()
               if Permission.REPORT_VIEW in granted}
    assert readers == {Role.OPERATIONS_MANAGER, Role.ADMIN, Role.STORE_MANAGER,
                       Role.BILLING_CLERK, Role.FLEET_MANAGER}


def test_billing_reads_with_billing_view_and_changes_with_billing_manage() -> None:
    """The clerk's queue, customers' balances and an invoice's payments are read with
    billing:view; processing and recording a payment need billing:manage (admins and billing
    clerks); the matrix above tries every role on each of them."""
    declared = {(ep.method, ep.path): ep.permissions for ep in build_api().endpoints
                if ep.path.startswith("/api/billing/") or ep.path.endswith("/payments")
                or ep.path == "/api/invoices/{id}/process"}
    assert declared == {
        ("GET", "/api/billing/to-process"): (Permission.BILLING_VIEW,),
        ("GET", "/api/billing/balances"): (Permission.BILLING_VIEW,),
        ("GET", "/api/invoices/{id}/payments"): (Permission.BILLING_VIEW,),
        ("POST", "/api/invoices/{id}/payments"): (Permission.BILLING_MANAGE,),
        ("POST", "/api/invoices/{id}/process"): (Permission.BILLING_MANAGE,),
    }
    managers = {role for role, granted in ROLE_PERMISSIONS.items()
                if Permission.BILLING_MANAGE in granted}
    assert managers == {Role.ADMIN, Role.BILLING_CLERK}


def test_the_alert_catalogue_is_changed_by_admins_and_read_by_who_sees_alerts() -> None:
    declared = {(ep.method, ep.path): set(ep.permissions) for ep in build_api().endpoints
                if ep.path.startswith(("/api/alert-rules", "/api/alert-figures"))}
    manage = {Permission.ALERT_RULE_MANAGE}
    assert declared == {
        ("GET", "/api/alert-rules"): {Permission.ALERT_VIEW, Permission.ALERT_RULE_MANAGE},
        ("PATCH", "/api/alert-rules/{kind}"): manage,
        ("POST", "/api/alert-rules/{kind}/preview"): manage,
        ("GET", "/api/alert-figures"): manage,
    }
    assert {role for role, granted in ROLE_PERMISSIONS.items()
            if Permission.ALERT_RULE_MANAGE in granted} == {Role.ADMIN}
