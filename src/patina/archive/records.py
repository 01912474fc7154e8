"""Plain, immutable views of catalogue rows, handed to callers instead of live ORM objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from patina.archive.schema import DUBLIN_CORE_FIELDS, Event, Item, as_utc


@dataclass(frozen=True)
class ItemRecord:
    """A catalogued file: identity, file facts, Dublin Core description and groupings."""

    id: int
    sha256: str
    role: str
    parent_id: int | None
    size_bytes: int
    media_type: str
    extension: str
    width: int
    height: int
    original_name: str
    created_at: datetime
    metadata: dict[str, str]
    collections: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    derivative_ids: list[int] = field(default_factory=list)
    label: str = ""
    """What to call the item: its title, else its original file name."""
    withdrawn_at: datetime | None = None
    """When it was withdrawn (deaccessioned); None while in use."""
    purged: bool = False
    """A withdrawn derivative whose file was deleted."""

    @classmethod
    def of(cls, item: Item) -> ItemRecord:
        return cls(
            id=item.id, sha256=item.sha256, role=item.role, parent_id=item.parent_id, size_bytes=item.size_bytes,
            media_type=item.media_type, extension=item.extension, width=item.width, height=item.height,
            original_name=item.original_name, created_at=as_utc(item.created_at),
            metadata={name: getattr(item, name) or "" for name in DUBLIN_CORE_FIELDS},
            collections=[c.name for c in item.collections], tags=[t.name for t in item.tags],
            origins=[o.original_path for o in item.origins], derivative_ids=[d.id for d in item.derivatives],
            label=item.title or item.original_name,
            withdrawn_at=None if item.withdrawn_at is None else as_utc(item.withdrawn_at),
            purged=item.purged_at is not None,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["withdrawn_at"] = None if self.withdrawn_at is None else self.withdrawn_at.isoformat()
        return data


@dataclass(frozen=True)
class EventRecord:
    """A provenance event (PREMIS-like)."""

    id: int
    uuid: str
    event_type: str
    occurred_at: datetime
    item_id: int | None
    output_item_id: int | None
    agent: str
    outcome: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventRecord:
        return cls(id=event.id, uuid=event.uuid, event_type=event.event_type, occurred_at=as_utc(event.occurred_at),
                   item_id=event.item_id, output_item_id=event.output_item_id, agent=event.agent,
                   outcome=event.outcome, detail=dict(event.detail or {}))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["occurred_at"] = self.occurred_at.isoformat()
        return data
