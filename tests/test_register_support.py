"""Fixtures of the register tests: a register on each back end — a SQLite file, and a fresh PostgreSQL database made
for the test module on the real server (``pg_url``; dropped at the end) — and unique organisation names, so that
the tests of a module share one database without seeing each other's cases."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy

from warexempt.register import people
from warexempt.register.actors import Actor
from warexempt.register.store import Register

_names = itertools.count(1)


@contextmanager
def fresh_pg_database(pg_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``pg_url``; its URL. Dropped afterwards."""
    name = f"warexempt_reg_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()  # no idle admin connection while the test runs (some tests end the server's connections)
    url = sqlalchemy.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def database_url(kind: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'register.sqlite3'}"
        return
    pg_url = request.getfixturevalue("pg_url")
    with fresh_pg_database(pg_url) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per back end per test module."""
    yield from database_url(request.param, tmp_path_factory.mktemp("register"), request)


@pytest.fixture(scope="module")
def reg(db_url: str) -> Iterator[Register]:
    register = Register.open(db_url)
    yield register
    register.close()


def new_org(reg: Register, prefix: str = "org") -> Actor:
    """A new organisation of its own, and its local admin."""
    name = f"{prefix}-{next(_names)}-{uuid.uuid4().hex[:6]}"
    people.create_org(reg, name)
    return reg.local(name)


@pytest.fixture
def admin(reg: Register) -> Actor:
    return new_org(reg)
