"""Derivation claims: one row per derivation being made, keyed by the request, so that two workers given the
same request make one derivative.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "derivation_claims",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("source_item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("derivation_claims")
