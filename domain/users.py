"""User accounts: who may log in, with which roles and store scope."""

from __future__ import annotations

import re
from typing import Any

from domain.aggregate import Aggregate, new_id
from domain.alert_delivery import normalize_phone
from domain.errors import ValidationFailed
from domain.roles import Principal, Role, scope_for

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class User(Aggregate):
    def __init__(
        self,
        *,
        username: str,
        password_hash: str,
        roles: frozenset[Role],
        store_ids: frozenset[str] = frozenset(),
        technician_id: str | None = None,
        display_name: str = "",
        active: bool = True,
        phone: str = "",
        token_version: int = 0,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        username = username.strip().lower()
        if not _USERNAME.match(username):
            raise ValidationFailed(
                "a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'",
                field="username",
            )
        if not roles:
            raise ValidationFailed("a user needs at least one role", field="roles")
        if Role.TECHNICIAN in roles and technician_id is None:
            raise ValidationFailed("a technician user must be linked to a technician",
                                   field="technician_id")
        self.id = id or new_id()
        self.username = username
        self.password_hash = password_hash
        self.roles = roles
        self.store_ids = store_ids
        self.technician_id = technician_id
        self.display_name = display_name or username
        self.active = active
        self.phone = _phone(phone)
        #: Tokens carry the value they were issued at; one issued before the last bump is
        #: refused (roles or stores changed, account deactivated, signed out everywhere).
        self.token_version = token_version

    def principal(self, roles: frozenset[Role] | None = None) -> Principal:
        effective = roles if roles is not None else self.roles
        return Principal(
            user_id=self.id,
            username=self.username,
            roles=effective,
            store_ids=scope_for(effective, self.store_ids),
            technician_id=self.technician_id,
        )

    def set_roles(self, roles: frozenset[Role], store_ids: frozenset[str] | None = None) -> None:
        if not roles:
            raise ValidationFailed("a user needs at least one role", field="roles")
        if roles != self.roles or (store_ids is not None and store_ids != self.store_ids):
            self.token_version += 1  # tokens naming the old roles or stores stop working
        self.roles = roles
        if store_ids is not None:
            self.store_ids = store_ids
        self.touch()

    def deactivate(self) -> None:
        """No more logins, and every token already issued stops working."""
        if self.active:
            self.active = False
            self.token_version += 1
            self.touch()

    def activate(self) -> None:
        if not self.active:
            self.active = True
            self.touch()

    def end_sessions(self) -> None:
        """Sign out everywhere: every token issued so far stops working."""
        self.token_version += 1
        self.touch()

    def set_phone(self, phone: str) -> None:
        """The number escalation texts reach this user at (E.164); empty removes it."""
        self.phone = _phone(phone)
        self.touch()

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "roles": sorted(r.value for r in self.roles),
            "store_ids": sorted(self.store_ids),
            "technician_id": self.technician_id,
            "active": self.active,
            "phone": self.phone,
        }


def _phone(text: str) -> str:
    if not text.strip():
        return ""
    phone = normalize_phone(text)
    if phone is None:
        raise ValidationFailed(f"{text!r} is not a phone number in E.164 form (+15555550123)",
                               field="phone")
    return phone
