"""Request and response bodies of the REST API that are not the archive's own records.

Items, events and jobs are answered as the archive's record dataclasses (ItemRecord, EventRecord,
JobRecord), which FastAPI serialises directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, Field

from patina.archive import EventRecord, ItemRecord

MAX_ID = 2**53
"""The largest id, offset or seed a request may give (larger ones are 422, never a database overflow)."""
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]


@dataclass(frozen=True)
class ItemDetail(ItemRecord):
    """An item with its provenance events."""

    events: list[EventRecord] = field(default_factory=list)


class ItemPage(BaseModel):
    items: list[ItemRecord]
    total: int


class MetadataEdit(BaseModel):
    """Fields to change; tags and collections to add or remove."""

    metadata: dict[str, str] = Field(default_factory=dict)
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    add_collections: list[str] = Field(default_factory=list)
    remove_collections: list[str] = Field(default_factory=list)


class BulkEdit(MetadataEdit):
    """The same edit for many items: those in ``ids`` and those the search ``q`` finds (up to ``limit``)."""

    ids: list[Id] = Field(default_factory=list, max_length=10_000)
    q: str = ""
    limit: int = Field(default=1000, ge=1, le=10_000)


class WithdrawIn(BaseModel):
    """Why an item is withdrawn (recorded), and whether a derivative's file is deleted too."""

    reason: str = Field(min_length=1, max_length=2000)
    purge: bool = False


class UploadFailure(BaseModel):
    name: str
    reason: str


class UploadResult(BaseModel):
    items: list[ItemRecord]
    new: list[int]
    failed: list[UploadFailure]


class JobIn(BaseModel):
    item_id: Id
    pipeline: str = "restore"
    parameters: dict[str, Any] = Field(default_factory=dict)
    seed: Seed = 0
    output_format: str = "png"


class BatchIn(BaseModel):
    """The same run on many items: the masters of ``collection`` and/or ``item_ids``."""

    collection: str | None = None
    item_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    pipeline: str = "restore"
    parameters: dict[str, Any] = Field(default_factory=dict)
    seed: Seed = 0
    output_format: str = "png"


class OptionOut(BaseModel):
    """One option of a pipeline, as its options dataclass declares it."""

    name: str
    type: str
    """'boolean', 'integer', 'number', 'text', 'integers', 'numbers', 'texts' or 'references' (archive items)."""
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: list[Any] = Field(default_factory=list)
    auto: bool = False
    """Also takes 'auto' (chosen at run time and recorded)."""
    optional: bool = False
    """Also takes null (not set)."""
    reference: bool = False
    max_items: int | None = None
    required: bool = False


class PipelineOut(BaseModel):
    name: str
    description: str
    defaults: dict[str, Any]
    options: list[OptionOut]
