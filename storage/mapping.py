"""Rows to domain objects and back. Hand-written: the domain model knows nothing of tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from domain.comments import Comment
from domain.dispatch import (
    Dispatch,
    DispatchStatus,
    Invoice,
    SalesOrder,
    SalesOrderStatus,
    TripTicket,
)
from domain.geo import Location, TimeWindow
from domain.payments import Payment, PaymentMethod
from domain.planning import Move, Proposal, ProposalStatus, Unassigned
from domain.resources import (
    Customer,
    OpeningHours,
    Shift,
    Store,
    Technician,
    TechnicianStatus,
    Unit,
)
from domain.roles import Role
from domain.users import User
from domain.work_orders import Channel, Priority, ProofOfWork, WorkOrder, WorkOrderStatus

Row = Mapping[Any, Any]


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def store_from_row(r: Row) -> Store:
    return Store(
        id=r["id"], code=r["code"], name=r["name"], location=Location(r["lat"], r["lon"]),
        region=r["region"], hours=OpeningHours(_time(r["opens"]), _time(r["closes"])),
        address=r["address"], timezone=r["timezone"], active=r["active"], version=r["version"],
    )


def store_to_row(s: Store) -> dict[str, Any]:
    return {
        "id": s.id, "code": s.code, "name": s.name, "lat": s.location.lat, "lon": s.location.lon,
        "region": s.region, "opens": s.hours.opens.strftime("%H:%M"),
        "closes": s.hours.closes.strftime("%H:%M"), "address": s.address,
        "timezone": s.timezone, "active": s.active,
    }


def unit_from_row(r: Row) -> Unit:
    return Unit(
        id=r["id"], name=r["name"], home_store_id=r["home_store_id"],
        geotab_device_id=r["geotab_device_id"], plate=r["plate"], model=r["model"],
        in_service=r["in_service"], version=r["version"],
    )


def unit_to_row(u: Unit) -> dict[str, Any]:
    return {
        "id": u.id, "name": u.name, "home_store_id": u.home_store_id,
        "geotab_device_id": u.geotab_device_id, "plate": u.plate, "model": u.model,
        "in_service": u.in_service,
    }


def technician_from_row(r: Row) -> Technician:
    shift = Shift(r["shift_start"], r["shift_end"]) if r["shift_start"] else None
    return Technician(
        id=r["id"], name=r["name"], home_store_id=r["home_store_id"],
        skills=frozenset(r["skills"]), shift=shift, status=TechnicianStatus(r["status"]),
        unit_id=r["unit_id"], phone=r["phone"], active=r["active"], version=r["version"],
    )


def technician_to_row(t: Technician) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "home_store_id": t.home_store_id,
        "skills": sorted(t.skills), "shift_start": t.shift.start if t.shift else None,
        "shift_end": t.shift.end if t.shift else None, "status": t.status.value,
        "unit_id": t.unit_id, "phone": t.phone, "active": t.active,
    }


def customer_from_row(r: Row) -> Customer:
    loc = Location(r["lat"], r["lon"]) if r["lat"] is not None else None
    return Customer(
        id=r["id"], name=r["name"], phone=r["phone"], email=r["email"], address=r["address"],
        location=loc, sms_opt_in=r["sms_opt_in"], home_store_id=r["home_store_id"],
        active=r["active"], version=r["version"],
    )


def customer_to_row(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "phone": c.phone, "email": c.email, "address": c.address,
        "lat": c.location.lat if c.location else None,
        "lon": c.location.lon if c.location else None, "sms_opt_in": c.sms_opt_in,
        "home_store_id": c.home_store_id, "active": c.active,
    }


def _proof_from(data: Any) -> ProofOfWork | None:
    if not data:
        return None
    loc = data.get("location")
    return ProofOfWork(
        device_time=dt.datetime.fromisoformat(data["device_time"]),
        location=Location(loc["lat"], loc["lon"]) if loc else None,
        signature_ref=data.get("signature_ref"), photo_refs=tuple(data.get("photo_refs", ())),
        notes=data.get("notes", ""),
    )


def work_order_from_row(r: Row) -> WorkOrder:
    window = TimeWindow(r["window_start"], r["window_end"]) if r["window_start"] else None
    comments = tuple(Comment.from_dict(c) for c in r["comments"])
    return WorkOrder(
        id=r["id"], store_id=r["store_id"], priority=Priority(r["priority"]),
        location=Location(r["lat"], r["lon"]), description=r["description"],
        created_at=r["created_at"], created_by=r["created_by"], customer_id=r["customer_id"],
        address=r["address"], time_window=window, required_skills=frozenset(r["required_skills"]),
        estimated_minutes=r["estimated_minutes"], status=WorkOrderStatus(r["status"]),
        technician_id=r["technician_id"], sequence=r["sequence"],
        planned_arrival=r["planned_arrival"], pinned=r["pinned"], comments=comments,
        proof=_proof_from(r["proof"]), follow_up_of=r["follow_up_of"],
        status_reason=r["status_reason"], status_changed_at=r["status_changed_at"],
        en_route_at=r["en_route_at"], on_site_at=r["on_site_at"], finished_at=r["finished_at"],
        channel=Channel(r["channel"]), assigned_at=r["assigned_at"], version=r["version"],
    )


def work_order_to_row(w: WorkOrder) -> dict[str, Any]:
    return {
        "id": w.id, "store_id": w.store_id, "customer_id": w.customer_id,
        "priority": w.priority.value, "lat": w.location.lat, "lon": w.location.lon,
        "address": w.address, "description": w.description,
        "window_start": w.time_window.start if w.time_window else None,
        "window_end": w.time_window.end if w.time_window else None,
        "required_skills": sorted(w.required_skills), "estimated_minutes": w.estimated_minutes,
        "status": w.status.value, "status_reason": w.status_reason,
        "status_changed_at": w.status_changed_at, "technician_id": w.technician_id,
        "en_route_at": w.en_route_at, "on_site_at": w.on_site_at, "finished_at": w.finished_at,
        "sequence": w.sequence, "planned_arrival": w.planned_arrival, "pinned": w.pinned,
        "follow_up_of": w.follow_up_of, "comments": [c.as_dict() for c in w.comments],
        "proof": w.proof.as_dict() if w.proof else None, "created_at": w.created_at,
        "created_by": w.created_by, "channel": w.channel.value, "assigned_at": w.assigned_at,
    }


def trip_ticket_from_row(r: Row) -> TripTicket:
    return TripTicket(
        id=r["id"], number=r["number"], store_id=r["store_id"], created_at=r["created_at"],
        description=r["description"], work_order_id=r["work_order_id"],
        customer_id=r["customer_id"], version=r["version"],
    )


def trip_ticket_to_row(t: TripTicket) -> dict[str, Any]:
    return {
        "id": t.id, "number": t.number, "store_id": t.store_id, "created_at": t.created_at,
        "description": t.description, "work_order_id": t.work_order_id,
        "customer_id": t.customer_id,
    }


def sales_order_from_row(r: Row) -> SalesOrder:
    return SalesOrder(
        id=r["id"], number=r["number"], customer_id=r["customer_id"], store_id=r["store_id"],
        created_at=r["created_at"], status=SalesOrderStatus(r["status"]),
        total_cents=r["total_cents"], version=r["version"],
    )


def sales_order_to_row(s: SalesOrder) -> dict[str, Any]:
    return {
        "id": s.id, "number": s.number, "customer_id": s.customer_id, "store_id": s.store_id,
        "created_at": s.created_at, "status": s.status.value, "total_cents": s.total_cents,
    }


def invoice_from_row(r: Row) -> Invoice:
    return Invoice(
        id=r["id"], number=r["number"], sales_order_id=r["sales_order_id"],
        store_id=r["store_id"], amount_cents=r["amount_cents"], created_at=r["created_at"],
        processed=r["processed"], processed_at=r["processed_at"],
        processed_by=r["processed_by"], service_line=r["service_line"],
        dispatch_id=r["dispatch_id"], version=r["version"],
    )


def invoice_to_row(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id, "number": i.number, "sales_order_id": i.sales_order_id,
        "store_id": i.store_id, "amount_cents": i.amount_cents, "created_at": i.created_at,
        "processed": i.processed, "processed_at": i.processed_at,
        "processed_by": i.processed_by, "service_line": i.service_line,
        "dispatch_id": i.dispatch_id,
    }


def payment_from_row(r: Row) -> Payment:
    return Payment(
        id=r["id"], invoice_id=r["invoice_id"], store_id=r["store_id"],
        amount_cents=r["amount_cents"], method=PaymentMethod(r["method"]),
        reference=r["reference"], received_at=r["received_at"], recorded_by=r["recorded_by"],
        created_at=r["created_at"], version=r["version"],
    )


def payment_to_row(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id, "invoice_id": p.invoice_id, "store_id": p.store_id,
        "amount_cents": p.amount_cents, "method": p.method.value, "reference": p.reference,
        "received_at": p.received_at, "recorded_by": p.recorded_by, "created_at": p.created_at,
    }


def dispatch_from_row(r: Row, invoice_ids: tuple[str, ...]) -> Dispatch:
    return Dispatch(
        id=r["id"], trip_ticket_id=r["trip_ticket_id"], datetime=r["datetime"], unit=r["unit"],
        store_id=r["store_id"], date_created=r["date_created"], created_by=r["created_by"],
        status=DispatchStatus(r["status"]), invoice_ids=invoice_ids,
        deleted_at=r["deleted_at"], version=r["version"],
    )


def dispatch_to_row(d: Dispatch) -> dict[str, Any]:
    return {
        "id": d.id, "trip_ticket_id": d.trip_ticket_id, "datetime": d.datetime, "unit": d.unit,
        "store_id": d.store_id, "date_created": d.date_created, "created_by": d.created_by,
        "status": d.status.value, "deleted_at": d.deleted_at,
    }


def _dt(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def proposal_from_row(r: Row) -> Proposal:
    body = r["body"]
    moves = tuple(
        Move(
            work_order_id=m["work_order_id"], from_technician_id=m["from_technician_id"],
            to_technician_id=m["to_technician_id"], position=m["position"], eta=_dt(m["eta"]),
            reasons=tuple(m["reasons"]), work_order_version=m["work_order_version"],
        )
        for m in body["moves"]
    )
    unassigned = tuple(Unassigned(**u) for u in body["unassigned"])
    return Proposal(
        id=r["id"], scope=r["scope"], moves=moves, unassigned=unassigned,
        kpis_before=body["kpis_before"], kpis_after=body["kpis_after"],
        created_at=r["created_at"], created_by=r["created_by"], expires_at=r["expires_at"],
        store_ids=frozenset(r["store_ids"]), status=ProposalStatus(r["status"]),
        confirmed_moves=tuple(body.get("confirmed_moves", ())),
        status_reason=r["status_reason"], version=r["version"],
    )


def proposal_to_row(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id, "scope": p.scope, "status": p.status.value, "status_reason": p.status_reason,
        "body": {
            "moves": [m.as_dict() for m in p.moves],
            "unassigned": [u.as_dict() for u in p.unassigned],
            "kpis_before": p.kpis_before, "kpis_after": p.kpis_after,
            "confirmed_moves": list(p.confirmed_moves),
        },
        "store_ids": sorted(p.store_ids), "created_at": p.created_at,
        "created_by": p.created_by, "expires_at": p.expires_at,
    }


def user_from_row(r: Row) -> User:
    return User(
        id=r["id"], username=r["username"], password_hash=r["password_hash"],
        roles=frozenset(Role(x) for x in r["roles"]), store_ids=frozenset(r["store_ids"]),
        technician_id=r["technician_id"], display_name=r["display_name"], active=r["active"],
        phone=r["phone"], token_version=r["token_version"], version=r["version"],
    )


def user_to_row(u: User) -> dict[str, Any]:
    return {
        "id": u.id, "username": u.username, "password_hash": u.password_hash,
        "roles": sorted(r.value for r in u.roles), "store_ids": sorted(u.store_ids),
        "technician_id": u.technician_id, "display_name": u.display_name, "active": u.active,
        "phone": u.phone, "token_version": u.token_version,
    }
