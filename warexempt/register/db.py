"""Opening a register database: the engine, its durability settings, and the migrations.

SQLite is the default (a file in the user's data folder): every connection is put in WAL mode with
``synchronous=FULL`` (an acknowledged write survives a power loss) and a busy timeout, and a write transaction
starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue for the lock instead of failing half-way.
PostgreSQL 15 is reached through psycopg 3 (``postgresql+psycopg://…``). The schema is the Alembic migrations
shipped in ``migrations/``, run from here (``register init``, and on open).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, insert
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ENV = "WAREXEMPT_DB"
BUSY_MS = 30_000  # how long a writer waits for SQLite's lock before it reports the database as busy


def default_url() -> str:
    """``WAREXEMPT_DB``, else a SQLite file in the user's data folder (``platformdirs``)."""
    given = os.environ.get(ENV, "").strip()
    if given:
        return given
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("warexempt", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'register.sqlite3'}"


def normalise(url: str) -> str:
    """A URL as SQLAlchemy takes it: a bare path is a SQLite file; ``postgresql://`` uses psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, **options: Any) -> Engine:
    """An engine for ``url`` (default: ``default_url()``) with the register's durability settings."""
    full = normalise(url or default_url())
    parsed = make_url(full)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(full, connect_args={"timeout": BUSY_MS / 1000}, **options)
        _sqlite_settings(engine)
        return engine
    return create_engine(full, pool_pre_ping=True, **options)


def _sqlite_settings(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the transactions are begun below, not by the driver
        cur = dbapi_conn.cursor()
        with contextlib.suppress(Exception):  # a read-only file keeps its journal mode; reads still work
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


COPY_FROM = 20  # rows from which an insert into PostgreSQL goes by COPY (below: one INSERT costs less to set up)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the connection's transaction.

    PostgreSQL, for many rows: one ``COPY … FROM STDIN`` — the server inserts them in one command instead of one
    execution per row, and psycopg packs the values in C; constraints, foreign keys and triggers apply as to an
    INSERT, and a violated one raises the same ``IntegrityError``. Else (SQLite, or a few rows): an executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    raw: Any = conn.connection.driver_connection
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy's own (IntegrityError for a violated constraint)
        raise sa_exc.DBAPIError.instance(
            f"COPY {table.name}", None, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from exc


def _config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    """The newest schema revision shipped."""
    from alembic.script import ScriptDirectory

    cfg = _config(None)  # type: ignore[arg-type]
    found = ScriptDirectory.from_config(cfg).get_current_head()
    return str(found)


def current(engine: Engine) -> str | None:
    """The database's schema revision (``None``: no register schema yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (default the newest)."""
    from alembic import command

    with engine.connect().execution_options(write=True) as conn:
        _lock(conn)
        command.upgrade(_config(conn), revision)
        conn.commit()


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Downgrade the schema to ``revision`` (``base``: no register tables)."""
    from alembic import command

    with engine.connect().execution_options(write=True) as conn:
        _lock(conn)
        command.downgrade(_config(conn), revision)
        conn.commit()


MIGRATION_LOCK = 7_150_412  # PostgreSQL advisory lock: processes opening a new database migrate one at a time


def _lock(conn: Connection) -> None:
    """Begin the migration's transaction holding the database's lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an
    advisory lock), so that a second process opening the same new database waits, then finds it migrated."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    else:
        conn.exec_driver_sql("SELECT 1")
