"""Withdrawn (deaccessioned) items, and file names indexed by their words.

Items get ``withdrawn_at`` and ``purged_at``; the search index's ``names`` column is rebuilt so that words inside
CamelCase, underscore and digit-joined file names are found (FadedRacket.PNG by "racket"); withdrawn items leave
the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from patina.archive.search import name_words

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("items", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_items_withdrawn_at", "items", ["withdrawn_at"])
    if context.is_offline_mode() or op.get_bind().dialect.name != "sqlite":
        return  # the index is SQLite's (FTS5); offline SQL cannot recompute names (Python), opening does not need it
    bind = op.get_bind()
    for rowid, names in bind.execute(sa.text("SELECT rowid, names FROM items_fts")).all():
        bind.execute(sa.text("UPDATE items_fts SET names = :names WHERE rowid = :id"),
                     {"names": name_words(names or ""), "id": rowid})


def downgrade() -> None:
    op.drop_index("ix_items_withdrawn_at", "items")
    op.drop_column("items", "purged_at")  # SQLite 3.35+ drops a column in place
    op.drop_column("items", "withdrawn_at")
