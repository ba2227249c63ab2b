"""The benchmark suite behind ``make bench``: every target measured in one run, printed as one Markdown table.

Run ``python benchmarks/run.py [--quick] [--only single|histories|bulk|polars2 ...] [--out DIR]``. Sections:

single     ``warexempt.check`` and ``warexempt.what_if`` in process (``single.py``, in a fresh child): p50 and p99
           over 2,000 calls (``what_if``: 500) after a warm-up; targets: check p50 ≤ 2 ms, p99 ≤ 5 ms, what_if
           p50 ≤ 5 ms. Cases the engine rejects are dropped at the warm-up, and the table says how many.
histories  ``warexempt bulk CASES --events EVENTS`` over 1,000,000 cases and ~4,000,000 events
           (``histories.py``), best of 3 in a fresh child, with peak RSS; target: under 3 s. Beside it, its floor
           (d): the same two files read and the same decisions file written, nothing checked or decided.
bulk       ``bulk.py``: 1,000,000 CSV rows within 1.4× of a bare Polars query (c) and at least 10× faster than a
           per-row pure-Python loop (b); 10,000,000 Parquet rows under 2 s and 4 GiB; best of 5; the floor (d)
           of the CSV and the 10M runs.
polars2    the same code under Polars 2.x: a second virtual environment (``OUT/venv-polars2``, made once and
           reused: ``requirements.lock``, then ``polars>=2,<3``, then this repository with ``--no-deps -e``)
           runs the 10M Parquet bulk and the histories bulk (alternating with the pinned environment, best of 3
           each) and the single-check p50; the table gives both figures and which is faster.

``--quick`` is a smoke check of about a minute: 100k/1M bulk rows, 100k histories, 200 check and 50 what-if calls,
one run each; its figures are not the targets' sizes. The exit status is 0 whatever the outcome: a benchmark,
not a test. A section that breaks is logged with its error and its row reads FAIL; the others still run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bulk
import histories
import single
from bulk import DEFAULT_AS_OF, Run, Target, rows_label, verdict

REPO = Path(__file__).resolve().parent.parent
# Sections of other parts live in their own modules (``register.py``, ``population.py``, ``api.py``): each has
# ``section(quick: bool, out: Path, log: Callable[[str], None]) -> list[Target]`` and is run in this one table.
PLUGINS = ("register", "population", "api")
SECTIONS = ("single", "histories", "bulk", "polars2", *PLUGINS)
VENV2_NAME = "venv-polars2"
VENV2_STAMP = ".warexempt-bench-ready"  # written once the venv is complete: its Polars version, the lock's hash
SAME_WITHIN = 0.03  # figures closer than 3% are reported as a tie


@dataclass
class Plan:
    out: Path
    as_of: dt.date
    quick: bool
    calls: int
    what_if_calls: int
    history_cases: int
    bulk_rows: int
    big_rows: int
    bulk_repeat: int
    repeat: int
    timeout: float

    @classmethod
    def make(cls, out: Path, as_of: dt.date, quick: bool) -> Plan:
        if quick:
            return cls(out, as_of, True, 200, 50, 100_000, 100_000, 1_000_000, 1, 1, 300.0)
        return cls(out, as_of, False, 2000, 500, 1_000_000, 1_000_000, 10_000_000, 5, 3, 600.0)


@dataclass
class State:
    """What one section leaves for another in the same run (data files, the pinned environment's figures)."""

    single: single.SingleResult | None = None
    history_files: tuple[Path, Path] | None = None
    big_parquet: Path | None = None


def log(line: str) -> None:
    print(line, flush=True)


# ------------------------------------------------------------------------------------------------------------
# single
# ------------------------------------------------------------------------------------------------------------
def single_in_child(
    python: Path, calls: int, what_if_calls: int, out: Path, env: dict[str, str] | None = None, tag: str = ""
) -> single.SingleResult:
    """``single.py`` under ``python`` in a fresh process; its result, or one carrying the error."""
    dst = out / f"single{tag.replace(' ', '_')}.json"
    dst.unlink(missing_ok=True)
    cmd = [str(python), str(Path(single.__file__).resolve())]
    cmd += ["--calls", str(calls), "--what-if-calls", str(what_if_calls), "--json", str(dst)]
    timeout = 120 + 0.25 * (calls + what_if_calls)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return single.SingleResult(error=f"timed out after {timeout:.0f} s")
    if proc.returncode != 0 or not dst.exists():
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return single.SingleResult(error=f"exit {proc.returncode}: {tail}")
    return single.SingleResult.from_json(json.loads(dst.read_text()))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def single_rows(result: single.SingleResult) -> list[Target]:
    kept = result.cases - len(result.dropped)
    dropped = (
        f"{len(result.dropped)} of {result.cases} cases dropped: {single.error_kinds(result.dropped)}"
        if result.dropped
        else "no case dropped"
    )
    rows: list[Target] = []
    c, w = result.check, result.what_if
    for name, timing, value, limit in (
        ("check p50", c, c.p50_ms, single.CHECK_P50_MAX_MS),
        ("check p99", c, c.p99_ms, single.CHECK_P99_MAX_MS),
        ("what_if p50", w, w.p50_ms, single.WHAT_IF_P50_MAX_MS),
        ("what_if p99", w, w.p99_ms, None),  # reported, no target
    ):
        row = Target(f"single {name} ({timing.calls:,} calls over {kept} cases; {dropped})", _ms(value))
        row.target = "-" if limit is None else f"≤ {limit:g} ms"
        if value is None:
            row.figure = f"failed: {result.error or timing.error or 'not measured'}"[:120]
            row.result = "FAIL"
        elif limit is not None:
            row.ratio, row.result = bulk.limit_ratio(value, limit), verdict(value <= limit)
        rows.append(row)
    return rows


def section_single(plan: Plan, state: State) -> list[Target]:
    log(f"== single: {plan.calls:,} check calls, {plan.what_if_calls:,} what_if calls, in a fresh child")
    result = single_in_child(Path(sys.executable), plan.calls, plan.what_if_calls, plan.out)
    for line in single.describe(result):
        log(line)
    state.single = result
    return single_rows(result)


# ------------------------------------------------------------------------------------------------------------
# histories
# ------------------------------------------------------------------------------------------------------------
def history_files(plan: Plan, state: State) -> tuple[Path, Path]:
    if state.history_files is None:
        state.history_files = histories.write(plan.history_cases, plan.out, log)
    return state.history_files


def section_histories(plan: Plan, state: State) -> list[Target]:
    n = plan.history_cases
    log(f"== histories: {n:,} cases with their events, best of {plan.repeat}")
    cases_path, events_path = history_files(plan, state)
    run = histories.time_cli(cases_path, events_path, n, plan.out, plan.as_of, plan.repeat, plan.timeout, bulk.CLI)
    dst = histories.output_path(plan.out, n)
    report_history_run(run, dst)
    rows = [histories.target(run, n)]
    if run.ok:  # what reading the two files and writing the decisions alone cost
        label = "(d) the floor: read, write the decisions of bulk --events"
        floor = bulk.floor_run(label, dst, [cases_path, events_path], n, plan.repeat, plan.timeout)
        log(f"{floor.label}: {bulk.seconds(floor)} ({floor.note or 'ok'})")
        measure = f"histories {rows_label(n)} cases + events: its floor (d)"
        rows.append(bulk.floor_target(measure, floor, limit_s=histories.WALL_MAX_S))
    return rows


def report_history_run(run: Run, dst: Path) -> None:
    if run.note == "not available yet":
        log(f"{run.label}: the CLI has no --events option yet: not measured")
    elif not run.ok:
        log(f"!! {run.label} FAILED ({run.note}):\n   " + "\n   ".join(bulk.excerpt(run.stderr)))
    else:
        log(f"{run.label}: {run.wall:.2f} s, {run.peak_mib:,.0f} MiB peak ({run.note or 'ok'})")
        log("   " + histories.outcome_mix(dst))


# ------------------------------------------------------------------------------------------------------------
# bulk
# ------------------------------------------------------------------------------------------------------------
def section_bulk(plan: Plan, state: State) -> list[Target]:
    log(f"== bulk: {plan.bulk_rows:,} CSV/Parquet rows and {plan.big_rows:,} Parquet rows, best of {plan.bulk_repeat}")
    result = bulk.run_benchmark(
        plan.bulk_rows, plan.big_rows, plan.out, plan.as_of, plan.bulk_repeat, plan.timeout, bulk.CLI, log
    )
    state.big_parquet = plan.out / f"cases_{plan.big_rows}.parquet"
    for r in result.runs.values():
        extra = f", {r.peak_mib:,.0f} MiB peak, {r.cpu:.1f} s CPU ({r.note or 'ok'})" if r.ok else ""
        log(f"   {r.label}, {r.rows:,} rows: {bulk.seconds(r)}{extra}")
    for line in result.notes:
        log(line)
    return result.targets


# ------------------------------------------------------------------------------------------------------------
# polars2
# ------------------------------------------------------------------------------------------------------------
def ensure_polars2_venv(venv: Path) -> tuple[Path | None, str]:
    """The Polars 2 environment's python and Polars version, made if it is not there; (None, why) if it fails."""
    python = venv / "bin" / "python"
    stamp = venv / VENV2_STAMP
    lock = REPO / "requirements.lock"
    lock_hash = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and python.exists():
        try:
            made = json.loads(stamp.read_text())
        except ValueError:
            made = {}
        if made.get("lock_sha256") == lock_hash:
            log(f"polars2: reusing {venv} (Polars {made.get('polars')})")
            return python, str(made.get("polars"))
        log(f"polars2: {lock.name} changed since {venv} was made: making it again")
    base = shutil.which("python3.11")
    if base is None:
        return None, "python3.11 is not on PATH"
    install_log = venv.with_name(venv.name + "-install.log")
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    steps = [
        ("create the venv", [base, "-m", "venv", "--clear", str(venv)]),
        ("install requirements.lock", [*pip, "-r", str(lock)]),
        ("install polars>=2,<3", [*pip, "polars>=2,<3"]),
        ("install warexempt (editable, no deps)", [*pip, "--no-deps", "--no-build-isolation", "-e", str(REPO)]),
    ]
    venv.parent.mkdir(parents=True, exist_ok=True)
    with install_log.open("w", encoding="utf-8") as fh:
        for what, cmd in steps:
            log(f"polars2: {what} ...")
            fh.write(f"$ {' '.join(cmd)}\n")
            fh.flush()
            try:
                proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=1800)
            except (OSError, subprocess.SubprocessError) as exc:
                return None, f"{what}: {exc}"
            if proc.returncode != 0:
                fh.flush()
                tail = install_log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-4:]
                return None, f"{what} failed (exit {proc.returncode}; {install_log}): " + " | ".join(tail)
    probe = subprocess.run(
        [str(python), "-c", "import polars; print(polars.__version__)"], capture_output=True, text=True
    )
    version = probe.stdout.strip()
    if probe.returncode != 0 or not version.startswith("2."):
        return None, f"Polars in {venv} is {version or 'not importable'}: {probe.stderr.strip()[-200:]}"
    stamp.write_text(json.dumps({"polars": version, "lock_sha256": lock_hash}) + "\n")
    return python, version


def compare(name: str, unit: str, old: float | None, new: float | None, old_v: str, new_v: str) -> Target:
    """A row with both figures (pinned -> 2.x), their ratio and which is faster (lower is better)."""

    def cell(x: float | None) -> str:
        return "failed" if x is None else f"{x:.2f} {unit}"

    row = Target(f"{name}: Polars {old_v} → {new_v}", f"{cell(old)} → {cell(new)}", "faster of the two")
    if old is None or new is None or old <= 0:
        row.result = "no comparison" if old is None and new is None else f"only {new_v if old is None else old_v} ran"
        return row
    ratio = new / old
    row.ratio = f"{ratio:.2f}× (2.x / pinned)"
    if abs(ratio - 1) < SAME_WITHIN:
        row.result = f"tie (within {SAME_WITHIN:.0%})"
    elif ratio < 1:
        row.result = f"{new_v} faster by {1 - ratio:.0%}"
    else:
        row.result = f"{old_v} faster by {1 - 1 / ratio:.0%}"
    return row


def interleaved(
    repeat: int,
    make: Callable[[str, dict[str, str] | None, Path], Run],
    envs: list[tuple[str, dict[str, str] | None, Path]],
) -> list[Run]:
    """Best of ``repeat`` for each environment, the environments taking turns (so both meet the same load); an
    environment stops after a failure or once another run would take it past ``bulk.REPEAT_BUDGET_S``."""
    runs: list[list[Run]] = [[] for _ in envs]
    done = [False for _ in envs]
    for _ in range(max(repeat, 1)):
        for i, (tag, env, cli) in enumerate(envs):
            if done[i]:
                continue
            run = make(tag, env, cli)
            runs[i].append(run)
            spent = sum(r.wall for r in runs[i])
            done[i] = not run.ok or spent + run.wall > bulk.REPEAT_BUDGET_S
    return [bulk.fastest(r) for r in runs]


def section_polars2(plan: Plan, state: State) -> list[Target]:
    import polars as pl

    log(f"== polars2: the same code under Polars 2.x ({plan.out / VENV2_NAME}), best of {plan.repeat}, alternating")
    pinned = pl.__version__
    python2, version2 = ensure_polars2_venv(plan.out / VENV2_NAME)
    if python2 is None:
        log(f"!! polars2: no Polars 2 environment: {version2}")
        return [Target(f"Polars {pinned} vs 2.x", "-", "-", "-", f"skipped: {version2}"[:160])]
    cli2 = python2.with_name("warexempt")
    # each environment keeps its own compiled-law cache, so neither reads the other's pickle
    env2 = {**os.environ, "WAREXEMPT_CACHE_DIR": str(plan.out / "cache-polars2")}
    envs: list[tuple[str, dict[str, str] | None, Path]] = [("", None, bulk.CLI), (" polars2", env2, cli2)]
    rows: list[Target] = []

    # bulk, the big Parquet file
    m = plan.big_rows
    if state.big_parquet is None or not state.big_parquet.exists():
        t = time.perf_counter()
        state.big_parquet = bulk.write_big(m, plan.out / f"cases_{m}.parquet")
        log(f"generated {m:,} Parquet rows in {time.perf_counter() - t:.1f} s")
    big = state.big_parquet
    # one untimed run each on a small file, so that both compiled-law caches are warm before the timed runs
    tiny = plan.out / "cases_warm_up.parquet"
    bulk.cases_frame(1000).sink_parquet(tiny)
    for _, env, cli in envs:
        warm = plan.out / "cli_warm_up.parquet"
        bulk.clear_outputs(warm)
        cmd = [str(cli), "bulk", str(tiny), "-o", str(warm), "--as-of", str(plan.as_of)]
        subprocess.run(cmd, capture_output=True, timeout=plan.timeout, env=env)

    def bulk_once(tag: str, env: dict[str, str] | None, cli: Path) -> Run:
        dst = plan.out / f"cli_big{tag.replace(' ', '_')}.parquet"
        bulk.clear_outputs(dst)
        cmd = [str(cli), "bulk", str(big), "-o", str(dst), "--as-of", plan.as_of.isoformat()]
        run = bulk.measure(f"bulk {rows_label(m)} Parquet{tag}", m, cmd, plan.out, plan.timeout, env)
        return bulk.checked_cli_run(run, dst)

    old, new = interleaved(plan.repeat, bulk_once, envs)
    for r in (old, new):
        if not r.ok:
            log(f"!! {r.label} FAILED ({r.note}):\n   " + "\n   ".join(bulk.excerpt(r.stderr)))
        else:
            log(f"   {r.label}: {r.wall:.2f} s, {r.peak_mib:,.0f} MiB peak")
    rows.append(
        compare(
            f"bulk {rows_label(m)} Parquet wall",
            "s",
            old.wall if old.ok else None,
            new.wall if new.ok else None,
            pinned,
            version2,
        )
    )

    # histories
    n = plan.history_cases
    cases_path, events_path = history_files(plan, state)
    available = [histories.events_option_available(cli, env) for _, env, cli in envs]
    if not any(a is not False for a in available):
        log("histories: the CLI has no --events option yet: not compared")
        rows.append(
            Target(f"histories {rows_label(n)} wall: Polars {pinned} → {version2}", "-", "-", "-", "not available yet")
        )
    else:

        def history_once(tag: str, env: dict[str, str] | None, cli: Path) -> Run:
            return histories.time_cli(cases_path, events_path, n, plan.out, plan.as_of, 1, plan.timeout, cli, env, tag)

        h_old, h_new = interleaved(plan.repeat, history_once, envs)
        for r, (tag, _, _) in zip((h_old, h_new), envs, strict=True):
            report_history_run(r, histories.output_path(plan.out, n, tag))
        rows.append(
            compare(
                f"histories {rows_label(n)} wall",
                "s",
                h_old.wall if h_old.ok else None,
                h_new.wall if h_new.ok else None,
                pinned,
                version2,
            )
        )

    # single check p50: the pinned figure from this run's single section if it ran, else measured now
    s_old = state.single
    if s_old is None:
        log(f"single, Polars {pinned}: {plan.calls:,} check calls")
        s_old = single_in_child(Path(sys.executable), plan.calls, 0, plan.out)
    log(f"single, Polars {version2}: {plan.calls:,} check calls")
    s_new = single_in_child(python2, plan.calls, 0, plan.out, env2, " polars2")
    lines = single.describe(s_new)
    same_drops = s_old.dropped.keys() == s_new.dropped.keys()
    for line in lines[:1] + ([] if same_drops else lines[1:]):
        log(line)
    row = compare("single check p50", "ms", s_old.check.p50_ms, s_new.check.p50_ms, pinned, version2)
    if s_old.check.p50_ms is not None and s_new.check.p50_ms is not None and not same_drops:
        kept = f"{s_old.cases - len(s_old.dropped)} vs {s_new.cases - len(s_new.dropped)} cases kept"
        row.measure += f" ({kept}: not the same cases)"
    elif s_new.error:
        row.result += f"; {version2}: {s_new.error}"[:200]
    rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------------------
SECTION_FUNCS: dict[str, Callable[[Plan, State], list[Target]]] = {
    "single": section_single,
    "histories": section_histories,
    "bulk": section_bulk,
    "polars2": section_polars2,
}


def _plugin(name: str) -> Callable[[Plan, State], list[Target]]:
    def run(plan: Plan, state: State) -> list[Target]:
        module = importlib.import_module(name)
        rows: list[Target] = module.section(plan.quick, plan.out, log)
        return rows

    return run


SECTION_FUNCS.update({name: _plugin(name) for name in PLUGINS})


def markdown(rows: list[Target]) -> str:
    header = ["measure", "figure", "target", "ratio", "result"]
    cells = [[c.replace("|", "\\|") for c in (r.measure, r.figure, r.target, r.ratio, r.result)] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke check: small sizes, one run each (~1 minute)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "warexempt-bench", help="data and output dir"
    )
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF, help="passed to every bulk run (YYYY-MM-DD)"
    )
    args = parser.parse_args(argv)
    plan = Plan.make(args.out, args.as_of, args.quick)
    plan.out.mkdir(parents=True, exist_ok=True)
    sections = [s for s in SECTIONS if s in (args.only or SECTIONS)]
    state = State()
    rows: list[Target] = []
    started = time.perf_counter()
    log(
        f"warexempt benchmarks{' (--quick: small sizes, one run each)' if plan.quick else ''}: "
        f"{', '.join(sections)}; data in {plan.out}; as_of {plan.as_of}"
    )
    for name in sections:
        t = time.perf_counter()
        try:
            rows += SECTION_FUNCS[name](plan, state)
        except Exception as exc:  # a benchmark reports, it does not stop
            log(f"!! section {name} broke:\n" + traceback.format_exc())
            rows.append(Target(f"{name} (harness)", f"error: {type(exc).__name__}: {exc}"[:160], result="FAIL"))
        log(f"-- {name}: {time.perf_counter() - t:.0f} s")
    took = time.perf_counter() - started
    print(f"\n## warexempt benchmarks{' (--quick)' if plan.quick else ''}: {took / 60:.1f} min\n", flush=True)
    print(markdown(rows), flush=True)
    passed = sum(r.result == "PASS" for r in rows)
    failed = sum(r.result == "FAIL" for r in rows)
    print(f"\n{passed} PASS, {failed} FAIL, {len(rows) - passed - failed} other rows", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
