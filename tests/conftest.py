"""Shared fixtures. ``SHARED`` is the project's ../shared folder (the acceptance cases), present in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warexempt.law.catalog import Law, bundled_law

ROOT = Path(__file__).resolve().parent.parent
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
