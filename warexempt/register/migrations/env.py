"""Alembic's environment for the register: run programmatically (``register.db.migrate``) on a connection the
register opened, so that the engine's SQLite pragmas and the PostgreSQL URL are the register's own."""

from __future__ import annotations

from alembic import context

from warexempt.register.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through register.db.migrate
    raise RuntimeError("run the register's migrations through warexempt.register.db.migrate")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
