"""What ``warexempt bulk`` adds for large files: a run in parts (``--chunk-rows``, or on its own for a large file), on
a Dask cluster (``--dask``), and ``--summary``, the counts without a list of people.

The command itself (``cli.app.bulk_cmd``) keeps its files, lock and manifest; this module chooses how the rows are
decided and shows the counts. Why ``--summary`` without ``-o`` writes nothing: warexempt informs and measures, it
never lists people; aggregate counts are what a study of a register needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from warexempt._marks import N_

if TYPE_CHECKING:
    from rich.console import Console

    from warexempt.law.tables import LawTables
    from warexempt.population.bulk import BulkResult
    from warexempt.population.distributed import DaskAddressError

Report = Callable[[str, int, int], None]

AUTO_CSV_BYTES = 400 << 20  # a CSV file this large (some 4 million rows) is decided in parts without being asked


def in_parts(infile: Path, chunk_rows: int | None, dask: str | None, output: Path | None) -> bool:
    """Whether to decide the file in parts: asked (``--chunk-rows``, ``--dask``), counts only, or a large file
    (Parquet: more than ``stream.AUTO_ROWS`` rows, from its footer; CSV: more than ``AUTO_CSV_BYTES``)."""
    from warexempt.population.stream import AUTO_ROWS

    if chunk_rows is not None or dask is not None or output is None:
        return True
    try:
        if infile.suffix.lower() == ".parquet":
            return int(pl.scan_parquet(infile).select(pl.len()).collect().item()) > AUTO_ROWS
        return infile.stat().st_size > AUTO_CSV_BYTES
    except (OSError, pl.exceptions.PolarsError):
        return False  # the run says what is wrong with the file


def problem(chunk_rows: int | None, dask: str | None, lang: str) -> str | None:
    """``--chunk-rows`` and ``--dask`` checked before anything is read: ``None``, or what is wrong, in ``lang``."""
    from warexempt.explain.i18n import gettext
    from warexempt.population.distributed import DaskAddressError, parse_address

    if chunk_rows is not None and chunk_rows < 1:
        return gettext(lang, N_("--chunk-rows {value}: expected a number of rows, 1 or more"), value=str(chunk_rows))
    try:
        if dask is not None:
            parse_address(dask)
    except DaskAddressError as exc:
        return said(exc, lang)
    return None


def said(exc: DaskAddressError, lang: str) -> str:
    from warexempt.explain.i18n import gettext

    return gettext(lang, exc.template, **exc.values)


def needs_output(lang: str) -> str:
    from warexempt.explain.i18n import gettext

    return gettext(lang, N_("give -o OUTPUT (.csv or .parquet) for the decisions, or --summary for counts alone"))


def decider(
    infile: Path,
    t: LawTables,
    day: dt.date,
    output: Path | None,
    *,
    ignore_extra_columns: bool,
    events: Path | None,
    chunk_rows: int | None,
    dask: str | None,
    count: bool,
    lang: str,
) -> Callable[[Report | None], BulkResult]:
    """The run: in parts (``population.stream``, on ``dask`` if given) when ``in_parts``, else in one pass."""
    from warexempt.explain.i18n import gettext
    from warexempt.population.bulk import BulkFileError, run_bulk
    from warexempt.population.stream import local_chunks, run_in_parts

    if not in_parts(infile, chunk_rows, dask, output):
        assert output is not None

        def whole(report: Report | None = None) -> BulkResult:
            return run_bulk(
                infile, t, day, output, progress=report, ignore_extra_columns=ignore_extra_columns, events=events
            )

        return whole

    def parts(report: Report | None = None) -> BulkResult:
        said_step = (lambda step, done, total: report(gettext(lang, step), done, total)) if report else None
        chunks = local_chunks
        if dask is not None:
            from warexempt.population.distributed import DaskAddressError, dask_chunks

            chunks = dask_chunks(dask)
            try:
                return run_in_parts(
                    infile, t, day, output, said_step, ignore_extra_columns=ignore_extra_columns, events=events,
                    chunk_rows=chunk_rows, count=count, chunks=chunks,
                )  # fmt: skip
            except DaskAddressError as exc:  # the cluster cannot be reached or started: said as a file error is
                raise BulkFileError(said(exc, lang)) from None
        return run_in_parts(
            infile,
            t,
            day,
            output,
            said_step,
            ignore_extra_columns=ignore_extra_columns,
            events=events,
            chunk_rows=chunk_rows,
            count=count,
            chunks=chunks,
        )

    return parts


def show_summary(console: Console, result: BulkResult, output: Path | None, lang: str) -> None:
    """Two tables of counts, never a case: by outcome and deciding provision; by outcome, eligible, stage, route
    and exclusion-list version (the law version that decided)."""
    from rich.table import Table

    from warexempt.explain.i18n import gettext
    from warexempt.population.bulk import breakdown, summary, summary_of
    from warexempt.population.stream import tally

    _ = lambda m: gettext(lang, m)  # noqa: E731
    counts = result.counts
    if counts is None and output is not None:
        counts = tally(_decisions(output))
    by_provision = summary_of(counts, lang=lang) if counts is not None else summary(output, lang=lang)  # type: ignore[arg-type]
    table = Table(title=_("Cases by outcome and by deciding provision"))
    for heading in (_("outcome"), _("provision")):
        table.add_column(heading)
    table.add_column(_("cases"), justify="right")
    for row in by_provision.iter_rows(named=True):
        provision = f"{row['provision_label']} ({row['provision']})" if row["provision"] else "-"
        table.add_row(f"{row['outcome_label']} ({row['outcome']})", provision, f"{row['cases']:,}")
    console.print(table)
    if counts is None:
        return
    table = Table(title=_("Cases by outcome, stage, route and list version"))
    for heading in (_("outcome"), _("eligible"), _("stage"), _("route"), _("list version")):
        table.add_column(heading)
    table.add_column(_("cases"), justify="right")
    yes, no = _("yes"), _("no")
    for row in breakdown(counts, lang=lang).iter_rows(named=True):
        eligible = "-" if row["eligible"] is None else (yes if row["eligible"] else no)
        table.add_row(
            f"{row['outcome_label']} ({row['outcome']})" if row["outcome"] else "-",
            eligible,
            f"{row['stage_label']} ({row['stage']})" if row["stage"] else "-",
            row["route"] or "-",
            row["list_version"] or "-",
            f"{row['cases']:,}",
        )
    console.print(table)


def _decisions(output: Path) -> pl.LazyFrame:
    if output.suffix.lower() == ".parquet":
        return pl.scan_parquet(output)
    return pl.scan_csv(output, infer_schema=False)


def counted_line(result: BulkResult, lang: str) -> str:
    """The closing line of a run that wrote nothing (``--summary`` without ``-o``)."""
    from warexempt.explain.i18n import gettext

    bad = result.rows - result.decided
    return gettext(
        lang,
        N_("{n} cases decided and counted, none listed; {m} rows with errors (give -o to have the errors file)"),
        n=f"{result.decided:,}",
        m=f"{bad:,}",
    )
