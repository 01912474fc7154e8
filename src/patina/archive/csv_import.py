"""Descriptions from a spreadsheet: a CSV file whose rows name items (by ``id``, or by ``original_name`` /
``file``: the file name an item was imported under) and give Dublin Core fields, tags and collections.

:func:`plan_csv_metadata` reads the file and says what would change, row by row, touching nothing (the dry run);
the :class:`~patina.archive.Archive` facade applies a plan through its ``edit`` (one 'metadata modification'
event per changed item). An empty cell leaves a field as it is; ``tags`` and ``collections`` cells (``;`` or
``,`` between names) are added to the item's. Excel's files work: a UTF-8 byte-order mark, ``;`` as separator.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from patina.archive.context import ArchiveContext
from patina.archive.schema import DUBLIN_CORE_FIELDS, Item, ItemOrigin
from patina.core.errors import ParameterError

KEY_COLUMNS = ("id", "original_name", "file")
"""Columns that name the item a row describes (the first one present is used)."""
LIST_COLUMNS = {"tags": "tags", "tag": "tags", "collections": "collections", "collection": "collections"}
MAX_CSV_BYTES = 50_000_000


@dataclass(frozen=True)
class RowChange:
    """What one row changes on one item: fields with their (old, new) values, tags and collections added."""

    row: int
    item_id: int
    label: str
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)
    add_tags: list[str] = field(default_factory=list)
    add_collections: list[str] = field(default_factory=list)


@dataclass
class CsvPlan:
    """The changes a CSV file asks for, the rows that change nothing, and the rows that could not be used (row
    number, reason); ``applied`` once the facade has carried the changes out."""

    changes: list[RowChange] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    applied: bool = False


def plan_csv_metadata(context: ArchiveContext, path: str | Path) -> CsvPlan:
    """What the CSV file at ``path`` would change (see the module). A file that is not such a CSV (no key column,
    an unknown column, unreadable) is a ParameterError before any row is looked at."""
    rows, columns = _read_rows(Path(path))
    key = next(column for column in KEY_COLUMNS if column in columns)
    plan = CsvPlan()
    with context.session() as session:
        for number, row in rows:
            wanted = (row.get(key) or "").strip()
            if not wanted:
                plan.problems.append((number, f"no {key}"))
                continue
            found = _items_named(session, key, wanted)
            if len(found) != 1:
                reason = "no such item" if not found else f"{len(found)} items have this name: " + ", ".join(
                    str(item.id) for item in found) + " (use an id column)"
                plan.problems.append((number, f"{key} {wanted!r}: {reason}"))
                continue
            change = _change(number, found[0], row)
            if change.fields or change.add_tags or change.add_collections:
                plan.changes.append(change)
            else:
                plan.unchanged.append(number)
    return plan


def _read_rows(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise ParameterError(f"{path}: larger than {MAX_CSV_BYTES // 1_000_000} MB")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = [(name or "").strip().lower() for name in reader.fieldnames or []]
    if not any(column in columns for column in KEY_COLUMNS):
        raise ParameterError(f"{path}: needs a column naming the items: {' or '.join(KEY_COLUMNS)}; "
                             f"found {', '.join(columns) or 'no header'}")
    known = {*KEY_COLUMNS, *DUBLIN_CORE_FIELDS, *LIST_COLUMNS}
    unknown = [column for column in columns if column not in known]
    if unknown:
        raise ParameterError(f"{path}: unknown column {', '.join(unknown)}; columns: {', '.join(KEY_COLUMNS)}, "
                             f"{', '.join(DUBLIN_CORE_FIELDS)}, tags, collections")
    reader.fieldnames = columns
    try:
        rows = [(reader.line_num, {k: v for k, v in row.items() if k is not None}) for row in reader]
    except csv.Error as exc:
        raise ParameterError(f"{path}: not a valid CSV file ({exc})") from None
    return rows, columns


def _items_named(session: Session, key: str, wanted: str) -> list[Item]:
    if key == "id":
        item = session.get(Item, int(wanted)) if wanted.isdigit() else None
        return [] if item is None else [item]
    statement = (select(Item).outerjoin(ItemOrigin).where(or_(Item.original_name == wanted,
                                                              ItemOrigin.original_name == wanted))
                 .where(Item.withdrawn_at.is_(None)).distinct().order_by(Item.id))
    return list(session.scalars(statement))


def _change(number: int, item: Item, row: dict[str, str]) -> RowChange:
    fields = {name: (getattr(item, name), value.strip()) for name in DUBLIN_CORE_FIELDS
              if (value := row.get(name) or "").strip() and value.strip() != getattr(item, name)}
    lists: dict[str, list[str]] = {"tags": [], "collections": []}
    for column, kind in LIST_COLUMNS.items():
        for name in (row.get(column) or "").replace(";", ",").split(","):
            current = item.tags if kind == "tags" else item.collections
            if name.strip() and name.strip() not in {group.name for group in current} | set(lists[kind]):
                lists[kind].append(name.strip())
    return RowChange(number, item.id, item.title or item.original_name, fields, lists["tags"], lists["collections"])


__all__ = ["CsvPlan", "RowChange", "plan_csv_metadata"]
