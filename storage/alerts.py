"""Alerts in the database: row mapping and the repository (the facts the rules read are in
``storage/alert_world.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.alert_catalogue import AlertRule, effective
from domain.alert_kinds import CATALOGUE
from domain.alerts import LIVE_STATUSES, Alert, AlertKind, AlertStatus, Severity
from storage import tables as t
from storage.alert_rule_store import read_override
from storage.repositories import SqlRepository

A = t.alerts


def alert_from_row(r: Any) -> Alert:
    return Alert(
        id=r["id"], kind=AlertKind(r["kind"]), severity=Severity(r["severity"]),
        status=AlertStatus(r["status"]), dedup_key=r["dedup_key"], title=r["title"],
        message=r["message"], store_id=r["store_id"], technician_id=r["technician_id"],
        work_order_id=r["work_order_id"], raised_at=r["raised_at"],
        acknowledged_at=r["acknowledged_at"], acknowledged_by=r["acknowledged_by"],
        resolved_at=r["resolved_at"], resolved_by=r["resolved_by"],
        escalation_level=r["escalation_level"], next_escalation_at=r["next_escalation_at"],
        version=r["version"],
    )


def alert_to_row(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id, "kind": a.kind.value, "severity": a.severity.value, "status": a.status.value,
        "dedup_key": a.dedup_key, "title": a.title, "message": a.message,
        "store_id": a.store_id, "technician_id": a.technician_id,
        "work_order_id": a.work_order_id, "raised_at": a.raised_at,
        "acknowledged_at": a.acknowledged_at, "acknowledged_by": a.acknowledged_by,
        "resolved_at": a.resolved_at, "resolved_by": a.resolved_by,
        "escalation_level": a.escalation_level, "next_escalation_at": a.next_escalation_at,
    }


class AlertRepository(SqlRepository[Alert]):
    """Implements ``domain.services.alerts.AlertRepository``."""

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, A, alert_from_row, alert_to_row)

    async def rule(self, kind: AlertKind) -> AlertRule:
        """The catalogue's rule of ``kind``, read in this unit of work's transaction."""
        return effective(CATALOGUE[kind], await read_override(self.conn, kind))

    async def live(self) -> list[Alert]:
        rows = (await self.conn.execute(
            select(A).where(A.c.status.in_(sorted(s.value for s in LIVE_STATUSES)))
            .order_by(A.c.raised_at, A.c.id)
        )).all()
        return [await self._remember(row._mapping) for row in rows]


# The facts the rules read live in their own module; imported here for the callers that know
# them as ``storage.alerts.SqlAlertFacts``.
from storage.alert_world import SqlAlertFacts as SqlAlertFacts  # noqa: E402
