"""Stores, technicians, units (vans) and customers."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.errors import InvalidTransition, ValidationFailed
from domain.geo import Location


def _require_text(value: str, field: str, max_len: int = 200) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed(f"{field} must not be empty", field=field)
    if len(value) > max_len:
        raise ValidationFailed(f"{field} is longer than {max_len} characters", field=field)
    return value


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Local opening hours, the same every day (clock times in the store's zone)."""

    opens: dt.time
    closes: dt.time

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValidationFailed("a store must close after it opens", field="hours")

    def as_dict(self) -> dict[str, str]:
        return {"opens": self.opens.strftime("%H:%M"), "closes": self.closes.strftime("%H:%M")}


class Resource(Aggregate):
    """A store, technician, unit or customer: created, then changed, each change recorded as an
    event whose data holds the whole record (the board applies it as it is)."""

    CREATED: ClassVar[type[ev.Event]]

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, **changes: Any) -> None:
        raise NotImplementedError

    def _changed(self, event_type: type[ev.Event]) -> None:
        raise NotImplementedError

    def record_created(self) -> None:
        """Record that this resource is new (the use case that adds it calls this once)."""
        self.touch()
        self._changed(self.CREATED)


class Store(Resource):
    CREATED = ev.StoreCreated

    def __init__(
        self,
        *,
        code: str,
        name: str,
        location: Location,
        region: str,
        hours: OpeningHours,
        address: str = "",
        timezone: str = "America/Chicago",
        active: bool = True,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        self.id = id or new_id()
        self.code = _require_text(code, "code", 32)
        self.name = _require_text(name, "name")
        self.location = location
        self.region = _require_text(region, "region", 64)
        self.hours = hours
        self.address = address
        self.timezone = timezone
        self.active = active

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "location": self.location.as_dict(),
            "region": self.region,
            "hours": self.hours.as_dict(),
            "address": self.address,
            "timezone": self.timezone,
            "active": self.active,
            "version": self.version,
        }

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            if key in {"code", "name", "region"}:
                value = _require_text(value, key)
            setattr(self, key, value)
        self.touch()
        self._changed(ev.StoreUpdated)

    def _changed(self, event_type: type[ev.Event]) -> None:
        self._record(event_type, store_id=self.id, data={"store": self.snapshot()})


class TechnicianStatus(enum.StrEnum):
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    ON_BREAK = "on_break"
    UNAVAILABLE = "unavailable"


_S = TechnicianStatus
TECHNICIAN_TRANSITIONS: dict[TechnicianStatus, frozenset[TechnicianStatus]] = {
    _S.OFF_DUTY: frozenset({_S.AVAILABLE}),
    _S.AVAILABLE: frozenset({_S.EN_ROUTE, _S.ON_BREAK, _S.UNAVAILABLE, _S.OFF_DUTY}),
    _S.EN_ROUTE: frozenset({_S.ON_SITE, _S.AVAILABLE, _S.UNAVAILABLE}),
    _S.ON_SITE: frozenset({_S.AVAILABLE, _S.EN_ROUTE, _S.UNAVAILABLE}),
    _S.ON_BREAK: frozenset({_S.AVAILABLE, _S.OFF_DUTY, _S.UNAVAILABLE}),
    _S.UNAVAILABLE: frozenset({_S.AVAILABLE, _S.OFF_DUTY}),
}


@dataclass(frozen=True, slots=True)
class Shift:
    """Today's working hours as instants (UTC)."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationFailed("a shift must end after it starts", field="shift")

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


class Technician(Resource):
    CREATED = ev.TechnicianCreated

    def __init__(
        self,
        *,
        name: str,
        home_store_id: str,
        skills: frozenset[str] = frozenset(),
        shift: Shift | None = None,
        status: TechnicianStatus = TechnicianStatus.OFF_DUTY,
        unit_id: str | None = None,
        phone: str = "",
        active: bool = True,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        self.id = id or new_id()
        self.name = _require_text(name, "name")
        self.home_store_id = home_store_id
        self.skills = frozenset(s.strip().lower() for s in skills if s.strip())
        self.shift = shift
        self.status = status
        self.unit_id = unit_id
        self.phone = phone
        self.active = active

    def change_status(self, target: TechnicianStatus, *, reason: str = "") -> None:
        if target == self.status:
            return
        if target not in TECHNICIAN_TRANSITIONS[self.status]:
            raise InvalidTransition("technician", self.status.value, target.value)
        previous = self.status
        self.status = target
        self.touch()
        self._record(
            ev.TechnicianStatusChanged,
            store_id=self.home_store_id,
            technician_id=self.id,
            data={"previous": previous.value, "reason": reason, "technician": self.snapshot()},
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "home_store_id": self.home_store_id,
            "skills": sorted(self.skills),
            "shift": self.shift.as_dict() if self.shift else None,
            "status": self.status.value,
            "unit_id": self.unit_id,
            "phone": self.phone,
            "active": self.active,
            "version": self.version,
        }

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            if key == "skills":
                value = frozenset(s.strip().lower() for s in value if s.strip())
            elif key == "name":
                value = _require_text(value, key)
            setattr(self, key, value)
        self.touch()
        self._changed(ev.TechnicianUpdated)

    def _changed(self, event_type: type[ev.Event]) -> None:
        self._record(event_type, store_id=self.home_store_id, technician_id=self.id,
                     data={"technician": self.snapshot()})


class Unit(Resource):
    """A vehicle (van), usually tracked by a GeoTab device."""

    CREATED = ev.UnitCreated

    def __init__(
        self,
        *,
        name: str,
        home_store_id: str,
        geotab_device_id: str | None = None,
        plate: str = "",
        model: str = "",
        in_service: bool = True,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        self.id = id or new_id()
        self.name = _require_text(name, "name", 64)
        self.home_store_id = home_store_id
        self.geotab_device_id = geotab_device_id
        self.plate = plate
        self.model = model
        self.in_service = in_service

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "home_store_id": self.home_store_id,
            "geotab_device_id": self.geotab_device_id,
            "plate": self.plate,
            "model": self.model,
            "in_service": self.in_service,
            "version": self.version,
        }

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            if key == "name":
                value = _require_text(value, key, 64)
            setattr(self, key, value)
        self.touch()
        self._changed(ev.UnitUpdated)

    def _changed(self, event_type: type[ev.Event]) -> None:
        self._record(event_type, store_id=self.home_store_id, data={"unit": self.snapshot()})


class Customer(Resource):
    CREATED = ev.CustomerCreated

    def __init__(
        self,
        *,
        name: str,
        phone: str = "",
        email: str = "",
        address: str = "",
        location: Location | None = None,
        sms_opt_in: bool = False,
        home_store_id: str | None = None,
        active: bool = True,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        self.id = id or new_id()
        self.name = _require_text(name, "name")
        self.phone = phone
        self.email = email
        self.address = address
        self.location = location
        self.sms_opt_in = sms_opt_in
        self.home_store_id = home_store_id
        self.active = active

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "phone": self.phone,
            "email": self.email,
            "address": self.address,
            "location": self.location.as_dict() if self.location else None,
            "sms_opt_in": self.sms_opt_in,
            "home_store_id": self.home_store_id,
            "active": self.active,
            "version": self.version,
        }

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            if key == "name":
                value = _require_text(value, key)
            setattr(self, key, value)
        self.touch()
        self._changed(ev.CustomerUpdated)

    def _changed(self, event_type: type[ev.Event]) -> None:
        self._record(event_type, store_id=self.home_store_id,
                     data={"customer": self.snapshot()})
