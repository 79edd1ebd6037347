"""The values alert templates name: how an order, a technician, a wait or a time of day is
written in an alert (``{job}``, ``{technician}``, ``{waited}``, ``{eta}`` ...)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from domain.alert_facts import OrderFacts, TechnicianFacts, World


def ago(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def job_text(description: str, address: str) -> str:
    text = description if len(description) <= 80 else description[:79] + "…"
    return f"{text} ({address})" if address else text


def clock_time(instant: dt.datetime | None, world: World, store_id: str | None) -> str:
    """``14:05`` on the store's clock (UTC when the store or its zone is unknown)."""
    if instant is None:
        return "—"
    store = world.stores.get(store_id) if store_id is not None else None
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(store.timezone) if store is not None else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return instant.astimezone(zone).strftime("%H:%M")


def order_fields(order: OrderFacts, world: World) -> dict[str, str]:
    return {
        "order_id": order.id, "job": job_text(order.description, order.address),
        "description": order.description, "address": order.address or "—",
        "priority": order.priority.value, "status": order.status.value.replace("_", " "),
        "store": world.store_name(order.store_id), "store_id": order.store_id,
        "technician": world.name_of(order.technician_id),
    }


def technician_fields(tech: TechnicianFacts, world: World) -> dict[str, str]:
    return {
        "technician": tech.name, "technician_id": tech.id,
        "status": tech.status.value.replace("_", " "),
        "store": world.store_name(tech.home_store_id), "store_id": tech.home_store_id,
    }
