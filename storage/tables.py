"""The schema. Rules the database can hold are constraints here too (see ``dispatches``)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.sql.elements import TextClause

from storage.types import BigId, IdType, JSONType, UTCDateTime

metadata: MetaData = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
TRUE: TextClause = text("true")  # typed: modules in the import cycle read them early
FALSE: TextClause = text("false")


def _version() -> Column[int]:
    return Column("version", Integer, nullable=False, server_default="1")


stores = Table(
    "stores", metadata,
    Column("id", IdType, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("region", String(64), nullable=False, index=True),
    Column("opens", String(5), nullable=False),
    Column("closes", String(5), nullable=False),
    Column("address", String(300), nullable=False, server_default=""),
    Column("timezone", String(64), nullable=False),
    Column("active", Boolean, nullable=False, server_default=TRUE),
    _version(),
)

units = Table(
    "units", metadata,
    Column("id", IdType, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("home_store_id", IdType, ForeignKey("stores.id"), nullable=False, index=True),
    Column("geotab_device_id", String(64), nullable=True, unique=True),
    Column("plate", String(32), nullable=False, server_default=""),
    Column("model", String(100), nullable=False, server_default=""),
    Column("in_service", Boolean, nullable=False, server_default=TRUE),
    _version(),
)

technicians = Table(
    "technicians", metadata,
    Column("id", IdType, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("home_store_id", IdType, ForeignKey("stores.id"), nullable=False, index=True),
    Column("skills", JSONType, nullable=False),
    Column("shift_start", UTCDateTime, nullable=True),
    Column("shift_end", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False, index=True),
    Column("unit_id", IdType, ForeignKey("units.id"), nullable=True, unique=True),
    Column("phone", String(32), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default=TRUE),
    _version(),
)

customers = Table(
    "customers", metadata,
    Column("id", IdType, primary_key=True),
    Column("name", String(200), nullable=False, index=True),
    Column("phone", String(32), nullable=False, server_default=""),
    Column("email", String(200), nullable=False, server_default=""),
    Column("address", String(300), nullable=False, server_default=""),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("sms_opt_in", Boolean, nullable=False, server_default=FALSE),
    Column("home_store_id", IdType, ForeignKey("stores.id"), nullable=True, index=True),
    Column("active", Boolean, nullable=False, server_default=TRUE),
    _version(),
)

work_orders = Table(
    "work_orders", metadata,
    Column("id", IdType, primary_key=True),
    Column("store_id", IdType, ForeignKey("stores.id"), nullable=False),
    Column("customer_id", IdType, ForeignKey("customers.id"), nullable=True, index=True),
    Column("priority", String(16), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("address", String(300), nullable=False, server_default=""),
    Column("description", Text, nullable=False),
    Column("window_start", UTCDateTime, nullable=True),
    Column("window_end", UTCDateTime, nullable=True),
    Column("required_skills", JSONType, nullable=False),
    Column("estimated_minutes", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("status_changed_at", UTCDateTime, nullable=False),
    Column("en_route_at", UTCDateTime, nullable=True),
    Column("on_site_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("technician_id", IdType, ForeignKey("technicians.id"), nullable=True),
    Column("sequence", Integer, nullable=True),
    Column("planned_arrival", UTCDateTime, nullable=True),
    Column("pinned", Boolean, nullable=False, server_default=FALSE),
    Column("follow_up_of", IdType, ForeignKey("work_orders.id"), nullable=True),
    Column("comments", JSONType, nullable=False),
    Column("proof", JSONType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),  # indexed in billing_tables (reports)
    Column("created_by", IdType, nullable=False),
    #: How the job reached us: phone (customer service, a dispatcher), partner (feed), webhook,
    #: emergency. The first assignment's time (set once): booking -> assignment in the SLA report.
    Column("channel", String(16), nullable=False, server_default="phone"),
    Column("assigned_at", UTCDateTime, nullable=True),
    _version(),
    Index("ix_work_orders_store_status", "store_id", "status"),
    Index("ix_work_orders_store_created", "store_id", "created_at"),
    Index("ix_work_orders_technician_finished", "technician_id", "finished_at"),
    Index("ix_work_orders_technician_status", "technician_id", "status"),
    Index("ix_work_orders_status_priority", "status", "priority"),
)

trip_tickets = Table(
    "trip_tickets", metadata,
    Column("id", IdType, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("store_id", IdType, ForeignKey("stores.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("work_order_id", IdType, ForeignKey("work_orders.id"), nullable=True),
    Column("customer_id", IdType, ForeignKey("customers.id"), nullable=True),
    _version(),
)

sales_orders = Table(
    "sales_orders", metadata,
    Column("id", IdType, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("customer_id", IdType, ForeignKey("customers.id"), nullable=False, index=True),
    Column("store_id", IdType, ForeignKey("stores.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("total_cents", Integer, nullable=False, server_default="0"),
    _version(),
)

dispatches = Table(
    "dispatches", metadata,
    Column("id", IdType, primary_key=True),
    Column("trip_ticket_id", IdType, ForeignKey("trip_tickets.id"), nullable=False, index=True),
    Column("datetime", UTCDateTime, nullable=False, index=True),
    Column("unit", IdType, ForeignKey("units.id"), nullable=False, index=True),
    Column("store_id", IdType, ForeignKey("stores.id"), nullable=False, index=True),
    Column("date_created", UTCDateTime, nullable=False),
    Column("created_by", IdType, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    _version(),
    # A unit is never double-booked, and a trip ticket serves one dispatch: among live rows.
    Index("uq_dispatches_unit_datetime_live", "unit", "datetime", unique=True,
          sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
    Index("uq_dispatches_trip_ticket_live", "trip_ticket_id", unique=True,
          sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
)

proposals = Table(
    "proposals", metadata,
    Column("id", IdType, primary_key=True),
    Column("scope", String(200), nullable=False),
    Column("status", String(24), nullable=False, index=True),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("body", JSONType, nullable=False),
    Column("store_ids", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", IdType, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    _version(),
)

users = Table(
    "users", metadata,
    Column("id", IdType, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("roles", JSONType, nullable=False),
    Column("store_ids", JSONType, nullable=False),
    Column("technician_id", IdType, ForeignKey("technicians.id"), nullable=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default=TRUE),
    #: E.164, for alert escalation texts (empty: none).
    Column("phone", String(32), nullable=False, server_default=""),
    #: Bumped when the account's tokens must stop working (``domain.users.User.token_version``).
    Column("token_version", Integer, nullable=False, server_default="0"),
    _version(),
)

#: Tokens ended by signing out (by ``jti``), kept until they would have expired anyway.
revoked_tokens = Table(
    "revoked_tokens", metadata,
    Column("jti", String(64), primary_key=True),
    Column("user_id", IdType, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

#: The durable event log. ``id`` is insert order; ``seq`` is the published order, assigned by the
#: single relay as it publishes (insert order is not commit order, so ids can appear late).
outbox = Table(
    "outbox", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", IdType, nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", IdType, nullable=False, index=True),
    Column("store_id", IdType, nullable=True),
    Column("technician_id", IdType, nullable=True),
    Column("payload", JSONType, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("seq", BigId, nullable=True, unique=True),
    Column("published_at", UTCDateTime, nullable=True),
    #: The request (X-Request-ID) or job whose unit of work wrote the event, for the logs.
    Column("correlation_id", String(64), nullable=True),
    Index("ix_outbox_unpublished", "id", sqlite_where=text("seq IS NULL"),
          postgresql_where=text("seq IS NULL")),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor_id", IdType, nullable=True, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False, index=True),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", IdType, nullable=False),
    Column("before", JSONType, nullable=True),
    Column("after", JSONType, nullable=True),
    Column("correlation_id", String(64), nullable=True),
    Index("ix_audit_log_entity", "entity_type", "entity_id"),
)

#: Cursors of external feeds (GeoTab version tokens, partner order feed), kept across restarts.
feed_cursors = Table(
    "feed_cursors", metadata,
    Column("name", String(64), primary_key=True),
    Column("token", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: Results of creating requests sent with an ``Idempotency-Key``, so a retry gets the first answer.
idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("user_id", IdType, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | done
    Column("status_code", Integer, nullable=True),
    Column("response", JSONType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

#: A role lent by one user to another for a time window.
role_delegations = Table(
    "role_delegations", metadata,
    Column("id", IdType, primary_key=True),
    Column("from_user_id", IdType, ForeignKey("users.id"), nullable=False),
    Column("to_user_id", IdType, ForeignKey("users.id"), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

#: The latest fix per unit: the map's markers. Never moved back to an older fix (device time).
positions_latest = Table(
    "positions_latest", metadata,
    Column("unit_id", IdType, ForeignKey("units.id"), primary_key=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("speed_kmh", Float, nullable=False),
    Column("bearing", Float, nullable=True),
    Column("device_time", UTCDateTime, nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("source", String(16), nullable=False),
)

#: The breadcrumb trail. A re-sent record (same source and id) is stored once.
position_history = Table(
    "position_history", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("unit_id", IdType, ForeignKey("units.id"), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("speed_kmh", Float, nullable=False),
    Column("bearing", Float, nullable=True),
    Column("device_time", UTCDateTime, nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Index("uq_position_history_record", "source", "record_id", unique=True),
    Index("ix_position_history_unit_time", "unit_id", "device_time"),
)

#: Orders taken from the external intake (partner feed, signed webhooks): one work order per
#: partner order, and each webhook message (``webhook_id``) handled once. Written in the same
#: transaction as the work order (before it is flushed, hence no foreign key).
intake_orders = Table(
    "intake_orders", metadata,
    Column("source", String(64), primary_key=True),
    Column("external_id", String(128), primary_key=True),
    Column("work_order_id", IdType, nullable=False, index=True),
    Column("webhook_id", String(255), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    #: The partner's latest version of the order handled (its creation's, then each change's).
    Column("partner_version", Integer, nullable=False, server_default="0"),
    Index("uq_intake_orders_webhook_id", "webhook_id", unique=True),
)

#: Alerts (``domain/alerts.py``): raised by rules on events and on the clock, acknowledged by people,
#: escalated while a critical one stays unacknowledged. ``dedup_key`` makes a rule raise one alert per
#: subject while it is not resolved.
alerts = Table(
    "alerts", metadata,
    Column("id", IdType, primary_key=True),
    Column("kind", String(48), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("dedup_key", String(200), nullable=False),
    Column("title", String(200), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    Column("store_id", IdType, ForeignKey("stores.id"), nullable=True, index=True),
    Column("technician_id", IdType, ForeignKey("technicians.id"), nullable=True),
    Column("work_order_id", IdType, ForeignKey("work_orders.id"), nullable=True),
    Column("raised_at", UTCDateTime, nullable=False, index=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", IdType, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", IdType, nullable=True),  # null: the condition cleared by itself
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    Column("next_escalation_at", UTCDateTime, nullable=True, index=True),
    _version(),
    Index("ix_alerts_kind_raised_at", "kind", "raised_at"),  # the weekly figure per kind
    Index("uq_alerts_dedup_live", "dedup_key", unique=True,
          sqlite_where=text("status != 'resolved'"), postgresql_where=text("status != 'resolved'")),
)

#: Proof-of-work files (photos, signatures), content-addressed per work order: the id a proof names
#: is ``sha256-<hex>`` of the bytes, so a retried upload is the same row.
attachments = Table(
    "attachments", metadata,
    Column("work_order_id", IdType, ForeignKey("work_orders.id"), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("content_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("uploaded_by", IdType, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
)

#: The demo's own record (one row): present only in a database that ``dispatch seed`` / ``dispatch
#: demo`` created, so the demo refreshes its day there and never touches anyone else's data.
demo_seeds = Table(
    "demo_seeds", metadata,
    Column("id", Integer, primary_key=True),
    Column("seeded_at", UTCDateTime, nullable=False),
    Column("alive_until", UTCDateTime, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("stores", Integer, nullable=False),
    Column("technicians", Integer, nullable=False),
    Column("orders", Integer, nullable=False),
)

#: Customer notifications (domain/notifications.py): a job's public tracking link (a random token),
#: every notification sent (one row per event and channel, with its delivery outcome) and the
#: history of each customer's consent to texts (append only).
tracking_links = Table(
    "tracking_links", metadata,
    Column("token", String(64), primary_key=True),
    Column("work_order_id", IdType, ForeignKey("work_orders.id"), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)
customer_notifications = Table(
    "customer_notifications", metadata,
    Column("id", IdType, primary_key=True),
    Column("work_order_id", IdType, ForeignKey("work_orders.id"), nullable=False, index=True),
    Column("customer_id", IdType, ForeignKey("customers.id"), nullable=True),
    Column("kind", String(16), nullable=False), Column("channel", String(16), nullable=False),
    Column("recipient", String(64), nullable=False, server_default=""),
    Column("text", Text, nullable=False), Column("event_seq", BigId, nullable=False),
    # web: posted (on the tracking page). sms: pending -> sending -> sent | logged (no provider
    # configured) | failed (given up) | cancelled (consent withdrawn first).
    Column("status", String(16), nullable=False), Column("provider_id", String(128)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False), Column("sent_at", UTCDateTime),
    Column("next_attempt_at", UTCDateTime),
    Index("uq_customer_notifications_event_channel", "event_seq", "channel", unique=True),
    Index("ix_customer_notifications_due", "status", "next_attempt_at"),
)
customer_consents = Table(
    "customer_consents", metadata,
    Column("id", IdType, primary_key=True),
    Column("customer_id", IdType, ForeignKey("customers.id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False), Column("granted", Boolean, nullable=False),
    Column("source", String(32), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
)

# Tables with their own module (this metadata): money (invoices, payments) and the declines the
# technician report counts; partner orders both ways (intake changes, outbound webhooks); alert rules;
# alert delivery (notifications, the on-call rota, people's alert contact settings).
from storage.alert_delivery_tables import alert_contacts as alert_contacts  # noqa: E402
from storage.alert_delivery_tables import alert_notifications as alert_notifications  # noqa: E402
from storage.alert_delivery_tables import oncall_overrides as oncall_overrides  # noqa: E402
from storage.alert_delivery_tables import oncall_shifts as oncall_shifts  # noqa: E402
from storage.alert_rule_tables import alert_rules as alert_rules  # noqa: E402
from storage.billing_tables import assignment_declines as assignment_declines  # noqa: E402
from storage.billing_tables import invoices as invoices  # noqa: E402
from storage.billing_tables import payments as payments  # noqa: E402
from storage.partner_tables import intake_changes as intake_changes  # noqa: E402
from storage.partner_tables import webhook_deliveries as webhook_deliveries  # noqa: E402
