"""The catalogue's tables (SQLAlchemy 2 ORM). Alembic migrations in migrations/ create and evolve them.

- ``items``: every stored file, masters and derivatives alike, with its Dublin Core description.
- ``item_origins``: every path a master was imported from (a duplicate import adds an origin, not an item).
- ``collections`` / ``tags``: many-to-many groupings of items.
- ``events``: PREMIS-style provenance: ingestion, derivation, metadata modification, fixity check, reproduction.
"""

from __future__ import annotations

from datetime import datetime, UTC
from typing import Any, overload

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DUBLIN_CORE_FIELDS = ("title", "date", "creator", "place", "subject", "description", "rights", "source")
"""The descriptive fields every item has (Dublin Core; ``place`` is dc:coverage, ``subject`` is ';'-separated)."""

MASTER = "master"
DERIVATIVE = "derivative"
MASK = "mask"
"""A damage mask drawn or corrected for a photo (its parent), used by restore."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@overload
def as_utc(moment: datetime) -> datetime: ...


@overload
def as_utc(moment: None) -> None: ...


@overload
def as_utc(moment: datetime | None) -> datetime | None: ...


def as_utc(moment: datetime | None) -> datetime | None:
    """A catalogue time as an aware UTC datetime (SQLite hands back naive ones; every stored time is UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


item_collections = Table(
    "item_collections",
    Base.metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True),
)

item_tags = Table(
    "item_tags",
    Base.metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Item(Base):
    """A file in the store: a master (imported, never modified) or a derivative (made from ``parent``)."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(64))
    extension: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    title: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[str] = mapped_column(Text, default="")
    creator: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    rights: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    embedded: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)
    """When the item was withdrawn (deaccessioned): hidden from listings, search and exports; None = in use."""
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """When a withdrawn derivative's file was deleted from the store (its sha256 stays recorded)."""

    parent: Mapped[Item | None] = relationship(remote_side=[id], back_populates="derivatives")
    derivatives: Mapped[list[Item]] = relationship(back_populates="parent", order_by="Item.id")
    origins: Mapped[list[ItemOrigin]] = relationship(back_populates="item", order_by="ItemOrigin.id")
    collections: Mapped[list[Collection]] = relationship(secondary=item_collections, order_by="Collection.name")
    tags: Mapped[list[Tag]] = relationship(secondary=item_tags, order_by="Tag.name")


class ItemOrigin(Base):
    """A path an item was imported from, and the folder it sat in relative to the imported folder."""

    __tablename__ = "item_origins"
    __table_args__ = (UniqueConstraint("item_id", "original_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    original_path: Mapped[str] = mapped_column(Text)
    original_folder: Mapped[str] = mapped_column(Text)
    original_name: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    item: Mapped[Item] = relationship(back_populates="origins")


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Event(Base):
    """A PREMIS-like event: what happened to which item, when, by which software, with what outcome.

    ``detail`` holds the rest as JSON: for a derivation the pipeline, models with weights sha256, all
    parameters, seed, environment and input/output hashes; for a metadata edit the old and new values.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    output_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    agent: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class User(Base):
    """Someone who may use the service: a role and the sha256 of their token (see patina.archive.users)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginSession(Base):
    """A web UI login: the sha256 of its random id and of the token that opened it, and its expiry. It is valid
    only while that token is (a user removed or given a new token is logged out everywhere)."""

    __tablename__ = "login_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DerivationClaim(Base):
    """A derivation being made now: the request's key (sha256 of the source and the request) is unique, so two
    workers given the same request make one derivative (the second waits for the first's result)."""

    __tablename__ = "derivation_claims"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    owner: Mapped[str] = mapped_column(String(200))
    """host:pid of the process making it (a claim of a dead process is taken over)."""
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    """A durable request to run a pipeline on an item, carried out by a worker (see patina.batch).

    ``status`` goes queued -> running -> succeeded | failed | cancelled; a running job whose worker died
    goes back to queued. ``derivative_id`` is the item the job made (or found already made).
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    pipeline: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    output_format: Mapped[str] = mapped_column(String(16), default="png")
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    worker: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    derivative_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
