"""Request and response models of the customer-tracking endpoint (``tracking.py``)."""

from __future__ import annotations

from pydantic import Field

from web.api.schemas import Out


class TrackOut(Out):
    status: str
    status_text: str
    technician: str | None
    eta: str | None
    eta_text: str | None
    window_text: str
    destination: dict[str, float]
    van: dict[str, float] | None
    updated_at: str
    expires_at: str
    poll_seconds: float
    messages: list[dict[str, str]] = Field(
        description="What the customer was told, newest first: kind, text, at, at_text; "
                    "kind ``note`` is a customer-visible comment")
