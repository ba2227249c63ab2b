"""The cached status's SHA-256 stored beside it, so that a recompute compares 64 bytes a case, not the status.

After a change of the law files every case is judged again, and most answers come out as they were: such a case
needs only its law, seq and day stamped, not its status rewritten. Telling the two apart took the old status's
digest, computed by PostgreSQL on every read (about a third of a second per 100,000 cases, on the recompute's
critical path), and was not done at all on SQLite, which rewrote every row. The digest is now written with the
status by the one function that writes every cached status (``store.cache_values``); rows cached before this
revision have none, and the first recompute writes their status (and its digest) in full.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("status_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "status_digest")
