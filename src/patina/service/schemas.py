"""Request and response bodies of the REST API (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ItemOut(BaseModel):
    id: int
    sha256: str
    role: str
    parent_id: int | None
    size_bytes: int
    media_type: str
    width: int
    height: int
    original_name: str
    created_at: datetime
    metadata: dict[str, str]
    collections: list[str]
    tags: list[str]
    origins: list[str]
    derivative_ids: list[int]
    label: str


class EventOut(BaseModel):
    uuid: str
    event_type: str
    occurred_at: datetime
    item_id: int | None
    output_item_id: int | None
    agent: str
    outcome: str
    detail: dict[str, Any]


class ItemDetail(ItemOut):
    events: list[EventOut]


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int


class MetadataEdit(BaseModel):
    """Fields to change; tags and collections to add or remove."""

    metadata: dict[str, str] = Field(default_factory=dict)
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    add_collections: list[str] = Field(default_factory=list)
    remove_collections: list[str] = Field(default_factory=list)


class UploadFailure(BaseModel):
    name: str
    reason: str


class UploadResult(BaseModel):
    items: list[ItemOut]
    new: list[int]
    failed: list[UploadFailure]


class JobIn(BaseModel):
    item_id: int
    pipeline: str = "restore"
    parameters: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    output_format: str = "png"


class JobOut(BaseModel):
    id: int
    item_id: int
    pipeline: str
    parameters: dict[str, Any]
    seed: int
    output_format: str
    status: str
    progress: float
    message: str
    cancel_requested: bool
    attempts: int
    derivative_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    finished: bool


class PipelineOut(BaseModel):
    name: str
    description: str
    defaults: dict[str, Any]
