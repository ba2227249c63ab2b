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

from warexempt.rules.charges import ChargeSets, assess
from warexempt.rules.engine import decide
from warexempt.rules.tables import LawTables

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
NOT_A_DATE = "not a date (expected YYYY-MM-DD)"


class BulkFileError(ValueError):
    """The file as a whole cannot be read as a case file."""


@dataclass
class BulkResult:
    rows: int  # rows read
    decided: int  # rows decided and written
    errors: pl.DataFrame  # one row per problem found (a bad row may have several)


def read_cases(path: Path) -> pl.DataFrame:
    """Read the file: dates as dates when every value is one, else as text (checked per row later)."""
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pl.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            _sniff(path)
            header = pl.scan_csv(path, infer_schema=False).collect_schema().names()
            try:  # the fast path: a clean file parses its dates while it is read
                dates = {c: pl.Date for c in (*DATES, "as_of", "offence_date") if c in header}
                df = pl.read_csv(path, infer_schema=False, schema_overrides=dates)
            except pl.exceptions.PolarsError:
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


def _sniff(path: Path) -> None:
    """Stop at once on a file that is not UTF-8 text (binary, cp1251)."""
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


def _words(column: str, allowed: list[str], values: list[str] | None) -> pl.Expr:
    """A text column read as one of ``allowed`` (stage, ground); else null.

    Without ``values`` the cast is strict (one fast pass; a stray value makes the query fail). With the column's
    distinct ``values`` it maps them instead, surrounding spaces ignored: the path for a file with stray values.
    """
    if values is None:
        return pl.col(column).cast(pl.Enum(allowed))
    mapping = {v: v.strip() if v.strip() in allowed else None for v in values}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.Enum(allowed))


def _duplicates(ids: pl.Series) -> pl.Series:
    """Row numbers (from 1) whose case_id is used more than once: hashes first (cheap), the strings only for repeats.

    Files exported from a register are usually sorted by id; then only neighbours need comparing.
    """
    hashes = ids.hash(seed=1)  # equal ids have equal hashes: comparing hashes first is exact for "all distinct"
    previous, following = hashes.slice(0, max(len(ids) - 1, 0)), hashes.slice(1)
    if ids.null_count() == 0 and ids.is_sorted() and not (following == previous).any():
        return pl.Series("_row", [], dtype=pl.UInt32)
    ordered = hashes.sort()
    later = ordered.slice(1)
    repeated = later.filter(later == ordered.slice(0, max(len(ids) - 1, 0)))  # (not diff(): u64 overflows it)
    if repeated.is_empty():
        return pl.Series("_row", [], dtype=pl.UInt32)
    rows = pl.DataFrame({"_row": pl.int_range(1, len(ids) + 1, dtype=pl.UInt32, eager=True), "id": ids})
    maybe = rows.filter(hashes.is_in(repeated.implode()) & ids.is_not_null())
    return maybe.filter(pl.col("id").is_duplicated())["_row"]


Check = tuple[str, pl.Expr, pl.Expr, str]  # column, "the row fails", the value to show, the reason


def _row_checks(text: list[str], stages: list[str], grounds: list[str]) -> list[Check]:
    """The checks that need only the row (RULES.md §5), over the parsed columns ``_<column>``, ``_stage``, ``_ground``.

    ``text``: the date columns that were read as text and are parsed per row.
    """
    c_, death, ground = pl.col("_contract_date"), pl.col("_death_date"), pl.col("discharge_ground")
    blank_ground = ground.is_null() | (ground.str.len_bytes() == 0)
    checks: list[Check] = [
        (
            c,
            pl.col(c).is_not_null() & pl.col(c).str.strip_chars().ne("") & pl.col(f"_{c}").is_null(),
            pl.col(c),
            NOT_A_DATE,
        )
        for c in text
    ]
    checks += [
        (
            "case_id",
            pl.col("case_id").is_null() | (pl.col("case_id").str.len_bytes() == 0),
            pl.col("case_id"),
            "empty case_id",
        ),
        ("stage", pl.col("_stage").is_null(), pl.col("stage"), f"unknown stage (expected one of {', '.join(stages)})"),
        (
            "discharge_ground",
            pl.col("_discharge_date").is_not_null() & blank_ground,
            ground,
            "a discharge needs a ground",
        ),
        (
            "discharge_ground",
            ~blank_ground & pl.col("_ground").is_null(),
            ground,
            f"unknown ground (expected one of {', '.join(grounds)})",
        ),
        (
            "discharge_ground",
            ~blank_ground & pl.col("_discharge_date").is_null(),
            ground,
            "a ground without a discharge_date",
        ),
    ]
    for c in ("petition_date", "award_date", "discharge_date", "resumed_date", "death_date"):
        d = pl.col(f"_{c}")
        checks.append((c, d.is_not_null() & c_.is_null(), d, "an event without a contract_date (entry into service)"))
        checks.append((c, d < c_, d, "before the contract_date"))
    for c in ("petition_date", "award_date", "discharge_date", "resumed_date"):
        checks.append((c, pl.col(f"_{c}") > death, pl.col(f"_{c}"), "after the death_date"))
    return checks


def _file_checks(duplicates: pl.Series, sets: ChargeSets) -> list[Check]:
    """The checks that need the whole file: repeated ids, and the charge sets (checked once per distinct set)."""
    valid = pl.lit(sets.valid).gather(pl.col("charges").to_physical())
    return [
        ("case_id", pl.col("_row").is_in(duplicates.implode()), pl.col("case_id"), "case_id is not unique"),
        ("charges", pl.col("charges").is_null() | ~valid, pl.col("charges"), ""),
    ]


def _describe(suspect: pl.DataFrame, checks: list[Check], sets: ChargeSets) -> pl.DataFrame:
    """The errors file's rows for the (few) bad rows: one per check that fails, with the row number and reason."""
    parts = []
    for col, expr, value, reason in checks:
        why = (
            pl.col("charges").cast(pl.String).replace_strict(sets.errors, default="no charge code given")
            if col == "charges"
            else pl.lit(reason)
        )
        parts.append(
            suspect.filter(expr.fill_null(False)).select(
                pl.col("_row").alias("row"),
                "case_id",
                pl.lit(col).alias("column"),
                value.cast(pl.String).alias("value"),
                why.alias("reason"),
            )
        )
    return pl.concat(parts).sort("row", maintain_order=True).cast(ERROR_SCHEMA)  # type: ignore[arg-type]


def _prepare(df: pl.DataFrame, t: LawTables, default_as_of: dt.date) -> tuple[pl.LazyFrame, pl.DataFrame, ChargeSets]:
    """Check every row (RULES.md §5); return (case frame of good rows, errors, the charge sets).

    The per-row work (parsing, vocabulary, the checks that need only the row) is one streaming query, which keeps
    both cores busy; what needs the whole file (repeated ids, the distinct charge sets) is done beside it.
    """
    given = set(df.columns)
    df = df.with_columns(
        [
            pl.lit(None, pl.String if c == "discharge_ground" else pl.Date).alias(c)
            for c in OPTIONAL
            if c not in df.columns
        ]
    )
    df = df.with_columns(pl.col("case_id", "charges", "stage", "discharge_ground").cast(pl.String))
    duplicates = _duplicates(df["case_id"])
    text = [c for c in (*DATES, "as_of", "offence_date") if df.schema[c] != pl.Date]
    checks = _row_checks(text, t.stages, t.grounds)
    categories = pl.Categories.random()
    dates = [
        *[pl.col(c).str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias(f"_{c}") for c in text],
        *[pl.col(c).alias(f"_{c}") for c in (*DATES, "as_of", "offence_date") if c not in text],
    ]

    def parsed(stage_values: list[str] | None, ground_values: list[str] | None) -> list[pl.Expr]:
        return [
            *dates,
            _words("stage", t.stages, stage_values).alias("_stage"),
            _words("discharge_ground", t.grounds, ground_values).alias("_ground"),
        ]

    def row_pass(parsing: list[pl.Expr]) -> pl.DataFrame:
        """The charge sets as numbers, stage and ground as the vocabulary's enums, and whether each row fails a check
        that needs only the row."""
        return (
            df.lazy()
            .with_columns(*parsing, charges=pl.col("charges").cast(pl.Categorical(categories)))
            .select(
                "charges", "_stage", "_ground", _bad=pl.any_horizontal([e.fill_null(False) for _, e, _, _ in checks])
            )
            .collect(engine="streaming")
        )

    parsing = parsed(None, None)
    try:
        rows = row_pass(parsing)
    except pl.exceptions.PolarsError:  # a stage or ground that is not a word of the vocabulary
        parsing = parsed(*(df[c].drop_nulls().unique().to_list() for c in ("stage", "discharge_ground")))
        rows = row_pass(parsing)
    codes = rows["charges"]
    sets = assess(codes, t)
    flagged = rows["_bad"] | codes.is_null() | ~sets.valid.gather(codes.to_physical()).fill_null(False)
    if duplicates.len():
        flagged |= pl.int_range(1, df.height + 1, dtype=pl.UInt32, eager=True).is_in(duplicates.implode())
    df = df.with_columns(charges=codes, _stage=rows["_stage"], _ground=rows["_ground"])
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if flagged.any():
        suspect = df.with_row_index("_row", offset=1).filter(flagged).with_columns(parsing)
        errors = _describe(suspect, checks + _file_checks(duplicates, sets), sets)
        df = df.filter(~flagged)
    # the good rows as the engine's case frame, dates parsed again on the way in (cheaper than keeping a copy)
    frame = (
        df.lazy()
        .with_columns(dates)
        .select(
            "case_id",
            "charges",
            pl.col("_stage").alias("stage"),
            pl.col("_contract_date").alias("entry_date"),
            *(pl.col(f"_{c}").alias(c) for c in DATES[1:]),
            pl.col("_ground").alias("discharge_ground"),
            pl.col("_as_of").fill_null(default_as_of).alias("as_of"),
            *([pl.col("_offence_date").alias("offence_date")] if "offence_date" in given else []),
        )
    )
    return frame, errors, sets


Progress = Callable[[str, int, int], None]


def run_bulk(path: Path, t: LawTables, as_of: dt.date, output: Path, progress: Progress | None = None) -> BulkResult:
    """Check and evaluate a whole file and write the decisions to ``output`` (``progress(step, done, total)``)."""
    step = progress or (lambda *_: None)
    step("reading", 0, 3)
    raw = read_cases(path)
    total = raw.height
    step("checking rows", 1, 3)
    frame, errors, sets = _prepare(raw, t, as_of)
    del raw
    step("deciding and writing", 2, 3)
    write(decide(frame, t, sets, as_of, lists=False).select(OUTPUT_COLUMNS), output)
    step("done", 3, 3)
    return BulkResult(total, total - errors["row"].n_unique(), errors)


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
