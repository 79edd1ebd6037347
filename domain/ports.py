"""Ports: what the use cases need from the outside world, as Protocols.

The storage package implements them with SQLAlchemy; the domain never imports it.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Any, Protocol, TypeVar

from domain.alert_catalogue import AlertRule, RuleBook, RuleOverride
from domain.alert_facts import World
from domain.alert_figures import RaisedAlert
from domain.alerts import Alert, AlertKind
from domain.dispatch import Dispatch, Invoice, SalesOrder, TripTicket
from domain.notifications import ConsentRecord
from domain.partner_orders import ChangeOutcome, ChangeRecord, IntakeRecord
from domain.payments import Payment
from domain.planning import Proposal
from domain.reports import Counted, Group, ReportKind, ReportRange
from domain.resources import Customer, Store, Technician, Unit
from domain.roles import Delegation, Principal
from domain.users import User
from domain.work_orders import WorkOrder

T = TypeVar("T")


class Repository(Protocol[T]):
    async def get(self, id: str) -> T | None: ...

    def add(self, item: T) -> None: ...


class DispatchRepository(Repository[Dispatch], Protocol):
    async def unit_busy(self, unit: str, when: dt.datetime, *, exclude_id: str | None) -> bool: ...

    async def trip_ticket_in_use(self, trip_ticket_id: str, *, exclude_id: str | None) -> bool: ...


class InvoiceRepository(Repository[Invoice], Protocol):
    async def for_dispatch(self, dispatch_id: str) -> list[Invoice]: ...


class PaymentRepository(Repository[Payment], Protocol):
    async def paid_cents(self, invoice_id: str) -> int:
        """What the invoice's payments add up to, those added in this unit of work included."""
        ...


class AlertRepository(Repository[Alert], Protocol):
    async def rule(self, kind: AlertKind) -> AlertRule:
        """The catalogue's rule of ``kind`` as the admins left it (a use case raising an alert
        renders it with this rule, and raises nothing while the kind is switched off)."""
        ...

    async def live(self) -> list[Alert]:
        """Every open or acknowledged alert."""
        ...


class UserRepository(Repository[User], Protocol):
    async def by_username(self, username: str) -> User | None: ...


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class UnitOfWork(Protocol):
    """One transaction. Changes and their events (outbox) and audit rows commit together. The
    repositories are read-only members, so an implementation may give more specific ones."""

    @property
    def stores(self) -> Repository[Store]: ...

    @property
    def technicians(self) -> Repository[Technician]: ...

    @property
    def units(self) -> Repository[Unit]: ...

    @property
    def customers(self) -> Repository[Customer]: ...

    @property
    def work_orders(self) -> Repository[WorkOrder]: ...

    @property
    def dispatches(self) -> DispatchRepository: ...

    @property
    def trip_tickets(self) -> Repository[TripTicket]: ...

    @property
    def sales_orders(self) -> Repository[SalesOrder]: ...

    @property
    def invoices(self) -> InvoiceRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def proposals(self) -> Repository[Proposal]: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def alerts(self) -> AlertRepository: ...


    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def audit(
        self,
        *,
        action: str,
        entity_type: str,
        entity_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None: ...


class DelegationStore(Protocol):
    """Where delegations live; it writes within the same unit of work as the audit row."""

    async def add(self, delegation: Delegation, *, created_at: dt.datetime) -> None: ...

    async def get(self, delegation_id: str) -> Delegation | None: ...

    async def end(self, delegation_id: str, *, at: dt.datetime) -> None: ...


class AlertUnitOfWork(Protocol):
    """The part of the unit of work (``domain.ports.UnitOfWork``) the alert use cases need."""

    @property
    def alerts(self) -> AlertRepository: ...

    async def __aenter__(self) -> AlertUnitOfWork: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    async def commit(self) -> None: ...

    def audit(self, *, action: str, entity_type: str, entity_id: str,
              before: dict[str, Any] | None, after: dict[str, Any] | None) -> None: ...


class ReportSource(Protocol):
    """What a report reads: the database's counts, and what it needs to pick the calendar."""

    async def default_timezone(self) -> str | None:
        """The zone most stores use (None without stores)."""
        ...

    async def store_exists(self, store_id: str) -> bool: ...

    async def count(self, kind: ReportKind, group: Group, rng: ReportRange,
                    stores: frozenset[str] | None) -> list[Counted]:
        """Sums per UTC hour (a time group) or per the group's column, within ``stores``
        (None: every store)."""
        ...


class AlertRuleStore(Protocol):
    async def overrides(self) -> list[RuleOverride]: ...

    async def get(self, kind: AlertKind) -> RuleOverride | None: ...

    async def save(self, override: RuleOverride, *, expected_version: int,
                   audit: dict[str, Any]) -> bool:
        """Write the override and its audit row in one transaction, only if the stored version
        is still ``expected_version`` (0: none stored); False when it moved meanwhile."""
        ...

    async def raised_since(self, since: dt.datetime) -> list[RaisedAlert]:
        """Every alert raised since ``since`` (what the weekly figure counts)."""
        ...


class AlertFacts(Protocol):
    """Reads what the rules need."""

    async def rule_book(self) -> RuleBook:
        """The catalogue as the admins left it (read each pass: an edit applies to the next)."""
        ...

    async def world(self, now: dt.datetime) -> World: ...

    async def snoozed_keys(self, since: dt.datetime) -> frozenset[str]:
        """Dedup keys a person resolved by hand since ``since``."""
        ...

    async def raised_keys(self, since: dt.datetime) -> frozenset[str]:
        """Dedup keys of the happenings' alerts raised since ``since`` (whatever their status)."""
        ...

    async def passed(self) -> None:
        """The pass applied what ``world`` read: the next reads happenings after it."""
        ...


class PartnerChangeUnitOfWork(UnitOfWork, Protocol):
    def record_partner_change(self, outcome: ChangeOutcome) -> None:
        """Write the change's ledger row (and the partner's latest version) at commit."""
        ...


class WebhookDeliveries(Protocol):
    """The outbox of webhooks to partners, as the admin's replay needs it."""

    async def get(self, id: int) -> dict[str, Any] | None: ...

    async def replay(self, id: int, *, by: str, now: dt.datetime,
                     audit: dict[str, Any]) -> dict[str, Any] | None:
        """Dead -> pending (attempts from zero), audited; None when it was not dead."""
        ...


class ConsentHistory(Protocol):
    """Where consent records go, in the caller's unit of work (append only)."""

    async def add(self, record: ConsentRecord) -> None: ...


class IntakeLedger(Protocol):
    """The partner orders taken (``intake_orders``), and the reads the intake answers with."""

    async def find(self, source: str, external_id: str) -> IntakeRecord | None: ...

    async def find_webhook(self, webhook_id: str) -> IntakeRecord | None: ...

    async def store_id_for_code(self, code: str) -> str | None: ...

    async def work_order(self, principal: Principal, work_order_id: str) -> dict[str, Any] | None:
        """The work order as the API shows it to ``principal`` (None: it is gone)."""
        ...


class ChangeLedger(Protocol):
    """The partner changes handled (``intake_changes``), one per order and version."""

    async def find(self, source: str, external_id: str, version: int) -> ChangeRecord | None: ...

    async def find_webhook(self, webhook_id: str) -> ChangeRecord | None: ...
