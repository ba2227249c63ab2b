"""A bulk run in parts: a file larger than memory decided a million rows at a time, the decisions appended.

Why parts give the same answer as one pass: cases are independent of one another (``rules.engine``), so each part of
the rows is checked and decided by the same functions as a whole file (``bulk._prepare``, ``bulk.decide_part``). Only
two checks need the whole file, and they are made first, over one column: the repeated case ids
(``repeated_ids_of``), and, with an events file, which events belong to no case (read after the parts: the events
no part took). A part reads its rows as a slice of the file's query (Parquet: only the row groups it needs) and, with
an events file, only its own cases' events, so each case is decided with its whole history.

What stays in memory: one part's rows, decisions and events, the decisions of the part before while they are
appended (in a thread, beside the deciding of the next), the file's repeated ids and the errors (a few rows), and,
with an events file, which of its lines were taken. A CSV file is read whole (its rows must be counted to be
numbered), then decided and written in parts; Parquet is streamed from disk. The price of an events file: each part
scans it for its own cases' events (filtered as it is read), one pass over the events file per part.

On a Dask cluster (``population.distributed``) each worker writes its part's decisions as a file of its own and
counts them; this process joins the files in order without decoding them (``population.parts.Joiner``).

``--summary`` without ``-o`` writes no decisions at all: each part's decisions are counted (outcome, eligible, stage,
route, list version, deciding provision) and dropped, so that only aggregate numbers leave the run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from warexempt._marks import N_
from warexempt.law.tables import LawTables
from warexempt.population.bulk import BulkResult, Progress, _prepare, decide_part
from warexempt.population.checks import ERROR_SCHEMA
from warexempt.population.events import read_events, scan_events
from warexempt.population.output import Appender, is_parquet
from warexempt.population.parts import Joiner
from warexempt.population.source import Cases, read_cases, unreadable

__all__ = ["AUTO_ROWS", "CHUNK_ROWS", "COUNT_KEYS", "Chunk", "decide_chunk", "repeated_ids_of", "run_in_parts"]

AUTO_ROWS = 4_000_000  # a file with more rows is decided in parts without being asked (``--chunk-rows``)
CHUNK_ROWS = 1_000_000  # rows per part: the engine's own part size (``rules.engine.PART``)
COUNT_KEYS = ("outcome", "eligible", "stage", "route", "list_version", "provision")


@dataclass
class Chunk:
    """One part decided: its decisions (the output's columns and types), its errors (``row``: the position among
    the file's readable rows, from 1), the events file's errors, the counts, the events file's lines it took.
    A part decided on a Dask worker brings no decisions: ``written``, the file it wrote them to (``None``: a run
    without an output), and ``tally``, their counts (``count`` runs)."""

    decisions: pl.DataFrame | None
    found: pl.DataFrame
    event_errors: pl.DataFrame
    rows: int
    bad: int
    event_lines: npt.NDArray[np.int64] | None
    written: Path | None = None
    tally: pl.DataFrame | None = None


def repeated_ids_of(source: pl.LazyFrame) -> pl.Series:
    """The case ids used more than once in the whole file, read over the id column alone: hashes first (8 bytes a
    row; sorted, a repeat is two equal neighbours), then the ids of the few rows whose hash repeats."""
    ids = pl.col("case_id").cast(pl.String)
    hashes = source.select(ids.hash(seed=1)).collect(engine="streaming").to_series().sort()
    repeated = hashes.slice(1).filter(hashes.slice(1) == hashes.slice(0, max(len(hashes) - 1, 0)))
    if repeated.is_empty():
        return pl.Series("case_id", [], dtype=pl.String)
    maybe = source.select(ids).filter(ids.hash(seed=1).is_in(repeated.unique().implode()) & ids.is_not_null())
    found = maybe.collect()["case_id"]
    return found.filter(found.is_duplicated()).unique().sort()


def decide_chunk(
    source: pl.LazyFrame,
    offset: int,
    size: int,
    t: LawTables,
    as_of: dt.date,
    *,
    parquet: bool,
    repeated: pl.Series,
    events: pl.LazyFrame | None = None,
) -> Chunk:
    """Rows ``offset`` to ``offset + size`` of ``source`` checked and decided, as a whole file is (``bulk``): the
    one function every part of a run goes through, on this machine or on a Dask worker."""
    prepared = _prepare(source.slice(offset, size), t, as_of, events, repeated)
    part = decide_part(prepared, t, parquet)
    decisions = part.decisions.collect() if isinstance(part.decisions, pl.LazyFrame) else part.decisions
    found = part.found.with_columns(pl.col("row") + offset)
    return Chunk(decisions, found, part.event_errors, part.rows, part.bad, part.event_lines)


@dataclass
class Plan:
    """What every part of a run needs: the file read (as a query), its size, its repeated ids, the part size.

    The repeated ids are found in a thread of their own (``found_repeated``) while the parts' machinery gets ready
    (a Dask cluster starts in seconds): ``repeated`` waits for them, and raises what finding them raised."""

    path: Path
    cases: Cases
    total: int
    found_repeated: Future[pl.Series]
    size: int
    as_of: dt.date
    parquet: bool
    events: Path | None
    ignore_extra_columns: bool
    output: Path | None = None  # where the decisions go (a worker writes its part beside it)
    count: bool = False  # whether the decisions are counted (``COUNT_KEYS``)

    @property
    def repeated(self) -> pl.Series:
        return self.found_repeated.result()

    @property
    def offsets(self) -> list[int]:
        return list(range(0, max(self.total, 1), self.size))  # an empty file: one empty part (the columns)


Chunks = Callable[[Plan, LawTables], Iterator[Chunk]]


def local_chunks(plan: Plan, t: LawTables) -> Iterator[Chunk]:
    """The parts decided one after another in this process."""
    scan = scan_events(plan.events) if plan.events is not None else None
    for offset in plan.offsets:
        yield decide_chunk(
            plan.cases.frame,
            offset,
            plan.size,
            t,
            plan.as_of,
            parquet=plan.parquet,
            repeated=plan.repeated,
            events=scan,
        )


def run_in_parts(
    path: Path,
    t: LawTables,
    as_of: dt.date,
    output: Path | None,
    progress: Progress | None = None,
    *,
    ignore_extra_columns: bool = False,
    events: Path | None = None,
    chunk_rows: int | None = None,
    count: bool = False,
    chunks: Chunks = local_chunks,
) -> BulkResult:
    """``bulk.run_bulk`` in parts of ``chunk_rows`` rows (default ``CHUNK_ROWS``): the same decisions and errors,
    the decisions appended to ``output`` part by part (``None``: none written). ``count``: the decisions' counts by
    ``COUNT_KEYS`` in ``BulkResult.counts``. ``chunks``: where the parts are decided (``distributed.dask_chunks``)."""
    step = progress or (lambda *_: None)
    step("reading and checking rows", 0, 1)
    cases = read_cases(path, ignore_extra_columns=ignore_extra_columns, with_events=events is not None)
    try:
        total = int(cases.frame.select(pl.len()).collect().item())
    except pl.exceptions.PolarsError as exc:
        raise unreadable(path, exc) from None
    pool = ThreadPoolExecutor(1, thread_name_prefix="warexempt-repeated-ids")
    repeated = pool.submit(repeated_ids_of, cases.frame)
    pool.shutdown(wait=False)  # (the one task runs on; its thread ends with it)
    size = max(int(chunk_rows or CHUNK_ROWS), 1)
    parquet = output is None or is_parquet(output)
    plan = Plan(path, cases, total, repeated, size, as_of, parquet, events, ignore_extra_columns, output, count)
    sink: Appender | Joiner | None = None
    # each Parquet part decided here is written in a thread of its own while the next is decided (the writer lets
    # go of the interpreter lock: the two cores are busy together), after its Polars work is done on this thread
    # (``Appender.take``: two threads inside Polars at once can wait on each other for ever); one part at most
    # waits to be written, so memory holds two parts. A worker's part file is joined at once: it lives in the
    # cluster's folder, which ends with the parts
    appending = ThreadPoolExecutor(1, thread_name_prefix="warexempt-append")
    appended: Future[None] | None = None
    tallies: list[pl.DataFrame] = []
    found: list[pl.DataFrame] = []
    event_errors: list[pl.DataFrame] = []
    lines: list[npt.NDArray[np.int64]] = []
    rows = bad = done = 0
    deciding = N_("deciding rows")
    step(deciding, 0, total)
    try:
        try:
            for chunk in chunks(plan, t):
                if output is not None:
                    sink = sink or (Joiner(output) if chunk.written is not None else Appender(output))
                    if appended is not None:
                        appended.result()  # (the part before: written, or its error raised here)
                    if isinstance(sink, Appender) and sink.parquet:
                        appended = appending.submit(sink.put, sink.take(_decisions(chunk)))
                    else:
                        appended = None
                        _add(sink, chunk)
                if count:
                    tallies.append(chunk.tally if chunk.tally is not None else tally(_decisions(chunk)))
                found.append(chunk.found)
                event_errors.append(chunk.event_errors)
                if chunk.event_lines is not None:
                    lines.append(chunk.event_lines)
                rows, bad = rows + chunk.rows, bad + chunk.bad
                done = min(done + plan.size, total)
                step(deciding, done, total)
            if events is not None:  # the events no part took: of no case in the file
                event_errors.append(_orphans(events, t, lines))
        except pl.exceptions.PolarsError as exc:  # data that does not read, found only when a part reads it
            raise unreadable(path, exc) from None
        if appended is not None:
            appended.result()
        if sink is not None:
            sink.close()
    except BaseException:
        if appended is not None:
            with contextlib.suppress(BaseException):
                appended.result()  # (a write under way finishes before its file is removed)
        if sink is not None:
            sink.abort()
        raise
    finally:
        appending.shutdown()
    step("done", total, total)
    errors = pl.concat([cases.with_errors(pl.concat(found)), _sorted(event_errors)])
    counts = _summed(tallies) if count else None
    return BulkResult(rows + cases.errors.height, rows - bad, errors, counts)


def _add(sink: Appender | Joiner, chunk: Chunk) -> None:
    """A part's decisions appended: a frame (``Appender``), or the file a worker wrote (``Joiner``)."""
    if isinstance(sink, Joiner) and chunk.written is not None:
        sink.add(chunk.written)
    elif isinstance(sink, Appender):
        sink.add(_decisions(chunk))
    else:
        raise ValueError("a part without the decisions file the others have")


def _decisions(chunk: Chunk) -> pl.DataFrame:
    if chunk.decisions is None:
        raise ValueError("a part decided without its decisions")
    return chunk.decisions


def _orphans(events: Path, t: LawTables, lines: list[npt.NDArray[np.int64]]) -> pl.DataFrame:
    """The errors of the events file's rows that no part took (their case is not in the case file)."""
    taken = pl.Series("line", np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)).cast(pl.UInt32)
    left = scan_events(events).filter(~pl.col("line").is_in(taken.implode())).collect()
    if not left.height:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return read_events(None, t, pl.Series("case_id", [], dtype=pl.String), frame=left).errors


def _sorted(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The events file's errors in its line order (each line's checks in their order)."""
    return pl.concat([pl.DataFrame(schema=ERROR_SCHEMA), *parts]).sort("row", maintain_order=True)


def tally(decisions: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Decisions counted by ``COUNT_KEYS`` (the provision: the decision's first reason, which decided); a part's
    as it is made, or a whole decisions file (Parquet, or CSV read as text)."""
    schema = decisions.collect_schema()
    if isinstance(schema["reasons"], pl.List):
        first = pl.col("reasons").list.first()
    else:
        text = pl.col("reasons").cast(pl.String)
        first = pl.when(text.str.len_bytes() > 0).then(text.str.split(";").list.first())
    eligible = pl.col("eligible") if schema["eligible"] == pl.Boolean else pl.col("eligible") == "true"
    keys = [pl.col(c).cast(pl.String) for c in ("outcome", "stage", "route", "list_version")]
    counted = (
        decisions.lazy()
        .select(*keys, eligible.alias("eligible"), provision=first.cast(pl.String))
        .group_by(COUNT_KEYS)
        .agg(cases=pl.len().cast(pl.UInt64))
    )
    return counted.collect(engine="streaming")


def _summed(tallies: list[pl.DataFrame]) -> pl.DataFrame:
    if not tallies:
        schema = {**dict.fromkeys(COUNT_KEYS, pl.String()), "eligible": pl.Boolean(), "cases": pl.UInt64()}
        return pl.DataFrame(schema=schema).select(*COUNT_KEYS, "cases")
    both = pl.concat(tallies, how="vertical_relaxed")
    return both.group_by(COUNT_KEYS).agg(pl.col("cases").sum()).sort(COUNT_KEYS, nulls_last=True)
