"""Reader for VRPTW instances in the Solomon text format (Gehring-Homberger uses the same).

Layout: a name line, a ``VEHICLE`` section with ``NUMBER CAPACITY``, then a ``CUSTOMER`` section
with one row per node ``CUST_NO X Y DEMAND READY_TIME DUE_DATE SERVICE_TIME``; node 0 is the depot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class VrptwInstance:
    """A VRPTW instance; index 0 of every tuple is the depot, index k is customer number k."""

    name: str
    fleet_size: int
    capacity: int
    x: tuple[float, ...]
    y: tuple[float, ...]
    demand: tuple[int, ...]
    ready: tuple[int, ...]
    due: tuple[int, ...]
    service: tuple[int, ...]

    @property
    def n_customers(self) -> int:
        return len(self.x) - 1

    def distance(self, i: int, j: int) -> float:
        """Euclidean distance in double precision, as the literature uses (travel time = this)."""
        return math.hypot(self.x[i] - self.x[j], self.y[i] - self.y[j])


class InstanceFormatError(ValueError):
    """The file is not a Solomon-format VRPTW instance."""


def parse_solomon(text: str) -> VrptwInstance:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise InstanceFormatError("empty instance")
    name = lines[0]
    try:
        v_at = next(i for i, line in enumerate(lines) if line.upper().startswith("VEHICLE"))
        fleet_text, cap_text = lines[v_at + 2].split()[:2]
        fleet_size, capacity = int(fleet_text), int(cap_text)
        c_at = next(i for i, line in enumerate(lines) if line.upper().startswith("CUSTOMER"))
    except (StopIteration, ValueError, IndexError) as exc:
        raise InstanceFormatError(f"{name}: missing or malformed VEHICLE/CUSTOMER section") from exc

    rows: list[list[float]] = []
    for line in lines[c_at + 1 :]:
        fields = line.split()
        if not fields[0].lstrip("-").isdigit():
            continue  # the column header line
        if len(fields) < 7:
            raise InstanceFormatError(f"{name}: short customer row {line!r}")
        rows.append([float(f) for f in fields[:7]])
    if not rows or int(rows[0][0]) != 0:
        raise InstanceFormatError(f"{name}: the first node must be the depot, number 0")
    for k, row in enumerate(rows):
        if int(row[0]) != k:
            raise InstanceFormatError(f"{name}: customers must be numbered 0..n in order")
    return VrptwInstance(
        name=name,
        fleet_size=fleet_size,
        capacity=capacity,
        x=tuple(r[1] for r in rows),
        y=tuple(r[2] for r in rows),
        demand=tuple(int(r[3]) for r in rows),
        ready=tuple(int(r[4]) for r in rows),
        due=tuple(int(r[5]) for r in rows),
        service=tuple(int(r[6]) for r in rows),
    )


def read_solomon(path: str | Path) -> VrptwInstance:
    return parse_solomon(Path(path).read_text(encoding="utf-8"))
