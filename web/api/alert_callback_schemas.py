"""Request and response models of the alert-callback endpoints (``alert_callbacks.py``): a key
pressed on an escalation call, a text replied."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from web.api.schemas import Out


class Lenient(BaseModel):
    """A provider's body: fields we do not read are ignored (its action may send more)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class KeypressIn(Lenient):
    alertId: str = Field(default="", max_length=64)
    deliveryId: str = Field(default="", max_length=64)
    callToken: str = Field(min_length=16, max_length=128)
    conversationId: str = Field(default="", max_length=128)
    digit: str = Field(default="", max_length=16, description="empty: no key before the timeout")


class SmsReplyIn(Lenient):
    conversationId: str = Field(default="", max_length=128)
    messageId: str = Field(default="", max_length=128)
    sender: str = Field(alias="from", max_length=64)
    to: str = Field(default="", max_length=64)
    text: str = Field(max_length=2000)


class CallbackOut(Out):
    accepted: bool
    outcome: str
    say: str
