"""``warexempt population publish OUT.db``: the report's aggregates and every figure's data as one SQLite file that
Datasette opens as it is (``datasette OUT.db``), for journalists who prefer to explore.

Plain tables with primary keys (Datasette links rows by them), text dates (ISO), lists joined by ``; ``, no views
or extensions. ``sources`` and ``claims`` are the bundled provenance; ``tables`` describes every table (what
Datasette's metadata would, kept in the file itself); ``run`` and ``data_files`` say what the file was made from
(package version, law fingerprint, seed, the SHA-256 of each data file). The file is written under a temporary
name and renamed when complete, so a reader never opens half a file.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from warexempt.population import report, scenarios


class PublishError(ValueError):
    """The output cannot be written (exists without ``force``, or its folder is missing)."""


DESCRIPTIONS = {
    "run": "What the file was made from: package version, law fingerprint, seed, draws, date.",
    "data_files": "SHA-256 of every bundled data file the numbers come from.",
    "sources": "Every source of the bundled statistics (data/sources.csv).",
    "claims": "Recruitment, casualty and 'how many will go' claims (data/claims.csv), with their definitions.",
    "figures": "Every figure of the report: title, caption (its sources and assumptions), its SVG and data table.",
    "scenario_definitions": "SCENARIOS, not forecasts: each scenario's parameters, their ranges and basis.",
    "scenario_summary": "SCENARIOS, not forecasts: shares released / resumed / killed / serving, median and intervals.",
    "scenario_shares": "SCENARIOS, not forecasts: the share of each group in each Monte Carlo draw.",
    "scenario_breakdown": "SCENARIOS, not forecasts: how the rules decided the synthetic histories (rule, provisions).",
    "scenario_parameters": "SCENARIOS, not forecasts: the parameters drawn in each Monte Carlo draw.",
    "estimate": "People at each stage and how many each version of the law covers: median, 50% and 90% intervals.",
    "estimate_cells": "Every distinct (charge set, stage, date) the rules decided, with its base weight.",
    "estimate_assumptions": "Every unknown of the estimate, with its distribution, 90% range and sources.",
    "tables": "What each table of this file holds.",
    "sensitivity": "Each assumption's Morris μ* and σ, Sobol S1 and ST (with confidence), and tornado swing.",
    "claim_readings": "The claim '40% of 60,000': each reading's eligible pool, its chance of reaching 24,000, the uptake implied.",
}


def _sql_type(dtype: pl.DataType) -> str:
    if dtype.is_integer() or dtype == pl.Boolean:
        return "INTEGER"
    if dtype.is_float():
        return "REAL"
    return "TEXT"


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns SQLite stores as they are: dates as ISO text, lists joined by ``; ``."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            out.append(col.cast(pl.List(pl.String)).list.join("; ").alias(name))
        elif dtype in (pl.Date, pl.Datetime):
            out.append(col.dt.to_string("%Y-%m-%d").alias(name))
        elif dtype == pl.Boolean:
            out.append(col.cast(pl.Int8).alias(name))
        else:
            out.append(col)
    return frame.select(out)


def write_table(con: sqlite3.Connection, name: str, frame: pl.DataFrame, key: list[str] | None = None) -> int:
    """``frame`` as table ``name`` with primary key ``key`` (none: a ``row_no`` column numbering the rows)."""
    if key is None:
        frame = frame.with_row_index("row_no", offset=1)
        key = ["row_no"]
    # a key column's missing text (an open cycle has no closing rule) is stored as "" (SQLite keys are not null)
    frame = frame.with_columns(pl.col(k).fill_null("") for k in key if frame.schema[k] == pl.String)
    if frame.select(key).is_duplicated().any():
        raise PublishError(f"table {name}: the key ({', '.join(key)}) repeats")
    frame = _plain(frame)
    columns = ", ".join(f'"{c}" {_sql_type(t)}' + (" NOT NULL" if c in key else "") for c, t in frame.schema.items())
    con.execute(f'CREATE TABLE "{name}" ({columns}, PRIMARY KEY ({", ".join(map(repr, key))}))'.replace("'", '"'))
    marks = ", ".join("?" for _ in frame.columns)
    con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', frame.iter_rows())
    return frame.height


def _csv_frame(path: Path) -> pl.DataFrame:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String()) if rows else None)


def _definitions(found: Iterable[scenarios.Scenario]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "scenario": s.id,
                "parameter": p.id,
                "label": p.id and scenarios.PARAMETER_NAMES[p.id],
                "low": p.low,
                "mode": p.mode,
                "high": p.high,
                "assumption": p.assumption,
                "claims": "; ".join(p.claims),
                "derivation": p.derivation,
                "basis": p.basis,
                "end_of_mobilisation": s.end_of_mobilisation.isoformat() if s.end_of_mobilisation else None,
            }
            for s in found
            for p in s.parameters
        ]
    )


def publish(
    out: Path,
    *,
    seed: int = 0,
    draws: int = 10_000,
    day: dt.date | None = None,
    scenario_draws: int = 200,
    scenario_persons: int = 250,
    force: bool = False,
    only: Iterable[str] | None = None,
) -> dict[str, int]:
    """Write the SQLite file; returns each table's row count. Sections whose part of the model is missing are
    left out (the ``figures`` table lists what is there)."""
    from warexempt import __version__

    if out.exists() and not force:
        raise PublishError(f"{out}: exists; use --force to replace it")
    if not out.parent.is_dir():
        raise PublishError(f"{out.parent}: no such folder")
    ctx = report.Context.of(day, seed, draws, scenario_draws, scenario_persons)
    found = report.sections("en", ctx, only)
    data = scenarios.claims_path().parent
    tables: dict[str, tuple[pl.DataFrame, list[str] | None]] = {
        "run": (
            pl.DataFrame(
                {
                    "key": ["package_version", "law_fingerprint", "seed", "draws", "date", "made_on"],
                    "value": [
                        __version__,
                        ctx.law.fingerprint,
                        str(seed),
                        str(draws),
                        ctx.day.isoformat(),
                        dt.date.today().isoformat(),
                    ],
                }
            ),
            ["key"],
        ),
        "data_files": (
            pl.DataFrame(
                list(report.data_hashes().items()), schema={"file": pl.String, "sha256": pl.String}, orient="row"
            ),
            ["file"],
        ),
        "sources": (_csv_frame(data / "sources.csv"), ["source_id"]),
        "claims": (_csv_frame(data / "claims.csv"), ["claim_id"]),
    }
    described = dict(DESCRIPTIONS)
    figures = []
    for section in found:
        for chart in section.charts:
            name = f"figure_{chart.id}"
            tables[name] = (chart.data, None)
            described[name] = f"The data of the figure '{chart.title}'."
            figures.append(
                {
                    "figure_id": chart.id,
                    "section": section.id,
                    "title": chart.title,
                    "caption": chart.caption,
                    "data_table": name,
                    "svg": chart.svg,
                }
            )
    tables["figures"] = (pl.DataFrame(figures), ["figure_id"])
    if "scenarios" in ctx.cache:
        result: scenarios.Result = ctx.cache["scenarios"]
        tables |= {
            "scenario_definitions": (_definitions(result.scenarios), ["scenario", "parameter"]),
            "scenario_summary": (result.summary(), ["scenario", "stage", "group"]),
            "scenario_shares": (result.shares, ["scenario", "stage", "draw", "group"]),
            "scenario_breakdown": (
                result.breakdown,
                ["scenario", "stage", "group", "cause", "outcome", "rule", "reasons"],
            ),
            "scenario_parameters": (result.parameters, ["scenario", "draw", "parameter"]),
        }
    if "estimate" in ctx.cache:
        tables |= _estimate_tables(ctx.cache["estimate"])
    if "claim_view" in ctx.cache:
        from warexempt.population.report_model import claim_frame

        tables["claim_readings"] = (claim_frame(ctx.cache["claim_view"]), ["reading"])
    if "sensitivity_view" in ctx.cache:
        from warexempt.population.report_model import sobol_frame, tornado_frame

        view = ctx.cache["sensitivity_view"]
        tables["sensitivity"] = (sobol_frame(view).join(tornado_frame(view).drop("label"), on="id"), ["id"])
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        con = sqlite3.connect(tmp)
        try:
            with con:
                for name, (frame, key) in tables.items():
                    counts[name] = write_table(con, name, frame, key)
                names = [*tables, "tables"]
                descriptions = pl.DataFrame({"table_name": names, "description": [described.get(n, "") for n in names]})
                counts["tables"] = write_table(con, "tables", descriptions, ["table_name"])
        finally:
            con.close()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return counts


def _estimate_tables(est: Any) -> dict[str, tuple[pl.DataFrame, list[str] | None]]:
    """The coverage estimate's aggregates: every (version, stage, measure) interval, and the decided cells."""
    rows = []
    for v in est.versions:
        for s in v.stages:
            measures = {"people": s.people, "covered": s.covered, "not_covered": s.not_covered}
            measures |= {"share_covered": s.share_covered, "unmapped": s.unmapped}
            measures |= {f"excluded:{k}": iv for k, iv in s.excluded_by.items()}
            measures |= {f"outcome:{k}": iv for k, iv in s.outcomes.items()}
            for measure, iv in measures.items():
                rows.append(
                    {
                        "version": v.version.id,
                        "in_force": v.version.start.isoformat(),
                        "evaluated_on": v.version.day.isoformat(),
                        "stage": s.stage,
                        "measure": measure,
                        "median": iv.median,
                        "q05": iv.p90[0],
                        "q25": iv.p50[0],
                        "q75": iv.p50[1],
                        "q95": iv.p90[1],
                    }
                )
    cells = pl.DataFrame([c.to_dict() for c in est.cells])
    assumptions = pl.DataFrame([{k: v for k, v in a.view("en").items() if k != "parameters"} for a in est.assumptions])
    return {
        "estimate": (pl.DataFrame(rows), ["version", "stage", "measure"]),
        "estimate_cells": (cells, None),
        "estimate_assumptions": (assumptions, ["id"]),
    }
