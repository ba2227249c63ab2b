"""`warexempt register …` and `warexempt users …` (issue 10, item 5) on a SQLite file: every command, in English
and Russian, and bad input as one clear message, never a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from warexempt.cli.app import app
from warexempt.register import db

from .conftest import require_shared

runner = CliRunner()


@pytest.fixture
def env(tmp_path):
    return {"WAREXEMPT_DB": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "COLUMNS": "200", "WAREXEMPT_ORG": ""}


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    res = runner.invoke(app, list(args), env=env)
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    return res.output


def test_a_case_from_init_to_export(env, tmp_path):
    assert f"schema {db.head()}" in run(env, "register", "init")
    out = run(env, "users", "add", "anna", "--org", "ngo", "--role", "editor")
    token = out.strip().splitlines()[-1]
    assert token.startswith("wx_") and "shown this once" in out
    assert "anna" in run(env, "users", "list", "--org", "ngo") and token not in run(
        env, "users", "list", "--org", "ngo"
    )
    run(env, "register", "add", "K-1", "--charge", "158:3:в", "--stage", "trial", "--org", "ngo", "--notes", "тайна")
    run(env, "register", "event", "K-1", "2024-10-20:contract_signed", "--org", "ngo")
    out = run(env, "register", "event", "K-1", "2024-11-01:command_petition", "--org", "ngo", "--expect-seq", "1")
    assert "changes the status" in out and "238" in out
    out = run(env, "register", "event", "K-1", "2024-10-01:state_award", "--org", "ngo", code=2)
    assert "before the entry into service" in out
    out = run(env, "register", "event", "K-1", "2024-12-01:state_award", "--org", "ngo", "--expect-seq", "1", code=2)
    assert "moved on" in out
    out = run(env, "register", "event", "K-1", "2024-12-01:state_award", "--org", "ngo", "--lang", "ru", "--json")
    assert json.loads(out)["effect"] == "changed" and json.loads(out)["seq"] == 3
    out = run(env, "register", "history", "K-1", "--org", "ngo", "--lang", "ru")
    assert "История дела K-1" in out and "ходатайство командования" in out and "ст. 78.1 УК РФ" in out
    out = run(env, "register", "show", "K-1", "--org", "ngo", "--notes")
    assert "released" in out and "тайна" in out
    assert "тайна" not in run(env, "register", "show", "K-1", "--org", "ngo")
    assert "K-1" in run(env, "register", "list", "--org", "ngo", "--outcome", "released")
    assert "K-1" not in run(env, "register", "list", "--org", "ngo", "--outcome", "suspended")
    exported = tmp_path / "out.yaml"
    run(env, "register", "export", "--org", "ngo", "--format", "yaml", "-o", str(exported))
    assert "тайна" not in exported.read_text(encoding="utf-8")
    run(env, "users", "add", "boris", "--org", "other", "--role", "admin")
    assert "1 new" in run(env, "register", "import", str(exported), "--org", "other")
    assert "0 new" in run(env, "register", "import", str(exported), "--org", "other")
    lines = run(env, "register", "export", "--org", "other", "--format", "json").splitlines()
    assert json.loads(lines[0])["status"]["outcome"] == "released"
    assert "intact" in run(env, "register", "verify")
    assert "0 of 2 cases recomputed" in run(env, "register", "recompute")
    assert "2 of 2 cases recomputed" in run(env, "register", "recompute", "--force")
    assert "revoked, with 1 tokens" in run(env, "users", "revoke", "anna", "--org", "ngo")


def test_importing_the_acceptance_cases_from_the_command_line(env):
    folder = require_shared()
    run(env, "users", "add", "anna", "--org", "ngo", "--role", "admin")
    out = run(env, "register", "import", *sorted(str(p) for p in folder.glob("*.yaml")), "--org", "ngo")
    assert out.count(" new,") == len(list(folder.glob("*.yaml")))
    rows = json.loads(run(env, "register", "list", "--org", "ngo", "--json"))
    assert len(rows) == 139 and all(r["law_fingerprint"] for r in rows)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["register", "list", "--org", "nqo"], "no organisation 'nqo'"),
        (["register", "list", "--org", "ngo", "--outcome", "relesed"], "released"),
        (["register", "show", "K-9", "--org", "ngo"], "no case 'K-9'"),
        (["register", "event", "K-1", "2024-10-20", "--org", "ngo"], "DATE:KIND"),
        (["register", "event", "K-1", "2024-13-20:contract_signed", "--org", "ngo"], "not a date"),
        (["register", "add", "K-2", "--charge", "158:9", "--stage", "trail", "--org", "ngo"], "not a stage"),
        (["register", "export", "--org", "ngo", "--format", "xml"], "json, csv or yaml"),
        (["users", "add", "x", "--org", "ngo", "--role", "owner"], "not a role"),
        (["register", "list", "--org", "nqo", "--lang", "ru"], "нет организации"),
    ],
)
def test_bad_input_is_one_clear_message(env, args, needle):
    run(env, "users", "add", "anna", "--org", "ngo", "--role", "admin")
    run(env, "register", "add", "K-1", "--charge", "158:2", "--stage", "pre_trial", "--org", "ngo")
    assert needle in run(env, *args, code=2)


def test_a_rejected_file_lists_its_problems_and_the_exit_code_says_so(env, tmp_path):
    run(env, "users", "add", "anna", "--org", "ngo", "--role", "admin")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "cases:\n  - id: X\n    facts: {charges: ['158:2'], stage: trail}\n  - {facts: {}}\n", encoding="utf-8"
    )
    out = run(env, "register", "import", str(bad), "--org", "ngo", "--lang", "ru", code=2)
    assert "файл отклонён" in out and "cases[1].facts.stage" in out and "cases[2].id" in out


def test_the_register_help_is_bilingual():
    assert "Реестр дел" in runner.invoke(app, ["--help"], env={"WAREXEMPT_LANG": "ru", "COLUMNS": "200"}).output
    out = runner.invoke(app, ["register", "--help"], env={"WAREXEMPT_LANG": "ru", "COLUMNS": "200"}).output
    assert "Внести новое дело" in out
