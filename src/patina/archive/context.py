"""The narrow view of an opened archive that its operations (ingest, derive, fixity, export) work with:
the store, catalogue sessions, finding items and recording events. The :class:`patina.archive.Archive`
facade builds one; the operations never import the facade."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

import patina
from patina.archive.queries import ItemRef, find_item
from patina.archive.schema import Event, Item, utcnow
from patina.archive.store import ObjectStore
from patina.core.errors import ItemNotFoundError

AGENT = f"Patina {patina.__version__}"
"""Who the provenance events name as their agent."""


@dataclass(frozen=True)
class ArchiveContext:
    """An opened archive's folder, object store and catalogue sessions."""

    root: Path
    store: ObjectStore
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed at the end of the block, or rolled back on an error."""
        with self.sessions.begin() as session:
            yield session

    def find(self, session: Session, ref: ItemRef) -> Item:
        """The item with id ``ref`` (an int or digits) or whose sha256 starts with ``ref`` (6+ hex digits)."""
        item = find_item(session, ref)
        if item is None:
            raise ItemNotFoundError(f"no item {ref!r} in {self.root}")
        return item

    def record(self, session: Session, event_type: str, *, item: Item | int | None = None, output: Item | None = None,
               outcome: str = "success", detail: dict[str, Any] | None = None,
               event_uuid: str | None = None, occurred_at: Any = None) -> Event:
        """Add a provenance event to the session's transaction."""
        item_id = item.id if isinstance(item, Item) else item
        event = Event(uuid=event_uuid or str(uuid.uuid4()), event_type=event_type,
                      occurred_at=occurred_at or utcnow(), item_id=item_id,
                      output_item_id=None if output is None else output.id, agent=AGENT, outcome=outcome,
                      detail=detail or {})
        session.add(event)
        return event
