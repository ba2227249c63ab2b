"""Cheaper status-cache writes: the unused index on ``cases.outcome`` dropped; PostgreSQL leaves room in each page.

Every append and every recompute rewrites a case's cached status. The index on ``outcome`` served no query (a
case list filters on the status derived afresh, never on the cached column), yet each write updated it, and on
PostgreSQL an indexed column that changes rules out a heap-only (HOT) update, which also skips the other indexes.
``fillfactor`` 50 on ``cases`` (PostgreSQL) keeps half of each page free, so that a case's new row version fits in
its own page: a recompute after a law change, or an append, then rewrites the row without touching any index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FILLFACTOR = 50  # percent of each ``cases`` page filled by inserts (PostgreSQL); the rest is for updated rows


def upgrade() -> None:
    op.drop_index("ix_cases_outcome", table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        # new pages from now on; existing ones are repacked by the next VACUUM FULL (not run here: it locks the table)
        op.execute(f"ALTER TABLE cases SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cases RESET (fillfactor)")
    op.create_index("ix_cases_outcome", "cases", ["outcome"])
