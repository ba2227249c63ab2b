"""The bulk runner: a CSV or Parquet file of cases in, one decision per row out, bad rows set aside.

Reading is ``population.source``, the checks ``population.checks``; the decisions come from ``rules.engine.decide``,
the same query the single-case check runs, streamed to the output file. A file larger than memory goes through the
same ``_prepare`` and ``decide_part`` part by part (``population.stream``; on a Dask cluster:
``population.distributed``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from warexempt.law.catalog import Law
from warexempt.law.tables import LawTables
from warexempt.population.checks import ERROR_SCHEMA, RowPass, describe, file_checks, flag, repeated_ids, strays
from warexempt.population.events import read_events
from warexempt.population.output import is_parquet, write
from warexempt.population.source import DATES, BulkFileError, read_cases, unreadable
from warexempt.rules.charges import book, set_texts
from warexempt.rules.engine import DECISION_SCHEMA, Decisions, decide
from warexempt.rules.frames import Encoded, bulk_events, encode, joined
from warexempt.rules.judge import Status

if TYPE_CHECKING:
    from warexempt.explain.citations import Citation

__all__ = ["OUTPUT_COLUMNS", "BulkFileError", "BulkResult", "output_types", "run_bulk", "summary", "write"]

# The columns of the decisions file: the engine's answer (DECISION_SCHEMA) with its trace, without ``error``.
OUTPUT_COLUMNS = [c for c in DECISION_SCHEMA if c != "error"]


@dataclass
class BulkResult:
    rows: int  # rows read
    decided: int  # rows decided and written
    errors: pl.DataFrame  # one row per problem found (a bad row may have several)
    counts: pl.DataFrame | None = None  # the decisions counted (``stream.COUNT_KEYS``), for ``--summary``


@dataclass
class Prepared:
    """The checked file: the good rows encoded for the engine, the errors, the file's line of each good row."""

    encoded: Encoded
    errors: pl.DataFrame
    lines: npt.NDArray[np.int64]  # [case] → its row in the file (from 1)
    rows: int
    event_errors: pl.DataFrame  # the events file's unreadable rows (numbered as its lines)
    skipped: set[str]  # cases left out for an unreadable event
    event_lines: npt.NDArray[np.int64] | None = None  # the events file's lines read for these cases (chunked runs)


Events = Path | pl.LazyFrame | None  # a long events file, or (a run in chunks) its query (``events.scan_events``)


def _repeated_rows(ids: pl.Series, repeated: pl.Series | None) -> pl.Series:
    """Row numbers (from 1) whose case_id is used more than once: found in ``ids``, or (a part of a run in chunks)
    the rows whose id is one of the whole file's ``repeated`` ids (``population.stream.repeated_ids_of``)."""
    if repeated is None:
        return repeated_ids(ids)
    if not repeated.len():
        return pl.Series("_row", [], dtype=pl.UInt32)
    return (ids.is_in(repeated.implode()).fill_null(False).arg_true() + 1).cast(pl.UInt32).alias("_row")


def _prepare(
    source: pl.LazyFrame, t: LawTables, as_of: dt.date, events: Events = None, repeated: pl.Series | None = None
) -> Prepared:
    """Check every row's fields and keep the good ones, their date columns made events (``rules.frames``).

    The per-row work is one streaming pass (``RowPass``); what needs the whole file (repeated ids, the distinct
    charge sets) is done beside it on the pass's columns. The (few) bad rows are read again to be described.
    ``source`` may be one part of a file (``population.stream``): then ``repeated`` are the whole file's repeated
    ids, and ``events`` the events file's query, of which only these cases' events are read.
    """
    rp = RowPass.over(source, t)
    parsing = rp.parsing()
    rows = rp.run(parsing)
    charges = book(t.law)
    every_id = rows["case_id"]
    texts = set_texts(rows["charges"])
    invalid = {i: err for i, x in enumerate(texts) if x is not None and (err := charges.charge_set(x).error)}
    whole_file = file_checks(_repeated_rows(rows["case_id"], repeated), invalid)
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
            errors = describe(suspect, rp.checks + whole_file, {str(texts[i]): m for i, m in invalid.items()})
            rows = rows.filter(~flagged)
    lines = np.flatnonzero(~flagged.to_numpy()) + 1 if flagged.any() else np.arange(1, rows.height + 1)
    columns = rows.select(
        "case_id",
        "charges",
        stage="_stage",
        discharge_ground="_ground",
        **{c: f"_{c}" for c in (*DATES, "as_of", "offence_date") if c in rp.given},
    )
    found, file_errors, skip = bulk_events(columns, t), pl.DataFrame(schema=ERROR_SCHEMA), set()
    event_lines = None
    if events is not None:  # a long events file: its events join the date columns' (RULES.md §1 histories)
        if isinstance(events, pl.LazyFrame):  # a part of a run in chunks: its cases' events only
            mine = events.filter(pl.col("case_id").cast(pl.String).str.strip_chars().is_in(every_id.implode()))
            frame = mine.collect()
            event_lines = frame["line"].to_numpy()
            read = read_events(None, t, every_id, frame=frame)
        else:
            read = read_events(events, t, every_id)
        # each event's case: its row among the good rows (an event of a row set aside goes with it)
        set_aside = flagged.to_numpy()
        good_row = np.where(set_aside, -1, np.cumsum(~set_aside) - 1)
        found = joined(found, read.encoded(t, good_row))
        file_errors, skip = read.errors, read.bad_cases
    encoded = encode(columns, found, t, as_of)
    return Prepared(encoded, errors, lines, flagged.len(), file_errors, skip, event_lines)


Progress = Callable[[str, int, int], None]


@dataclass
class Part:
    """A checked file (or one part of it) decided: its decisions in the output's types, its errors (``row``: the
    position among the frame's rows, from 1; ``Cases.with_errors`` numbers them as the file's lines), the events
    file's errors and the counts. The whole run and each part of a run in chunks come through ``decide_part``."""

    decisions: pl.LazyFrame | pl.DataFrame
    found: pl.DataFrame
    event_errors: pl.DataFrame
    rows: int  # rows checked
    bad: int  # rows set aside (with errors, or a case left out for an unreadable event)
    event_lines: npt.NDArray[np.int64] | None = None


def decide_part(prepared: Prepared, t: LawTables, parquet: bool) -> Part:
    """The rules (``rules.engine.decide``) over the checked rows; what cannot be true set aside as errors."""
    decisions = decide(prepared.encoded, t)
    impossible = _impossible(decisions, prepared)
    out = decisions.frame(lists=False)
    if impossible.height:
        out = out.filter(pl.col("error").is_null())
    skipped = prepared.skipped & set(out["case_id"].to_list()) if prepared.skipped else set()
    if skipped:
        out = out.filter(~pl.col("case_id").is_in(list(skipped)))
    # Parquet: lists and enums, so that two runs' files concatenate (CSV: ``;``-joined text)
    shaped = reusable(out.lazy(), t).select(OUTPUT_COLUMNS) if parquet else out.select(OUTPUT_COLUMNS)
    found = pl.concat([prepared.errors, impossible]).sort("row", maintain_order=True)
    bad = found["row"].n_unique() + len(skipped)
    return Part(shaped, found, prepared.event_errors, prepared.rows, bad, prepared.event_lines)


def run_bulk(
    path: Path,
    t: LawTables,
    as_of: dt.date,
    output: Path,
    progress: Progress | None = None,
    *,
    ignore_extra_columns: bool = False,
    events: Path | None = None,
) -> BulkResult:
    """Check and evaluate a whole file and write the decisions to ``output`` (``progress(step, done, total)``).

    ``ignore_extra_columns``: leave out the file's columns the schema does not have (else they stop the run).
    ``events``: a long events file (``population.events``) whose events join each case's date columns."""
    step = progress or (lambda *_: None)
    step("reading and checking rows", 0, 2)
    cases = read_cases(path, ignore_extra_columns=ignore_extra_columns, with_events=events is not None)
    try:
        prepared = _prepare(cases.frame, t, as_of, events)
    except pl.exceptions.PolarsError as exc:  # a file whose header reads but whose data does not
        raise unreadable(path, exc) from None
    step("deciding and writing", 1, 2)
    part = decide_part(prepared, t, is_parquet(output))
    write(part.decisions, output)
    step("done", 2, 2)
    errors = pl.concat([cases.with_errors(part.found), part.event_errors])  # each numbered as in its own file
    return BulkResult(part.rows + cases.errors.height, part.rows - part.bad, errors)


def _impossible(decisions: Decisions, prepared: Prepared) -> pl.DataFrame:
    """The errors file's rows for histories that cannot be true (RULES.md §5, found by the engine): the column is
    the date column of the event at fault."""
    rows = [
        (int(prepared.lines[case]), str(decisions.case_ids[case]), column, day.isoformat(), message)
        for case, column, day, message in decisions.problems
    ]
    return pl.DataFrame(rows, schema=ERROR_SCHEMA, orient="row")


def output_types(law: Law) -> dict[str, pl.DataType]:
    """The types of the Parquet decisions' columns that are not plain: the words as enums over fixed lists (the
    vocabulary's outcomes and stages, the engine's statuses), the reasons, facts and warnings as lists of strings.
    The route, list version and rule ids are plain strings (their sets change with the law files). Two runs' files
    have the same types, so they concatenate and compare."""
    vocab = law.vocabulary
    return {
        "outcome": pl.Enum(vocab.ids("outcomes")),
        "stage": pl.Enum(vocab.ids("stages")),
        "status": pl.Enum([s.value for s in Status]),
        **dict.fromkeys(("reasons", "unconfirmed", "warnings"), pl.List(pl.String())),
        **dict.fromkeys(("route", "list_version", "rule", "deciding_event"), pl.String()),
    }


def reusable(decisions: pl.LazyFrame, t: LawTables) -> pl.LazyFrame:
    """``Decisions.frame(lists=False)`` (``;``-joined categoricals) in the types of ``output_types``, as a query
    (streamed to the file: the conversion runs beside the writing)."""
    types = output_types(t.law)
    listed = [c for c, dtype in types.items() if isinstance(dtype, pl.List)]
    return decisions.with_columns(
        *[_lists(c) for c in listed],
        *[pl.col(c).cast(dtype) for c, dtype in types.items() if c not in listed],
    )


def _lists(column: str) -> pl.Expr:
    """A ``;``-joined text column as lists of strings (an empty text: an empty list)."""
    text = pl.col(column).cast(pl.String)
    empty = pl.lit([], dtype=pl.List(pl.String))
    return pl.when(text.str.len_bytes() > 0).then(text.str.split(";")).otherwise(empty).alias(column)


SUMMARY_SCHEMA = {
    "outcome": pl.String,
    "outcome_label": pl.String,
    "provision": pl.String,
    "provision_label": pl.String,
    "cases": pl.UInt32,
}


def summary(output: Path, law: Law | None = None, lang: str = "en") -> pl.DataFrame:
    """One table of the decisions in ``output``: the cases of each outcome by deciding provision (the first reason
    of each decision), so that excluded cases (``not_covered``) and eligible ones are never one count, with their
    labels in ``lang`` (the vocabulary's outcome names — a convict's too where it differs —, the provisions'
    citations). Outcomes in the vocabulary's
    order, then the most cases first; a decision without a reason has provision ``None`` (label ``-``)."""
    if is_parquet(output):
        scan = pl.scan_parquet(output)
        reasons = scan.collect_schema()["reasons"]
        first = pl.col("reasons").list.first() if isinstance(reasons, pl.List) else _first_joined()
    else:
        scan, first = pl.scan_csv(output, infer_schema=False), _first_joined()
    counts = (
        scan.select(pl.col("outcome").cast(pl.String), provision=first.cast(pl.String))
        .group_by("outcome", "provision")
        .len("cases")
        .collect()
    )
    return summary_of(counts, law, lang)


def summary_of(counts: pl.DataFrame, law: Law | None = None, lang: str = "en") -> pl.DataFrame:
    """``summary`` from counts (``outcome``, ``provision``, ``cases``; other columns are summed over): a run that
    wrote no decisions (``bulk --summary`` without ``-o``) counted them as they were made."""
    from warexempt.explain.citations import cite
    from warexempt.explain.render import outcome_label
    from warexempt.law.catalog import bundled_law

    law = law or bundled_law()
    counts = counts.group_by("outcome", "provision").agg(pl.col("cases").sum())
    order = {o: i for i, o in enumerate(law.vocabulary.ids("outcomes"))}
    rows = sorted(counts.rows(), key=lambda r: (order.get(r[0], len(order)), -r[2], r[1] or ""))
    return pl.DataFrame(
        [
            (outcome, outcome_label(law, outcome, lang), provision, _cited(provision, law, lang, cite), n)
            for outcome, provision, n in rows
        ],
        schema=SUMMARY_SCHEMA,
        orient="row",
    )


BREAKDOWN_SCHEMA = {
    "outcome": pl.String,
    "outcome_label": pl.String,
    "eligible": pl.Boolean,
    "stage": pl.String,
    "stage_label": pl.String,
    "route": pl.String,
    "list_version": pl.String,
    "cases": pl.UInt64,
}


def breakdown(counts: pl.DataFrame, law: Law | None = None, lang: str = "en") -> pl.DataFrame:
    """The counts by outcome, eligible, stage, route and exclusion-list version (the law version that decided),
    without any case: what ``bulk --summary`` shows beside the deciding provisions. Outcomes and stages in the
    vocabulary's order, then the most cases first."""
    from warexempt.explain.render import label, outcome_label
    from warexempt.law.catalog import bundled_law

    law = law or bundled_law()
    keys = ["outcome", "eligible", "stage", "route", "list_version"]
    grouped = counts.group_by(keys).agg(pl.col("cases").sum().cast(pl.UInt64))
    outcomes = {o: i for i, o in enumerate(law.vocabulary.ids("outcomes"))}
    stages = {s: i for i, s in enumerate(law.vocabulary.ids("stages"))}

    def key(r: tuple[object, ...]) -> tuple[int, int, int, str, str]:
        o, _, st, route, lv, n = r
        return (outcomes.get(str(o), 99), stages.get(str(st), 99), -int(str(n)), str(route or ""), str(lv or ""))

    rows = sorted(grouped.select(*keys, "cases").rows(), key=key)
    return pl.DataFrame(
        [
            (
                o,
                outcome_label(law, o, lang, st) if o else "-",
                el,
                st,
                label(law.vocabulary.stages, st, lang) if st else "-",
                *r,
            )
            for o, el, st, *r in rows
        ],
        schema=BREAKDOWN_SCHEMA,
        orient="row",
    )


def _first_joined() -> pl.Expr:
    text = pl.col("reasons").cast(pl.String)
    return pl.when(text.str.len_bytes() > 0).then(text.str.split(";").list.first())


def _cited(provision: str | None, law: Law, lang: str, cite: Callable[[str, Law], Citation]) -> str:
    return cite(provision, law).text(lang) if provision else "-"
