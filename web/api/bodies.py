"""Request bodies read with a cap, so no body larger than its limit is ever held in memory.

A body is refused (413) by its declared ``Content-Length`` before a byte of it is read, and
otherwise (chunked, or a length that lies) as soon as the bytes streamed in pass the limit: the
rest is never read, and the server closes the connection after the answer. Every reader of a
request body in the API goes through `read_capped`: the JSON bodies of every endpoint, the
order-intake webhook and proof-of-work uploads.
"""

from __future__ import annotations

from starlette.requests import Request

from web.api.problems import ApiError

#: The largest JSON body any endpoint (and the intake webhook) accepts, in bytes.
MAX_BODY = 1_000_000
#: A Content-Length with more digits than this is larger than any limit (and than ``int()``
#: converts cheaply): refused without parsing it.
_MAX_DIGITS = 18


async def read_capped(request: Request, limit: int, *, what: str = "the body") -> bytes:
    """The whole body, or 413 ``too_large`` as soon as it is known to pass ``limit`` bytes.

    Later ``request.body()`` calls answer the same bytes (Starlette keeps them in ``_body``),
    so code that reads the body again (idempotency keys hash it) never reads it unbounded.
    """
    cached: bytes | None = getattr(request, "_body", None)
    if cached is not None:
        if len(cached) > limit:
            raise _too_large(what, limit)
        return cached
    declared = request.headers.get("content-length")
    if declared is not None:
        declared = declared.strip()
        if not declared.isdigit():
            raise ApiError(400, "Content-Length must be a number", code="bad_content_length")
        if len(declared) > _MAX_DIGITS or int(declared) > limit:
            raise _too_large(what, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(what, limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # what Request.body() itself keeps, so a second read is the same bytes
    return body


def _too_large(what: str, limit: int) -> ApiError:
    return ApiError(413, f"{what} is limited to {limit} bytes", code="too_large", limit=limit)
