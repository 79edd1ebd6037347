"""Use case: keep a proof-of-work file of a work order (``domain/attachments.py`` says what may
be attached, by whom and how many)."""

from __future__ import annotations

from domain.attachments import check_may_attach, check_room, visible_owner
from domain.ports import AttachmentStore, UnitOfWork
from domain.services.context import Context


async def attach_file(uow: UnitOfWork, ctx: Context, files: AttachmentStore, *,
                      work_order_id: str, sha256: str, content_type: str, data: bytes) -> bool:
    """Keep ``data`` as a file of the work order, audited: True when it is added now, False
    when the work order held these bytes already (a retried upload). The edge has checked that
    the bytes hash to ``sha256`` and are the image ``content_type`` says (``image_type``)."""
    p = ctx.principal
    async with uow:
        _, technician_id = visible_owner(p, work_order_id, await files.owner(work_order_id))
        check_may_attach(p, technician_id)
        check_room(work_order_id, await files.count(work_order_id),
                   bool(await files.present(work_order_id, [sha256])))
        created = await files.add(work_order_id=work_order_id, sha256=sha256,
                                  content_type=content_type, data=data, uploaded_by=p.user_id,
                                  at=ctx.now)
        uow.audit(action="work_order.attachment", entity_type="work_order",
                  entity_id=work_order_id, before=None,
                  after={"sha256": sha256, "size": len(data), "content_type": content_type,
                         "created": created})
        await uow.commit()
    return created
