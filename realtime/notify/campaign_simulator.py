"""The voice half of the Genesys Cloud simulator: an agentless Outbound campaign's contact list,
its calls, and the data actions that call the app back.

``add`` takes ``POST /api/v2/outbound/contactlists/{id}/contacts`` as Genesys does (a list of
``{contactListId, data, callable}``, ``data`` a map of strings with the phone column) and
answers the contacts created; each becomes a call the campaign dials. A test then decides how
the call goes: ``press(contact, "1")`` is a live answer whose flow collected that digit (an empty
digit: the input timed out) and ran the keypress data action, which POSTs the rendered request
(``realtime/notify/data_actions.py``) to the app; ``no_answer(contact)`` is a machine, busy or
no-answer outcome that hangs up without a flow, so nothing calls back. ``text_back`` is a reply
to a text, forwarded by the inbound message flow's data action.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from domain.alert_delivery import normalize_phone
from realtime.notify.data_actions import KEYPRESS, SMS_REPLY, render

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class Contact:
    id: str
    contact_list_id: str
    data: dict[str, str]
    priority: bool
    conversation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: queued (dialled, no outcome yet), answered (a key was collected or not), no_answer
    outcome: str = "queued"
    digit: str | None = None

    def dialer_contact(self) -> dict[str, Any]:
        """The contact as the API answers it (``DialerContact``)."""
        return {"id": self.id, "contactListId": self.contact_list_id, "data": self.data,
                "callable": True, "phoneNumberStatus": {"phone": {"callable": True}},
                "selfUri": f"/api/v2/outbound/contactlists/{self.contact_list_id}/contacts/"
                           f"{self.id}"}


class OutboundCampaign:
    def __init__(self, contact_list_id: str, *, phone_column: str = "phone",
                 callback_url: str = "", secret: str = "") -> None:
        self.contact_list_id = contact_list_id
        self.phone_column = phone_column
        #: Where the data actions POST (the app's base URL) and the credential they send.
        self.callback_url = callback_url
        self.secret = secret
        self.contacts: list[Contact] = []
        self.callbacks: list[tuple[str, int, Any]] = []  # (path, status, answer)

    def add(self, list_id: str, body: Any, priority: bool) -> Reply:
        if list_id != self.contact_list_id:
            return 404, {"message": f"contact list {list_id} not found", "code": "not.found"}, {}
        if not isinstance(body, list) or not body:
            return 400, {"message": "the body must be a non-empty list of contacts",
                         "code": "bad.request"}, {}
        added = []
        for item in body:
            problem = self._invalid(list_id, item)
            if problem:
                return 400, {"message": problem, "code": "bad.request"}, {}
            added.append(Contact(str(uuid.uuid4()), list_id, dict(item["data"]), priority))
        self.contacts += added
        return 200, [c.dialer_contact() for c in added], {}

    def _invalid(self, list_id: str, item: Any) -> str:
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            return "each contact needs its data"
        if item.get("contactListId") not in (None, list_id):
            return "contactListId does not match the list"
        data = item["data"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            return "contact data maps column names to strings"
        if normalize_phone(data.get(self.phone_column, "")) is None:
            return f"the {self.phone_column} column must hold a phone number"
        return ""

    def calls_to(self, number: str) -> list[Contact]:
        return [c for c in self.contacts if c.data.get(self.phone_column) == number]

    def _contact(self, contact: Contact | int) -> Contact:
        return self.contacts[contact] if isinstance(contact, int) else contact

    async def press(self, contact: Contact | int, digit: str) -> httpx.Response:
        """A live answer: the flow read the alert, collected ``digit`` ("" when the input timed
        out) and ran the keypress data action."""
        call = self._contact(contact)
        call.outcome, call.digit = "answered", digit
        inputs = {"alertId": call.data.get("alertId", ""),
                  "deliveryId": call.data.get("deliveryId", ""),
                  "callToken": call.data.get("callToken", ""),
                  "conversationId": call.conversation_id, "digit": digit}
        return await self._run(KEYPRESS, inputs)

    def no_answer(self, contact: Contact | int) -> None:
        """Machine, busy, no answer: the call analysis response hangs up; no flow runs."""
        self._contact(contact).outcome = "no_answer"

    async def text_back(self, sender: str, to: str, text: str) -> httpx.Response:
        """A reply to a text, forwarded by the inbound message flow's data action."""
        return await self._run(SMS_REPLY, {"conversationId": str(uuid.uuid4()),
                                           "messageId": uuid.uuid4().hex, "from": sender,
                                           "to": to, "text": text})

    async def _run(self, action: dict[str, Any], inputs: dict[str, str]) -> httpx.Response:
        path, headers, body = render(action, inputs, {"callbackSecret": self.secret})
        timeout = float(action["config"]["timeoutSeconds"])
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(self.callback_url.rstrip("/") + path, content=body,
                                         headers=headers)
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        self.callbacks.append((path, response.status_code, answer))
        return response
