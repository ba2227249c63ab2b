"""The register's first schema: organisations, keys, users, tokens, cases, events, audit; append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("events", "audit")  # UPDATE and DELETE refused by the database itself (issue 10, item 2)


def _when() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        _when(),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("audit_head", sa.String(64), nullable=False),
    )
    op.create_table(
        "org_keys",
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id"), primary_key=True),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        _when(),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        _when(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("org_id", "name", name="uq_users_org_name"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        _when(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id"), nullable=False, index=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("charges", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("offence_date", sa.Date(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("notes", sa.LargeBinary(), nullable=True),
        _when(),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=True, index=True),
        sa.Column("eligible", sa.Boolean(), nullable=True),
        sa.Column("record_cleared", sa.Boolean(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("status_law", sa.String(64), nullable=True),
        sa.Column("status_seq", sa.Integer(), nullable=True),
        sa.Column("status_day", sa.Date(), nullable=True),
        sa.UniqueConstraint("org_id", "label", name="uq_cases_org_label"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("ground", sa.String(40), nullable=True),
        sa.Column("stage", sa.String(20), nullable=True),
        sa.Column("charge", sa.String(40), nullable=True),
        sa.Column("award", sa.String(200), nullable=True),
        sa.Column("supersedes", sa.String(100), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        sa.UniqueConstraint("case_id", "event_id", name="uq_events_case_event"),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("case_label", sa.String(100), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("org_id", "seq", name="uq_audit_org_seq"),
    )
    for statement in append_only_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS warexempt_append_only()")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    for table in ("audit", "events", "cases", "tokens", "users", "org_keys", "orgs"):
        op.drop_table(table)


def append_only_triggers(dialect: str) -> list[str]:
    """The statements that make ``events`` and ``audit`` append-only on ``dialect`` (sqlite or postgresql)."""
    if dialect == "postgresql":
        out = [
            "CREATE OR REPLACE FUNCTION warexempt_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'warexempt: % of % refused: the table is append-only', TG_OP, TG_TABLE_NAME "
            "USING ERRCODE = 'restrict_violation'; END $$"
        ]
        for table in APPEND_ONLY:
            out.append(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION warexempt_append_only()"
            )
            out.append(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION warexempt_append_only()"
            )
        return out
    out = []
    for table in APPEND_ONLY:
        for op_name in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'warexempt: {op_name} of {table} refused: the table is append-only'); END"
            )
    return out
