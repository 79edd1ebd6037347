"""Ports: what the use cases need from the outside world, as Protocols.

The storage package implements them with SQLAlchemy; the domain never imports it. Every port
lives here: a use case (``domain/services/``) declares none, and the records a port names live
in the domain model modules (``tests/test_layering.py`` holds the first rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar

from domain.alert_catalogue import AlertRule, RuleBook, RuleOverride
from domain.alert_facts import World
from domain.alert_figures import RaisedAlert
from domain.alert_responses import Delivered
from domain.alerts import Alert, AlertKind
from domain.attachments import Owner
from domain.dispatch import Dispatch, Invoice, SalesOrder, TripTicket
from domain.notifications import ConsentRecord
from domain.oncall import ContactIn, Override, Shift, StoredLine
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


class ResponseUnitOfWork(AlertUnitOfWork, Protocol):
    """What answering an escalation needs of the unit of work: the alerts, and the users who
    answer."""

    @property
    def users(self) -> UserRepository: ...


class ResponseStore(Protocol):
    """The escalations' deliveries (``alert_notifications``), as their answers need them."""

    async def call(self, token_hash: str) -> Delivered | None:
        """The call placed with that token (voice, sent)."""
        ...

    async def texts_to(self, number: str, since: dt.datetime) -> list[Delivered]:
        """Texts sent to ``number`` since then about alerts still open, newest first."""
        ...

    async def respond(self, delivery_id: str, response: str, at: dt.datetime) -> bool:
        """Record the answer unless one is recorded already; whether this one was recorded."""
        ...


class OnCallStore(Protocol):
    """Where the rota lives; it writes within the unit of work's transaction (and audit)."""

    async def add_shift(self, shift: Shift, *, note: str, at: dt.datetime, by: str) -> None: ...

    async def shift(self, shift_id: str) -> tuple[Shift, StoredLine] | None: ...

    async def replace_shift(self, shift: Shift, *, note: str, version: int) -> None:
        """Write it as ``version + 1`` where it is still ``version`` (else
        ``ConcurrencyConflict``)."""
        ...

    async def remove_shift(self, shift_id: str) -> None: ...

    async def add_override(self, override: Override, *, note: str, at: dt.datetime,
                           by: str) -> None: ...

    async def override(self, override_id: str) -> tuple[Override, StoredLine] | None: ...

    async def remove_override(self, override_id: str) -> None: ...


class ContactStore(Protocol):
    """People's alert contact settings, within the unit of work's transaction."""

    async def contact(self, user_id: str) -> dict[str, Any] | None: ...

    async def set_contact(self, user_id: str, contact: ContactIn, *, at: dt.datetime) -> None: ...


class AttachmentStore(Protocol):
    """The work orders' files; it writes within the unit of work's transaction."""

    async def owner(self, work_order_id: str) -> Owner | None: ...

    async def count(self, work_order_id: str) -> int: ...

    async def present(self, work_order_id: str, hashes: Sequence[str]) -> set[str]: ...

    async def add(self, *, work_order_id: str, sha256: str, content_type: str, data: bytes,
                  uploaded_by: str, at: dt.datetime) -> bool:
        """Keep the bytes unless the work order holds them already; True when this call added
        them."""
        ...


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
