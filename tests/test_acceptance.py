"""Every public acceptance case (../shared/acceptance) and the project's own cases pass (RULES.md §1–§6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from warexempt.cli.app import app
from warexempt.rules.acceptance import CaseFileError, run_case_files

from .conftest import require_shared

OWN = Path(__file__).parent / "cases"


def test_public_acceptance_cases_all_pass(law):
    results = run_case_files([require_shared()], law)
    assert len(results) >= 139
    failed = {r.id: r.mismatches for r in results if not r.passed}
    assert failed == {}


def test_public_case_histories_all_pass(law):
    """RULES.md §1 stage history, attempts and cycles; §4 new offences: ../shared/acceptance/histories."""
    results = run_case_files([require_shared() / "histories"], law)
    assert len(results) >= 18
    assert {r.id: r.mismatches for r in results if not r.passed} == {}


def test_all_157_public_cases_pass_in_one_run(law):
    """All 157 in two runs: the shared spec's histories reuse the ids A-0201…A-0218 of 06_exclusions_full_list.yaml
    (its README says ids are unique across all files), and one run refuses repeated ids."""
    shared = require_shared()
    results = run_case_files([shared], law) + run_case_files([shared / "histories"], law)
    assert len(results) == 157 and all(r.passed for r in results)
    with pytest.raises(CaseFileError, match=r"A-0205.*06_exclusions_full_list\.yaml and in .*07_histories\.yaml"):
        run_case_files([shared, shared / "histories"], law)


def test_own_cases_all_pass(law):
    results = run_case_files([OWN], law)
    assert len(results) == 8
    assert {r.id: r.mismatches for r in results if not r.passed} == {}


def test_cases_command_json_and_exit_code(tmp_path):
    import json

    runner = CliRunner()
    res = runner.invoke(app, ["cases", str(OWN), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert {"id", "eligible", "outcome", "record_cleared", "reasons", "unconfirmed", "passed", "mismatches"} <= set(
        rows[0]
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "cases:\n  - id: X\n    facts: {charges: ['158:1'], stage: pre_trial}\n    as_of: 2025-01-01\n"
        "    expect: {eligible: false, outcome: not_covered}\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["cases", str(bad), "--json"])
    assert res.exit_code == 1
    row = json.loads(res.output)[0]
    assert row["passed"] is False and "outcome: expected 'not_covered', got 'eligible'" in row["mismatches"][1]
