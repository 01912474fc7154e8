"""Catalogue queries shared by the Archive facade and the operations: finding items, listing them and their
events as records, and the tags and collections they are grouped by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from patina.archive.records import EventRecord, ItemRecord
from patina.archive.schema import Collection, Event, Item, Tag
from patina.core.errors import ItemNotFoundError, ParameterError

ItemRef = int | str
"""An item's id (an int or digits) or a prefix of its sha256 (6+ hex digits)."""


def find_item(session: Session, ref: ItemRef) -> Item | None:
    """The item ``ref`` names, or None when there is none; ItemNotFoundError for a malformed or ambiguous ref."""
    text = str(ref).strip().lower()
    if text.isdigit():
        return session.get(Item, int(text))
    if len(text) >= 6 and all(c in "0123456789abcdef" for c in text):
        matches = session.scalars(select(Item).where(Item.sha256.startswith(text)).limit(2)).all()
        if len(matches) > 1:
            raise ItemNotFoundError(f"sha256 prefix {text!r} matches several items; give more digits")
        return matches[0] if matches else None
    raise ItemNotFoundError(f"{ref!r} is neither an item id nor a sha256 prefix (6+ hex digits)")


def item_records(session: Session, *, role: str | None = None, collection: str | None = None,
                 tag: str | None = None, ids: Sequence[int] | None = None, limit: int | None = None,
                 offset: int = 0, withdrawn: bool | None = False) -> list[ItemRecord]:
    """Items in id order, optionally only masters/derivatives, one collection or tag, or given ids; withdrawn
    items only with ``withdrawn`` True (only them) or None (all)."""
    statement = filtered(select(Item).options(*_eager()).order_by(Item.id).offset(offset).limit(limit),
                         role=role, collection=collection, tag=tag, withdrawn=withdrawn)
    if ids is not None:
        statement = statement.where(Item.id.in_(list(ids)))
    return [ItemRecord.of(item) for item in session.scalars(statement)]


def event_records(session: Session, *, item_id: int | None = None, event_type: str | None = None) -> list[EventRecord]:
    """Events about an item (as object or as output), or all events, oldest first; optionally of one type."""
    statement = select(Event).order_by(Event.id)
    if item_id is not None:
        statement = statement.where((Event.item_id == item_id) | (Event.output_item_id == item_id))
    if event_type is not None:
        statement = statement.where(Event.event_type == event_type)
    return [EventRecord.of(event) for event in session.scalars(statement)]


Grouping = TypeVar("Grouping", Tag, Collection)
"""A tag or a collection (the two kinds of grouping, both with a unique ``name``)."""


def named(session: Session, kind: type[Grouping], name: str) -> Grouping:
    """The tag or collection called ``name``, created if new."""
    name = name.strip()
    if not name:
        raise ParameterError(f"a {kind.__name__.lower()} name cannot be empty")
    found = session.scalar(select(kind).where(kind.name == name))
    if found is None:
        found = kind(name=name)
        session.add(found)
    return found


def filtered(statement: Select, *, role: str | None, collection: str | None, tag: str | None,
             withdrawn: bool | None = False) -> Select:
    """``statement`` limited to items of a role, in a collection and with a tag (each when given), and to items
    in use (``withdrawn`` False, the default), withdrawn ones (True) or both (None)."""
    if withdrawn is not None:
        statement = statement.where(Item.withdrawn_at.is_not(None) if withdrawn else Item.withdrawn_at.is_(None))
    if role is not None:
        statement = statement.where(Item.role == role)
    if collection is not None:
        statement = statement.where(Item.collections.any(Collection.name == collection))
    if tag is not None:
        statement = statement.where(Item.tags.any(Tag.name == tag))
    return statement


def _eager() -> tuple:
    return (selectinload(Item.collections), selectinload(Item.tags), selectinload(Item.origins),
            selectinload(Item.derivatives))
