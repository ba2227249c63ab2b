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
from typing import Any, cast

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


def read_cases(path: Path) -> pl.LazyFrame:
    """The file as a query. Parquet is scanned: it is read while its rows are checked, and only the parsed columns
    are kept. CSV is read, its dates parsed while reading when every value is one (else kept as text, checked per
    row later)."""
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            source = pl.scan_parquet(path)
            columns = source.collect_schema().names()
        elif suffix in (".csv", ".txt"):
            _sniff(path)
            header = pl.scan_csv(path, infer_schema=False).collect_schema().names()
            try:  # the fast path: a clean file parses its dates while it is read
                dates = {c: pl.Date for c in (*DATES, "as_of", "offence_date") if c in header}
                df = pl.read_csv(path, infer_schema=False, schema_overrides=dates)
            except pl.exceptions.PolarsError:
                df = pl.read_csv(path, infer_schema=False)
            source, columns = df.lazy(), df.columns
        else:
            raise BulkFileError(f"{path}: expected a .csv or .parquet file")
    except BulkFileError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _unreadable(path, exc) from None
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BulkFileError(
            f"{path}: missing column(s) {', '.join(missing)}; the columns are {', '.join(columns) or '(none)'}; "
            f"expected at least {', '.join(REQUIRED)}"
        )
    return source


def _unreadable(path: Path, exc: Exception) -> BulkFileError:
    kind = path.suffix.lower()[1:] or "a case file"
    return BulkFileError(f"{path}: cannot be read as {kind}: {exc}")


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
    """A text column read as one of ``allowed`` (stage, ground), as the vocabulary's enum; else null (flagged by
    the checks).

    Without ``values`` only the exact words are read, one comparison per word (twice as fast as a cast, which hashes
    every value). With ``values``, the column's unusual values, those are mapped too, surrounding spaces ignored:
    the path for a file with stray spaces.
    """
    enum = pl.Enum(allowed)
    col = pl.col(column)
    if values is None:
        chain: Any = pl
        for word in allowed:
            chain = chain.when(col == word).then(pl.lit(word, enum))
        return cast(pl.Expr, chain.otherwise(None))
    mapping = {v: v.strip() if v.strip() in allowed else None for v in {*allowed, *values}}
    return col.replace_strict(mapping, default=None, return_dtype=enum)


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


@dataclass
class Prepared:
    """The checked file: the good rows as the engine's case frame, the errors, the charge sets, the rows read."""

    frame: pl.LazyFrame
    errors: pl.DataFrame
    sets: ChargeSets
    rows: int


def _prepare(source: pl.LazyFrame, t: LawTables) -> Prepared:
    """Check every row (RULES.md §5) and keep the good ones as the engine's case frame.

    The per-row work (parsing, vocabulary, the checks that need only the row) is one streaming pass over the file,
    which keeps both cores busy and keeps only the parsed columns; what needs the whole file (repeated ids, the
    distinct charge sets) is done beside it. The (few) bad rows are read again to be described.
    """
    schema = source.collect_schema()
    given = set(schema.names())
    source = source.with_columns(
        *[pl.lit(None, pl.String if c == "discharge_ground" else pl.Date).alias(c) for c in OPTIONAL if c not in given],
        pl.col("case_id", "charges", "stage").cast(pl.String),
        *([pl.col("discharge_ground").cast(pl.String)] if "discharge_ground" in given else []),
    )
    every_date = (*DATES, "as_of", "offence_date")
    text = [c for c in every_date if c in given and schema[c] != pl.Date]
    kept = [c for c in every_date if c in given]
    checks = _row_checks(text, t.stages, t.grounds)
    categories = pl.Categories.random()
    dates = [
        *[pl.col(c).str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias(f"_{c}") for c in text],
        *[pl.col(c).alias(f"_{c}") for c in every_date if c not in text],
    ]
    codes_of = pl.col("charges").cast(pl.Categorical(categories))

    def parsed(stage_values: list[str] | None, ground_values: list[str] | None) -> list[pl.Expr]:
        return [
            *dates,
            _words("stage", t.stages, stage_values).alias("_stage"),
            _words("discharge_ground", t.grounds, ground_values).alias("_ground"),
        ]

    def row_pass(parsing: list[pl.Expr]) -> pl.DataFrame:
        """Per row: the id, the charge set as a number, the parsed columns, and whether a row-only check fails."""
        return (
            source.with_columns(*parsing)
            .select(
                "case_id",
                codes_of,
                "_stage",
                "_ground",
                *[f"_{c}" for c in kept],
                _bad=pl.any_horizontal([e.fill_null(False) for _, e, _, _ in checks]),
            )
            .collect(engine="streaming")
        )

    parsing = parsed(None, None)
    rows = row_pass(parsing)
    duplicates = _duplicates(rows["case_id"])
    sets = assess(rows["charges"], t)

    def flag(rows: pl.DataFrame) -> pl.Series:
        codes = rows["charges"]
        flagged = rows["_bad"]
        if codes.null_count():
            flagged = flagged | codes.is_null()
        if not sets.valid.all():
            flagged = flagged | ~sets.valid.gather(codes.to_physical()).fill_null(False)
        if duplicates.len():
            flagged = flagged | pl.int_range(1, rows.height + 1, dtype=pl.UInt32, eager=True).is_in(
                duplicates.implode()
            )
        return flagged

    def suspects(flagged: pl.Series) -> pl.DataFrame:
        numbers = (flagged.arg_true() + 1).cast(pl.UInt32)
        return source.with_row_index("_row", offset=1).filter(pl.col("_row").is_in(numbers.implode())).collect()

    flagged = flag(rows)
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if flagged.any():
        suspect = suspects(flagged)
        strays = [_strays(suspect["stage"], t.stages), _strays(suspect["discharge_ground"], t.grounds)]
        if any(strays):  # stray spaces around a word: read the file again, those values mapped too
            parsing = parsed(*strays)
            rows = row_pass(parsing)
            flagged = flag(rows)
            suspect = suspects(flagged) if flagged.any() else suspect.clear()
        if suspect.height:
            suspect = suspect.with_columns(*parsing, charges=codes_of)
            errors = _describe(suspect, checks + _file_checks(duplicates, sets), sets)
            rows = rows.filter(~flagged)
    frame = rows.lazy().select(
        "case_id",
        "charges",
        pl.col("_stage").alias("stage"),
        pl.col("_contract_date").alias("entry_date"),
        *(pl.col(f"_{c}").alias(c) for c in DATES[1:] if c in given),
        pl.col("_ground").alias("discharge_ground"),
        *(pl.col(f"_{c}").alias(c) for c in ("as_of", "offence_date") if c in given),  # a blank as_of: the run's
    )
    return Prepared(frame, errors, sets, flagged.len())


def _strays(values: pl.Series, allowed: list[str]) -> list[str]:
    """The values of a column that are a word of ``allowed`` once their surrounding spaces are removed."""
    return [v for v in values.drop_nulls().unique().to_list() if v not in allowed and v.strip() in allowed]


Progress = Callable[[str, int, int], None]


def run_bulk(path: Path, t: LawTables, as_of: dt.date, output: Path, progress: Progress | None = None) -> BulkResult:
    """Check and evaluate a whole file and write the decisions to ``output`` (``progress(step, done, total)``)."""
    step = progress or (lambda *_: None)
    step("reading and checking rows", 0, 2)
    source = read_cases(path)
    try:
        prepared = _prepare(source, t)
    except pl.exceptions.PolarsError as exc:  # a file whose header reads but whose data does not
        raise _unreadable(path, exc) from None
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
