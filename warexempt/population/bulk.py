"""The bulk runner: a CSV or Parquet file of cases in, one decision per row out, bad rows set aside.

Input schema (acceptance README): ``case_id, charges, stage, contract_date`` and optional ``petition_date,
award_date, discharge_date, discharge_ground, death_date, as_of`` (plus ``offence_date``, ``resumed_date``).
A wholly wrong file (not CSV/Parquet, not UTF-8, missing columns) stops at once with one message; a bad row is
written to the errors file with its row number, column and reason, and the run goes on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from warexempt.law.catalog import Law
from warexempt.rules.charges import assess
from warexempt.rules.engine import evaluate

REQUIRED = ("case_id", "charges", "stage", "contract_date")
DATES = ("contract_date", "petition_date", "award_date", "discharge_date", "resumed_date", "death_date")
OPTIONAL = (*DATES[1:], "discharge_ground", "as_of", "offence_date")
ERROR_SCHEMA = {
    "row": pl.Int64,
    "case_id": pl.String,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
}


class BulkFileError(ValueError):
    """The file as a whole cannot be read as a case file."""


@dataclass
class BulkResult:
    decisions: pl.DataFrame
    errors: pl.DataFrame
    rows: int


def read_cases(path: Path) -> pl.DataFrame:
    """Read the file with every column as text (dates are parsed and checked per row later)."""
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pl.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            with path.open("rb") as fh:
                head = fh.read(1 << 16)
            if b"\x00" in head:
                raise BulkFileError(f"{path}: this is not a CSV text file (it contains binary data)")
            try:
                head.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(head) - 4:
                    raise BulkFileError(
                        f"{path}: the file is not UTF-8 text (byte {exc.start}: perhaps cp1251/Windows-1251); "
                        "save it as UTF-8 and try again"
                    ) from None
            df = pl.read_csv(path, infer_schema=False)
        else:
            raise BulkFileError(f"{path}: expected a .csv or .parquet file")
    except BulkFileError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise BulkFileError(f"{path}: cannot be read as {suffix[1:] or 'a case file'}: {exc}") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise BulkFileError(
            f"{path}: missing column(s) {', '.join(missing)}; the columns are {', '.join(df.columns) or '(none)'}; "
            f"expected at least {', '.join(REQUIRED)}"
        )
    return df


def _prepare(df: pl.DataFrame, law: Law, default_as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse dates and check every row (RULES.md §5); return (case frame of good rows, errors)."""
    for col in OPTIONAL:
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(col))
    text = [c for c in (*DATES, "as_of", "offence_date") if df.schema[c] == pl.String]
    df = df.with_columns(
        [pl.col(c).str.strip_chars().replace("", None) for c in (*text, "discharge_ground", "stage", "charges")]
    ).with_columns([pl.col(c).str.to_date("%Y-%m-%d", strict=False).alias(f"_{c}") for c in text])
    df = df.with_columns(
        [pl.col(c).cast(pl.Date).alias(f"_{c}") for c in (*DATES, "as_of", "offence_date") if c not in text]
    )
    stages = [s.id for s in law.vocabulary.stages]
    grounds = [g.id for g in law.vocabulary.discharge_grounds]
    c_ = pl.col("_contract_date")
    death = pl.col("_death_date")
    checks: list[tuple[str, pl.Expr, pl.Expr, str]] = []
    for c in (*DATES, "as_of", "offence_date"):
        if c in text:
            checks.append(
                (
                    c,
                    pl.col(c).is_not_null() & pl.col(f"_{c}").is_null(),
                    pl.col(c),
                    "not a date (expected YYYY-MM-DD)",
                )
            )
    checks += [
        ("case_id", pl.col("case_id").is_null(), pl.col("case_id"), "empty case_id"),
        (
            "case_id",
            pl.col("case_id").is_duplicated() & pl.col("case_id").is_not_null(),
            pl.col("case_id"),
            "case_id is not unique",
        ),
        (
            "stage",
            ~pl.col("stage").is_in(stages).fill_null(False),
            pl.col("stage"),
            f"unknown stage (expected one of {', '.join(stages)})",
        ),
        ("charges", pl.col("charges").is_null(), pl.col("charges"), "no charge code given"),
        (
            "discharge_ground",
            pl.col("_discharge_date").is_not_null() & pl.col("discharge_ground").is_null(),
            pl.col("discharge_ground"),
            "a discharge needs a ground",
        ),
        (
            "discharge_ground",
            pl.col("discharge_ground").is_not_null() & ~pl.col("discharge_ground").is_in(grounds),
            pl.col("discharge_ground"),
            f"unknown ground (expected one of {', '.join(grounds)})",
        ),
        (
            "discharge_ground",
            pl.col("discharge_ground").is_not_null() & pl.col("_discharge_date").is_null(),
            pl.col("discharge_ground"),
            "a ground without a discharge_date",
        ),
    ]
    for c in ("petition_date", "award_date", "discharge_date", "resumed_date", "death_date"):
        d = pl.col(f"_{c}")
        checks.append(
            (
                c,
                d.is_not_null() & c_.is_null(),
                d.cast(pl.String),
                "an event without a contract_date (entry into service)",
            )
        )
        checks.append((c, d < c_, d.cast(pl.String), "before the contract_date"))
    for c in ("petition_date", "award_date", "discharge_date", "resumed_date"):
        d = pl.col(f"_{c}")
        checks.append((c, d > death, d.cast(pl.String), "after the death_date"))
    df = df.with_row_index("_row", offset=1)
    # One pass finds the rows with any problem; the (few) bad rows are then described check by check.
    suspect = df.filter(pl.any_horizontal([e.fill_null(False) for _, e, _, _ in checks]))
    parts = []
    for col, expr, value, reason in checks:
        part = suspect.filter(expr.fill_null(False)).select(
            "_row",
            "case_id",
            pl.lit(col).alias("column"),
            value.cast(pl.String).alias("value"),
            pl.lit(reason).alias("reason"),
        )
        if part.height:
            parts.append(part)
    sets = assess(df["charges"], law)
    if sets.errors:
        bad = pl.DataFrame({"charges": list(sets.errors), "reason": list(sets.errors.values())})
        parts.append(
            df.join(bad, on="charges").select(
                "_row",
                "case_id",
                pl.lit("charges").alias("column"),
                pl.col("charges").alias("value"),
                "reason",
            )
        )
    errors = (
        pl.concat(parts).rename({"_row": "row"}).sort("row").cast(ERROR_SCHEMA)  # type: ignore[arg-type]
        if parts
        else pl.DataFrame(schema=ERROR_SCHEMA)
    )
    good = df.join(errors.select(pl.col("row").alias("_row")).unique(), on="_row", how="anti")
    frame = good.select(
        pl.col("case_id").cast(pl.String),
        "charges",
        "stage",
        pl.col("_offence_date").alias("offence_date"),
        pl.col("_contract_date").alias("entry_date"),
        pl.col("_petition_date").alias("petition_date"),
        pl.col("_award_date").alias("award_date"),
        pl.col("_discharge_date").alias("discharge_date"),
        "discharge_ground",
        pl.col("_resumed_date").alias("resumed_date"),
        pl.col("_death_date").alias("death_date"),
        pl.col("_as_of").fill_null(default_as_of).alias("as_of"),
    )
    return frame, errors


def run_bulk(
    path: Path,
    law: Law,
    as_of: dt.date,
    chunk_rows: int = 2_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> BulkResult:
    """Check and evaluate a whole file, in chunks (``progress(done, total)`` after each)."""
    raw = read_cases(path)
    total = raw.height
    decisions, errors = [], []
    for start in range(0, max(total, 1), chunk_rows):
        chunk = raw.slice(start, chunk_rows)
        frame, errs = _prepare(chunk, law, as_of)
        errors.append(errs.with_columns(pl.col("row") + start))
        if frame.height:
            decisions.append(evaluate(frame, as_of, law, lists=False))
        if progress:
            progress(min(start + chunk_rows, total), total)
    out = (
        pl.concat(decisions)
        if decisions
        else evaluate(pl.DataFrame(schema={"charges": pl.String}), as_of, law, lists=False)
    )
    return BulkResult(out, pl.concat(errors), total)


def write(df: pl.DataFrame, path: Path) -> None:
    """Write decisions or errors as Parquet or CSV by the file's suffix (written whole, then renamed)."""
    tmp = path.with_name(path.name + ".partial")
    if path.suffix.lower() == ".parquet":
        df.write_parquet(tmp)
    else:
        df.with_columns(pl.col(pl.Categorical).cast(pl.String)).write_csv(tmp)
    tmp.replace(path)


def summary(decisions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Counts by outcome, and by deciding provision (the first reason of each decision)."""
    by_outcome = decisions.group_by("outcome").len("cases").sort("cases", descending=True)
    by_provision = (
        decisions.with_columns(provision=pl.col("reasons").cast(pl.String).str.split(";").list.first())
        .group_by("provision")
        .len("cases")
        .sort("cases", descending=True)
    )
    return by_outcome, by_provision
