"""The CLI: check (flags, YAML, JSON, what-if), bulk (bad rows, bad files), law, timeline, demo, clear errors."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from warexempt.cli.app import app

runner = CliRunner()
TRIAL = [
    "check",
    "--charge",
    "158:3:в",
    "--charge",
    "228:2",
    "--stage",
    "trial",
    "--event",
    "2024-10-20:contract_signed",
    "--event",
    "2024-11-01:command_petition",
    "--as-of",
    "2025-06-01",
]


def test_check_json_with_citations_in_both_languages():
    res = runner.invoke(app, [*TRIAL, "--json", "--lang", "ru"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["outcome"] == "suspended" and data["reasons"] == ["upk:238:1:5"]
    assert data["citations"][0]["ru"] == "п. 5 ч. 1 ст. 238 УПК РФ"
    assert data["citations"][0]["en"] == "Code of Criminal Procedure of the Russian Federation, Art. 238(1)(5)"
    assert any("ходатайств" in s for s in data["explanation"])


def test_check_what_if_lists_every_branch():
    res = runner.invoke(app, [*TRIAL, "--json", "--what-if"])
    branches = json.loads(res.output)["what_if"]
    got = {
        tuple(e["kind"] + (":" + e["ground"] if e["ground"] else "") for e in b["events"]): b["outcome"]
        for b in branches
    }
    assert got == {
        ("state_award",): "released",
        ("discharged:health",): "released",
        ("discharged:age",): "released",
        ("discharged:end_of_mobilisation",): "released",
        ("discharged:other",): "resumed",
        ("died",): "terminated_death",
    }
    rich = runner.invoke(app, [*TRIAL, "--what-if"])
    assert "What happens next" in rich.output and "resumed" in rich.output


def test_check_from_a_yaml_file(tmp_path):
    f = tmp_path / "case.yaml"
    f.write_text(
        "charges: ['275']\nstage: trial\nevents:\n  - {date: 2024-11-05, kind: contract_signed}\nas_of: 2025-01-01\n",
        encoding="utf-8",
    )
    data = json.loads(runner.invoke(app, ["check", str(f), "--json"]).output)
    assert data["outcome"] == "not_covered" and data["reasons"] == ["uk:78.1:1", "uk:275"]


THEFT_AT_TRIAL = ["check", "--charge", "158:1", "--stage", "trial"]


def _events(*events: str) -> list[str]:
    """``check`` of a theft at trial with these ``--event`` options."""
    return [*THEFT_AT_TRIAL, *(arg for e in events for arg in ("--event", e))]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["check", "--charge", "158:9", "--stage", "trial"], "article 158 has parts 1, 2, 3, 4"),
        (["check", "--charge", "158:1", "--stage", "jail"], "stage"),
        (["check", "--stage", "trial"], "charges"),
        (_events("2024-01-01:party"), "kind"),
        (_events("2024-01-01:contract_signed", "2023-12-01:state_award"), "before the entry into service"),
        (_events("2024-01-01:contract_signed", "2024-02-01:died", "2024-03-01:state_award"), "after the death"),
        (_events("2024-01-01:contract_signed", "2024-02-01:discharged"), "needs a ground"),
        (_events("2024-01-01:discharged:bored"), "ground"),
        ([*THEFT_AT_TRIAL, "--as-of", "yesterday"], "not a date"),
    ],
)
def test_bad_input_gives_a_specific_error_not_a_traceback(args, needle):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert needle in res.output
    assert "Traceback" not in res.output


CSV = """case_id,charges,stage,contract_date,petition_date,award_date,discharge_date,discharge_ground,death_date
1,158:3:в;228:2,pre_trial,2024-05-02,2024-05-10,2025-01-20,,,
2,275,trial,2024-11-05,2024-11-25,,,,
3,158:9,pre_trial,2024-05-02,,,,,
4,158:1,pre_trial,2024-05-02,2024-04-01,,,,
5,158:2,sentenced,2024-06-17,,,2025-02-03,,
6,161:2,appeal,2024-10-14,2024-11-01,,,,20x4-12-01
"""


def test_bulk_keeps_going_past_bad_rows(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(CSV, encoding="utf-8")
    out = tmp_path / "out.parquet"
    res = runner.invoke(app, ["bulk", str(src), "-o", str(out), "--as-of", "2025-06-01", "--summary"])
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(out)
    assert got["case_id"].to_list() == ["1", "2"]
    assert got["outcome"].to_list() == ["released", "not_covered"]
    errors = pl.read_csv(tmp_path / "out.errors.csv")
    assert errors.select("row", "column").rows() == [  # lines as a spreadsheet shows them: the header is line 1
        (4, "charges"),
        (5, "petition_date"),
        (6, "discharge_ground"),
        (7, "death_date"),
    ]
    assert "by outcome" in res.output


def test_bulk_parquet_in_csv_out_matches_single_checks(tmp_path):
    import warexempt

    df = pl.read_csv(CSV.encode(), infer_schema=False).head(2)
    df.write_parquet(tmp_path / "in.parquet")
    out = tmp_path / "out.csv"
    assert (
        runner.invoke(app, ["bulk", str(tmp_path / "in.parquet"), "-o", str(out), "--as-of", "2025-06-01"]).exit_code
        == 0
    )
    got = pl.read_csv(out)
    single = warexempt.check(
        charges=["275"],
        stage="trial",
        as_of="2025-06-01",
        events=[{"date": "2024-11-05", "kind": "contract_signed"}, {"date": "2024-11-25", "kind": "command_petition"}],
    )
    assert got.row(1, named=True)["reasons"] == ";".join(single.reasons)


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        (b"case_id,charges\n1,158\n", "a.csv", "missing column(s) stage, contract_date"),
        ("case_id,charges,stage,contract_date\n1,158,суд,2024-01-01\n".encode("cp1251"), "b.csv", "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "c.csv", "not a CSV"),
        (b"hello", "d.xlsx", "expected a .csv or .parquet"),
        (b"not parquet at all", "e.parquet", "cannot be read"),
    ],
)
def test_wholly_wrong_files_stop_with_one_message(tmp_path, content, name, needle):
    src = tmp_path / name
    src.write_bytes(content)
    out = tmp_path / "out.parquet"
    res = runner.invoke(app, ["bulk", str(src), "-o", str(out)])
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_law_timeline_and_demo_commands():
    law = runner.invoke(app, ["law", "--as-of", "2024-05-01"])
    assert (
        law.exit_code == 0
        and "uk:78.1:1@64-FZ" in law.output
        and "ст. 205" in runner.invoke(app, ["law", "--as-of", "2025-01-01", "--lang", "ru"]).output
    )
    tl = runner.invoke(app, ["timeline"])
    assert tl.exit_code == 0 and "fz-340" in tl.output and "non-statutory" in tl.output
    demo = runner.invoke(app, ["demo"])
    assert demo.exit_code == 0 and "What happens next" in demo.output


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--help"], 0, "Usage"),
        (["bulk", "no-such-file.csv", "-o", "out.parquet"], 2, "no such file"),
        (["cases", "no-such-dir"], 2, "no-such-dir"),
    ],
)
def test_the_console_script_flushes_its_output_and_keeps_the_exit_code(tmp_path, args, code, needle):
    """``main`` ends the process with ``os._exit``: what it printed must still arrive, with the right exit code."""
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "warexempt.cli.app", *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == code
    assert needle in res.stdout + res.stderr


def test_an_unknown_new_offence_code_that_would_decide_the_case_is_refused_without_a_traceback():
    """RULES §5: a new offence names a valid code. On trial, suspended, the new offence would close the cycle (§4):
    the engine must still refuse it with the code's own message, not fail while citing it."""
    args = ["check", "--charge", "158:1", "--stage", "trial", "--event", "2025-01-01:contract_signed"]
    args += [
        "--event",
        "2025-01-05:command_petition",
        "--event",
        "2026-02-01:new_offence:999:9",
        "--as-of",
        "2026-03-01",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "the Criminal Code has no article 999" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_bulk_run_keeps_freed_pages_unless_polars_is_loaded_or_the_user_chose(tmp_path):
    """``cli.allocator``: set in a fresh process before Polars loads (Polars adds them to its own); never over the
    user's own options, never once Polars' allocator has read them (it reads them once)."""
    import os
    import subprocess
    import sys

    from warexempt.cli.allocator import OPTIONS, VARIABLE

    def variable(before: str, env: dict[str, str]) -> str:
        code = f"{before}\nimport os\nfrom warexempt.cli.allocator import keep_freed_pages\nkeep_freed_pages()\n"
        code += f"print(os.environ.get({VARIABLE!r}, '-'))"
        clean = {k: v for k, v in os.environ.items() if k != VARIABLE}
        out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert variable("", {}) == OPTIONS
    assert OPTIONS not in variable("import polars", {})  # Polars' own options, read when it loaded
    assert variable("", {VARIABLE: "narenas:2"}) == "narenas:2"
