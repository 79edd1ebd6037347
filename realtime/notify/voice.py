"""Genesys Cloud voice calls with a keypress: a contact row added to an agentless campaign's list.

No public Genesys API starts a call straight into an Architect flow. The documented way
(Genesys's automated-callback blueprint) is an **agentless, always-running Outbound campaign**
whose call analysis response sends a live answer to an **outbound call flow**; adding a contact
to the campaign's contact list makes it dial the contact at once:

    POST {api}/api/v2/outbound/contactlists/{contactListId}/contacts?priority=true
    Authorization: Bearer <token>            (permission outbound:contact:add)
    [{"contactListId": "<id>", "callable": true,
      "data": {"phone": "+1...", "alertText": "...", "alertId": "...", "deliveryId": "...",
               "callToken": "...", "level": "2"}}]

answered with the contacts created (each with its ``id``: our ``provider_id``). The flow reads
``Call.Contact.alertText`` with text to speech, collects one digit (Collect Input: 1 to
acknowledge, 2 to pass it on) and runs a web services data action that POSTs
``{alertId, deliveryId, callToken, conversationId, digit}`` to ``/api/voice/keypress`` with the
shared secret header (``web/api/alert_callbacks.py``). Machine, busy, no-answer and fax outcomes
hang up without a callback: the call counts as not acknowledged when its timeout passes.
Shapes and sources: docs/alerts.md, "Voice calls".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from domain.alert_delivery import PendingNotification, normalize_phone
from realtime.notify.base import DeliveryFailed, SendReceipt
from realtime.notify.genesys import GenesysApi

CONTACTS_PATH = "/api/v2/outbound/contactlists/{id}/contacts"
#: The contact list's columns the flow reads (``Call.Contact.<column>``); every value a string.
COLUMNS = ("phone", "alertText", "alertId", "deliveryId", "callToken", "level")


def contact_row(item: PendingNotification, phone: str) -> dict[str, str]:
    return {"phone": phone, "alertText": item.text(), "alertId": str(item.alert.get("id", "")),
            "deliveryId": item.id, "callToken": item.call_token or "", "level": str(item.level)}


class GenesysVoiceCaller:
    """The ``voice`` channel: one contact row per call (``deliver``)."""

    name = "voice"

    def __init__(self, api: GenesysApi, contact_list_id: str) -> None:
        self.api = api
        self.contact_list_id = contact_list_id

    async def deliver(self, item: PendingNotification) -> SendReceipt:
        phone = normalize_phone(item.recipient)
        if phone is None:
            raise DeliveryFailed(f"{item.recipient!r} is not an E.164 phone number",
                                 permanent=True)
        if not item.call_token:
            raise DeliveryFailed("a call needs its token", permanent=True)
        body = [{"contactListId": self.contact_list_id, "callable": True,
                 "data": contact_row(item, phone)}]
        response = await self.api.post(
            CONTACTS_PATH.format(id=quote(self.contact_list_id, safe="")), body, what="call",
            params={"priority": "true", "clearSystemData": "false", "doNotQueue": "false"})
        return SendReceipt(provider_id=_contact_id(response.json()), channel=self.name)

    async def aclose(self) -> None:
        await self.api.aclose()


def _contact_id(answer: Any) -> str:
    """The id of the contact created (the answer is the list of contacts added)."""
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        return str(answer[0].get("id") or "")
    return ""
