"""``warexempt bulk --dask``: the parts decided on a real ``distributed.LocalCluster`` (two worker processes, one
thread each) give the local run's output row for row — the decisions, the errors file, the counts — with each
case's events read in its own partition (RULES.md §1: the whole history decides). One cluster serves the module
(it costs seconds to start): the one ``--dask local:2`` starts, reached by its ``tcp://`` address."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from warexempt.cli.app import app
from warexempt.population.bulk import run_bulk
from warexempt.population.distributed import (
    DaskAddressError,
    Partition,
    _chunk,
    cluster,
    dask_chunks,
    decide_partition,
    parse_address,
)
from warexempt.population.stream import COUNT_KEYS, run_in_parts, tally

from .conftest import missing_part
from .test_bulk_stream import DAY, T, _inputs

runner = CliRunner()


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The scheduler address (``tcp://127.0.0.1:PORT``, as ``--dask`` takes it) of the real LocalCluster that
    ``--dask local:2`` starts (``distributed.cluster``: 2 worker processes, one thread each)."""
    try:
        with cluster("local:2") as client:
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2 and all(w["nthreads"] == 1 for w in workers.values())
            yield str(client.scheduler_info()["address"])
    except DaskAddressError as exc:  # the cluster cannot start here: a skip on a laptop, a failure under CI
        missing_part(f"a Dask LocalCluster cannot start here: {exc}")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_the_cluster_decides_as_this_machine_row_for_row(tmp_path: Path, scheduler: str, suffix: str) -> None:
    """Cases with their events in another file, bad rows and repeated ids in different partitions."""
    src, ev = _inputs(tmp_path, suffix, with_events=True)
    spread = run_in_parts(
        src, T, DAY, tmp_path / "dask.parquet", events=ev, chunk_rows=70, count=True, chunks=dask_chunks(scheduler)
    )
    local = run_bulk(src, T, DAY, tmp_path / "local.parquet", events=ev)
    got, want = pl.read_parquet(tmp_path / "dask.parquet"), pl.read_parquet(tmp_path / "local.parquet")
    assert got.height == want.height > 100 and got.equals(want)
    assert spread.errors.equals(local.errors) and spread.errors.height > 10
    assert (spread.rows, spread.decided) == (local.rows, local.decided)
    assert spread.counts is not None
    assert spread.counts.equals(tally(want).sort(COUNT_KEYS, nulls_last=True).select(spread.counts.columns))
    assert not list(tmp_path.glob(".warexempt-dask-*"))  # a CSV's temporary Parquet copy, the parts: removed


@pytest.mark.parametrize("out_suffix", [".parquet", ".csv"])
def test_the_workers_part_files_join_into_the_local_file_byte_for_byte(
    tmp_path: Path, scheduler: str, out_suffix: str
) -> None:
    """Each worker writes its part's decisions; joined in order they are the local run's file, byte for byte, and
    the part files' folder is gone."""
    src, ev = _inputs(tmp_path, ".parquet", with_events=True)
    there, here = tmp_path / f"dask{out_suffix}", tmp_path / f"local{out_suffix}"
    spread = run_in_parts(src, T, DAY, there, events=ev, chunk_rows=70, chunks=dask_chunks(scheduler, in_flight=2))
    local = run_in_parts(src, T, DAY, here, events=ev, chunk_rows=70)
    assert there.read_bytes() == here.read_bytes() and there.stat().st_size > 1000
    assert spread.errors.equals(local.errors)
    assert not list(tmp_path.glob(".warexempt-dask-*"))


def test_a_part_typed_otherwise_is_cast_to_the_first_parts_schema(tmp_path: Path) -> None:
    """The guard of ``dask_chunks``: a part whose columns came out in other types than the first part's is decided
    again and cast to them before it is written, as ``Appender`` casts it; its counts come with it."""
    src, _ = _inputs(tmp_path, ".parquet")
    part = Partition(str(src), 50, 60, DAY, True, False, (), None, str(tmp_path), count=True)
    plain, schema = _chunk(decide_partition(part))
    wanted = pl.Schema({**schema, "rule": pl.Categorical()})
    cast, got = _chunk(decide_partition(replace(part, cast=pickle.dumps(wanted))))
    assert plain.written is not None and cast.written is not None and got == wanted != schema
    assert pl.read_parquet(cast.written).equals(pl.read_parquet(plain.written).cast(wanted))
    assert plain.tally is not None and plain.tally.sort(COUNT_KEYS, nulls_last=True).equals(
        tally(pl.read_parquet(plain.written)).sort(COUNT_KEYS, nulls_last=True)
    )
    assert (
        plain.rows == 60 and plain.found.height > 0 and plain.found["row"].to_numpy().min() > 50
    )  # numbered in the file


def test_the_cli_on_a_scheduler_writes_the_local_set(tmp_path: Path, scheduler: str) -> None:
    src, _ = _inputs(tmp_path, ".csv")
    base = ["bulk", str(src), "--as-of", DAY.isoformat()]
    here = runner.invoke(app, [*base, "-o", str(tmp_path / "here.csv")])
    there = runner.invoke(app, [*base, "-o", str(tmp_path / "there.csv"), "--dask", scheduler, "--chunk-rows", "50"])
    assert here.exit_code == 0 and there.exit_code == 0, there.output
    assert (tmp_path / "there.csv").read_text() == (tmp_path / "here.csv").read_text()
    assert (tmp_path / "there.errors.csv").read_text() == (tmp_path / "here.errors.csv").read_text()
    counted = runner.invoke(
        app, [*base, "--summary", "--dask", scheduler, "--chunk-rows", "60"], env={"COLUMNS": "250"}
    )
    assert counted.exit_code == 0 and "Cases by outcome, stage, route and list version" in counted.output
    assert "K0" not in counted.output  # counts only: no case named


def test_dask_addresses() -> None:
    assert parse_address("local") == ("local", 2)
    assert parse_address(" LOCAL:3 ") == ("local", 3)
    assert parse_address("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", 0)
    for wrong in ("locale", "local:0", "tcp://host", "http://h:1", "8786"):
        with pytest.raises(DaskAddressError):
            parse_address(wrong)
