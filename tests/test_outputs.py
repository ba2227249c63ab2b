"""Outputs people can reuse (issue 9): Parquet decisions in types that two runs share (lists of strings, enums over
fixed lists), CSV as ``;``-joined text, and a summary of outcome × deciding provision with labels in a language."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

import warexempt
from warexempt.cli.app import app
from warexempt.law.catalog import bundled_law
from warexempt.population.bulk import OUTPUT_COLUMNS, output_types, summary
from warexempt.rules.judge import Status

runner = CliRunner()
HEADER = "case_id,charges,stage,contract_date,petition_date,award_date,discharge_date,discharge_ground,death_date\n"
# Covered, nothing yet (eligible), and excluded (not_covered): the same first reason, uk:78.1:1, for both.
FIRST = (
    "E1,158:1,pre_trial,2024-05-02,,,,,\n"
    "E2,161:1,pre_trial,2024-05-02,,,,,\n"
    "X1,275,pre_trial,2024-05-02,,,,,\n"
    "R1,158:3:в;228:2,pre_trial,2024-05-02,2024-05-10,2024-05-20,,,\n"
)
SECOND = "R1,158:3:в;228:2,pre_trial,2024-05-02,2024-05-10,2024-05-20,,,\nD1,158:1,trial,2024-11-05,2024-11-25,,,,2025-01-10\n"
AS_OF = "2024-06-01"


def _bulk(tmp_path, name: str, body: str, suffix: str = ".parquet", *more: str):
    src = tmp_path / f"in-{name}.csv"
    src.write_text(HEADER + body, encoding="utf-8")
    out = tmp_path / f"{name}{suffix}"
    res = runner.invoke(app, ["bulk", str(src), "-o", str(out), "--as-of", AS_OF, *more])
    assert res.exit_code == 0, res.output
    return out, res


def test_two_runs_parquet_files_concatenate_and_their_reasons_compare_equal(tmp_path):
    a, _ = _bulk(tmp_path, "a", FIRST)
    b, _ = _bulk(tmp_path, "b", SECOND)  # other outcomes, other stages: the types do not depend on the data
    first, second = pl.read_parquet(a), pl.read_parquet(b)
    both = pl.concat([first, second])
    assert both.height == 6 and both.columns == OUTPUT_COLUMNS
    vocab = bundled_law().vocabulary
    assert both.schema["outcome"] == pl.Enum(vocab.ids("outcomes"))
    assert both.schema["stage"] == pl.Enum(vocab.ids("stages"))
    assert both.schema["status"] == pl.Enum([s.value for s in Status])
    for column in ("reasons", "unconfirmed", "warnings"):
        assert both.schema[column] == pl.List(pl.String)
    for column in ("case_id", "route", "list_version", "rule", "deciding_event"):
        assert both.schema[column] == pl.String
    assert first.schema == second.schema
    assert all(first.schema[c] == dtype for c, dtype in output_types(bundled_law()).items())
    same = [f.filter(pl.col("case_id") == "R1").drop("as_of") for f in (first, second)]
    assert same[0].equals(same[1])
    single = warexempt.check(
        charges=["158:3:в", "228:2"],
        stage="pre_trial",
        as_of=AS_OF,
        events=[
            {"date": "2024-05-02", "kind": "contract_signed"},
            {"date": "2024-05-10", "kind": "command_petition"},
            {"date": "2024-05-20", "kind": "state_award"},
        ],
    )
    row = same[0].row(0, named=True)
    assert (row["outcome"], row["reasons"], row["unconfirmed"]) == (single.outcome, single.reasons, single.unconfirmed)
    assert both.filter(pl.col("case_id") == "E1")["warnings"].to_list() == [[]]  # no warning: an empty list


def test_csv_decisions_keep_joined_text(tmp_path):
    out, _ = _bulk(tmp_path, "a", FIRST, ".csv")
    got = pl.read_csv(out, infer_schema=False)
    assert got.columns == OUTPUT_COLUMNS
    row = got.filter(pl.col("case_id") == "X1").row(0, named=True)
    assert row["reasons"] == "uk:78.1:1;uk:275" and row["outcome"] == "not_covered"


def test_the_summary_counts_outcome_by_deciding_provision_never_excluded_with_eligible(tmp_path):
    out, _ = _bulk(tmp_path, "a", FIRST)
    table = summary(out, bundled_law(), "en")
    rows = {(r["outcome"], r["provision"]): r["cases"] for r in table.iter_rows(named=True)}
    assert rows[("eligible", "uk:78.1:1")] == 2 and rows[("not_covered", "uk:78.1:1")] == 1
    assert table["outcome"].to_list()[:2] == ["not_covered", "eligible"]  # the vocabulary's order
    first = table.row(0, named=True)
    assert first["outcome_label"] == "not covered"
    assert first["provision_label"] == "Criminal Code of the Russian Federation, Art. 78.1(1)"
    csv_out, _ = _bulk(tmp_path, "c", FIRST, ".csv")
    assert summary(csv_out, bundled_law(), "en").equals(table)  # the same from the CSV


def test_bulk_summary_is_one_table_in_the_chosen_language(tmp_path):
    _, res = _bulk(tmp_path, "a", FIRST, ".parquet", "--summary", "--lang", "ru")
    lines = [line for line in res.output.splitlines() if "(uk:78.1:1)" in line]
    assert len(lines) == 2  # not_covered and eligible: two rows, two counts
    assert any("не подпадает" in line and "ч. 1 ст. 78.1 УК РФ" in line for line in lines)
    assert "by deciding provision" not in res.output.replace("outcome and by deciding provision", "")


def test_an_empty_list_is_not_an_empty_string_in_parquet(tmp_path):
    out, _ = _bulk(tmp_path, "a", FIRST)
    got = pl.read_parquet(out)
    assert got.filter(pl.col("reasons").list.contains("")).height == 0
    assert json.loads(got.select("case_id", "warnings").write_json())[0]["warnings"] == []
