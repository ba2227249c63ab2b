"""The population section of ``make bench``: the Monte Carlo estimate (and, added by the bulk work, streamed and
LocalCluster runs).

``section(quick, out, log) -> list[Target]`` (``run.py`` PLUGINS) runs each entry of ``BENCHES`` in turn; a bench is
a function ``(quick, out, log) -> list[Target]``, so a further measurement is one function and one line in
``BENCHES``.

Monte Carlo: in a fresh child process (nothing decided or compiled beforehand), ``Model.of(day)`` decides every
distinct (charge set, stage, date) cell once through the rules path, then ``estimate(day, 10_000, seed)`` draws
10,000 sets of assumptions and reweights the cells; best of 3 draw runs. Target: 10,000 draws under 10 s. The time
to decide the cells once and the whole cold run (cells, draws and the JSON) are reported beside it, with the peak
memory of the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bulk import Target, verdict
from bulk_stream import streamed

REPO = Path(__file__).resolve().parent.parent
DRAWS = 10_000
TARGET_S = 10.0
DAY = "2026-12-01"

CHILD = r"""
import datetime as dt, json, resource, sys, time
t0 = time.perf_counter()
from warexempt.population.model import Model, estimate
day = dt.date.fromisoformat(sys.argv[1]); draws = int(sys.argv[2]); repeat = int(sys.argv[3])
t1 = time.perf_counter()
model = Model.of(day)
t2 = time.perf_counter()
runs = []
for seed in range(repeat):
    a = time.perf_counter()
    est = estimate(day, draws, seed)
    text = est.to_json()
    runs.append(time.perf_counter() - a)
t3 = time.perf_counter()
print(json.dumps({
    "import": t1 - t0, "cells_s": t2 - t1, "cells": len(model.cells), "draws_s": min(runs),
    "cold_s": (t2 - t0) + runs[0], "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "json_bytes": len(text),
}))
"""


def monte_carlo(quick: bool, out: Path, log: Callable[[str], None]) -> list[Target]:
    draws = 1_000 if quick else DRAWS
    repeat = 1 if quick else 3
    log(f"population: {draws:,} Monte Carlo draws ({repeat} run(s)) in a fresh child")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, DAY, str(draws), str(repeat)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the child failed: {proc.stderr.strip()[-500:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    (out / "population_monte_carlo.json").write_text(json.dumps(r, indent=2), encoding="utf-8")
    target = TARGET_S * draws / DRAWS
    return [
        Target(
            f"population estimate: {draws:,} Monte Carlo draws over the decided cells (best of {repeat})",
            f"{r['draws_s']:.2f} s",
            f"< {target:g} s",
            f"{r['draws_s'] / target:.2f}",
            verdict(r["draws_s"] < target),
        ),
        Target(
            f"population estimate: {r['cells']:,} cells decided once through the rules path",
            f"{r['cells_s']:.2f} s",
        ),
        Target(
            f"population estimate, cold (import, cells, {draws:,} draws, JSON)",
            f"{r['cold_s']:.2f} s, peak {r['peak_mib']:,.0f} MiB",
        ),
    ]


# Each entry: one measurement of this section (more are added here, e.g. bulk over 50M streamed rows and on a
# LocalCluster).
BENCHES: list[Callable[[bool, Path, Callable[[str], None]], list[Target]]] = [monte_carlo, streamed]


def section(quick: bool, out: Path, log: Callable[[str], None]) -> list[Target]:
    rows: list[Target] = []
    for bench in BENCHES:
        try:
            rows += bench(quick, out, log)
        except Exception as exc:  # a benchmark, not a test: the row says FAIL and the others still run
            log(f"population: {bench.__name__} failed: {exc}")
            rows.append(Target(f"population: {bench.__name__}", "-", result=f"FAIL: {exc}"[:200]))
    return rows
