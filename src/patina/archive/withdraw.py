"""Withdrawing items (deaccession): an item leaves the gallery, listings, search and exports, its file is kept
and its record and events stay (``show`` and fixity audits still reach it); a 'deaccession' event records who,
when and why. ``purge`` also deletes the file of a withdrawn *derivative* (its sha256 and size stay recorded, so
``reproduce`` can still check a re-made copy); a master's file is never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from patina.archive.context import ArchiveContext
from patina.archive.queries import ItemRef
from patina.archive.records import ItemRecord
from patina.archive.schema import MASTER, Item, utcnow
from patina.archive.search import reindex
from patina.core.errors import ParameterError

DEACCESSION = "deaccession"
"""The event type of a withdrawal (PREMIS event type vocabulary)."""


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal did: the item, whether it was already withdrawn, and whether its file was purged now."""

    item: ItemRecord
    already: bool
    purged: bool


def withdraw(context: ArchiveContext, ref: ItemRef, reason: str, *, purge: bool = False) -> Withdrawal:
    """Withdraw item ``ref`` for ``reason`` (required: the deaccession record says why); see the module.

    Withdrawing a withdrawn item again changes nothing (with ``purge``, a purge left unfinished by a crash is
    completed). Raises ParameterError for an empty reason, a purge of a master, or a purge of a derivative that
    others were made from (withdraw those first).
    """
    reason = reason.strip()
    if not reason:
        raise ParameterError("give the reason for the withdrawal (it is recorded in the deaccession event)")
    with context.session() as session:
        item = context.find(session, ref)
        if purge:
            _check_purge(item)
        already = item.withdrawn_at is not None
        if not already or (purge and item.purged_at is None):
            now = utcnow()
            item.withdrawn_at = item.withdrawn_at or now
            if purge:
                item.purged_at = now
            context.record(session, DEACCESSION, item=item, detail={
                "reason": reason, "purged": purge, "sha256": item.sha256, "size_bytes": item.size_bytes})
            session.flush()
            reindex(session, item)
        sha256, record = item.sha256, ItemRecord.of(item)
    purged = purge and context.store.remove(sha256)  # after the commit: a crash before it leaves the file
    return Withdrawal(record, already=already, purged=purged)


def _check_purge(item: Item) -> None:
    if item.role == MASTER:
        raise ParameterError(f"item {item.id} is a master: masters are never deleted; withdraw it without purge "
                             "(the file is kept, hidden from listings, search and exports)")
    live = [child.id for child in item.derivatives if child.purged_at is None]
    if live:
        raise ParameterError(f"derivative {item.id} has derivatives of its own ({', '.join(map(str, live))}): "
                             "purge those first, or withdraw it without purge")


__all__ = ["DEACCESSION", "Withdrawal", "withdraw"]
