"""Fixity audit: re-hash every stored file and compare it with the catalogue.

Reports files that are missing, whose bytes changed, that have become writable, and store objects
the catalogue does not know (left by an interrupted run; harmless, adopted by the next identical
import). Each checked item gets a 'fixity check' event with its outcome.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from sqlalchemy import select

from patina.archive.context import ArchiveContext
from patina.archive.queries import ItemRef
from patina.archive.schema import Item
from patina.archive.store import sha256_file


@dataclass
class FixityProblem:
    item_id: int
    sha256: str
    problem: str  # 'missing' | 'changed' | 'writable'
    detail: str = ""


@dataclass
class FixityReport:
    """The audit's findings; ``ok`` when no file is missing or changed, ``clean`` when besides nothing in the
    store is unaccounted for (``untracked``: objects the catalogue does not know, and stray files by their path
    under objects/)."""

    checked: int = 0
    problems: list[FixityProblem] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)

    def of_kind(self, problem: str) -> list[FixityProblem]:
        return [p for p in self.problems if p.problem == problem]

    @property
    def ok(self) -> bool:
        return not self.of_kind("missing") and not self.of_kind("changed")

    @property
    def clean(self) -> bool:
        return self.ok and not self.untracked


def verify(context: ArchiveContext, *, items: Sequence[ItemRef] | None = None, record: bool = True,
           on_item: Callable[[int, int], None] | None = None) -> FixityReport:
    """Re-hash every catalogued file (or only ``items``) and look for untracked objects."""
    with context.session() as session:
        if items is None:  # a purged derivative's file was deleted on purpose: nothing to check
            statement = select(Item.id, Item.sha256).where(Item.purged_at.is_(None)).order_by(Item.id)
            rows = [(item_id, sha256) for item_id, sha256 in session.execute(statement)]
        else:
            rows = [(item.id, item.sha256) for item in (context.find(session, ref) for ref in items)
                    if item.purged_at is None]
    report = FixityReport()
    outcomes: list[tuple[int, str, str]] = []
    for done, (item_id, sha256) in enumerate(rows, start=1):
        problem = _check(context, item_id, sha256)
        if problem is not None:
            report.problems.append(problem)
        report.checked += 1
        if problem is None or problem.problem == "writable":
            outcomes.append((item_id, "pass", problem.detail if problem else ""))
        else:
            outcomes.append((item_id, "fail", f"{problem.problem}: {problem.detail}"))
        if on_item is not None:
            on_item(done, len(rows))
    if items is None:
        known = {sha for _, sha in rows}
        report.untracked = sorted(sha for sha in context.store.iter_objects() if sha not in known)
    if record and outcomes:
        with context.session() as session:
            for item_id, outcome, note in outcomes:
                context.record(session, "fixity check", item=item_id, outcome=outcome,
                               detail={"message_digest_algorithm": "SHA-256", "note": note})
    return report


def _check(context: ArchiveContext, item_id: int, sha256: str) -> FixityProblem | None:
    path = context.store.path(sha256)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return FixityProblem(item_id, sha256, "missing", str(path))
    actual = sha256_file(path)
    if actual != sha256:
        return FixityProblem(item_id, sha256, "changed", f"now sha256 {actual}")
    if mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return FixityProblem(item_id, sha256, "writable", "intact, but no longer read-only")
    return None
