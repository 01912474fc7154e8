"""Exports: a BagIt bag (files, sha256 + sha512 manifests, metadata JSON/CSV, IIIF manifest), a CSV of
the catalogue, and an IIIF Presentation 3 manifest with each master and its derivatives as choices.

A bag is assembled in a temporary folder beside the destination and renamed into place when it is
complete and valid, so an interrupted export leaves no half bag behind.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import patina
from patina.archive.context import ArchiveContext
from patina.archive.queries import ItemRef, event_records, item_records
from patina.archive.records import ItemRecord
from patina.archive.schema import DUBLIN_CORE_FIELDS, MASTER
from patina.core.errors import ArchiveError
from patina.imageio.write import temporary_name

CSV_COLUMNS = ("id", "role", "parent_id", "sha256", "size_bytes", "media_type", "width", "height",
               "original_name", "created_at", *DUBLIN_CORE_FIELDS, "collections", "tags", "origins")


@dataclass(frozen=True)
class BagReport:
    path: Path
    items: int
    files: int
    bytes: int


def select_items(context: ArchiveContext, *, items: Sequence[ItemRef] | None = None, collection: str | None = None,
                 derivatives: bool = True) -> list[ItemRecord]:
    """The masters asked for (all, some, or one collection's) followed by all their derivatives."""
    with context.session() as session:
        if items:
            chosen = item_records(session, ids=[context.find(session, ref).id for ref in items])
        else:
            chosen = item_records(session, role=MASTER, collection=collection)
        if not derivatives:
            return chosen
        everything = {record.id: record for record in item_records(session)}
    selected = {record.id: record for record in chosen}
    for record in chosen:
        selected.update((i, everything[i]) for i in _descendants(record, everything))
    return sorted(selected.values(), key=lambda record: record.id)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (CSV injection)."""


def spreadsheet_safe(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe (shown as text)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_csv(records: Sequence[ItemRecord], destination: str | Path) -> None:
    """One row per item: identity, file facts, Dublin Core, collections, tags, original paths ('|'-joined);
    text that a spreadsheet would take for a formula is written as text (:func:`spreadsheet_safe`)."""
    destination = Path(destination)
    temp = destination.with_name(temporary_name(destination.name))
    with open(temp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for record in records:
            row = {name: getattr(record, name) for name in CSV_COLUMNS if hasattr(record, name)}
            row.update(record.metadata, created_at=record.created_at.isoformat(),
                       collections="|".join(record.collections), tags="|".join(record.tags),
                       origins="|".join(record.origins))
            writer.writerow({name: spreadsheet_safe(value) for name, value in row.items()})
    os.replace(temp, destination)


def iiif_manifest(records: Sequence[ItemRecord], *, base_url: str, url_of: Callable[[ItemRecord], str],
                  label: str = "Patina archive") -> dict[str, Any]:
    """An IIIF Presentation 3 manifest: one canvas per master, painted with a Choice of the master and
    each of its derivatives (any depth), with the master's Dublin Core as metadata."""
    from iiif_prezi3 import Annotation, AnnotationBody, AnnotationPage, Canvas, Choice, Manifest

    base = base_url.rstrip("/")
    by_id = {record.id: record for record in records}
    manifest = Manifest(id=f"{base}/manifest.json", label={"en": [label]})
    canvases = []
    for master in (record for record in records if record.role == MASTER):
        versions = [master, *(by_id[i] for i in _descendants(master, by_id))]
        bodies = [AnnotationBody(id=url_of(record), type="Image", format=record.media_type, width=record.width,
                                 height=record.height, label={"en": [_version_label(record)]})
                  for record in versions]
        canvas_id = f"{base}/canvas/{master.id}"
        canvas = Canvas(id=canvas_id, label={"en": [master.label]}, width=master.width, height=master.height,
                        metadata=[{"label": {"en": [name]}, "value": {"none": [value]}}
                                  for name, value in master.metadata.items() if value] or None)
        body = bodies[0] if len(bodies) == 1 else Choice(items=bodies)
        annotation = Annotation(id=f"{canvas_id}/painting", motivation="painting", body=body, target=canvas_id)
        canvas.items = [AnnotationPage(id=f"{canvas_id}/page", items=[annotation])]
        canvases.append(canvas)
    manifest.items = canvases
    return json.loads(manifest.json())


def _descendants(record: ItemRecord, by_id: dict[int, ItemRecord]) -> list[int]:
    found: list[int] = []
    for child in record.derivative_ids:
        if child in by_id:
            found.append(child)
            found.extend(_descendants(by_id[child], by_id))
    return found


def _version_label(record: ItemRecord) -> str:
    return "master" if record.role == MASTER else f"derivative {record.id}: {record.original_name}"


def bag_filename(record: ItemRecord) -> str:
    """Where an item goes inside the bag's data/: objects/<master id>/<id>-<role>-<safe original name>."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(record.original_name).stem).strip("._") or "file"
    return f"{record.id:06d}-{record.role}-{stem}.{record.extension}"


def export_bagit(context: ArchiveContext, destination: str | Path, *, items: Sequence[ItemRef] | None = None,
                 collection: str | None = None, derivatives: bool = True, base_url: str | None = None,
                 bag_info: dict[str, str] | None = None) -> BagReport:
    """Write a BagIt bag of the chosen masters and their derivatives, with sha256 and sha512 manifests,
    ``metadata/items.json`` (Dublin Core, origins, provenance events), ``metadata/items.csv`` and an
    IIIF manifest ``metadata/manifest.json`` whose image URLs are ``base_url`` + the file's path in the
    bag (default: the bag's own file:// URL)."""
    import bagit

    destination = Path(destination)
    if destination.exists():
        raise ArchiveError(f"{destination} already exists; choose a new folder for the bag")
    records = select_items(context, items=items, collection=collection, derivatives=derivatives)
    if not records:
        raise ArchiveError("nothing to export: no items match")
    staging = destination.with_name(temporary_name(destination.name))
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "objects").mkdir(parents=True)
    (staging / "metadata").mkdir()
    try:
        paths = {}
        for record in records:
            relative = f"objects/{bag_filename(record)}"
            context.store.copy_to(record.sha256, staging / relative)
            paths[record.id] = f"data/{relative}"
        base = (base_url or destination.resolve().as_uri()).rstrip("/")
        with context.session() as session:
            metadata = [{**record.to_dict(), "path": paths[record.id],
                         "events": [event.to_dict() for event in event_records(session, item_id=record.id)]}
                        for record in records]
        (staging / "metadata" / "items.json").write_text(json.dumps(metadata, indent=2, default=str) + "\n")
        write_csv(records, staging / "metadata" / "items.csv")
        manifest = iiif_manifest(records, base_url=base, url_of=lambda record: f"{base}/{paths[record.id]}",
                                 label=f"Patina archive export ({len(records)} files)")
        (staging / "metadata" / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        info = {"Source-Organization": "", "External-Description": "Photographs exported from a Patina archive",
                "Bag-Software-Agent": f"Patina {patina.__version__} (bagit {bagit.VERSION})", **(bag_info or {})}
        bag = bagit.make_bag(str(staging), {k: v for k, v in info.items() if v}, processes=1,
                             checksums=["sha256", "sha512"])
        bag.validate()
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    total = sum(record.size_bytes for record in records)
    return BagReport(path=destination, items=len(records), files=len(records) + 3, bytes=total)
