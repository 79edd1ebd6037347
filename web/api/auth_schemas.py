"""Request and response models of the login and current-user endpoints (``auth.py``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from web.api.schemas import Strict


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


class MeOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    store_ids: list[str] | None
    technician_id: str | None
    permissions: list[str] = Field(
        description="What the user may do: the permissions of their roles (delegated ones "
                    "included), sorted; the pages show an action only when it is listed")
