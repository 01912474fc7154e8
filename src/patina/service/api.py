"""The REST API under /api: items, uploads, files and renditions, pipelines, jobs. Every route needs the token."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from patina.archive import MASTER, Archive, ItemRecord
from patina.archive.csv_import import CsvPlan
from patina.batch import JobQueue, JobRecord
from patina.core.errors import ArchiveError, ImageReadError, ImageTooLargeError, ItemNotFoundError, ParameterError
from patina.core.options import OptionError
from patina.pipelines.recipes import RECIPES
from patina.service import masks, previews
from patina.service.auth import require_admin, require_token
from patina.service.schemas import (MAX_ID, BatchIn, BulkEdit, ItemDetail, ItemPage, JobIn, MetadataEdit, OptionOut,
                                    PipelineOut, UploadFailure, UploadResult, WithdrawIn)
from patina.service.uploads import safe_name, save_upload

class ErrorOut(BaseModel):
    """An error: ``detail`` is a message, or a list of {loc, msg, ...} naming the fields at fault."""

    detail: Any


IMAGE_FILE: dict[int | str, dict[str, Any]] = {200: {"content": {"image/*": {}}, "description": "The image file."}}
"""How routes that answer with an image file document it."""
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut, "description": text} for code, text in (
    (400, "A body that cannot be parsed."), (401, "Missing or wrong API token."),
    (403, "A cookie-authenticated change without the X-Patina-UI header."),
    (404, "No such item or job."), (413, "The request body, or an image's pixel count, is over the limit."),
    (422, "A bad parameter, named in the detail."), (503, "Busy (too many searches at once): retry later."))}
"""The error answers every route may give, documented once for the OpenAPI document."""

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)], responses=ERRORS)


def archive_of(request: Request) -> Archive:
    return request.app.state.archive


ArchiveDep = Annotated[Archive, Depends(archive_of)]
ItemId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="An item's id.")]
JobId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="A job's id.")]


def _item(archive: Archive, item_id: int) -> ItemRecord:
    try:
        return archive.item(item_id)
    except ItemNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id}") from None


# -- items -----------------------------------------------------------------------------------------
@router.get("/items", response_model=ItemPage)
def list_items(archive: ArchiveDep, q: Annotated[str, Query(max_length=500)] = "", collection: str | None = None,
               tag: str | None = None, role: str | None = "master", limit: Annotated[int, Query(ge=1, le=500)] = 60,
               offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> ItemPage:
    """Items (masters by default), or search results for ``q`` (best first)."""
    if q.strip():  # a bad query is 422, too many searches at once 503 (see app.create_app)
        records = [r for r in archive.search(q, limit=offset + limit) if role is None or r.role == role]
        return ItemPage(items=records[offset:], total=len(records))
    records = archive.items(role=role, collection=collection, tag=tag, limit=limit, offset=offset)
    return ItemPage(items=records, total=archive.count(role=role, collection=collection, tag=tag))


@router.get("/items/{item_id}", response_model=ItemDetail)
def get_item(archive: ArchiveDep, item_id: ItemId) -> ItemDetail:
    record = _item(archive, item_id)
    return ItemDetail(**{f.name: getattr(record, f.name) for f in dataclasses.fields(record)},
                      events=archive.events(item_id))


@router.patch("/items/{item_id}", response_model=ItemRecord)
def edit_item(archive: ArchiveDep, item_id: ItemId, edit: MetadataEdit) -> ItemRecord:
    """Change the description, tags and collections (recorded as a provenance event; the file is untouched)."""
    _item(archive, item_id)
    try:
        return archive.edit(item_id, metadata=edit.metadata, add_tags=edit.add_tags, remove_tags=edit.remove_tags,
                            add_collections=edit.add_collections, remove_collections=edit.remove_collections)
    except ParameterError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/items/bulk-edit", response_model=list[ItemRecord])
def bulk_edit(archive: ArchiveDep, edit: BulkEdit) -> list[ItemRecord]:
    """The same edit of description, tags and collections for every item in ``ids`` and every item the search
    ``q`` finds (each recorded as its own provenance event)."""
    try:
        return archive.edit_many(edit.ids, query=edit.q, limit=edit.limit, metadata=edit.metadata,
                                 add_tags=edit.add_tags, remove_tags=edit.remove_tags,
                                 add_collections=edit.add_collections, remove_collections=edit.remove_collections)
    except ItemNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.post("/items/metadata-csv", response_model=CsvPlan)
def import_metadata_csv(archive: ArchiveDep, file: Annotated[UploadFile, File()],
                        dry_run: Annotated[bool, Form()] = False) -> CsvPlan:
    """Descriptions from a CSV file (a column ``id``, ``original_name`` or ``file``, then Dublin Core fields,
    ``tags``, ``collections``): the changes row by row and the rows left out; nothing changes with ``dry_run``."""
    temp = archive.store.temp_path(suffix=".csv")
    try:
        save_upload(file, temp)
        return archive.import_metadata_csv(temp, dry_run=dry_run)
    except ParameterError as exc:
        raise HTTPException(422, str(exc).replace(str(temp), file.filename or "the file")) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


@router.post("/items/{item_id}/withdraw", response_model=ItemRecord, dependencies=[Depends(require_admin)])
def withdraw_item(archive: ArchiveDep, item_id: ItemId, body: WithdrawIn) -> ItemRecord:
    """Withdraw (deaccession) an item: hidden from listings, search and exports, the file kept (``purge``: a
    derivative's file deleted); a deaccession event records the reason."""
    _item(archive, item_id)
    try:
        return archive.withdraw(item_id, body.reason, purge=body.purge).item
    except ParameterError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/items/{item_id}/derivatives", response_model=list[ItemRecord])
def derivatives(archive: ArchiveDep, item_id: ItemId) -> list[ItemRecord]:
    return archive.items(ids=_item(archive, item_id).derivative_ids)


@router.post("/items", response_model=UploadResult, status_code=status.HTTP_201_CREATED)
def upload(request: Request, archive: ArchiveDep, files: Annotated[list[UploadFile], File()],
           collection: Annotated[str | None, Form()] = None, tags: Annotated[str, Form()] = "") -> UploadResult:
    """Upload photographs as masters (multipart field ``files``, repeatable). Limits: the request body
    (413), each image's pixel count (413). Files that are not images are listed in ``failed``; if none
    could be imported the answer is 422."""
    settings = request.app.state.settings
    tag_list = [t.strip() for t in tags.split(",") if t.strip()]
    new, records, failed, too_large = [], [], [], []
    for file in files:
        name = safe_name(file.filename)
        temp = archive.store.temp_path(suffix=Path(name).suffix.lower()[:10])
        try:
            save_upload(file, temp)
            item_id, is_new = archive.import_file(temp, name=name, origin=f"upload:{name}",
                                                  collection=collection or None, tags=tag_list,
                                                  max_pixels=settings.max_pixels)
            records.append(archive.item(item_id))
            if is_new:
                new.append(item_id)
        except ImageTooLargeError as exc:
            too_large.append(UploadFailure(name=name, reason=exc.reason))
        except (ImageReadError, ParameterError, ArchiveError) as exc:
            failed.append(UploadFailure(name=name, reason=str(getattr(exc, "reason", "") or exc)))
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()
    if not records:
        code = 413 if too_large else 422
        raise HTTPException(code, [f.model_dump() for f in too_large + failed])
    return UploadResult(items=records, new=new, failed=too_large + failed)


@router.get("/items/{item_id}/file", response_class=FileResponse, responses=IMAGE_FILE)
def download(archive: ArchiveDep, item_id: ItemId) -> FileResponse:
    """The stored file itself, byte for byte, under its original name."""
    record = _item(archive, item_id)
    name = Path(record.original_name).stem + "." + record.extension
    return FileResponse(archive.store.path(record.sha256), media_type=record.media_type, filename=name)


@router.get("/items/{item_id}/damage-mask", response_class=FileResponse, responses=IMAGE_FILE)
def damage_mask(archive: ArchiveDep, item_id: ItemId) -> FileResponse:
    """The damage mask restore detects in the item (8-bit gray PNG at its size, white = damage), to review."""
    record = _item(archive, item_id)
    try:
        path = masks.detected_mask(archive, record.sha256)
    except ImageReadError as exc:
        raise HTTPException(422, f"cannot read item {item_id}: {exc.reason}") from None
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/items/{item_id}/masks", response_model=ItemRecord, status_code=status.HTTP_201_CREATED)
def add_mask(archive: ArchiveDep, item_id: ItemId, file: Annotated[UploadFile, File()]) -> ItemRecord:
    """Keep a damage mask drawn for the item (white = damage, its size): an item of role 'mask' to give restore
    as ``mask: [id]``."""
    _item(archive, item_id)
    temp = archive.store.temp_path(suffix=".png")
    try:
        save_upload(file, temp)
        return archive.add_mask(item_id, temp)
    except ImageReadError as exc:
        raise HTTPException(422, f"not a mask image: {exc.reason}") from None
    except ParameterError as exc:
        raise HTTPException(422, str(exc)) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


@router.get("/items/{item_id}/thumbnail", response_class=FileResponse, responses=IMAGE_FILE)
def thumbnail(archive: ArchiveDep, item_id: ItemId) -> FileResponse:
    """A JPEG of the item for browsers, 320 px on its long side, made once and cached."""
    return _rendition(archive, item_id, "thumbnail")


@router.get("/items/{item_id}/preview", response_class=FileResponse, responses=IMAGE_FILE)
def preview(archive: ArchiveDep, item_id: ItemId) -> FileResponse:
    """A JPEG of the item for browsers, 1600 px on its long side, made once and cached."""
    return _rendition(archive, item_id, "preview")


def _rendition(archive: Archive, item_id: int, kind: str) -> FileResponse:
    record = _item(archive, item_id)
    try:
        path = previews.rendition(archive, record.sha256, kind)
    except ImageReadError as exc:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR,
                            f"cannot render item {item_id}: {exc.reason}") from None
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


# -- pipelines and jobs ----------------------------------------------------------------------------
@router.get("/pipelines", response_model=list[PipelineOut])
def pipelines() -> list[PipelineOut]:
    """Every pipeline with each option's type, default, range or choices and help (derived from its options)."""
    return [PipelineOut(name=r.name, description=r.description, defaults=r.defaults,
                        options=[OptionOut(**option) for option in r.schema]) for r in RECIPES.values()]


@router.post("/jobs", response_model=JobRecord, status_code=status.HTTP_202_ACCEPTED)
def submit_job(request: Request, archive: ArchiveDep, job: JobIn) -> JobRecord:
    """Queue a pipeline run on an item; the result becomes a derivative of it."""
    _item(archive, job.item_id)
    try:
        check_models(job.pipeline, job.parameters)
        record = JobQueue(archive).submit(job.item_id, job.pipeline, job.parameters, seed=job.seed,
                                          output_format=job.output_format)
    except OptionError as exc:  # a bad value: refused before anything is queued, naming the field
        raise HTTPException(422, _option_error(exc)) from None
    except ParameterError as exc:
        raise HTTPException(422, str(exc)) from None
    request.app.state.workers.wake()
    return record


@router.post("/jobs/batch", response_model=list[JobRecord], status_code=status.HTTP_202_ACCEPTED)
def submit_batch(request: Request, archive: ArchiveDep, batch: BatchIn) -> list[JobRecord]:
    """Queue the same run on every master of a collection (and on ``item_ids``): checked once, all queued or
    none."""
    items = [*batch.item_ids, *(record.id for record in archive.items(role=MASTER, collection=batch.collection)
                                if batch.collection)]
    if not items:
        raise HTTPException(422, "no items: give a collection with photographs, or item ids")
    try:
        check_models(batch.pipeline, batch.parameters)
        records = JobQueue(archive).submit_many(items, batch.pipeline, batch.parameters, seed=batch.seed,
                                                output_format=batch.output_format)
    except OptionError as exc:
        raise HTTPException(422, _option_error(exc)) from None
    except ItemNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ParameterError as exc:
        raise HTTPException(422, str(exc)) from None
    request.app.state.workers.wake()
    return records


def check_models(pipeline: str, parameters: dict[str, object]) -> None:
    """An OptionError unless every model a job names is a registered one or a bare file name in the server's
    models folder (:data:`patina.weights.registry.MODELS_DIR_ENV`): a request cannot load, nor probe for, any
    other file on the server, and the message names no server path."""
    from patina.pipelines.recipes import get_recipe
    from patina.weights.registry import REGISTRY, models_dir

    recipe = get_recipe(pipeline)
    for name in recipe.weights_options:
        value = parameters.get(name)
        if not isinstance(value, str) or value in REGISTRY or value == recipe.defaults.get(name) \
                or value.strip().isdigit():
            continue
        folder = models_dir()
        bare = PurePath(value).name == value and value not in (".", "..") and "\\" not in value
        if not bare or folder is None or not (folder / value).is_file():
            raise OptionError(name, f"{value[:80]!r} is neither a registered model ({', '.join(sorted(REGISTRY))}) "
                                    "nor a weights file in the server's models folder")


def _option_error(exc: OptionError) -> list[dict[str, object]]:
    """A bad option value as FastAPI reports validation errors, naming the field (the web form shows it there)."""
    return [{"loc": ["body", "parameters", exc.option], "field": exc.option, "msg": exc.reason, "reason": exc.reason,
             "type": "value_error"}]


@router.get("/jobs", response_model=list[JobRecord])
def list_jobs(archive: ArchiveDep, status_: Annotated[str | None, Query(alias="status")] = None,
              item_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[JobRecord]:
    """Jobs, newest first."""
    return JobQueue(archive).list(status=status_, item_id=item_id, limit=limit)


@router.get("/jobs/{job_id}", response_model=JobRecord)
def get_job(archive: ArchiveDep, job_id: JobId) -> JobRecord:
    try:
        return JobQueue(archive).get(job_id)
    except ArchiveError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}") from None


@router.post("/jobs/{job_id}/cancel", response_model=JobRecord)
def cancel_job(archive: ArchiveDep, job_id: JobId) -> JobRecord:
    """Cancel a queued job, or ask a running one to stop."""
    try:
        return JobQueue(archive).cancel(job_id)
    except ArchiveError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}") from None
