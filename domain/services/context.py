"""What every use case is told about the call: who acts, when, under which policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from domain.dispatch import DispatchPolicy
from domain.errors import NotFound, StaleVersion
from domain.roles import Principal


@dataclass(frozen=True, slots=True)
class Context:
    principal: Principal
    now: dt.datetime
    dispatch_policy: DispatchPolicy = field(default_factory=DispatchPolicy)


def check_version(entity: str, entity_id: str, current: int, expected: int | None,
                  state: dict[str, Any]) -> None:
    """Refuse a change made on a version the client saw that is no longer current."""
    if expected is not None and expected != current:
        raise StaleVersion(
            f"{entity} {entity_id} changed since version {expected} (now version {current})",
            expected_version=expected,
            current_version=current,
            current=state,
        )


def in_scope_or_404(ctx: Context, entity: str, entity_id: str, store_id: str | None) -> None:
    """Outside the caller's stores a resource does not exist, so its existence does not leak."""
    if not ctx.principal.sees_store(store_id):
        raise NotFound(entity, entity_id)
