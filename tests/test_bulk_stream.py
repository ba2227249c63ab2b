"""A bulk run in parts (``population.stream``, ``bulk --chunk-rows``) gives exactly the answer of one pass: the same
decisions row for row, the same errors file (rows numbered as in the file), the same counts — whatever the part
size, with repeated ids and a case's events falling in different parts. ``--summary`` without ``-o`` writes no
decision (no list of people), only counts equal to those of the decisions file."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from warexempt.cli import bulk_parts
from warexempt.cli.app import app
from warexempt.law.catalog import bundled_law
from warexempt.law.tables import tables
from warexempt.population import stream
from warexempt.population.bulk import breakdown, run_bulk
from warexempt.population.checks import repeated_ids
from warexempt.population.output import Appender
from warexempt.population.stream import COUNT_KEYS, repeated_ids_of, run_in_parts, tally

runner = CliRunner()
T = tables(bundled_law())
DAY = dt.date(2026, 1, 15)
CHARGES = ["158:1", "158:3:в", "228:2", "275", "105:2", "161:2;158:1", "30:105:2", "205:1", "111:4", "158:9"]
STAGES = ["pre_trial", "trial", "appeal", "sentenced", "court"]  # court: not a stage, an error row


def cases_file(n: int = 240, seed: int = 7) -> pl.DataFrame:
    """Synthetic cases with every kind of bad row scattered through the file: unknown stages and charge codes, a
    ground without a discharge, histories that cannot be true (RULES.md §5: an award before the contract, anything
    after death) and ids repeated far apart (so that the copies fall in different parts)."""
    rng = random.Random(seed)

    def after(day: dt.date | None, within: int) -> dt.date | None:
        return day + dt.timedelta(days=rng.randrange(1, within)) if day and rng.random() < 0.4 else None

    rows = []
    for i in range(n):
        contract = dt.date(2022, 6, 1) + dt.timedelta(days=rng.randrange(1300)) if rng.random() > 0.05 else None
        petition = after(contract, 90)
        award = after(petition or contract, 400)
        discharge = after(petition or contract, 600)
        ground = rng.choice(["age", "health", "other", "end_of_mobilisation"]) if discharge else None
        death = after(discharge or award or petition or contract, 300) if rng.random() < 0.3 else None
        if i % 53 == 7:  # an award before the contract
            award = contract - dt.timedelta(days=3) if contract else None
        if i % 61 == 11:  # a ground without a discharge
            ground, discharge = "health", None
        rows.append(
            {
                "case_id": f"K{i:05d}" if i % 97 != 90 else "K00003",  # repeated ids, far apart
                "charges": rng.choice(CHARGES),
                "stage": rng.choice(STAGES) if i % 29 == 5 else rng.choice(STAGES[:4]),
                "contract_date": contract,
                "petition_date": petition,
                "award_date": award,
                "discharge_date": discharge,
                "discharge_ground": ground,
                "death_date": death,
            }
        )
    return pl.DataFrame(rows, schema_overrides={c: pl.Date for c in ("contract_date", "death_date")})


def events_file(cases: pl.DataFrame, seed: int = 3) -> pl.DataFrame:
    """Events of the cases in the file's reverse order (so a case's events are far from its row), some unreadable
    (an unknown kind, a bad date), and events of cases that are not in the file."""
    rng = random.Random(seed)
    rows = []
    for i, (case_id, contract) in enumerate(cases.select("case_id", "contract_date").reverse().iter_rows()):
        if contract is None or rng.random() < 0.5:
            continue
        day = contract + dt.timedelta(days=rng.randrange(5, 200))
        kind = rng.choice(["command_petition", "state_award", "stage_changed", "called_up"])
        stage = rng.choice(["trial", "appeal"]) if kind == "stage_changed" else None
        rows.append({"case_id": case_id, "date": day.isoformat(), "kind": kind, "stage": stage})
        if i % 37 == 0:
            rows.append({"case_id": case_id, "date": "2024-13-01", "kind": "state_award", "stage": None})
        if i % 41 == 0:
            rows.append({"case_id": case_id, "date": day.isoformat(), "kind": "promotion", "stage": None})
    for j in range(3):
        rows.insert(10 * j + 2, {"case_id": f"NOPE{j}", "date": "2025-01-01", "kind": "died", "stage": None})
    return pl.DataFrame(rows, schema={"case_id": pl.String, "date": pl.String, "kind": pl.String, "stage": pl.String})


def _read(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema=False)


def _inputs(tmp_path: Path, suffix: str, with_events: bool = False) -> tuple[Path, Path | None]:
    frame = cases_file()
    src = tmp_path / f"cases{suffix}"
    if suffix == ".parquet":
        frame.write_parquet(src, row_group_size=50)
    else:
        frame.write_csv(src)
    if not with_events:
        return src, None
    ev = tmp_path / f"events{suffix}"
    events = events_file(frame)
    events.write_parquet(ev) if suffix == ".parquet" else events.write_csv(ev)
    return src, ev


@pytest.mark.parametrize("out_suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("chunk", [11, 100, 10_000])
def test_parts_of_any_size_give_the_one_pass_answer(tmp_path, suffix, out_suffix, chunk):
    """RULES.md §5 rows (set aside as errors) and repeated ids in different parts: decisions, errors, counts equal."""
    src, _ = _inputs(tmp_path, suffix)
    whole = run_bulk(src, T, DAY, tmp_path / f"whole{out_suffix}")
    parts = run_in_parts(src, T, DAY, tmp_path / f"parts{out_suffix}", chunk_rows=chunk, count=True)
    assert _read(tmp_path / f"parts{out_suffix}").equals(_read(tmp_path / f"whole{out_suffix}"))
    assert parts.errors.equals(whole.errors)
    assert (parts.rows, parts.decided) == (whole.rows, whole.decided)
    reasons = set(whole.errors["reason"])
    assert "case_id is not unique" in reasons and any("stage" in r for r in reasons)  # the file has bad rows
    assert whole.errors["row"].is_sorted() and parts.counts is not None
    assert parts.counts.equals(_counted(tally(_read(tmp_path / f"whole{out_suffix}"))))


def _counted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by(COUNT_KEYS).agg(pl.col("cases").sum()).sort(COUNT_KEYS, nulls_last=True)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("chunk", [9, 1000])
def test_each_part_reads_all_the_events_of_its_cases_and_only_them(tmp_path, suffix, chunk):
    """RULES.md §1: a case is decided with its whole history though its events are far from its row; unreadable
    events and events of no case are the same error rows, numbered as the events file's lines."""
    src, ev = _inputs(tmp_path, suffix, with_events=True)
    whole = run_bulk(src, T, DAY, tmp_path / "whole.parquet", events=ev)
    parts = run_in_parts(src, T, DAY, tmp_path / "parts.parquet", events=ev, chunk_rows=chunk)
    assert pl.read_parquet(tmp_path / "parts.parquet").equals(pl.read_parquet(tmp_path / "whole.parquet"))
    assert parts.errors.equals(whole.errors)
    event_errors = whole.errors.filter(pl.col("column").str.starts_with("events:"))
    assert {"events:case_id", "events:date", "events:kind"} <= set(event_errors["column"])
    decided = pl.read_parquet(tmp_path / "whole.parquet")
    assert decided["deciding_event"].is_in(["contract_date"]).sum() < decided.height  # events did decide cases


def test_the_whole_files_repeated_ids_are_those_of_one_pass():
    frame = cases_file(600)
    found = repeated_ids_of(frame.lazy())
    rows = repeated_ids(frame["case_id"])
    assert sorted(found.to_list()) == sorted(set(frame["case_id"].gather(rows.cast(pl.Int64) - 1).to_list()))
    assert found.to_list() == ["K00003"]
    assert repeated_ids_of(frame.lazy().filter(pl.col("case_id") != "K00003")).is_empty()


def test_the_cli_in_parts_writes_the_same_set_with_its_manifest(tmp_path):
    src, _ = _inputs(tmp_path, ".parquet")
    base = ["bulk", str(src), "--as-of", DAY.isoformat()]
    one = runner.invoke(app, [*base, "-o", str(tmp_path / "one.parquet")])
    parts = runner.invoke(app, [*base, "-o", str(tmp_path / "parts.parquet"), "--chunk-rows", "19"])
    assert one.exit_code == 0 and parts.exit_code == 0, parts.output
    assert pl.read_parquet(tmp_path / "parts.parquet").equals(pl.read_parquet(tmp_path / "one.parquet"))
    assert (tmp_path / "parts.errors.csv").read_text() == (tmp_path / "one.errors.csv").read_text()
    manifest = json.loads((tmp_path / "parts.manifest.json").read_text())
    assert manifest["rows_read"] == 240 and manifest["rows_decided"] == pl.read_parquet(tmp_path / "one.parquet").height
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.partial"))


def test_summary_without_output_lists_no_one_and_counts_what_the_decisions_file_holds(tmp_path):
    """warexempt informs and measures, it never lists people: only counts leave the run, and they are the
    decisions file's (by outcome and deciding provision; by outcome, eligible, stage, route and list version)."""
    src, _ = _inputs(tmp_path, ".csv")
    before = set(tmp_path.iterdir())
    res = runner.invoke(app, ["bulk", str(src), "--as-of", DAY.isoformat(), "--summary"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert set(tmp_path.iterdir()) == before  # nothing written: no decisions, no errors file with ids
    assert "K0" not in res.output  # no case id shown
    assert "Cases by outcome, stage, route and list version" in res.output
    full = run_bulk(src, T, DAY, tmp_path / "all.parquet")
    shown = breakdown(tally(pl.read_parquet(tmp_path / "all.parquet")))
    for row in shown.iter_rows(named=True):
        assert row["route"] is None or any(
            row["route"] in line and f"{row['cases']:,}" in line for line in res.output.splitlines()
        )
    assert f"{full.decided:,} cases decided and counted, none listed" in res.output


def test_summary_counts_are_the_same_whole_or_in_parts(tmp_path):
    src, _ = _inputs(tmp_path, ".parquet")
    whole = run_in_parts(src, T, DAY, None, chunk_rows=10_000, count=True)
    parts = run_in_parts(src, T, DAY, None, chunk_rows=7, count=True)
    assert whole.counts is not None and parts.counts is not None and whole.counts.equals(parts.counts)
    assert int(whole.counts["cases"].sum()) == whole.decided
    assert breakdown(whole.counts)["cases"].sum() == whole.decided


def test_a_large_file_is_decided_in_parts_unasked(tmp_path, monkeypatch):
    src, _ = _inputs(tmp_path, ".parquet")
    out = tmp_path / "o.parquet"
    assert not bulk_parts.in_parts(src, None, None, out)
    monkeypatch.setattr(stream, "AUTO_ROWS", 100)
    assert bulk_parts.in_parts(src, None, None, out)
    assert bulk_parts.in_parts(src, 5, None, out) and bulk_parts.in_parts(src, None, None, None)


def test_bad_options_are_refused_before_anything_is_read(tmp_path):
    src = tmp_path / "missing.parquet"
    for args, said in [
        (["-o", str(tmp_path / "o.parquet"), "--chunk-rows", "0"], "--chunk-rows 0: expected a number of rows"),
        (["-o", str(tmp_path / "o.parquet"), "--dask", "locale"], "expected local, local:N"),
        (["-o", str(tmp_path / "o.parquet"), "--dask", "local:0"], "the number of workers must be 1 to 256"),
        ([], "give -o OUTPUT (.csv or .parquet) for the decisions, or --summary for counts alone"),
    ]:
        res = runner.invoke(app, ["bulk", str(src), *args], env={"COLUMNS": "250"})
        assert res.exit_code == 2 and said in res.output, res.output
    res = runner.invoke(app, ["bulk", str(src), "--dask", "nowhere", "--summary", "--lang", "ru"])
    assert "ожидается local, local:N" in res.output


def test_an_appended_file_outside_a_run_appears_only_when_closed(tmp_path):
    """Like ``write``: a half-written file is never under its name; an aborted one leaves nothing."""
    out = tmp_path / "a.parquet"
    frame = pl.DataFrame({"x": [1, 2], "s": ["a", None]})
    sink = Appender(out)
    sink.add(frame)
    sink.add(frame.with_columns(pl.lit(None).alias("s")))  # a part whose column is all null keeps the type
    assert not out.exists()
    sink.close()
    assert pl.read_parquet(out).equals(pl.concat([frame, frame.with_columns(pl.lit(None, pl.String).alias("s"))]))
    other = Appender(tmp_path / "b.csv")
    other.add(frame)
    other.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet"]


def test_a_part_that_cannot_be_appended_stops_the_run_and_leaves_no_file(tmp_path, monkeypatch):
    """Parts are appended in a thread beside the deciding of the next: a failed append is the run's error (raised
    in the caller's thread), and the half-written file is removed, as for a failure while deciding."""
    src, _ = _inputs(tmp_path, ".parquet")
    appended: list[int] = []
    put = Appender.put

    def failing(sink, table):  # the third part's write fails, as a full disk would
        if len(appended) == 2:
            raise OSError(28, "No space left on device")
        put(sink, table)
        appended.append(table.num_rows)

    monkeypatch.setattr(Appender, "put", failing)
    out = tmp_path / "out" / "parts.parquet"
    out.parent.mkdir()
    with pytest.raises(OSError, match="No space left"):
        run_in_parts(src, T, DAY, out, chunk_rows=50)
    assert len(appended) == 2 and list(out.parent.iterdir()) == []
