"""Full-text search over the catalogue: an SQLite FTS5 index kept in step with each item, or a plain
case-insensitive match on other databases (PostgreSQL).

The index row of an item is rewritten in the same transaction as the change to the item, so the
index can never disagree with the catalogue after a crash.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from patina.archive.schema import DUBLIN_CORE_FIELDS, Item
from patina.core.errors import BusyError, ParameterError

INDEXED_FIELDS = (*DUBLIN_CORE_FIELDS, "names", "tags", "collections")
MAX_QUERY_CHARS = 500
"""A longer query is refused (a person types a few words; a 20 KB query is an attack)."""
MAX_TERMS = 12
"""Words and phrases a query may hold (more is refused): its cost grows with them."""
MAX_CONCURRENT = 4
"""Searches at once; one more waits up to SEARCH_WAIT seconds, then is told the archive is busy."""
SEARCH_WAIT = 5.0
SEARCH_SECONDS = 5.0
"""The longest one search's query may run; then it is stopped and the caller told the archive is busy
(SQLite: a progress handler interrupts it; PostgreSQL: ``statement_timeout``)."""
_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)
_TOKEN = re.compile(r'(?:(\w+):)?("[^"]*"|\S+)')


def _uses_fts(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def reindex(session: Session, item: Item) -> None:
    """Rewrite ``item``'s row of the search index from its current metadata, names, tags and collections."""
    if not _uses_fts(session):
        return
    if item.withdrawn_at is not None:  # a withdrawn item is found by no search
        session.execute(text("DELETE FROM items_fts WHERE rowid = :id"), {"id": item.id})
        return
    names = name_words(" ".join(dict.fromkeys([item.original_name,
                                                *(origin.original_path for origin in item.origins)])))
    values = {name: getattr(item, name) for name in DUBLIN_CORE_FIELDS}
    values.update(names=names, tags=" ".join(tag.name for tag in item.tags),
                  collections=" ".join(collection.name for collection in item.collections))
    session.execute(text("DELETE FROM items_fts WHERE rowid = :id"), {"id": item.id})
    columns = ", ".join(INDEXED_FIELDS)
    placeholders = ", ".join(f":{name}" for name in INDEXED_FIELDS)
    session.execute(text(f"INSERT INTO items_fts (rowid, {columns}) VALUES (:id, {placeholders})"),
                    {"id": item.id, **values})


_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+")


def name_words(names: str) -> str:
    """File names as indexed: each name as it is, then the words inside it, so that 'racket' finds
    FadedRacket.PNG, 'mill' IMG_0042_mill.jpg and '1923' portrait1923b.tif ('HTMLPage2' -> HTML Page 2)."""
    parts = [part for token in re.findall(r"[^\W_]+", names) for part in _WORD_PARTS.findall(token)]
    extra = [part for part in dict.fromkeys(parts) if part.lower() not in names.lower().split()]
    return " ".join([names, *extra]) if extra else names


def check_query(query: str) -> None:
    """ParameterError for a query over :data:`MAX_QUERY_CHARS` characters or :data:`MAX_TERMS` terms."""
    if len(query) > MAX_QUERY_CHARS:
        raise ParameterError(f"a search is at most {MAX_QUERY_CHARS} characters, got {len(query)}")
    terms = len(_TOKEN.findall(query))
    if terms > MAX_TERMS:
        raise ParameterError(f"a search is at most {MAX_TERMS} words or phrases, got {terms}")


@contextmanager
def search_slot() -> Iterator[None]:
    """One of the :data:`MAX_CONCURRENT` search slots, waited for up to :data:`SEARCH_WAIT` seconds (BusyError
    after that): a flood of searches cannot take every database connection."""
    if not _SLOTS.acquire(timeout=SEARCH_WAIT):
        raise BusyError(f"the archive is answering {MAX_CONCURRENT} searches already; try again in a moment")
    try:
        yield
    finally:
        _SLOTS.release()


def fts_query(query: str) -> str:
    """A user's query -> an FTS5 query: each word must match (as a prefix), quoted phrases stay phrases,
    and ``field:word`` limits a word to one field (title, date, creator, place, subject, description,
    rights, source, names, tags, collections). FTS5 operators are not passed through, so no input
    can be a syntax error. (:func:`search_ids` checks the query's size first.)"""
    terms = []
    for field, token in _TOKEN.findall(query):
        phrase = token.strip('"').replace('"', "")
        words = re.findall(r"\w+", phrase)
        if not words:
            continue
        term = '"' + " ".join(words) + '"' + ("" if token.startswith('"') else "*")
        if field and field.lower() in INDEXED_FIELDS:
            term = f"{field.lower()} : {term}"
        terms.append(term)
    return " AND ".join(terms)


@contextmanager
def time_limit(session: Session, seconds: float) -> Iterator[None]:
    """Stop the statements ``session`` runs in the block once they have taken ``seconds`` in all (BusyError):
    one slow query cannot hold a connection and a search slot for long."""
    connection = session.connection()
    raw: Any = connection.connection.driver_connection
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        deadline = time.monotonic() + seconds
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        stopped = "interrupted"
    else:  # PostgreSQL; the setting ends with the transaction
        connection.execute(text(f"SET LOCAL statement_timeout = {int(seconds * 1000)}"))
        stopped = "statement timeout"
    try:
        yield
    except OperationalError as exc:
        if stopped in str(exc.orig):
            raise BusyError(f"the search took longer than {seconds:g} s and was stopped; narrow it") from None
        raise
    finally:
        if sqlite:
            raw.set_progress_handler(None, 0)


def search_ids(session: Session, query: str, *, limit: int = 50) -> list[int]:
    """Ids of the items matching ``query``, best match first (see :func:`check_query`, :func:`search_slot`),
    within :data:`SEARCH_SECONDS` (:func:`time_limit`)."""
    check_query(query)
    with time_limit(session, SEARCH_SECONDS):
        if _uses_fts(session):
            match = fts_query(query)
            if not match:
                return []
            rows = session.execute(
                text("SELECT rowid FROM items_fts WHERE items_fts MATCH :q ORDER BY bm25(items_fts) LIMIT :n"),
                {"q": match, "n": limit},
            )
            return [row[0] for row in rows]
        return _like_search(session, query, limit)


def _like_search(session: Session, query: str, limit: int) -> list[int]:
    """Every word must occur in some Dublin Core field or the original name (case-insensitive)."""
    words = re.findall(r"\w+", query)
    if not words:
        return []
    columns = [getattr(Item, name) for name in DUBLIN_CORE_FIELDS] + [Item.original_name]
    condition = and_(Item.withdrawn_at.is_(None),
                     *(or_(*(column.ilike(f"%{word}%") for column in columns)) for word in words))
    return list(session.scalars(select(Item.id).where(condition).order_by(Item.id).limit(limit)))
