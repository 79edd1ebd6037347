"""The tables of partner orders both ways: the partner's changes of its orders and the outbox of
webhooks back to it. Part of ``storage.tables.metadata`` (imported at the end of that module, which
is where the rest of storage reads them: ``t.intake_changes``, ``t.webhook_deliveries``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from storage.tables import metadata
from storage.types import BigId, IdType, JSONType, UTCDateTime

#: Partner changes of orders it created (update, priority change, cancellation), one row per
#: version handled (``domain/partner_orders.py``), written with the change it made: a version is
#: handled once, and ``webhook_id`` recognises a redelivered message.
intake_changes = Table(
    "intake_changes", metadata,
    Column("source", String(64), primary_key=True),
    Column("external_id", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("work_order_id", IdType, nullable=False),
    Column("webhook_id", String(255), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index("uq_intake_changes_webhook_id", "webhook_id", unique=True),
)

#: Outbound webhooks to the partner (its jobs' status changes), queued in the transaction of the
#: change: pending -> delivered, or dead after the attempts; an admin may replay a dead one.
webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("partner", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("external_id", String(128), nullable=False, index=True),
    Column("work_order_id", IdType, nullable=False),
    Column("payload", JSONType, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("replays", Integer, nullable=False, server_default="0"),
    Column("replayed_at", UTCDateTime, nullable=True),
    Column("replayed_by", IdType, nullable=True),
    Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
)
