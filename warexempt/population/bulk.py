"""The bulk runner: a CSV or Parquet file of cases in, one decision per row out, bad rows set aside.

Reading is ``population.source``, the checks ``population.checks``; the decisions come from ``rules.engine.decide``,
the same query the single-case check runs, streamed to the output file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from warexempt.population.checks import ERROR_SCHEMA, RowPass, describe, file_checks, flag, repeated_ids, strays
from warexempt.population.source import DATES, BulkFileError, read_cases, unreadable
from warexempt.rules.charges import ChargeSets, assess
from warexempt.rules.engine import decide
from warexempt.rules.tables import LawTables

__all__ = ["OUTPUT_COLUMNS", "BulkFileError", "BulkResult", "run_bulk", "summary", "write"]

# The columns of the decisions file: the engine's answer without its internal keys (DECISION_SCHEMA).
OUTPUT_COLUMNS = [
    "case_id",
    "eligible",
    "outcome",
    "record_cleared",
    "reasons",
    "unconfirmed",
    "warnings",
    "decisive_date",
    "decided_on",
    "deciding_event",
]


@dataclass
class BulkResult:
    rows: int  # rows read
    decided: int  # rows decided and written
    errors: pl.DataFrame  # one row per problem found (a bad row may have several)


@dataclass
class Prepared:
    """The checked file: the good rows as the engine's case frame, the errors, the charge sets, the rows read."""

    frame: pl.LazyFrame
    errors: pl.DataFrame
    sets: ChargeSets
    rows: int


def _prepare(source: pl.LazyFrame, t: LawTables) -> Prepared:
    """Check every row (RULES.md §5) and keep the good ones as the engine's case frame.

    The per-row work is one streaming pass (``RowPass``); what needs the whole file (repeated ids, the distinct
    charge sets) is done beside it on the pass's columns. The (few) bad rows are read again to be described.
    """
    rp = RowPass.over(source, t)
    parsing = rp.parsing()
    rows = rp.run(parsing)
    sets = assess(rows["charges"], t)
    whole_file = file_checks(repeated_ids(rows["case_id"]), sets)
    flagged = flag(rows, whole_file)
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if flagged.any():
        suspect = rp.suspects(flagged)
        stray = [strays(suspect["stage"], rp.stages), strays(suspect["discharge_ground"], rp.grounds)]
        if any(stray):  # stray spaces around a word: those values mapped too
            parsing = rp.parsing(*stray)
            rows = rp.mend(rows, suspect, parsing)
            flagged = flag(rows, whole_file)
            suspect = suspect.filter(pl.col("_row").is_in((flagged.arg_true() + 1).cast(pl.UInt32).implode()))
        if suspect.height:
            suspect = suspect.with_columns(*parsing, charges=rp.codes)
            errors = describe(suspect, rp.checks + whole_file, sets)
            rows = rows.filter(~flagged)
    frame = rows.lazy().select(
        "case_id",
        "charges",
        pl.col("_stage").alias("stage"),
        pl.col("_contract_date").alias("entry_date"),
        *(pl.col(f"_{c}").alias(c) for c in DATES[1:] if c in rp.given),
        pl.col("_ground").alias("discharge_ground"),
        *(pl.col(f"_{c}").alias(c) for c in ("as_of", "offence_date") if c in rp.given),  # a blank as_of: the run's
    )
    return Prepared(frame, errors, sets, flagged.len())


Progress = Callable[[str, int, int], None]


def run_bulk(path: Path, t: LawTables, as_of: dt.date, output: Path, progress: Progress | None = None) -> BulkResult:
    """Check and evaluate a whole file and write the decisions to ``output`` (``progress(step, done, total)``)."""
    step = progress or (lambda *_: None)
    step("reading and checking rows", 0, 2)
    source = read_cases(path)
    try:
        prepared = _prepare(source, t)
    except pl.exceptions.PolarsError as exc:  # a file whose header reads but whose data does not
        raise unreadable(path, exc) from None
    step("deciding and writing", 1, 2)
    write(decide(prepared.frame, t, prepared.sets, as_of, lists=False).select(OUTPUT_COLUMNS), output)
    step("done", 2, 2)
    errors = prepared.errors
    return BulkResult(prepared.rows, prepared.rows - errors["row"].n_unique(), errors)


def write(data: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    """Write decisions or errors as Parquet or CSV by the file's suffix, streamed to a temporary file that is
    renamed at the end, so an interrupted run never leaves a half-written output under the real name."""
    tmp = path.with_name(path.name + ".partial")
    parquet = path.suffix.lower() == ".parquet"
    try:
        if isinstance(data, pl.DataFrame) and parquet:  # already in memory (the errors): no query to stream
            data.write_parquet(tmp, compression="lz4")
        elif isinstance(data, pl.DataFrame):
            data.write_csv(tmp)
        elif parquet:
            data.sink_parquet(tmp, compression="lz4")
        else:
            data.sink_csv(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def summary(output: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Counts by outcome, and by deciding provision (the first reason of each decision), read from the output."""
    scan = pl.scan_parquet(output) if output.suffix.lower() == ".parquet" else pl.scan_csv(output, infer_schema=False)
    decisions = scan.select(pl.col("outcome", "reasons").cast(pl.String)).collect()
    by_outcome = decisions.group_by("outcome").len("cases").sort("cases", descending=True)
    by_provision = (
        decisions.with_columns(provision=pl.col("reasons").str.split(";").list.first())
        .group_by("provision")
        .len("cases")
        .sort("cases", descending=True)
    )
    return by_outcome, by_provision
