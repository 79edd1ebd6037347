"""Domain errors: small exception classes that carry the data a caller needs to explain them."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a rule of the business was broken. ``code`` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class ValidationFailed(DomainError):
    """A value is malformed or out of range (a meaning check, after syntax checks at the edge)."""

    code = "validation_failed"


class InvalidTransition(DomainError):
    """A state machine was asked for a move its table does not allow."""

    code = "invalid_transition"

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(
            f"{entity} cannot go from {current!r} to {target!r}",
            entity=entity,
            current=current,
            target=target,
        )


class RuleViolation(DomainError):
    """A business rule refused the change (e.g. completing a dispatch without an invoice)."""

    code = "rule_violation"


class NotFound(DomainError):
    """The entity does not exist, or is outside the caller's scope (existence must not leak)."""

    code = "not_found"

    def __init__(self, entity: str, entity_id: str) -> None:
        super().__init__(f"{entity} {entity_id} not found", entity=entity, id=entity_id)


class Conflict(DomainError):
    """The change collides with the current state: a uniqueness rule, a record already taken or
    full, or a concurrent edit. Always HTTP 409, with the same ``code`` whether a use case sees
    it or a database constraint catches a race."""

    code = "conflict"


class ConcurrencyConflict(Conflict):
    """Optimistic locking lost: someone else changed the entity since it was read."""

    code = "concurrent_modification"


class StaleVersion(Conflict):
    """The client acted on a version it saw that is no longer current."""

    code = "stale_version"


class PermissionDenied(DomainError):
    """The caller's roles do not allow the action."""

    code = "forbidden"


class Unavailable(DomainError):
    """What the change needs is busy or out of reach right now (a full queue, a solver that
    did not answer); the same request may pass later, after ``retry_after`` seconds if given."""

    code = "unavailable"

    def __init__(self, message: str, *, code: str | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
