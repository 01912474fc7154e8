"""Damage masks a person drew or corrected for a photo: kept as items of role 'mask' whose parent is the photo,
so restore can use one by id (``mask=[id]``), the derivative's provenance names its sha256, and ``reproduce``
gives the same bytes. A mask is never listed among the photographs (the gallery shows masters)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from patina.archive.context import ArchiveContext
from patina.archive.ingest import EXTENSIONS, MEDIA_TYPES
from patina.archive.queries import ItemRef
from patina.archive.records import ItemRecord
from patina.archive.schema import MASK, Item
from patina.core.errors import ParameterError
from patina.imageio import read_image


def add_mask(context: ArchiveContext, photo: ItemRef, path: str | Path) -> ItemRecord:
    """Store the mask image at ``path`` (white = damage, the photo's size) as a mask of ``photo``; the same bytes
    added again give the same item. ParameterError when the sizes differ or the photo is withdrawn."""
    with context.session() as session:
        target = context.find(session, photo)
        if target.withdrawn_at is not None:
            raise ParameterError(f"item {target.id} is withdrawn: nothing new is made from it")
        photo_id, size, stem = target.id, (target.width, target.height), Path(target.original_name).stem
    image = read_image(path)
    if (image.width, image.height) != size:
        raise ParameterError(f"a mask must be the photo's size, {size[0]}x{size[1]}; got {image.width}x{image.height}")
    stored = context.store.add_file(path)
    with context.session() as session:
        item = session.scalar(select(Item).where(Item.sha256 == stored.sha256))
        if item is None:
            item = Item(sha256=stored.sha256, role=MASK, parent_id=photo_id, size_bytes=stored.size,
                        media_type=MEDIA_TYPES.get(image.source_format, "image/png"),
                        extension=EXTENSIONS.get(image.source_format, "png"), width=image.width,
                        height=image.height, original_name=f"{stem}.mask.png", embedded={})
            session.add(item)
            session.flush()
            context.record(session, "creation", item=photo_id, output=item, detail={
                "what": "damage mask", "sha256": stored.sha256, "size_bytes": stored.size})
        return ItemRecord.of(item)


__all__ = ["add_mask"]
