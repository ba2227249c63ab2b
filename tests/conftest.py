"""Shared fixtures. ``SHARED`` is the project's ../shared folder (the acceptance cases), present in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from warexempt.law.catalog import Law, bundled_law

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
# An amendment of the tests' own: an event kind of an existing role (release) with its rule from 2026-06-01 — law as
# data: it changes answers from its date on with no code change (tests/test_core_v2.py, the help lists it).
HONOUR = """
id: test-honour
kind: amendment
title: {ru: "Тестовая поправка", en: "A test amendment"}
in_force: {from: 2026-06-01}
event_kinds:
  - {id: honour_roll, role: release, ru: "занесение в книгу почета", en: "entered on the roll of honour"}
events:
  - {id: roll, stages: [pre_trial], event: honour_roll, outcome: released, record_cleared: true, reasons: ["uk:78.1:1:а"]}
"""
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def law() -> Law:
    return bundled_law()


def require_shared() -> Path:
    """The acceptance folder; missing is a skip on a laptop and a failure in CI."""
    path = SHARED / "acceptance"
    if not path.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing: CI must run with ../shared beside the clone")
        pytest.skip(f"{path} is not here (../shared is not beside this clone)")
    return path


def missing_part(reason: str) -> None:
    """A real part the test needs (a server, a browser) is not here: a skip on a laptop, a failure under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must provide it: .ci/services installs and starts it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A SQLAlchemy URL of a real PostgreSQL database the tests may fill and empty (``.ci/services`` starts one)."""
    url = os.environ.get("WAREXEMPT_TEST_PG", "")
    if not url:
        missing_part("PostgreSQL is not configured: set WAREXEMPT_TEST_PG (`source .ci/services` does)")
    try:
        import sqlalchemy

        with sqlalchemy.create_engine(url).connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # any failure to reach the server is the same answer: it is not here
        missing_part(f"PostgreSQL at WAREXEMPT_TEST_PG cannot be reached: {exc}")
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium, which Playwright drives with ``executable_path`` (browsers cannot be downloaded here)."""
    path = os.environ.get("WAREXEMPT_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).is_file():
        missing_part(f"Chromium is not installed at {path} (Debian package `chromium`)")
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The HTTP API (a jobs folder of its own per module), for the API's tests."""
    from warexempt.api.app import create_app

    return create_app(jobs_dir=tmp_path_factory.mktemp("jobs"))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of ``app`` that answers a server error as a response (a 500 is checked, not raised)."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
