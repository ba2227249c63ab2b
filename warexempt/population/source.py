"""Reading a file of cases (the bulk schema of the acceptance README) as a query, or stopping at once.

Input schema: ``case_id, charges, stage, contract_date`` and optional ``petition_date, award_date, discharge_date,
discharge_ground, death_date, as_of`` (plus ``offence_date``, ``resumed_date``).

What is read as it is meant, and what stops the run:

* Header names are matched without regard to case, surrounding spaces or a UTF-8 byte-order mark (``" Case_ID"`` is
  ``case_id``). A column the schema does not have stops the run with the nearest known name ("unknown column
  'petiton_date' — did you mean petition_date?"), unless ``ignore_extra_columns`` (``--ignore-extra-columns``),
  which leaves such columns out. A column named twice stops the run.
* CSV: fields separated by commas, or ``;`` or tabs (a spreadsheet's export), LF or CRLF line ends, with or without a
  byte-order mark. A row with too many or too few fields is neither cut nor padded: it is left out of the cases and
  becomes a reading error (``Cases.errors``: ``row`` its line as a spreadsheet shows it, the header being line 1,
  ``column`` ``(row)``, ``value`` the raw line cut to 200 characters, ``reason`` "N fields, expected M"); a line that
  opens a quote it never closes is such a row, alone (the next line is read as a row again). A blank line is skipped.
  The rows after a left-out one keep their numbers (``Cases.with_errors``).
* Parquet: natural types are read: ``charges`` as text or a list of codes (joined with ``;``), ``case_id`` as text or
  whole numbers, dates as Date, Datetime (its date), day numbers since 1970 (integers) or ``YYYY-MM-DD`` text. A
  column of any other type stops the run with one message naming the column, its type and what was expected.
* A wholly wrong file (not CSV or Parquet, not UTF-8, missing columns, damaged data) stops with one message that names
  the file and the problem in plain words, never a library's error text.

How CSV is read fast: Polars parses the file strictly (a row with too many fields fails the parse); a row with too few
would be padded without a word, so the separators are counted as well (one pass over the bytes): when those outside
the values are exactly (fields - 1) per row, no row is short. Otherwise (a ragged row, a blank line, a stray quote)
the file is read line by line (vectorised), the bad lines are set aside and the rest is parsed again.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import polars as pl

REQUIRED = ("case_id", "charges", "stage", "contract_date")
REQUIRED_WITH_EVENTS = REQUIRED[:3]  # with a long events file (``bulk --events``) the dates come from there
DATES = ("contract_date", "petition_date", "award_date", "discharge_date", "resumed_date", "death_date")
OPTIONAL = (*DATES[1:], "discharge_ground", "as_of", "offence_date")
EVERY_DATE = (*DATES, "as_of", "offence_date")
KNOWN = (*REQUIRED, *OPTIONAL)
ROW = "(row)"  # the errors file's column for a row that could not be split into the header's fields
SHOWN = 200  # characters of a bad line shown in the errors file
_IGNORE_HINT = "--ignore-extra-columns leaves out the columns the schema does not have"


class BulkFileError(ValueError):
    """The file as a whole cannot be read as a case file."""


class Cases(NamedTuple):
    """A file of cases, read.

    ``frame``: the rows as a query, the file's columns under their schema names. ``errors``: the rows that could not be
    read at all (``population.checks.ERROR_SCHEMA``; ``row`` is the line as a spreadsheet shows it, header = 1).
    ``dropped``: the data-row numbers (from 1, the header not counted) of the rows left out of ``frame``, the bad ones
    and blank lines, sorted. ``header``: the lines before the first data row, so that every error names the row as a
    spreadsheet shows it, the header being line 1 (a Parquet file is numbered as the same table saved as CSV).
    """

    frame: pl.LazyFrame
    errors: pl.DataFrame
    dropped: pl.Series
    header: int = 1

    def with_errors(self, found: pl.DataFrame) -> pl.DataFrame:
        """``found``, errors whose ``row`` is a position in ``frame`` (from 1), numbered as the rows of the file (the
        left-out rows counted), together with the reading errors, in the file's order."""
        if self.dropped.len():
            # frame position p is data row p + #(dropped rows before it): #{i : dropped[i] - i <= p}, i from 0
            gaps = self.dropped - pl.int_range(0, self.dropped.len(), dtype=pl.Int64, eager=True)
            found = found.with_columns(pl.col("row") + gaps.search_sorted(found["row"], side="right").cast(pl.Int64))
        found = found.with_columns(pl.col("row") + self.header)
        if not self.errors.height:
            return found
        both = pl.concat([self.errors.with_columns(_at=pl.col("row")), found.with_columns(_at=pl.col("row"))])
        return both.sort("_at", maintain_order=True).drop("_at")


def read_cases(path: Path, *, ignore_extra_columns: bool = False, with_events: bool = False) -> Cases:
    """The file as a query, with the rows that could not be read set aside (see the module's docstring).

    Parquet is scanned: it is read while its rows are checked, and only the parsed columns are kept. CSV is read, its
    dates parsed while reading when every value is one (else kept as text, checked per row later).
    """
    if path.is_dir():
        raise BulkFileError(f"{path}: is a folder, expected a .csv or .parquet file")
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        required = REQUIRED_WITH_EVENTS if with_events else REQUIRED
        if suffix == ".parquet":
            return _read_parquet(path, ignore_extra_columns, required)
        if suffix in (".csv", ".txt"):
            return _read_csv(path, ignore_extra_columns, required)
    except OSError as exc:
        raise BulkFileError(f"{path}: cannot be read ({exc.strerror or 'input/output error'})") from None
    raise BulkFileError(f"{path}: expected a .csv or .parquet file")


def unreadable(path: Path, exc: Exception) -> BulkFileError:
    """The plain message for a file whose data a library could not read (its own text is not shown)."""
    if isinstance(exc, OSError):
        return BulkFileError(f"{path}: cannot be read ({exc.strerror or 'input/output error'})")
    if path.suffix.lower() == ".parquet":
        return BulkFileError(f"{path}: cannot be read as parquet: the file is damaged or is not a Parquet file")
    kind = path.suffix.lower()[1:] or "a case file"
    return BulkFileError(
        f"{path}: cannot be read as {kind}: its lines cannot be split into fields (check the quotes around values)"
    )


# ----------------------------------------------------------------------------------------------------------------
# Column names
# ----------------------------------------------------------------------------------------------------------------
def _name(raw: str) -> str:
    return raw.replace("\ufeff", "").strip().lower()


def _unknown(raw: str) -> str:
    shown = raw.replace("\ufeff", "")
    if not shown.strip():
        return "a column without a name (does the header line end with a separator?)"
    close = difflib.get_close_matches(_name(raw), KNOWN, n=1)
    return f"unknown column {shown!r}" + (f" — did you mean {close[0]}?" if close else "")


def _columns(
    path: Path, names: list[str], ignore_extra: bool, required: tuple[str, ...] = REQUIRED
) -> list[str | None]:
    """The schema name of each of the file's columns, in order; ``None`` for a column left out (an extra one)."""
    known = [c if c in KNOWN else None for c in map(_name, names)]
    counts = Counter(c for c in known if c)
    for c, n in counts.items():
        if n > 1:
            spelt = ", ".join(repr(raw) for raw, k in zip(names, known, strict=True) if k == c)
            raise BulkFileError(f"{path}: column {c} is there {n} times ({spelt}); keep one")
    extra = [raw for raw, k in zip(names, known, strict=True) if k is None]
    if extra and not ignore_extra:
        raise BulkFileError(f"{path}: {'; '.join(map(_unknown, extra))} ({_IGNORE_HINT})")
    missing = [c for c in required if c not in counts]
    if missing:
        hints = [f"{raw!r} may be {c}" for c in missing for raw in extra if difflib.get_close_matches(_name(raw), [c])]
        raise BulkFileError(
            f"{path}: missing column(s) {', '.join(missing)}; the columns are {', '.join(names) or '(none)'}; "
            f"expected at least {', '.join(required)}" + (f" ({'; '.join(hints)})" if hints else "")
        )
    return known


def _empty_errors() -> pl.DataFrame:
    from warexempt.population.checks import ERROR_SCHEMA  # (checks imports this module)

    return pl.DataFrame(schema=ERROR_SCHEMA)


def _none() -> pl.Series:
    return pl.Series("row", [], dtype=pl.Int64)


# ----------------------------------------------------------------------------------------------------------------
# Parquet
# ----------------------------------------------------------------------------------------------------------------
_TEXT = "text"
_DATES_EXPECTED = "dates (Date, Datetime, whole days since 1970-01-01, or YYYY-MM-DD text)"


def _read_parquet(path: Path, ignore_extra: bool, required: tuple[str, ...] = REQUIRED) -> Cases:
    try:
        scan = pl.scan_parquet(path)
        schema = scan.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise unreadable(path, exc) from None
    names = schema.names()
    columns = _columns(path, names, ignore_extra, required)
    exprs: list[pl.Expr] = []
    wrong: list[str] = []
    wide: list[tuple[str, str]] = []  # integer day numbers in a type wider than Polars' dates: range-checked
    for raw, name in zip(names, columns, strict=True):
        if name is None:
            continue
        dtype = schema[raw]
        expr, expected = _natural(pl.col(raw), name, dtype)
        if expr is None:
            wrong.append(f"column {name} is {_type_name(dtype)}, expected {expected}")
            continue
        if (
            name in EVERY_DATE
            and dtype.is_integer()
            and dtype not in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16)
        ):
            wide.append((raw, name))
        exprs.append(expr.alias(name))
    if wrong:
        raise BulkFileError(f"{path}: {'; '.join(wrong)}")
    if wide:  # a day number outside Polars' dates: the column is given as text, so that the row's check shows it
        lo, hi = -(2**31), 2**31 - 1
        try:
            bounds = scan.select(
                *(pl.col(raw).min().alias(f"{i}lo") for i, (raw, _) in enumerate(wide)),
                *(pl.col(raw).max().alias(f"{i}hi") for i, (raw, _) in enumerate(wide)),
            ).collect()
        except pl.exceptions.PolarsError as exc:
            raise unreadable(path, exc) from None
        for i, (raw, name) in enumerate(wide):
            low, high = bounds[f"{i}lo"].item(), bounds[f"{i}hi"].item()
            if low is not None and (low < lo or high > hi):
                fits = pl.col(raw).is_between(lo, hi)
                as_text = pl.when(fits).then(pl.col(raw).cast(pl.Int32, strict=False).cast(pl.Date).cast(pl.String))
                at = next(j for j, e in enumerate(exprs) if e.meta.output_name() == name)
                exprs[at] = as_text.otherwise(pl.col(raw).cast(pl.String)).alias(name)
    return Cases(scan.select(exprs), _empty_errors(), _none())


def _natural(col: pl.Expr, name: str, dtype: pl.DataType) -> tuple[pl.Expr | None, str]:
    """The column as the checks read it (text, or Date for a date), or ``None`` if its type cannot be; and what is
    expected of it (for the message)."""
    textual = dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum) or dtype == pl.Null
    if name in EVERY_DATE:
        if dtype in (pl.Date, pl.String):
            return col, _DATES_EXPECTED
        if dtype == pl.Null:
            return col.cast(pl.Date), _DATES_EXPECTED
        if isinstance(dtype, pl.Datetime):
            return col.dt.date(), _DATES_EXPECTED
        if dtype.is_integer():
            return col.cast(pl.Int32, strict=False).cast(pl.Date), _DATES_EXPECTED
        return None, _DATES_EXPECTED
    if name == "charges":
        expected = "text (codes joined by ';') or a list of codes"
        if textual:
            return col.cast(pl.String), expected
        if isinstance(dtype, pl.List | pl.Array):
            inner = dtype.inner
            if inner is not None and (
                inner == pl.String or isinstance(inner, pl.Categorical | pl.Enum) or inner == pl.Null
            ):
                if isinstance(dtype, pl.Array):
                    col = col.arr.to_list()
                return col.list.eval(pl.element().cast(pl.String)).list.join(";"), expected
        return None, expected
    if name == "case_id":
        expected = "text or whole numbers"
        if textual or dtype.is_integer():
            return col.cast(pl.String), expected
        return None, expected
    expected = _TEXT + (" (a stage word)" if name == "stage" else " (a ground word)")
    return (col.cast(pl.String) if textual else None), expected


def _type_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "Datetime"
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return "Categorical"
    return str(dtype)


# ----------------------------------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------------------------------
def _read_csv(path: Path, ignore_extra: bool, required: tuple[str, ...] = REQUIRED) -> Cases:
    sep, header = _sniff(path)
    names = next(csv.reader([header], delimiter=sep), [])
    columns = _columns(path, names, ignore_extra, required)
    shape = _Shape(sep, names, columns)
    df = shape.parse(path)
    if df is not None:
        whole = (shape.width - 1) * (df.height + 1)  # the separators of a file whose every line has all its fields
        outside = _separators_outside_values(path, df, shape)
        if shape.width < 2 or outside == whole:
            return Cases(df.lazy().select(shape.kept), _empty_errors(), _none())
        blank = _blank_tail(df)  # blank lines at the end (read as empty rows), the commonest flaw: no need to re-read
        if blank and outside == whole - (shape.width - 1) * blank:
            kept = df.height - blank
            ends = pl.int_range(kept + 1, df.height + 1, dtype=pl.Int64, eager=True).alias("row")
            return Cases(df.head(kept).lazy().select(shape.kept), _empty_errors(), ends)
    return _read_by_lines(path, shape)


class _Shape:
    """The file's separator and columns, and the schemas it is parsed with."""

    def __init__(self, sep: str, names: list[str], columns: list[str | None]) -> None:
        self.sep, self.names, self.width = sep, names, len(names)
        internal = [c or f"_extra_{i}" for i, c in enumerate(columns)]
        self.kept = [c for c in columns if c]
        self.case_id = columns.index("case_id")
        self.text: dict[str, pl.DataType] = dict.fromkeys(internal, pl.String())
        self.dated: dict[str, pl.DataType] = {**self.text, **{c: pl.Date() for c in EVERY_DATE if c in self.kept}}

    def parse(self, source: Path | bytes) -> pl.DataFrame | None:
        """The file parsed strictly (too many fields on a row fail it); its dates as dates if every one parses."""
        for schema in (self.dated, self.text):
            try:
                return pl.read_csv(source, separator=self.sep, has_header=True, schema=schema)
            except pl.exceptions.PolarsError:
                continue
        return None


def _separators_outside_values(path: Path, df: pl.DataFrame, shape: _Shape) -> int:
    """The separators in the file that end a field. The strict parse fails on a row with too many fields, so this is
    (width - 1) per line exactly when no row has too few (or is blank). A file without quotes has none inside a
    value."""
    needle = shape.sep.encode()
    total, quoted = 0, False
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            total += chunk.count(needle)
            quoted = quoted or b'"' in chunk
    inside = sum(n.count(shape.sep) for n in shape.names)
    if quoted:
        count = pl.col(pl.String).str.count_matches(shape.sep, literal=True).sum()
        inside += df.select(pl.sum_horizontal(count)).item() or 0
    return int(total - inside)


def _blank_tail(df: pl.DataFrame) -> int:
    """How many rows at the end are wholly empty (blank lines, if they hold no separator)."""
    tail = df.tail(1000).select(pl.all_horizontal(pl.all().is_null())).to_series()
    filled = (~tail).arg_true()
    return tail.len() - (int(filled[-1]) + 1 if filled.len() else 0)


def _lines(path: Path, data: bytes) -> pl.Series:
    """The file's lines (line ends and the byte-order mark removed), the header first."""
    for byte in (b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x07", b"\x08", b"\x0e", b"\x0f"):
        if byte not in data:  # a byte the file does not hold: each line is one field
            try:
                lines = pl.read_csv(
                    data,
                    has_header=False,
                    separator=byte.decode(),
                    quote_char=None,
                    schema={"line": pl.String},
                    comment_prefix=None,
                )["line"]
            except pl.exceptions.PolarsError:
                break  # not UTF-8: said below
            return lines.fill_null("").str.strip_prefix("\ufeff")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BulkFileError(
            f"{path}: the file is not UTF-8 text (byte {exc.start}: perhaps cp1251/Windows-1251); "
            "save it as UTF-8 and try again"
        ) from None
    split = text.removeprefix("\ufeff").split("\n")
    if split and split[-1] == "":
        split.pop()
    return pl.Series("line", split, dtype=pl.String).str.strip_suffix("\r")


def _read_by_lines(path: Path, shape: _Shape) -> Cases:
    """The slow path: the file's lines counted one by one, the bad ones set aside, the others parsed again."""
    data = path.read_bytes()
    lines = _lines(path, data)
    sep, width = shape.sep, shape.width
    line = pl.col("line")
    quotes = line.str.count_matches('"', literal=True)
    outside = pl.when(quotes == 0).then(line).otherwise(line.str.replace_all('"[^"]*"', ""))  # quoted parts removed
    counted = (
        pl.DataFrame({"line": lines})
        .with_row_index("i")
        .with_columns(
            fields=outside.str.count_matches(sep, literal=True).cast(pl.Int64) + 1,
            odd=quotes % 2 == 1,
            blank=line.str.strip_chars(" \t" if sep != "\t" else " ") == "",
        )
    )
    # A quoted value across lines: a line with an odd number of quotes opens it, the next such line closes it. Kept
    # as one row if it then has the header's fields; else only the opening line is bad, and the next is read afresh.
    values = lines.to_list() if counted["odd"].any() else []
    follows: set[int] = set()  # lines inside a row that began on an earlier line
    joined: dict[int, str] = {}  # first line -> the whole row, for a row across lines
    unclosed: set[int] = set()
    odd = counted.filter(pl.col("odd") & (pl.col("i") > 0))["i"].to_list()
    k = 0
    while k < len(odd):
        start = odd[k]
        if k + 1 < len(odd):
            end = odd[k + 1]
            row = "\n".join(values[start : end + 1])
            if len(next(csv.reader(io.StringIO(row), delimiter=sep), [])) == width:
                follows.update(range(start + 1, end + 1))
                joined[start] = row
                k += 2
                continue
        unclosed.add(start)
        k += 1
    counted = counted.with_columns(
        starts=~pl.col("i").is_in(pl.Series(sorted(follows), dtype=pl.UInt32).implode()),
        multi=pl.col("i").is_in(pl.Series(sorted(joined), dtype=pl.UInt32).implode()),
        unclosed=pl.col("i").is_in(pl.Series(sorted(unclosed), dtype=pl.UInt32).implode()),
    ).with_columns(number=pl.col("starts").cum_sum().cast(pl.Int64))  # the row as a spreadsheet numbers it
    rows = counted.filter(pl.col("starts") & (pl.col("i") > 0))
    bad = rows.filter(~pl.col("blank") & (pl.col("unclosed") | (~pl.col("multi") & (pl.col("fields") != width))))
    good = rows.filter(~pl.col("blank") & ~pl.col("unclosed") & (pl.col("multi") | (pl.col("fields") == width)))
    dropped = rows.filter(pl.col("blank"))["number"].append(bad["number"]).sort() - 1

    body = good["line"]
    if joined:
        body = pl.Series("line", [joined.get(i, v) for i, v in zip(good["i"], body, strict=True)], dtype=pl.String)
    text = pl.concat([lines.head(1), body, pl.Series([""])]).str.join("\n").cast(pl.Binary).item()
    df = shape.parse(text)
    if df is None or df.height != body.len():
        raise unreadable(path, ValueError())
    ids = pl.Series("case_id", [_field(v, sep, shape.case_id) for v in bad["line"]], dtype=pl.String)
    errors = bad.select(
        pl.col("number").alias("row"),
        pl.lit(ids).alias("case_id"),
        pl.lit(ROW).alias("column"),
        pl.col("line").str.slice(0, SHOWN).alias("value"),
        pl.when(pl.col("fields") != width)
        .then(pl.format("{} fields, expected {}", "fields", pl.lit(width)))
        .otherwise(pl.lit('a quote (") is opened and not closed'))
        .alias("reason"),
    )
    return Cases(df.lazy().select(shape.kept), errors.cast(_empty_errors().schema), dropped)


def _field(line: str, sep: str, at: int) -> str | None:
    """The ``at``-th field of a (bad) line, if it has one: its case_id, for the errors file."""
    fields = next(csv.reader([line], delimiter=sep), [])
    return fields[at] if at < len(fields) and fields[at] else None


def _sniff(path: Path) -> tuple[str, str]:
    """Stop at once on a file that is not UTF-8 text (binary, cp1251); return the file's field separator and its
    header line.

    A comma unless the header line has none but has semicolons or tabs: a spreadsheet saved as CSV in a Russian
    locale separates fields with ``;`` (and then quotes a ``charges`` field that holds several codes).
    """
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
    first = head.split(b"\n", 1)[0]
    header = first.decode("utf-8", errors="replace").removeprefix("\ufeff").removesuffix("\r")
    if b"," not in first:
        for sep in (b";", b"\t"):
            if sep in first:
                return sep.decode(), header
    return ",", header
