"""The :class:`Archive`: a folder with a content-addressed store and a SQL catalogue, and what can be
done with it. Each operation lives in its own module (ingest, derive, fixity, export) and works on the
narrow :class:`~patina.archive.context.ArchiveContext`; this facade opens the archive, builds that context,
delegates to the operations, finds items, edits their description, and hands back typed records and reports.

Layout of an archive folder::

    archive.json        format version and database URL (null: catalogue.sqlite beside it)
    catalogue.sqlite    the catalogue (SQLite, WAL mode)
    objects/ab/cd/<sha256>   every master and derivative, read-only
    tmp/                files being written
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patina.archive import catalogue, derive, export, fixity, ingest, users
from patina.archive.context import AGENT, ArchiveContext
from patina.archive.csv_import import CsvPlan, plan_csv_metadata
from patina.archive.derive import DeriveResult, ReproduceReport
from patina.archive.export import BagReport
from patina.archive.fixity import FixityReport
from patina.archive.ingest import ImportReport
from patina.archive.queries import Grouping, ItemRef, event_records, filtered, item_records, named
from patina.archive.records import EventRecord, ItemRecord
from patina.archive.schema import DUBLIN_CORE_FIELDS, Collection, Event, Item, Tag, item_collections, utcnow
from patina.archive.search import reindex, search_ids, search_slot
from patina.archive.masks import add_mask
from patina.archive.store import ObjectStore
from patina.archive.users import UserRecord
from patina.archive.withdraw import Withdrawal, withdraw
from patina.core.errors import ArchiveError, ParameterError

CONFIG_NAME = "archive.json"
CATALOGUE_NAME = "catalogue.sqlite"
FORMAT_VERSION = 1
DATABASE_ENV = "PATINA_ARCHIVE_DB"
"""Environment variable that overrides the database URL of an archive (e.g. to keep a password out of files)."""

__all__ = ["AGENT", "CONFIG_NAME", "Archive", "ItemRef"]


class Archive:
    """An opened archive. Use :meth:`create` for a new one and :meth:`open` for an existing one."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.store = ObjectStore(root)
        self.database_url = database_url
        self.engine = catalogue.make_engine(database_url)
        self.context = ArchiveContext(root, self.store, catalogue.session_factory(self.engine))

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, *, database_url: str | None = None) -> Archive:
        """Make a new archive in ``root`` (created if missing; must not already hold an archive).

        ``database_url`` is a SQLAlchemy URL such as ``postgresql+psycopg://user@host/db``; the
        default is an SQLite catalogue inside the folder.
        """
        root = Path(root)
        if (root / CONFIG_NAME).exists():
            raise ArchiveError(f"{root} already holds an archive")
        root.mkdir(parents=True, exist_ok=True)
        ObjectStore(root).create()
        config = {"format": FORMAT_VERSION, "database": database_url, "created": utcnow().isoformat()}
        temp = root / f".{CONFIG_NAME}.tmp"
        temp.write_text(json.dumps(config, indent=2) + "\n")
        archive = cls(root, _database_url(root, database_url))
        catalogue.upgrade(archive.engine)
        os.replace(temp, root / CONFIG_NAME)  # the folder counts as an archive only once its schema exists
        return archive

    @classmethod
    def open(cls, root: str | Path) -> Archive:
        """Open the archive in ``root``, upgrading its catalogue to this version's schema if needed."""
        root = Path(root)
        config_path = root / CONFIG_NAME
        if not config_path.is_file():
            raise ArchiveError(f"{root} is not a Patina archive (no {CONFIG_NAME}); create one with "
                               f"'patina archive init {root}'")
        try:
            config = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ArchiveError(f"{config_path} is unreadable: {exc}") from exc
        if config.get("format", 0) > FORMAT_VERSION:
            raise ArchiveError(f"{root} was made by a newer Patina (archive format {config['format']})")
        archive = cls(root, os.environ.get(DATABASE_ENV) or _database_url(root, config.get("database")))
        if catalogue.current_revision(archive.engine) != catalogue.head_revision():
            catalogue.upgrade(archive.engine)
        archive.store.create()
        archive.store.clean_temporaries()
        return archive

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed at the end of the block, or rolled back on an error."""
        with self.context.session() as session:
            yield session

    # -- items -------------------------------------------------------------------------------------
    def find(self, session: Session, ref: ItemRef) -> Item:
        """The item with id ``ref`` (an int or digits) or whose sha256 starts with ``ref`` (6+ hex digits)."""
        return self.context.find(session, ref)

    def item(self, ref: ItemRef) -> ItemRecord:
        """One item by id or sha256 prefix."""
        with self.session() as session:
            return ItemRecord.of(self.find(session, ref))

    def items(self, *, role: str | None = None, collection: str | None = None, tag: str | None = None,
              ids: Sequence[int] | None = None, limit: int | None = None, offset: int = 0,
              withdrawn: bool | None = False) -> list[ItemRecord]:
        """Items in id order, optionally only masters/derivatives, one collection or tag, or given ids; items in
        use unless ``withdrawn`` is True (only withdrawn ones) or None (all)."""
        with self.session() as session:
            return item_records(session, role=role, collection=collection, tag=tag, ids=ids, limit=limit,
                                offset=offset, withdrawn=withdrawn)

    def count(self, *, role: str | None = None, collection: str | None = None, tag: str | None = None,
              withdrawn: bool | None = False) -> int:
        """How many items (of a role, in a collection, with a tag; in use by default) the catalogue holds."""
        statement = filtered(select(func.count(Item.id)), role=role, collection=collection, tag=tag,
                             withdrawn=withdrawn)
        with self.session() as session:
            return int(session.scalar(statement) or 0)

    def collections(self) -> list[tuple[str, int]]:
        """Every collection's name with its number of items, by name."""
        statement = (select(Collection.name, func.count(item_collections.c.item_id))
                     .outerjoin(item_collections).group_by(Collection.id).order_by(Collection.name))
        with self.session() as session:
            return [(name, int(count)) for name, count in session.execute(statement)]

    def search(self, query: str, *, limit: int = 50) -> list[ItemRecord]:
        """Items whose description, names, tags or collections match ``query`` (see search.fts_query)."""
        with search_slot(), self.session() as session:
            ids = search_ids(session, query, limit=limit)
        by_id = {item.id: item for item in self.items(ids=ids)}
        return [by_id[i] for i in ids if i in by_id]

    def events(self, ref: ItemRef | None = None, *, event_type: str | None = None) -> list[EventRecord]:
        """Events about an item (as object or as output), or all events, oldest first."""
        with self.session() as session:
            item_id = None if ref is None else self.find(session, ref).id
            return event_records(session, item_id=item_id, event_type=event_type)

    def add_mask(self, photo: ItemRef, path: str | Path) -> ItemRecord:
        """Keep a damage mask drawn for ``photo``; see :func:`patina.archive.masks.add_mask`."""
        return add_mask(self.context, photo, path)

    # -- users of the service ------------------------------------------------------------------------
    def add_user(self, name: str, role: str) -> tuple[UserRecord, str]:
        """A new user of the service and their token (shown once); see :mod:`patina.archive.users`."""
        return users.add_user(self.context, name, role)

    def users(self) -> list[UserRecord]:
        return users.users(self.context)

    def remove_user(self, name: str) -> None:
        users.remove_user(self.context, name)

    def new_user_token(self, name: str) -> str:
        """A new token for ``name``; the old one stops working."""
        return users.new_token(self.context, name)

    def user_with_token(self, token: str) -> UserRecord | None:
        return users.user_with_token(self.context, token)

    def user_with_token_digest(self, digest: str) -> UserRecord | None:
        return users.user_with_token_digest(self.context, digest)

    def start_session(self, token: str, seconds: float) -> str:
        """A web UI login session opened with ``token``; see :func:`patina.archive.users.start_session`."""
        return users.start_session(self.context, token, seconds)

    def session_token_digest(self, session_id: str) -> str | None:
        return users.session_token_digest(self.context, session_id)

    def end_session(self, session_id: str) -> None:
        users.end_session(self.context, session_id)

    def withdraw(self, ref: ItemRef, reason: str, *, purge: bool = False) -> Withdrawal:
        """Withdraw (deaccession) an item; see :func:`patina.archive.withdraw.withdraw`."""
        return withdraw(self.context, ref, reason, purge=purge)

    def path_of(self, ref: ItemRef) -> Path:
        """The read-only stored file of an item."""
        return self.store.path(self.item(ref).sha256)

    # -- description -------------------------------------------------------------------------------
    def edit(self, ref: ItemRef, *, metadata: dict[str, str] | None = None, add_tags: Sequence[str] = (),
             remove_tags: Sequence[str] = (), add_collections: Sequence[str] = (),
             remove_collections: Sequence[str] = ()) -> ItemRecord:
        """Change an item's description (Dublin Core fields, tags, collections); the file is untouched.

        Records a 'metadata modification' event listing each old and new value.
        """
        metadata = dict(metadata or {})
        unknown = sorted(set(metadata) - set(DUBLIN_CORE_FIELDS))
        if unknown:
            raise ParameterError(f"unknown metadata field {', '.join(unknown)}; "
                                 f"fields: {', '.join(DUBLIN_CORE_FIELDS)}")
        with self.session() as session:
            item = self.find(session, ref)
            changes: dict[str, Any] = {}
            for name, value in metadata.items():
                value = str(value).strip()
                if getattr(item, name) != value:
                    changes[name] = {"old": getattr(item, name), "new": value}
                    setattr(item, name, value)
            changes.update(self._regroup(session, item, Tag, item.tags, add_tags, remove_tags, "tags"))
            changes.update(self._regroup(session, item, Collection, item.collections, add_collections,
                                         remove_collections, "collections"))
            if changes:
                self.record(session, "metadata modification", item=item, detail={"changes": changes})
                session.flush()
                reindex(session, item)
            return ItemRecord.of(item)

    def edit_many(self, refs: Sequence[ItemRef] = (), *, query: str = "", limit: int = 1000,
                  **changes: Any) -> list[ItemRecord]:
        """:meth:`edit` each of ``refs`` and each item the search ``query`` finds (up to ``limit``) with the same
        changes (bulk edit), each item in its own transaction and event; all are checked to exist first."""
        found = [record.id for record in self.search(query, limit=limit)] if query.strip() else []
        if not refs and not found:
            raise ParameterError("give item ids or a search that finds some")
        with self.session() as session:
            ids = [self.find(session, ref).id for ref in [*refs, *found]]
        return [self.edit(item_id, **changes) for item_id in dict.fromkeys(ids)]

    def import_metadata_csv(self, path: str | Path, *, dry_run: bool = False) -> CsvPlan:
        """Descriptions from a CSV file (see :mod:`patina.archive.csv_import`): the plan of what changes, carried
        out unless ``dry_run``."""
        plan = plan_csv_metadata(self.context, path)
        if not dry_run:
            for change in plan.changes:
                self.edit(change.item_id, metadata={name: new for name, (_, new) in change.fields.items()},
                          add_tags=change.add_tags, add_collections=change.add_collections)
            plan.applied = True
        return plan

    def _regroup(self, session: Session, item: Item, kind: type[Grouping], current: list[Grouping],
                 add: Sequence[str], remove: Sequence[str], label: str) -> dict[str, Any]:
        before = [group.name for group in current]
        for name in add:
            group = named(session, kind, name)
            if group not in current:
                current.append(group)
        for name in remove:
            current[:] = [group for group in current if group.name != name.strip()]
        after = [group.name for group in current]
        return {label: {"old": before, "new": after}} if before != after else {}

    # -- events ------------------------------------------------------------------------------------
    def record(self, session: Session, event_type: str, *, item: Item | int | None = None, output: Item | None = None,
               outcome: str = "success", detail: dict[str, Any] | None = None,
               event_uuid: str | None = None, occurred_at: Any = None) -> Event:
        """Add a provenance event to the session's transaction."""
        return self.context.record(session, event_type, item=item, output=output, outcome=outcome, detail=detail,
                                   event_uuid=event_uuid, occurred_at=occurred_at)

    # -- operations (each in its own module, on the archive's context) -------------------------------
    def import_paths(self, paths: Sequence[str | Path], **options: Any) -> ImportReport:
        """Import image files and folders; see :func:`patina.archive.ingest.import_paths`."""
        return ingest.import_paths(self.context, paths, **options)

    def import_file(self, path: Path, **options: Any) -> tuple[int, bool]:
        """Store and catalogue one file: (item id, whether it is new); see :func:`patina.archive.ingest.import_file`."""
        return ingest.import_file(self.context, path, **options)

    def derive(self, ref: ItemRef, pipeline: str, parameters: dict[str, Any] | None = None,
               **options: Any) -> DeriveResult:
        """Run a pipeline on an item and store a derivative; see :func:`patina.archive.derive.derive`."""
        return derive.derive(self.context, ref, pipeline, parameters, **options)

    def reproduce(self, ref: ItemRef, **options: Any) -> ReproduceReport:
        """Re-run the event that made a derivative; see :func:`patina.archive.derive.reproduce`."""
        return derive.reproduce(self.context, ref, **options)

    def verify(self, **options: Any) -> FixityReport:
        """Fixity audit of every stored file; see :func:`patina.archive.fixity.verify`."""
        return fixity.verify(self.context, **options)

    def export_bagit(self, destination: str | Path, **options: Any) -> BagReport:
        """Export masters, derivatives and metadata as a BagIt bag; see :func:`patina.archive.export.export_bagit`."""
        return export.export_bagit(self.context, destination, **options)

    def export_csv(self, destination: str | Path, **selection: Any) -> int:
        """Write the chosen items (default: every master and derivative) as CSV; returns the row count."""
        records = export.select_items(self.context, **selection) if selection else self.items()
        export.write_csv(records, destination)
        return len(records)

    def iiif_manifest(self, *, base_url: str | None = None, **selection: Any) -> dict[str, Any]:
        """An IIIF Presentation 3 manifest of the chosen masters with their derivatives as choices.

        Image URLs are ``base_url``/objects/ab/cd/<sha256> (the store's layout), by default file:// URLs.
        """
        base = (base_url or self.root.resolve().as_uri()).rstrip("/")
        records = export.select_items(self.context, **selection)
        return export.iiif_manifest(
            records, base_url=base, label=f"Patina archive {self.root.name}",
            url_of=lambda record: f"{base}/{self.store.path(record.sha256).relative_to(self.root).as_posix()}")


def _database_url(root: Path, configured: str | None) -> str:
    return configured or catalogue.sqlite_url(root / CATALOGUE_NAME)
