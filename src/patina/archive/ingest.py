"""Importing masters: files and nested folders, deduplicated by SHA-256, with names, folders and
embedded metadata recorded.

Each file is copied into the store first (complete or not at all), checked to be a readable image,
and then catalogued in one transaction (item, origin, ingestion event, search index). A process
killed at any point leaves either a catalogued file or an uncatalogued store object that the next
import of the same file adopts; running the same import again resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from patina.archive.context import ArchiveContext
from patina.archive.metadata import dublin_core, read_embedded
from patina.archive.queries import named
from patina.archive.schema import DUBLIN_CORE_FIELDS, MASTER, Collection, Item, ItemOrigin, Tag
from patina.archive.search import reindex
from patina.archive.store import StoredFile, sha256_file
from patina.core.errors import BusyError, ImageReadError, ParameterError, PatinaError
from patina.imageio import DEFAULT_MAX_PIXELS, read_image, scan_images

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff", "WEBP": "image/webp",
               "BMP": "image/bmp", "GIF": "image/gif"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "WEBP": "webp", "BMP": "bmp", "GIF": "gif"}


@dataclass
class ImportReport:
    """What an import did: new items, duplicates (already catalogued) and failures with reasons."""

    imported: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.imported) + len(self.duplicates) + len(self.failed)


def import_paths(
    context: ArchiveContext,
    paths: Sequence[str | Path],
    *,
    collection: str | None = None,
    tags: Sequence[str] = (),
    metadata: dict[str, str] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_file: Callable[[int, int, Path], None] | None = None,
) -> ImportReport:
    """Import image files and folders (recursively) as masters.

    Args:
        collection: add every imported item to this collection (created if new).
        tags: add these tags to every imported item.
        metadata: Dublin Core values that override what the files' own metadata says.
        max_pixels: refuse images with more pixels than this.
        on_file: called as ``on_file(done, total, path)`` after each file.

    A file that is not a readable image, and an input that cannot be used (missing, a symlink loop, a named
    pipe, a name that is not UTF-8), is reported in ``failed`` and the import goes on; source files are only
    ever read.
    """
    overrides = _checked_overrides(metadata)
    scan = scan_images(paths)
    files = scan.found
    report = ImportReport(failed=list(scan.problems))
    for done, (path, relative) in enumerate(files, start=1):
        try:
            folder = relative.parent.as_posix()
            item_id, new = import_file(context, path, name=path.name, origin=str(path.resolve()),
                                       folder="" if folder == "." else folder, collection=collection, tags=tags,
                                       metadata=overrides, max_pixels=max_pixels)
            (report.imported if new else report.duplicates).append(item_id)
        except PatinaError as exc:
            report.failed.append((str(path), str(getattr(exc, "reason", "") or exc)))
        except OSError as exc:
            report.failed.append((str(path), exc.strerror or str(exc)))
        if on_file is not None:
            on_file(done, len(files), path)
    return report


def import_file(context: ArchiveContext, path: Path, *, name: str, origin: str, folder: str = "",
                collection: str | None = None, tags: Sequence[str] = (), metadata: dict[str, str] | None = None,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, bool]:
    """Store and catalogue one file read from ``path``, recorded as ``name`` found at ``origin`` (a path, or
    e.g. 'upload:scan.jpg') in ``folder``. Returns (item id, whether it is new to the catalogue).

    Raises ImageReadError (ImageTooLargeError above ``max_pixels``) for a file that is not a usable image.
    """
    overrides = _checked_overrides(metadata)
    source = _Origin(name=name, path=origin, folder=folder)
    with context.session() as session:  # a file seen before costs one read, no copy
        existing = session.scalar(select(Item).where(Item.sha256 == sha256_file(path)))
        if existing is not None:
            _add_origin(session, existing, source, collection, tags)
            _repair(context, session, existing, path, source)
            return existing.id, False
    stored = context.store.add_file(path)
    facts, described = _describe(context, stored, name, max_pixels)
    try:
        with context.session() as session:
            item = Item(sha256=stored.sha256, role=MASTER, size_bytes=stored.size, original_name=name, **facts,
                        **{field: overrides.get(field, described[field]) for field in DUBLIN_CORE_FIELDS})
            session.add(item)
            session.flush()
            _add_origin(session, item, source, collection, tags)
            context.record(session, "ingestion", item=item, detail={
                "original_path": source.path, "original_folder": source.folder,
                "size_bytes": stored.size, "message_digest_algorithm": "SHA-256", "message_digest": stored.sha256,
                "format": facts["media_type"], "metadata_overrides": overrides,
            })
            return item.id, True
    except IntegrityError:  # another process catalogued the same bytes a moment ago
        with context.session() as session:
            existing = session.scalar(select(Item).where(Item.sha256 == stored.sha256))
            if existing is None:
                raise
            _add_origin(session, existing, source, collection, tags)
            return existing.id, False


def _repair(context: ArchiveContext, session: Any, item: Item, path: Path, source: _Origin) -> None:
    """When the stored copy of ``item`` is missing or damaged, put the same bytes (``path``) back, with a
    'repair' event: importing a good copy mends the archive."""
    state = context.store.condition(item.sha256, item.size_bytes)
    if state != "intact" and context.store.repair(item.sha256, path):
        context.record(session, "repair", item=item, detail={
            "was": state, "from": source.path, "message_digest_algorithm": "SHA-256", "message_digest": item.sha256})


@dataclass(frozen=True)
class _Origin:
    name: str
    path: str
    folder: str


def _checked_overrides(metadata: dict[str, str] | None) -> dict[str, str]:
    overrides = {name: str(value) for name, value in (metadata or {}).items()}
    unknown = sorted(set(overrides) - set(DUBLIN_CORE_FIELDS))
    if unknown:
        raise ParameterError(f"unknown metadata field {', '.join(unknown)}; fields: {', '.join(DUBLIN_CORE_FIELDS)}")
    return overrides


def _describe(context: ArchiveContext, stored: StoredFile, name: str,
              max_pixels: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Image facts (item columns) and the Dublin Core found in a stored object's embedded metadata;
    a file that is not a readable image is removed from the store again."""
    object_path = context.store.path(stored.sha256)
    try:
        image = read_image(object_path, max_pixels=max_pixels)
    except (ImageReadError, BusyError) as exc:
        if not stored.existed:
            object_path.unlink(missing_ok=True)
        if isinstance(exc, BusyError):
            raise
        raise type(exc)(name, exc.reason) from None
    embedded = read_embedded(object_path)
    kind = image.source_format
    facts: dict[str, Any] = {
        "media_type": MEDIA_TYPES.get(kind, f"image/{kind.lower()}"),
        "extension": EXTENSIONS.get(kind, Path(name).suffix.lower().lstrip(".") or "bin"),
        "width": image.width, "height": image.height, "embedded": embedded,
    }
    if image.source_frames > 1:  # kept whole in the store; derivatives are made from its first frame
        embedded["patina:frames"] = image.source_frames
    return facts, dublin_core(embedded)


def _add_origin(session: Any, item: Item, source: _Origin, collection: str | None, tags: Sequence[str]) -> ItemOrigin:
    """Record that ``item`` was found at ``source`` (once per path) and add the collection and tags."""
    origin = next((o for o in item.origins if o.original_path == source.path), None)
    if origin is None:
        origin = ItemOrigin(original_path=source.path, original_folder=source.folder, original_name=source.name)
        item.origins.append(origin)
    if collection:
        group = named(session, Collection, collection)
        if group not in item.collections:
            item.collections.append(group)
    for name in tags:
        tag = named(session, Tag, name)
        if tag not in item.tags:
            item.tags.append(tag)
    session.flush()
    reindex(session, item)
    return origin
