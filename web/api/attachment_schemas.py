"""Request and response models of the attachment endpoints (``attachments.py``)."""

from __future__ import annotations

from pydantic import BaseModel


class AttachmentOut(BaseModel):
    sha256: str
    ref: str
    content_type: str
    size: int
    uploaded_by: str
    uploaded_at: str


class AttachmentList(BaseModel):
    items: list[AttachmentOut]
