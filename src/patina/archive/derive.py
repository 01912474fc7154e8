"""Derivatives: run a named pipeline on an item, store the result with its provenance, and reproduce it.

A derivation event records everything needed to make the same bytes again: the pipeline, every
parameter (with 'auto' choices made concrete), the models and their weights' sha256, the seed, the
output format, the environment (device, CPU threads, library versions), the input and output hashes
and the XMP written into the file. The derivative's XMP is built from that record alone, so a
reproduction that computes the same pixels writes the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

import patina
from patina.archive.context import ArchiveContext
from patina.archive.metadata import derivative_xmp, embed_xmp
from patina.archive.queries import ItemRef
from patina.archive.records import EventRecord, ItemRecord
from patina.archive.schema import DERIVATIVE, DUBLIN_CORE_FIELDS, DerivationClaim, Event, Item, as_utc, utcnow
from patina.archive.search import reindex
from patina.archive.store import process_alive, sha256_file
from patina.core.errors import ArchiveError, ParameterError
from patina.imageio import Image, read_image, write_image
from patina.ops.metrics import psnr
from patina.pipelines.recipes import ProgressFn, Recipe, get_recipe
from patina.weights.registry import resolve
from patina.weights.files import card_path

DERIVATION = "derivation"
OUTPUT_FORMATS = {"png": ("png", "image/png"), "tiff": ("tif", "image/tiff"), "jpeg": ("jpg", "image/jpeg"),
                  "webp": ("webp", "image/webp")}


def check_output_format(output_format: str) -> None:
    """ParameterError unless ``output_format`` is one a derivative can be written in."""
    if output_format not in OUTPUT_FORMATS:
        raise ParameterError(f"output format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}")


@dataclass(frozen=True)
class DeriveResult:
    """The derivative, the event that made it, and whether it was made now or found from an earlier run."""

    item: ItemRecord
    event: EventRecord
    reused: bool


@dataclass(frozen=True)
class ReproduceReport:
    """Whether re-running a derivation gave the same bytes; if not, how far apart the pixels are."""

    derivative_id: int
    identical: bool
    recorded_sha256: str
    reproduced_sha256: str
    max_abs_difference: float | None
    psnr: float | None
    notes: list[str]


def derive(
    context: ArchiveContext,
    ref: ItemRef,
    pipeline: str,
    parameters: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    output_format: str = "png",
    quality: int = 95,
    device: str = "cpu",
    again: bool = False,
    on_progress: ProgressFn | None = None,
) -> DeriveResult:
    """Run ``pipeline`` on item ``ref`` and store the output as a derivative of it.

    If the same request (pipeline, parameters, seed, format) was already carried out on this item,
    that derivative is returned (``reused``) unless ``again``: re-running a batch resumes it.
    ``on_progress`` receives the fraction done and may raise to abort (nothing is stored then).
    """
    recipe = get_recipe(pipeline)
    requested = recipe.parameters(parameters)
    check_output_format(output_format)
    with context.session() as session:
        source = context.find(session, ref)
        if source.withdrawn_at is not None:
            raise ParameterError(f"item {source.id} is withdrawn: nothing new is made from it")
        requested.update({name: [context.find(session, r).sha256 for r in _refs(requested[name], name)]
                          for name in recipe.references})
        request = {"pipeline": pipeline, "requested": requested, "seed": int(seed), "format": output_format,
                   "quality": int(quality)}
        if not again and (earlier := _reused(session, source, request)) is not None:
            return earlier
        source_sha, source_name, source_id = source.sha256, source.original_name, source.id
        dc = {name: getattr(source, name) for name in DUBLIN_CORE_FIELDS}
        master_sha, history = _lineage(session, source)

    def make() -> DeriveResult:
        threads = torch.get_num_threads()
        environment = {"device": device, "threads": threads, "torch": torch.__version__,
                       "numpy": np.__version__, "python": platform.python_version(), "machine": platform.machine(),
                       "patina": patina.__version__}
        image, references = _read_source(context, source_sha), _read_references(context, recipe, requested)
        with _deterministic(seed, threads):
            result = recipe.execute(image, dict(requested), device, on_progress, references)
        event_uuid, occurred_at = _new_event_identity()
        step = {"uuid": event_uuid, "when": occurred_at.isoformat().replace("+00:00", "Z"), "pipeline": pipeline,
                "parameters": result.parameters}
        detail = {**request, "parameters": result.parameters, "models": result.models, "environment": environment,
                  "input": {"sha256": source_sha}, "master": {"sha256": master_sha},
                  "xmp": {"dublin_core": dc, "history": [*history, step]}}
        notes = [*result.notes, *([f"the source has {image.source_frames} frames (pages); only the first was used"]
                                  if image.source_frames > 1 else [])]
        if notes:
            detail["notes"] = notes
        if result.findings:
            detail["findings"] = result.findings
        output = _store_output(context, result.image, detail)
        detail["output"] = {"sha256": output[0], "size_bytes": output[1]}

        extension, media_type = OUTPUT_FORMATS[output_format]
        with context.session() as session:
            source = context.find(session, source_sha)
            item = session.scalar(select(Item).where(Item.sha256 == output[0]))
            if item is None:
                name = f"{Path(source_name).stem}.{pipeline}.{extension}"
                item = Item(sha256=output[0], role=DERIVATIVE, parent_id=source.id, size_bytes=output[1],
                            media_type=media_type, extension=extension, width=result.image.width,
                            height=result.image.height, original_name=name, embedded={}, **dc)
                session.add(item)
                session.flush()
            event = context.record(session, DERIVATION, item=source, output=item, detail=detail, event_uuid=event_uuid,
                                   occurred_at=occurred_at)
            session.flush()
            reindex(session, item)
            return DeriveResult(ItemRecord.of(item), EventRecord.of(event), reused=False)

    if again:
        return make()
    with _claimed(context, _request_key(source_sha, request), source_id,
                  lambda: _reused_now(context, source_sha, request)) as done:
        return done if done is not None else make()


def reproduce(context: ArchiveContext, ref: ItemRef, *, device: str | None = None,
              record: bool = True) -> ReproduceReport:
    """Re-run the derivation that made item ``ref`` from the recorded event and compare the bytes.

    The recorded CPU thread count and seed are used again; ``device`` overrides the recorded device
    (results then usually differ in the last bits). Notes explain expected differences (another
    Patina or torch version, changed weights). With ``record`` a 'reproduction' event is added.
    """
    with context.session() as session:
        derivative = context.find(session, ref)
        event = session.scalar(select(Event).where(Event.event_type == DERIVATION,
                                                   Event.output_item_id == derivative.id).order_by(Event.id))
        if event is None:
            raise ArchiveError(f"item {derivative.id} was not made by a pipeline (it is a {derivative.role})")
        detail, recorded_sha = dict(event.detail), derivative.sha256

    notes = _environment_notes(detail)
    environment = detail["environment"]
    recipe = get_recipe(detail["pipeline"])
    image = _read_source(context, detail["input"]["sha256"])
    references = _read_references(context, recipe, detail["parameters"])
    run_device = device or environment["device"]
    with _deterministic(detail["seed"], environment["threads"]):
        result = recipe.execute(image, dict(detail["parameters"]), run_device, None, references)
    temp = _encode(context, result.image, detail)
    try:
        reproduced_sha = sha256_file(temp)
        identical = reproduced_sha == recorded_sha
        max_diff = psnr_value = None
        if not identical:
            max_diff, psnr_value = _pixel_difference(context.store.path(recorded_sha), temp)
    finally:
        temp.unlink(missing_ok=True)
    report = ReproduceReport(derivative_id=derivative.id, identical=identical, recorded_sha256=recorded_sha,
                             reproduced_sha256=reproduced_sha, max_abs_difference=max_diff, psnr=psnr_value,
                             notes=notes)
    if record:
        with context.session() as session:
            item = context.find(session, recorded_sha)
            context.record(session, "reproduction", item=item, outcome="identical" if identical else "different",
                           detail={"derivation": event.uuid, "reproduced_sha256": reproduced_sha, "device": run_device,
                                   "max_abs_difference": max_diff, "psnr": psnr_value, "notes": notes})
    return report


# -- helpers ---------------------------------------------------------------------------------------
CLAIM_POLL = 0.5
"""Seconds between looks at a derivation another process is making."""
CLAIM_STALE = 3600.0
"""A claim older than this (seconds) is taken over whoever made it (a crashed process on another machine)."""


def _request_key(source_sha: str, request: dict[str, Any]) -> str:
    """The identity of a derivation request: its source's sha256 and the request, canonical JSON, hashed."""
    text = json.dumps({"source": source_sha, **request}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _reused(session: Any, source: Item, request: dict[str, Any]) -> DeriveResult | None:
    """The derivative an earlier run of ``request`` made from ``source``, if any (as a reused result)."""
    earlier = _earlier_derivation(session, source, request)
    return None if earlier is None else DeriveResult(ItemRecord.of(earlier[1]), EventRecord.of(earlier[0]),
                                                     reused=True)


def _reused_now(context: ArchiveContext, source_sha: str, request: dict[str, Any]) -> DeriveResult | None:
    """:func:`_reused`, looked up afresh (while another process may be making it)."""
    with context.session() as session:
        return _reused(session, context.find(session, source_sha), request)


@contextlib.contextmanager
def _claimed(context: ArchiveContext, key: str, source_id: int,
             done: Callable[[], DeriveResult | None]) -> Iterator[DeriveResult | None]:
    """Hold the claim on derivation ``key`` while the block makes it (yields None), or, when another process
    holds it, wait and yield what that process made (``done()``). A claim of a dead process on this machine, or
    older than :data:`CLAIM_STALE`, is taken over; a claim released without a result is taken too."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        try:
            with context.session() as session:
                session.add(DerivationClaim(key=key, source_item_id=source_id, owner=owner, claimed_at=utcnow()))
            break
        except IntegrityError:
            if (result := done()) is not None:
                yield result
                return
            with context.session() as session:
                claim = session.get(DerivationClaim, key)
                if claim is not None and _stale(claim):
                    session.delete(claim)
                    continue
            time.sleep(CLAIM_POLL)
    try:
        yield done()  # made by another process between the first look and the claim: reuse it
    finally:
        with context.session() as session:
            session.execute(delete(DerivationClaim).where(DerivationClaim.key == key))


def _stale(claim: DerivationClaim) -> bool:
    host, _, pid = claim.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not process_alive(int(pid)):
        return True
    return (utcnow() - as_utc(claim.claimed_at)).total_seconds() > CLAIM_STALE


def _earlier_derivation(session: Any, source: Item, request: dict[str, Any]) -> tuple[Event, Item] | None:
    events = session.scalars(select(Event).where(Event.event_type == DERIVATION, Event.item_id == source.id))
    for event in events:
        detail = event.detail or {}
        if all(detail.get(key) == value for key, value in request.items()) and event.output_item_id is not None:
            return event, session.get(Item, event.output_item_id)
    return None


def _lineage(session: Any, source: Item) -> tuple[str, list[dict[str, Any]]]:
    """The master's sha256 and the derivation steps that led to ``source`` (empty for a master)."""
    if source.parent_id is None:
        return source.sha256, []
    event = session.scalar(select(Event).where(Event.event_type == DERIVATION, Event.output_item_id == source.id)
                           .order_by(Event.id))
    detail = event.detail if event is not None else {}
    return detail.get("master", {}).get("sha256", source.sha256), list(detail.get("xmp", {}).get("history", []))


def _new_event_identity() -> tuple[str, datetime]:
    import uuid

    return str(uuid.uuid4()), utcnow()


def _refs(value: Any, name: str) -> list[Any]:
    """A reference parameter's value as a list of item refs (one ref, a list, or nothing)."""
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return value
    raise ParameterError(f"{name} must name archive items (ids or sha256), one or a list; got {value!r}")


def _read_references(context: ArchiveContext, recipe: Recipe, parameters: dict[str, Any]) -> dict[str, list[Image]]:
    """The images of a recipe's reference parameters (full sha256 lists), checked like the source."""
    return {name: [_read_source(context, sha) for sha in parameters[name]] for name in recipe.references}


def _read_source(context: ArchiveContext, sha256: str) -> Image:
    """Decode a stored object after checking that its bytes still match its hash."""
    path = context.store.path(sha256)
    if not path.is_file():
        raise ArchiveError(f"the source object {sha256} is missing from the store")
    if sha256_file(path) != sha256:
        raise ArchiveError(f"the source object {sha256} has changed on disk; run 'patina archive verify'")
    return read_image(path)


@contextlib.contextmanager
def _deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seed every generator and fix the CPU thread count (results depend on it) for one run."""
    saved_threads = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds what pipelines draw from the global state
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(saved_threads)


def _encode(context: ArchiveContext, image: Image, detail: dict[str, Any]) -> Path:
    """Write ``image`` in the recorded format with the recorded XMP into a temporary file; returns its path."""
    extension = OUTPUT_FORMATS[detail["format"]][0]
    temp = context.store.temp_path(suffix=f".{extension}")
    try:
        write_image(temp, image, quality=detail["quality"])
        xmp = detail["xmp"]
        embed_xmp(temp, derivative_xmp(dublin_core_fields=xmp["dublin_core"], history=xmp["history"],
                                       derived_from=detail["input"]["sha256"], master=detail["master"]["sha256"],
                                       software=f"Patina {detail['environment']['patina']}"))
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _store_output(context: ArchiveContext, image: Image, detail: dict[str, Any]) -> tuple[str, int]:
    temp = _encode(context, image, detail)
    try:
        stored = context.store.add_file(temp)
    finally:
        temp.unlink(missing_ok=True)
    return stored.sha256, stored.size


def _pixel_difference(recorded: Path, reproduced: Path) -> tuple[float | None, float | None]:
    """Largest absolute difference (in 0..1 units) and PSNR between two images of the same size."""
    first, second = read_image(recorded), read_image(reproduced)
    if first.pixels.shape != second.pixels.shape:
        return None, None
    scale = 255.0 if first.pixels.dtype == np.uint8 else 65535.0
    a = torch.from_numpy(first.pixels.astype(np.float32) / scale).permute(2, 0, 1)[None]
    b = torch.from_numpy(second.pixels.astype(np.float32) / scale).permute(2, 0, 1)[None]
    return float((a - b).abs().max()), float(psnr(a, b))


def _environment_notes(detail: dict[str, Any]) -> list[str]:
    """Reasons a reproduction may legitimately differ: other versions, other weights."""
    notes = []
    environment = detail["environment"]
    for name, current in (("patina", patina.__version__), ("torch", torch.__version__)):
        if environment.get(name) != current:
            notes.append(f"recorded with {name} {environment.get(name)}, now {current}")
    for model in detail.get("models", []):
        try:
            from patina.weights.card import ModelCard

            current = ModelCard.read(card_path(resolve(model["name"]))).sha256
        except Exception:  # noqa: BLE001 - a model that is gone is itself the note
            notes.append(f"model {model['name']!r} is no longer available")
            continue
        if current != model["sha256"]:
            notes.append(f"model {model['name']!r} weights changed: "
                         f"recorded {model['sha256'][:12]}, now {current[:12]}")
    return notes
