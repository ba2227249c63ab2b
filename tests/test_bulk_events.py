"""``warexempt bulk CASES --events EVENTS``: case histories from a long events file decide as ``check`` does (the
public case histories, RULES.md §1 and §4), and an unreadable event row is an error row that leaves its case out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

import warexempt
from warexempt.cli.app import app
from warexempt.law.catalog import load_yaml
from warexempt.rules.case import Case

from .conftest import require_shared

runner = CliRunner()


def _history_cases() -> list[Case]:
    doc = load_yaml((require_shared() / "histories" / "07_histories.yaml").read_text(encoding="utf-8"))
    return [Case.parse({**c["facts"], "as_of": c["as_of"], "case_id": c["id"]}) for c in doc["cases"]]


def _write(tmp_path: Path, cases: list[Case], suffix: str) -> tuple[Path, Path]:
    rows = [{"case_id": c.case_id, "charges": ";".join(c.charges), "stage": c.stage, "as_of": c.as_of} for c in cases]
    events = [
        {
            "case_id": c.case_id,
            "event_id": i,
            "date": e.date,
            "kind": e.kind,
            "ground": e.ground,
            "stage": e.stage,
            "charge": e.charge,
        }
        for c in cases
        for e, i in zip(c.events, c.event_ids(), strict=True)
    ]
    case_file, event_file = tmp_path / f"cases{suffix}", tmp_path / f"events{suffix}"
    for frame, path in ((pl.DataFrame(rows), case_file), (pl.DataFrame(events), event_file)):
        frame.write_parquet(path) if suffix == ".parquet" else frame.write_csv(path)
    return case_file, event_file


def test_the_public_case_histories_decide_from_an_events_file_as_check_decides_them(tmp_path):
    cases = _history_cases()
    for suffix in (".parquet", ".csv"):
        case_file, event_file = _write(tmp_path, cases, suffix)
        out = tmp_path / f"out{suffix}.parquet"
        res = runner.invoke(app, ["bulk", str(case_file), "--events", str(event_file), "-o", str(out), "--force"])
        assert res.exit_code == 0, res.output
        got = {r["case_id"]: r for r in pl.read_parquet(out).to_dicts()}
        assert len(got) == len(cases) == 18
        for case in cases:
            single = warexempt.check(case)
            row = got[case.case_id]
            assert (row["outcome"], row["reasons"]) == (
                single.outcome,
                single.reasons,
            ), case.case_id
            assert row["deciding_event"] == single.trace["deciding_event"]


def test_an_unreadable_event_is_an_error_row_and_its_case_is_left_out(tmp_path):
    cases = _history_cases()[:3]
    case_file, event_file = _write(tmp_path, cases, ".csv")
    text = event_file.read_text(encoding="utf-8").splitlines()
    text.append(f"{cases[0].case_id},x9,2024-13-01,contract_signed,,,")
    text.append(f"{cases[1].case_id},x10,2024-12-01,medal,,,")
    text.append("NOPE,x11,2024-12-01,died,,,")
    event_file.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    res = runner.invoke(
        app, ["bulk", str(case_file), "--events", str(event_file), "-o", str(out), "--as-of", "2026-01-01"]
    )
    assert res.exit_code == 0, res.output
    errors = pl.read_csv(tmp_path / "out.errors.csv")
    lines = len(text)
    assert errors.select("row", "column", "value").rows() == [
        (lines - 2, "events:date", "2024-13-01"),
        (lines - 1, "events:kind", "medal"),
        (lines, "events:case_id", "NOPE"),
    ]
    assert pl.read_parquet(out)["case_id"].to_list() == [cases[2].case_id]


def test_histories_bulk_without_a_contract_date_column(tmp_path):
    """With ``--events`` the case file needs only case_id, charges and stage."""
    case_file = tmp_path / "c.csv"
    case_file.write_text("case_id,charges,stage\nA,158:2,pre_trial\n", encoding="utf-8")
    event_file = tmp_path / "e.csv"
    event_file.write_text(
        "case_id,date,kind,ground\nA,2025-01-10,contract_signed,\nA,2025-01-20,command_petition,\n"
        "A,2025-06-01,discharged,health\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.parquet"
    res = runner.invoke(
        app, ["bulk", str(case_file), "--events", str(event_file), "-o", str(out), "--as-of", "2025-07-01"]
    )
    assert res.exit_code == 0, res.output
    row = pl.read_parquet(out).to_dicts()[0]
    assert str(row["outcome"]) == "released" and row["decided_on"] == dt.date(2025, 6, 1)
    assert row["deciding_event"] == "line 4"
