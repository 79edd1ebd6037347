"""The tables of money and of what the reports count beside the work orders: invoices, the payments
against them, and each declined assignment. Part of ``storage.tables.metadata`` (imported at the
end of that module, which is where the rest of storage reads them: ``t.invoices``, ``t.payments``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, text

from storage.tables import FALSE, _version, metadata
from storage.types import BigId, IdType, UTCDateTime

invoices = Table(
    "invoices", metadata,
    Column("id", IdType, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("sales_order_id", IdType, ForeignKey("sales_orders.id"), nullable=False, index=True),
    Column("store_id", IdType, ForeignKey("stores.id"), nullable=False, index=True),
    Column("amount_cents", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("processed", Boolean, nullable=False, server_default=FALSE),
    #: When and by whom it was processed: revenue counts an invoice on the day it was processed.
    Column("processed_at", UTCDateTime, nullable=True),
    Column("processed_by", IdType, nullable=True),
    #: The service line the revenue report groups by (the job's main skill, or "general").
    Column("service_line", String(32), nullable=False, server_default="general"),
    # One column, so an invoice is linked to at most one dispatch by construction.
    Column("dispatch_id", IdType, ForeignKey("dispatches.id"), nullable=True, index=True),
    _version(),
    Index("ix_invoices_processed_at", "processed_at"),
    Index("ix_invoices_store_processed_at", "store_id", "processed_at"),
)

#: Money received against an invoice (partial payments add up; the balance is what is left).
payments = Table(
    "payments", metadata,
    Column("id", IdType, primary_key=True),
    Column("invoice_id", IdType, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("store_id", IdType, ForeignKey("stores.id"), nullable=False, index=True),
    Column("amount_cents", Integer, nullable=False),
    Column("method", String(16), nullable=False),
    Column("reference", String(128), nullable=False, server_default=""),
    Column("received_at", UTCDateTime, nullable=False),
    Column("recorded_by", IdType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    _version(),
)

#: One row per declined assignment (the technician said no), kept for the technician report: the
#: event log is pruned after days, this is history.
assignment_declines = Table(
    "assignment_declines", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("work_order_id", IdType, nullable=False, index=True),
    Column("technician_id", IdType, nullable=False),
    Column("store_id", IdType, nullable=False),
    Column("declined_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Index("ix_assignment_declines_technician_at", "technician_id", "declined_at"),
    Index("ix_assignment_declines_at", "declined_at"),
)

# The reports read a year of jobs from these alone on PostgreSQL (index-only scans, migration
# 0015): jobs booked in a range (SLA, volume) and finished in a range (technicians); and whether
# a job got a follow-up. SQLite has no included columns: plain indexes there.
_wo = metadata.tables["work_orders"].c
Index("ix_work_orders_created_at", _wo.created_at, postgresql_include=[
    "store_id", "status", "channel", "priority", "assigned_at", "on_site_at", "window_end"])
Index("ix_work_orders_finished_at", _wo.finished_at, postgresql_include=[
    "id", "technician_id", "store_id", "status", "follow_up_of", "en_route_at", "on_site_at",
    "window_end"])
Index("ix_work_orders_follow_up_of", _wo.follow_up_of, sqlite_where=text("follow_up_of IS NOT NULL"),
      postgresql_where=text("follow_up_of IS NOT NULL"))
