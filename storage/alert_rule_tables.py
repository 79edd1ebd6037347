"""The alert catalogue's admin overrides (``domain/alert_catalogue.py`` holds every kind's defaults).
Part of ``storage.tables.metadata`` (imported at the end of that module: ``t.alert_rules``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table, Text

from storage.tables import metadata
from storage.types import IdType, JSONType, UTCDateTime

#: One row per kind an admin changed: each null column (and each number absent from ``settings``)
#: keeps the catalogue's default, so a new default reaches every kind nobody edited.
alert_rules = Table(
    "alert_rules", metadata,
    Column("kind", String(48), primary_key=True),
    Column("enabled", Boolean, nullable=True),
    Column("severity", String(16), nullable=True),
    Column("settings", JSONType, nullable=True),
    Column("template", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", IdType, nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
)
