"""Ports: what the use cases need from the outside world, as Protocols.

The storage package implements them with SQLAlchemy; the domain never imports it.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Any, Protocol, TypeVar

from domain.alert_catalogue import AlertRule
from domain.alerts import Alert, AlertKind
from domain.dispatch import Dispatch, Invoice, SalesOrder, TripTicket
from domain.payments import Payment
from domain.planning import Proposal
from domain.resources import Customer, Store, Technician, Unit
from domain.roles import Delegation
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


class WorkOrderRepository(Repository[WorkOrder], Protocol):
    async def open_for_technician(self, technician_id: str) -> list[WorkOrder]: ...


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
    def work_orders(self) -> WorkOrderRepository: ...

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
