"""Proof-of-work files (photos, signatures) of a work order: what may be attached, by whom, how
many, and how a completion's proof names them.

A file is named by the SHA-256 of its bytes (64 lowercase hex digits), so the same bytes sent
again are the same file; it is one of `IMAGE_TYPES`, told by its bytes, not by what the sender
says; a work order holds at most `MAX_PER_WORK_ORDER`. A proof refers to a file of the same work
order as ``attachment:sha256-<hex>``.
"""

from __future__ import annotations

from domain.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from domain.roles import Permission, Principal
from domain.work_orders import ProofOfWork

#: The kinds of file a work order keeps.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
#: Files one work order may hold (a proof names at most 21).
MAX_PER_WORK_ORDER = 60
#: A proof's reference to a file uploaded for the same work order (``attachment:sha256-<hex>``).
ATTACHMENT_REF = "attachment:sha256-"
_HEX = frozenset("0123456789abcdef")

#: The owner of a work order's files: its store and its technician (if any).
Owner = tuple[str, str | None]


def is_sha256(name: str) -> bool:
    """Whether ``name`` can be a file's name: the 64 lowercase hex digits of a SHA-256."""
    return len(name) == 64 and set(name) <= _HEX


def image_type(data: bytes) -> str | None:
    """The image type the bytes are, by their magic numbers (None: not a kind we keep)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def visible_owner(p: Principal, work_order_id: str, owner: Owner | None) -> Owner:
    """The work order's owner when ``p`` sees it (their stores; a technician only the jobs
    assigned to them), else ``NotFound``: another's work order does not exist for them."""
    if owner is None:
        raise NotFound("work order", work_order_id)
    store_id, technician_id = owner
    mine = technician_id is not None and technician_id == p.technician_id
    if not p.sees_store(store_id) or (p.is_technician_only and not mine):
        raise NotFound("work order", work_order_id)
    return owner


def check_may_attach(p: Principal, technician_id: str | None) -> None:
    """Files are added by the work order's technician, or by someone who may edit work orders."""
    if p.can(Permission.WORK_ORDER_EDIT):
        return
    if p.can(Permission.WORK_ORDER_WORK) and technician_id and technician_id == p.technician_id:
        return
    raise PermissionDenied(f"{p.username} may not add files to this work order (only its "
                           "technician, or someone who may edit work orders)")


def check_room(work_order_id: str, held: int, already_there: bool) -> None:
    """A full work order takes no new file (the same bytes again are not new)."""
    if held >= MAX_PER_WORK_ORDER and not already_there:
        raise Conflict(f"work order {work_order_id} holds {MAX_PER_WORK_ORDER} attachments, "
                       "the most it may", code="too_many_attachments")


def attachment_hashes(proof: ProofOfWork | None) -> list[str]:
    """The hashes of the attachments a proof names, once each, in order; a malformed one is refused.

    Other references (``device:...`` from phones that queued a completion before uploads existed)
    name files that stayed on the phone and are kept as they are."""
    if proof is None:
        return []
    refs = ([proof.signature_ref] if proof.signature_ref else []) + list(proof.photo_refs)
    hashes: list[str] = []
    for ref in refs:
        if not ref.startswith("attachment:"):
            continue
        digest = ref.removeprefix(ATTACHMENT_REF)
        if not ref.startswith(ATTACHMENT_REF) or not is_sha256(digest):
            raise RuleViolation(f"{ref[:90]!r} is not of the form attachment:sha256-<64 hex digits>",
                                field="proof", code="bad_attachment_ref")
        if digest not in hashes:
            hashes.append(digest)
    return hashes
