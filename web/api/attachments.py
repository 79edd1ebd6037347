"""Proof-of-work uploads: photos and signatures of a work order, addressed by their SHA-256.

``PUT /api/work-orders/{id}/attachments/sha256-<hex>`` takes the raw bytes of a JPEG, PNG or WebP
image. The server hashes what arrives and refuses a mismatch, checks the type by the file's magic
bytes, and stops reading at the size limit. The same bytes again answer 200 with the stored
attachment (201 the first time), so a phone may retry an upload as often as it needs to. A
completion's proof then names the files as ``attachment:sha256-<hex>``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.attachments import (
    IMAGE_TYPES,
    Owner,
    check_may_attach,
    image_type,
    is_sha256,
    visible_owner,
)
from domain.errors import NotFound
from domain.roles import Permission
from domain.services.attachments import attach_file
from storage.attachments import (
    SqlAttachmentStore,
    list_attachments,
    read_attachment,
    work_order_owner,
)
from storage.engine import read_connection
from web.api.attachment_schemas import AttachmentList, AttachmentOut
from web.api.bodies import read_capped
from web.api.framework import AnyCall, Api, NoInput
from web.api.problems import ApiError

api = Api()
TAG = "work orders"
#: Bytes under a hash never change; a browser may keep them (for its user only) this long.
CACHE_SECONDS = 86_400
_PATH = "/api/work-orders/{id}/attachments"
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _digest(call: AnyCall, *, refuse: int) -> str:
    value = call.path["digest"]
    if is_sha256(value):
        return value
    if refuse == 404:
        raise ApiError(404, "no such attachment", code="not_found")
    raise ApiError(422, "name the attachment sha256-<the 64 lowercase hex digits of its SHA-256>",
                   code="bad_attachment_name")


async def _owner(call: AnyCall, work_order_id: str) -> Owner:
    async with read_connection(call.runtime.engine) as conn:
        owner = await work_order_owner(conn, work_order_id)
    return visible_owner(call.principal, work_order_id, owner)


def _media_type(request: Request) -> str:
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in IMAGE_TYPES:
        raise ApiError(415, f"send the image as one of {', '.join(IMAGE_TYPES)}",
                       code="unsupported_media_type")
    return declared


async def read_limited(request: Request, limit: int) -> tuple[bytes, str]:
    """The body and its SHA-256, refused (413) as soon as it passes ``limit`` bytes."""
    data = await read_capped(request, limit, what="an attachment")
    return data, hashlib.sha256(data).hexdigest()


@api.route("PUT", _PATH + "/sha256-{digest}", summary="Upload a proof-of-work image", tag=TAG,
           response=AttachmentOut, status=201, errors=(403, 404, 409, 413, 415, 422),
           raw_body=IMAGE_TYPES,
           permissions=(Permission.WORK_ORDER_WORK, Permission.WORK_ORDER_EDIT),
           responses={200: {"description": "These bytes were uploaded before (nothing changed)",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/AttachmentOut"}}}}})
async def upload_attachment(call: NoInput) -> Response:
    """The body is the image itself (JPEG, PNG or WebP, as ``Content-Type`` says and its bytes
    show), named by the hex SHA-256 of those bytes. Only the work order's technician, or someone
    who may edit work orders, uploads. 201 the first time, 200 when the same bytes are there
    already; 422 when the bytes do not hash to the name, 415 when they are not the image type
    sent, 413 past the size limit (``ATTACHMENT_MAX_BYTES``)."""
    work_order_id = call.path_id("work order")
    digest = _digest(call, refuse=422)
    _store_id, technician_id = await _owner(call, work_order_id)
    check_may_attach(call.principal, technician_id)  # before a byte of the body is read
    declared = _media_type(call.request)
    data, actual = await read_limited(call.request, call.runtime.settings.attachment_max_bytes)
    if actual != digest:
        raise ApiError(422, f"the body's SHA-256 is {actual}, not the {digest} it is named by",
                       code="hash_mismatch", sha256=actual)
    found = image_type(data)
    if found != declared:
        what = f"a {found} image" if found else "not a JPEG, PNG or WebP image"
        raise ApiError(415, f"the body is {what}, but was sent as {declared}",
                       code="unsupported_media_type")
    uow = call.uow()
    created = await attach_file(uow, call.context(), SqlAttachmentStore(uow),
                                work_order_id=work_order_id, sha256=digest, content_type=declared,
                                data=data)
    async with read_connection(call.runtime.engine) as conn:
        stored = await read_attachment(conn, work_order_id, digest)
    if stored is None:  # cannot happen: nothing deletes attachments
        raise NotFound("attachment", digest)
    body = AttachmentOut.model_validate(stored[0]).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200,
                        headers={"Location": f"/api/work-orders/{work_order_id}/attachments/"
                                             f"sha256-{digest}"})


@api.route("GET", _PATH + "/sha256-{digest}", summary="A proof-of-work image", tag=TAG,
           errors=(403, 404),
           permissions=(Permission.WORK_ORDER_VIEW,),
           responses={200: {"description": "The image; ETag is its SHA-256",
                            "content": dict.fromkeys(IMAGE_TYPES, _BINARY)},
                      304: {"description": "Not modified (If-None-Match named this hash)"}})
async def get_attachment(call: NoInput) -> Response:
    """For anyone who may see the work order. The bytes never change, so the answer may be kept
    by the caller's browser (``Cache-Control: private``) and revalidated by ``ETag``."""
    work_order_id = call.path_id("work order")
    digest = _digest(call, refuse=404)
    await _owner(call, work_order_id)
    async with read_connection(call.runtime.engine) as conn:
        stored = await read_attachment(conn, work_order_id, digest)
    if stored is None:
        raise ApiError(404, f"work order {work_order_id} has no attachment sha256-{digest}",
                       code="not_found")
    info, data = stored
    etag = f'"{digest}"'
    headers = {"ETag": etag, "Cache-Control": f"private, max-age={CACHE_SECONDS}",
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
    seen = [tag.strip().removeprefix("W/") for tag in
            call.request.headers.get("if-none-match", "").split(",")]
    if etag in seen:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=info["content_type"], headers=headers)


@api.route("GET", _PATH, summary="A work order's proof-of-work files", tag=TAG,
           response=AttachmentList, errors=(403, 404),
           permissions=(Permission.WORK_ORDER_VIEW,))
async def list_work_order_attachments(call: NoInput) -> dict[str, Any]:
    """Oldest first, without the bytes (``GET`` each by its hash)."""
    work_order_id = call.path_id("work order")
    await _owner(call, work_order_id)
    async with read_connection(call.runtime.engine) as conn:
        return {"items": await list_attachments(conn, work_order_id)}
