"""Bulk runs larger than memory, a bench of the population section (``population.py`` ``BENCHES``).

``warexempt bulk`` over 50,000,000 synthetic rows (``--quick``: 2,000,000) in one Parquet file of row groups of a
million rows (``bulk.cases_frame``, made once in the bench folder and reused), decided in parts of a million rows:

* streamed on this machine (``--chunk-rows``): wall time and peak memory of the process; target: peak under 4 GiB;
* on a ``distributed.LocalCluster`` of 2 worker processes (``--dask local:2``), the same cores: wall time (the
  cluster's start included) and peak memory of the process tree (client, nanny and workers: ``bulk.measure``
  polls it with psutil); target: within 1.5x of the streamed run.

Both runs write their decisions part by part in the same order: their files are compared by SHA-256. Beside each
wall time, the CPU time of the process tree (user + system, of the processes waited for: the CLI and the cluster's
workers) and the load average as the run started: the machine is shared, and a wall-time ratio means little without
them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from bulk import CLI, DEFAULT_AS_OF, Run, Target, cases_frame, clear_outputs, measure, rows_label, verdict

from warexempt.population.output import sha256_of

FULL_ROWS = 50_000_000
QUICK_ROWS = 2_000_000
PART = 1_000_000
PEAK_GIB = 4.0
CLUSTER_RATIO = 1.5
TIMEOUT_S = 3600.0


def cases(n: int, out: Path, log: Callable[[str], None]) -> Path:
    """The N-row Parquet file (row groups of ``PART`` rows), written once, streamed (never whole in memory)."""
    import polars as pl

    path = out / f"stream_cases_{n}.parquet"
    if path.exists():
        try:
            if pl.scan_parquet(path).select(pl.len()).collect().item() == n:
                return path
        except pl.exceptions.PolarsError:
            pass
    tmp = path.with_suffix(".parquet.tmp")
    import time

    t = time.perf_counter()
    cases_frame(n).sink_parquet(tmp, row_group_size=PART)
    tmp.replace(path)
    log(f"bulk_stream: generated {n:,} rows in {time.perf_counter() - t:.0f} s -> {path}")
    return path


def _run(label: str, src: Path, dst: Path, n: int, extra: list[str]) -> Run:
    clear_outputs(dst)
    cmd = [str(CLI), "bulk", str(src), "-o", str(dst), "--as-of", DEFAULT_AS_OF.isoformat(), *extra]
    run = measure(label, n, cmd, dst.parent, TIMEOUT_S)
    if run.ok and not dst.exists():
        run.ok, run.note = False, "no output file"
    return run


def streamed(quick: bool, out: Path, log: Callable[[str], None]) -> list[Target]:
    """The two runs and their rows of the table."""
    n = QUICK_ROWS if quick else FULL_ROWS
    out.mkdir(parents=True, exist_ok=True)
    src = cases(n, out, log)
    work = out / "bulk_stream"
    work.mkdir(exist_ok=True)
    parts = ["--chunk-rows", str(PART)]
    load_local = os.getloadavg()[0]
    local = _run("streamed", src, work / "local.parquet", n, parts)
    log(f"bulk_stream: streamed {n:,} rows: {local.wall:.1f} s, peak {local.peak_mib:,.0f} MiB {local.note}")
    if not local.ok:
        log(local.stderr[-2000:])
    load_dask = os.getloadavg()[0]
    dask = _run("LocalCluster", src, work / "dask.parquet", n, [*parts, "--dask", "local:2"])
    log(f"bulk_stream: LocalCluster {n:,} rows: {dask.wall:.1f} s, peak {dask.peak_mib:,.0f} MiB {dask.note}")
    if not dask.ok:
        log(dask.stderr[-2000:])
    same = ""
    if local.ok and dask.ok:
        same = (
            "outputs identical"
            if sha256_of(work / "local.parquet") == sha256_of(work / "dask.parquet")
            else "OUTPUTS DIFFER"
        )
        log(f"bulk_stream: {same} (SHA-256 of the two decisions files)")
    rows = rows_label(n)
    peak_gib = local.peak_mib / 1024
    ratio = dask.wall / local.wall if local.ok and dask.ok and local.wall > 0 else float("nan")
    return [
        Target(
            f"bulk {rows} Parquet rows streamed (parts of {rows_label(PART)})",
            f"{local.wall:.1f} s (CPU {local.cpu:.0f} s, load {load_local:.1f}), peak {peak_gib:.2f} GiB"
            if local.ok
            else f"failed ({local.note})",
            f"peak < {PEAK_GIB:g} GiB",
            f"{peak_gib / PEAK_GIB:.2f}× of limit" if local.ok else "-",
            verdict(local.ok and peak_gib < PEAK_GIB),
        ),
        Target(
            f"bulk {rows} rows on a LocalCluster of 2 workers (vs streamed; {same or 'not compared'})",
            f"{dask.wall:.1f} s (CPU {dask.cpu:.0f} s, load {load_dask:.1f}), peak {dask.peak_mib / 1024:.2f} GiB (tree)"
            if dask.ok
            else f"failed ({dask.note})",
            f"≤ {CLUSTER_RATIO:g}× streamed",
            f"{ratio:.2f}×" if ratio == ratio else "-",
            verdict(dask.ok and ratio <= CLUSTER_RATIO and same == "outputs identical"),
        ),
    ]
