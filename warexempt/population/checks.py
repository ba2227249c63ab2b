"""The checks of a file of cases' fields: one streaming pass per row, then what needs the whole file.

What cannot be true of a case's history (RULES.md §5: an award before the contract, anything after death) is not
checked here but by the engine itself (``rules.impossible``), as for every other caller; these checks are the words
and dates of each field.

A bad row never stops a run: every check that fails gives one line of the errors file (row number, column, value,
reason). Stage and ground words are read exactly first; a file with stray spaces around them or in another case
(``Trial``) is read again with those values mapped, so a clean file pays for no tolerance it does not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import polars as pl

from warexempt.law.tables import LawTables
from warexempt.population.source import EVERY_DATE, OPTIONAL
from warexempt.rules.charges import set_type

ERROR_SCHEMA = {
    "row": pl.Int64,
    "case_id": pl.String,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
}
NOT_A_DATE = "not a date (expected YYYY-MM-DD)"


def words(column: str, allowed: list[str], values: list[str] | None) -> pl.Expr:
    """A text column read as one of ``allowed`` (stage, ground), as the vocabulary's enum; else null (flagged by
    the checks).

    Without ``values`` only the exact words are read, one comparison per word (twice as fast as a cast, which hashes
    every value). With ``values``, the column's unusual values, those are mapped too, surrounding spaces ignored:
    the path for a file with stray spaces or capitals.
    """
    enum = pl.Enum(allowed)
    col = pl.col(column)
    if values is None:
        chain: Any = pl
        for word in allowed:
            chain = chain.when(col == word).then(pl.lit(word, enum))
        return cast(pl.Expr, chain.otherwise(None))
    mapping = {v: _word(v, allowed) for v in {*allowed, *values}}
    return col.replace_strict(mapping, default=None, return_dtype=enum)


def _word(value: str, allowed: list[str]) -> str | None:
    """The word of ``allowed`` that ``value`` is without regard to case and surrounding spaces (`` Trial``)."""
    text = value.strip().lower()
    return next((word for word in allowed if word.lower() == text), None)


def repeated_ids(ids: pl.Series) -> pl.Series:
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


def row_checks(text: list[str], stages: list[str], grounds: list[str]) -> list[Check]:
    """The checks that need only the row (RULES.md §5), over the parsed columns ``_<column>``, ``_stage``, ``_ground``.

    ``text``: the date columns that were read as text and are parsed per row.
    """
    ground = pl.col("discharge_ground")
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
    return checks


def file_checks(duplicates: pl.Series, invalid: dict[int, str]) -> list[Check]:
    """The checks that need the whole file: repeated ids, and the charge sets (checked once per distinct set).

    A check that cannot fail in this file (no repeated id, every set valid) is left out: it would cost a pass over
    every row for nothing.
    """
    checks: list[Check] = []
    if duplicates.len():
        ids = pl.col("case_id")
        checks.append(("case_id", pl.col("_row").is_in(duplicates.implode()), ids, "case_id is not unique"))
    bad_set = pl.col("charges").is_null()
    if invalid:  # the charge sets (by number) that are not valid codes
        bad_set = bad_set | pl.col("charges").to_physical().is_in(list(invalid))
    checks.append(("charges", bad_set, pl.col("charges"), ""))
    return checks


def describe(suspect: pl.DataFrame, checks: list[Check], invalid: dict[str, str]) -> pl.DataFrame:
    """The errors file's rows for the (few) bad rows: one per check that fails, with the row number and reason."""
    parts = []
    for col, expr, value, reason in checks:
        why = (
            pl.col("charges").cast(pl.String).replace_strict(invalid, default="no charge code given")
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


def flag(rows: pl.DataFrame, checks: list[Check]) -> pl.Series:
    """Whether each row of the pass is bad: a row-only check (``_bad``) or one of the file's ``checks``."""
    failed = [e.fill_null(False) for _, e, _, _ in checks]
    return rows.lazy().with_row_index("_row", offset=1).select(pl.any_horizontal("_bad", *failed)).collect().to_series()


def strays(values: pl.Series, allowed: list[str]) -> list[str]:
    """The values of a column that are a word of ``allowed`` once their surrounding spaces are removed and their
    case ignored (``" trial "``, ``Trial``)."""
    return [v for v in values.drop_nulls().unique().to_list() if v not in allowed and _word(v, allowed) is not None]


@dataclass
class RowPass:
    """The per-row pass over a file: its columns parsed, its charge sets numbered, its row-only checks applied.

    Why one streaming pass: it keeps both cores busy and keeps in memory only the parsed columns, not the file's
    text. ``given`` are the file's own columns; absent optional ones read as empty.
    """

    source: pl.LazyFrame
    given: set[str]
    text: list[str]  # date columns read as text, parsed per row
    checks: list[Check]
    stages: list[str]
    grounds: list[str]
    codes: pl.Expr  # the charges as the run's set numbers (``rules.charges.code_type``)

    @classmethod
    def over(cls, source: pl.LazyFrame, t: LawTables) -> RowPass:
        schema = source.collect_schema()
        given = set(schema.names())
        source = source.with_columns(
            *[
                pl.lit(None, pl.String if c == "discharge_ground" else pl.Date).alias(c)
                for c in ("contract_date", *OPTIONAL)  # with an events file no date column is needed
                if c not in given
            ],
            pl.col("case_id", "charges", "stage").cast(pl.String),
            *([pl.col("discharge_ground").cast(pl.String)] if "discharge_ground" in given else []),
        )
        text = [c for c in EVERY_DATE if c in given and schema[c] != pl.Date]
        codes = pl.col("charges").cast(set_type())
        grounds = t.law.vocabulary.ids("discharge_grounds")
        return cls(source, given, text, row_checks(text, t.stages, grounds), t.stages, grounds, codes)

    def parsing(self, stage_values: list[str] | None = None, ground_values: list[str] | None = None) -> list[pl.Expr]:
        """The parsed columns ``_<date>``, ``_stage`` and ``_ground`` (see ``words`` for the values)."""
        return [
            *[pl.col(c).str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias(f"_{c}") for c in self.text],
            *[pl.col(c).alias(f"_{c}") for c in EVERY_DATE if c not in self.text],
            words("stage", self.stages, stage_values).alias("_stage"),
            words("discharge_ground", self.grounds, ground_values).alias("_ground"),
        ]

    def run(self, parsing: list[pl.Expr]) -> pl.DataFrame:
        """Per row: the id, the charge set as a number, the parsed columns, and whether a row-only check fails."""
        return (
            self.source.with_columns(*parsing)
            .select(
                "case_id",
                self.codes,
                "_stage",
                "_ground",
                *[f"_{c}" for c in EVERY_DATE if c in self.given],
                _bad=self.bad,
            )
            .collect(engine="streaming")
        )

    @property
    def bad(self) -> pl.Expr:
        return pl.any_horizontal([e.fill_null(False) for _, e, _, _ in self.checks])

    def mend(self, rows: pl.DataFrame, suspect: pl.DataFrame, parsing: list[pl.Expr]) -> pl.DataFrame:
        """``rows`` with the suspect rows parsed and checked again with ``parsing`` (stray values mapped).

        Only they can change: every other row's stage and ground are already exact words. So a file with stray
        spaces is not read a second time.
        """
        fixed = suspect.lazy().with_columns(*parsing).select("_row", "_stage", "_ground", _bad=self.bad).collect()
        at = fixed["_row"].cast(pl.Int64) - 1
        return rows.with_columns(rows[c].scatter(at, fixed[c]) for c in ("_stage", "_ground", "_bad"))

    def suspects(self, flagged: pl.Series) -> pl.DataFrame:
        """The flagged rows read again as they are in the file, with their row numbers (``_row``, from 1)."""
        numbers = (flagged.arg_true() + 1).cast(pl.UInt32)
        return self.source.with_row_index("_row", offset=1).filter(pl.col("_row").is_in(numbers.implode())).collect()
