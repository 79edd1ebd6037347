"""The tables of alert delivery: each message or call made for an alert, the on-call rota and its
overrides, and each person's alert contact settings. Part of ``storage.tables.metadata``
(imported at the end of that module: ``t.alert_notifications``, ``t.oncall_shifts`` ...)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from storage.tables import _version, metadata
from storage.types import IdType, JSONType, UTCDateTime

#: Each message sent (or tried) for an alert: the escalation ladder's SMS, voice calls, e-mails
#: and webhook posts. A row is claimed (``sending``, ``claimed_at``) before it goes out, so two
#: delivery workers never send the same one (``storage/alert_notifications.py``).
alert_notifications = Table(
    "alert_notifications", metadata,
    Column("id", IdType, primary_key=True),
    Column("alert_id", IdType, ForeignKey("alerts.id"), nullable=False, index=True),
    Column("level", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("provider_id", String(128), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),  # pending: when to try (again)
    #: The person it reaches, when it is a user (an acknowledgement by reply or key is theirs).
    Column("user_id", IdType, nullable=True),
    #: The alert's short code in a text: ``ACK <code>`` from the number it went to acknowledges.
    Column("ack_code", String(12), nullable=True),
    #: A call's token (SHA-256 hex of the one given to the provider): its keypress callback names it.
    Column("call_token", String(64), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),  # sending: since when
    #: What came back: a key ("1", "2", ...), "none" (no key in time), "reply" (a text).
    Column("response", String(16), nullable=True),
    Column("responded_at", UTCDateTime, nullable=True),
    #: Alerts of one kind, store and level close together share one message (the first row's id).
    Column("group_id", IdType, nullable=True),
    Index("ix_alert_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_alert_notifications_recipient_channel", "recipient", "channel"),
    Index("uq_alert_notifications_call_token", "call_token", unique=True),
    #: One delivery per alert, level, channel and recipient, whichever process queues it.
    Index("uq_alert_notifications_delivery", "alert_id", "level", "channel", "recipient",
          unique=True),
)

#: The on-call rota (``domain/oncall.py``): weekly shifts per escalation level, in the stores'
#: local time; ``store_ids`` empty covers every store (and the system's alerts).
oncall_shifts = Table(
    "oncall_shifts", metadata,
    Column("id", IdType, primary_key=True),
    Column("level", Integer, nullable=False),
    Column("user_id", IdType, ForeignKey("users.id"), nullable=False, index=True),
    Column("weekdays", JSONType, nullable=False),  # [0 .. 6], Monday 0
    Column("starts", String(5), nullable=False),   # HH:MM local
    Column("ends", String(5), nullable=False),
    Column("store_ids", JSONType, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", IdType, nullable=True),
    _version(),
)

#: A person covering a level for a range of instants (a swap, a holiday), for the whole level or
#: in place of one person (``replaces_user_id``).
oncall_overrides = Table(
    "oncall_overrides", metadata,
    Column("id", IdType, primary_key=True),
    Column("level", Integer, nullable=False),
    Column("user_id", IdType, ForeignKey("users.id"), nullable=False),
    Column("replaces_user_id", IdType, ForeignKey("users.id"), nullable=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False, index=True),
    Column("store_ids", JSONType, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", IdType, nullable=True),
    _version(),
)

#: A person's alert contact settings: an e-mail address for alert mail and quiet hours (local
#: time) during which alerts that are not critical wait.
alert_contacts = Table(
    "alert_contacts", metadata,
    Column("user_id", IdType, ForeignKey("users.id"), primary_key=True),
    Column("email", String(254), nullable=False, server_default=""),
    Column("quiet_starts", String(5), nullable=True),
    Column("quiet_ends", String(5), nullable=True),
    Column("timezone", String(64), nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False),
    _version(),
)
