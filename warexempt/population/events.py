"""A long events file beside a case file (``warexempt bulk CASES --events EVENTS``): one row per event.

Columns: ``case_id, date, kind`` and optional ``event_id, ground, stage, charge`` (``rules.frames.EVENT_SCHEMA``),
as the register and the case histories hold them. Each row's words are checked against the vocabulary (the kind,
and the field its kind requires); a row that cannot be read is a row of the errors file — its line in the events
file, the column, the value, what was expected — and its case is left out (its history would be incomplete).
What cannot be true of a history as a whole (RULES.md §5) is the engine's to find, as for every caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from warexempt.law.tables import LawTables
from warexempt.population.checks import ERROR_SCHEMA, NOT_A_DATE
from warexempt.population.source import BulkFileError

REQUIRED = ("case_id", "date", "kind")
OPTIONAL = ("event_id", "ground", "stage", "charge")


@dataclass
class EventsFile:
    """The readable events (``EVENT_SCHEMA`` with their line), the errors, and the cases with an unreadable event."""

    frame: pl.DataFrame
    errors: pl.DataFrame
    bad_cases: set[str]


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            frame = pl.read_csv(path, infer_schema=False)
        else:
            raise BulkFileError(f"{path}: expected a .csv or .parquet events file")
    except pl.exceptions.PolarsError:
        raise BulkFileError(f"{path}: cannot be read as an events file (CSV or Parquet)") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    _columns(path, frame.columns)
    return frame.with_columns(pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in frame.columns)


def scan_events(path: Path) -> pl.LazyFrame:
    """The events file as a query (a bulk run in chunks reads only each chunk's cases' events): the columns named
    and completed as ``read_events`` reads them, each row with its ``line``. The file's header is checked now."""
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".txt"):
        raise BulkFileError(f"{path}: expected a .csv or .parquet events file")
    try:
        scan = pl.scan_parquet(path) if suffix == ".parquet" else pl.scan_csv(path, infer_schema=False)
        names = scan.collect_schema().names()
    except pl.exceptions.PolarsError:
        raise BulkFileError(f"{path}: cannot be read as an events file (CSV or Parquet)") from None
    given = [c.strip().lower() for c in names]
    _columns(path, given)
    scan = scan.rename(dict(zip(names, given, strict=True)))
    scan = scan.with_columns(pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in given)
    return scan.with_row_index("line", offset=2)


def _columns(path: Path, columns: list[str]) -> None:
    """Stop on an events file without the columns it needs, or with columns it does not have."""
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BulkFileError(
            f"{path}: missing column(s) {', '.join(missing)}; an events file has {', '.join(REQUIRED)} and optional "
            f"{', '.join(OPTIONAL)}"
        )
    extra = [c for c in columns if c not in (*REQUIRED, *OPTIONAL)]
    if extra:
        raise BulkFileError(f"{path}: unknown column(s) {', '.join(extra)} in the events file")


def read_events(path: Path | None, t: LawTables, case_ids: pl.Series, frame: pl.DataFrame | None = None) -> EventsFile:
    """Read and check an events file against the vocabulary and the cases' ids (each event gets ``_k``, its case's
    place in ``case_ids``). The checks run as one pass; only the (few) rows that fail one are described.

    ``frame``: the events already read (some rows of ``scan_events``, with their lines), instead of ``path``."""
    vocab = t.law.vocabulary
    if frame is None:
        if path is None:
            raise ValueError("read_events needs a path or a frame")
        frame = _read(path).with_row_index("line", offset=2)  # as a spreadsheet numbers it: the header is line 1
    text = {c: pl.col(c).cast(pl.String).str.strip_chars() for c in ("case_id", "kind", "ground", "stage", "charge")}
    # the words without regard to case, as ``check`` reads them (State_Award, Trial)
    text.update({c: text[c].str.to_lowercase() for c in ("kind", "ground", "stage")})
    date = pl.col("date")
    parsed = (
        date
        if frame.schema["date"] == pl.Date
        else date.cast(pl.String).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    )
    index = pl.DataFrame({"case_id": case_ids.cast(pl.String)}).with_row_index("_k")
    frame = frame.with_columns(**text, event_id=pl.col("event_id").cast(pl.String), _date=parsed).join(
        index, on="case_id", how="left", maintain_order="left"
    )
    kinds, grounds, stages = vocab.ids("events"), vocab.ids("discharge_grounds"), vocab.ids("stages")
    needs = {field: [e.id for e in vocab.events if field in e.requires] for field in ("ground", "stage", "charge")}
    checks = [
        ("case_id", pl.col("_k").is_null(), "case_id", "no such case in the case file"),
        ("date", pl.col("_date").is_null(), "date", NOT_A_DATE),
        ("kind", ~pl.col("kind").is_in(kinds), "kind", f"unknown event kind (expected one of {', '.join(kinds)})"),
        (
            "ground",
            pl.col("kind").is_in(needs["ground"]) & ~pl.col("ground").is_in(grounds),
            "ground",
            f"a discharge needs a ground: one of {', '.join(grounds)}",
        ),
        (
            "stage",
            pl.col("kind").is_in(needs["stage"]) & ~pl.col("stage").is_in(stages),
            "stage",
            f"a stage change needs a stage: one of {', '.join(stages)}",
        ),
        (
            "charge",
            pl.col("kind").is_in(needs["charge"]) & pl.col("charge").is_null(),
            "charge",
            "a new offence needs the charge code of the new crime, e.g. 338:4",
        ),
    ]
    bad = frame.select(pl.any_horizontal([test.fill_null(True) for _, test, _, _ in checks]))[:, 0]
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if bad.any():
        suspect = frame.filter(bad)
        errors = (
            pl.concat(
                [
                    suspect.filter(test.fill_null(True)).select(
                        row=pl.col("line").cast(pl.Int64),
                        case_id="case_id",
                        column=pl.lit(f"events:{name}"),
                        value=pl.col(shown).cast(pl.String),
                        reason=pl.lit(reason),
                    )
                    for name, test, shown, reason in checks
                ]
            )
            .cast(dict(ERROR_SCHEMA))  # type: ignore[arg-type]
            .sort("row", maintain_order=True)
        )
        frame = frame.filter(~bad)
    bad_cases = set(errors["case_id"].drop_nulls().to_list())
    if bad_cases:
        frame = frame.filter(~pl.col("case_id").is_in(list(bad_cases)))
    ids = pl.when(pl.col("event_id").is_null()).then(pl.format("line {}", "line")).otherwise("event_id")
    return EventsFile(
        frame.select("_k", "case_id", "kind", "ground", "stage", "charge", date="_date", event_id=ids),
        errors,
        bad_cases,
    )
