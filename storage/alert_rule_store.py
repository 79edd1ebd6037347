"""The alert catalogue's overrides in the ``alert_rules`` table (``domain/alert_catalogue.py``)
and what the weekly figure per kind reads of the ``alerts`` table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.alert_catalogue import RuleOverride, SettingValue
from domain.alert_figures import RaisedAlert
from domain.alerts import AlertKind, Severity
from storage import tables as t
from storage.engine import write_transaction

R = t.alert_rules


def override_from_row(r: Any) -> RuleOverride | None:
    """The stored override, or None for a kind this version of the catalogue does not know."""
    try:
        kind = AlertKind(r["kind"])
    except ValueError:
        return None
    settings: dict[str, SettingValue] = {
        str(k): tuple(v) if isinstance(v, list) else v for k, v in (r["settings"] or {}).items()}
    return RuleOverride(
        kind=kind, enabled=r["enabled"], severity=Severity(r["severity"]) if r["severity"] else None,
        settings=settings, template=r["template"], version=r["version"],
        updated_at=r["updated_at"], updated_by=r["updated_by"])


def _row(o: RuleOverride) -> dict[str, Any]:
    return {"kind": o.kind.value, "enabled": o.enabled,
            "severity": o.severity.value if o.severity else None,
            "settings": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in o.settings.items()},
            "template": o.template, "updated_at": o.updated_at, "updated_by": o.updated_by,
            "version": o.version}


async def read_overrides(conn: AsyncConnection) -> list[RuleOverride]:
    rows = (await conn.execute(select(R))).mappings().all()
    return [o for o in map(override_from_row, rows) if o is not None]


async def read_override(conn: AsyncConnection, kind: AlertKind) -> RuleOverride | None:
    row = (await conn.execute(select(R).where(R.c.kind == kind.value))).mappings().first()
    return override_from_row(row) if row is not None else None


class SqlAlertRules:
    """Implements ``domain.services.alert_rules.AlertRuleStore``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def overrides(self) -> list[RuleOverride]:
        async with self.engine.connect() as conn:
            return await read_overrides(conn)

    async def get(self, kind: AlertKind) -> RuleOverride | None:
        async with self.engine.connect() as conn:
            return await read_override(conn, kind)

    async def save(self, override: RuleOverride, *, expected_version: int,
                   audit: dict[str, Any]) -> bool:
        try:
            async with write_transaction(self.engine) as conn:
                if expected_version == 0:
                    await conn.execute(insert(R).values(**_row(override)))
                else:
                    moved = await conn.execute(update(R).where(
                        R.c.kind == override.kind.value, R.c.version == expected_version
                    ).values(**_row(override)))
                    if moved.rowcount != 1:
                        raise _Moved()
                await conn.execute(insert(t.audit_log).values(**audit))
        except (_Moved, IntegrityError):  # another admin saved first
            return False
        return True

    async def raised_since(self, since: dt.datetime) -> list[RaisedAlert]:
        a = t.alerts
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(a.c.kind, a.c.severity, a.c.store_id, a.c.raised_at, a.c.acknowledged_at,
                       a.c.escalation_level).where(a.c.raised_at >= since))).all()
        return [RaisedAlert(kind=r.kind, severity=r.severity, store_id=r.store_id,
                            raised_at=r.raised_at, acknowledged_at=r.acknowledged_at,
                            escalation_level=r.escalation_level) for r in rows]


class _Moved(Exception):
    """The stored version is not the one the change was made on (rolls the transaction back)."""
