"""What every use case is told about the call: who acts, when, under which policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.dispatch import DispatchPolicy
from domain.errors import NotFound, StaleVersion
from domain.ports import Repository, UnitOfWork
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


class Recorded(Protocol):
    """An aggregate as the audit sees it."""

    id: str
    version: int

    def snapshot(self) -> dict[str, Any]: ...


@asynccontextmanager
async def audited_change(uow: UnitOfWork, item: Recorded, *, entity_type: str, action: str,
                         expected_version: int | None = None) -> AsyncIterator[dict[str, Any]]:
    """The one shape of a change to a loaded aggregate: refuse it when the client saw another
    version, let the block change the item (its events are recorded by the item), then write the
    audit row (before and after) and commit. The block gets the state before; when it raises,
    nothing is written."""
    before = item.snapshot()
    check_version(entity_type.replace("_", " "), item.id, item.version, expected_version, before)
    yield before
    uow.audit(action=action, entity_type=entity_type, entity_id=item.id, before=before,
              after=item.snapshot())
    await uow.commit()


async def add_audited(uow: UnitOfWork, repository: Repository[Any], item: Recorded, *,
                      entity_type: str) -> dict[str, Any]:
    """The one shape of a creation: add the new aggregate (its creation event recorded by the
    aggregate), write the audit row (``<entity_type>.create``, nothing before) and commit.
    Answers the record as created."""
    repository.add(item)
    after = item.snapshot()
    uow.audit(action=f"{entity_type}.create", entity_type=entity_type, entity_id=item.id,
              before=None, after=after)
    await uow.commit()
    return after
