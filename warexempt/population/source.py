"""Reading a file of cases (the bulk schema of the acceptance README) as a query, or stopping at once.

Input schema: ``case_id, charges, stage, contract_date`` and optional ``petition_date, award_date, discharge_date,
discharge_ground, death_date, as_of`` (plus ``offence_date``, ``resumed_date``). A wholly wrong file (not CSV or
Parquet, not UTF-8, missing columns, unreadable data) stops with one message that names the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

REQUIRED = ("case_id", "charges", "stage", "contract_date")
DATES = ("contract_date", "petition_date", "award_date", "discharge_date", "resumed_date", "death_date")
OPTIONAL = (*DATES[1:], "discharge_ground", "as_of", "offence_date")
EVERY_DATE = (*DATES, "as_of", "offence_date")


class BulkFileError(ValueError):
    """The file as a whole cannot be read as a case file."""


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
            sep = _sniff(path)
            header = pl.scan_csv(path, separator=sep, infer_schema=False).collect_schema().names()
            try:  # the fast path: a clean file parses its dates while it is read
                dates = {c: pl.Date for c in EVERY_DATE if c in header}
                df = pl.read_csv(path, separator=sep, infer_schema=False, schema_overrides=dates)
            except pl.exceptions.PolarsError:
                df = pl.read_csv(path, separator=sep, infer_schema=False)
            source, columns = df.lazy(), df.columns
        else:
            raise BulkFileError(f"{path}: expected a .csv or .parquet file")
    except BulkFileError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable(path, exc) from None
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BulkFileError(
            f"{path}: missing column(s) {', '.join(missing)}; the columns are {', '.join(columns) or '(none)'}; "
            f"expected at least {', '.join(REQUIRED)}"
        )
    return source


def unreadable(path: Path, exc: Exception) -> BulkFileError:
    kind = path.suffix.lower()[1:] or "a case file"
    return BulkFileError(f"{path}: cannot be read as {kind}: {exc}")


def _sniff(path: Path) -> str:
    """Stop at once on a file that is not UTF-8 text (binary, cp1251); return the file's field separator.

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
    if b"," not in first:
        for sep in (b";", b"\t"):
            if sep in first:
                return sep.decode()
    return ","
