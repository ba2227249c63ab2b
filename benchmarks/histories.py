"""Histories benchmark: ``warexempt bulk CASES.parquet --events EVENTS.parquet`` over a case file and a long events file.

Run ``python benchmarks/histories.py [--cases N] [--out DIR] [--repeat R]`` (defaults: 1 000 000 cases,
``/tmp/warexempt-bench``, 3). It

1. generates N cases (``case_id, charges, stage, as_of``; charges as ``;``-joined codes drawn from the bulk
   benchmark's pool) and their histories, about 4 events a case, as a long file (``case_id, event_id, date, kind,
   ground, stage, charge``), both Parquet. Dates fall in 2023-2026 and follow a realistic order: an entry into
   service first (contract or call-up), then stage changes, command petitions (some refused and repeated), awards,
   discharges (age, health, end of mobilisation, other), resumptions and re-enlistment after a discharge on
   another ground, new offences (desertion, absence: 337/338) dated 2026, and a few deaths last. Everything is
   drawn with seeded vectorised Polars expressions (``bulk._uniform``), one column per possible event, then
   unpivoted into rows: no per-row Python;
2. times ``warexempt bulk CASES --events EVENTS -o OUT --as-of 2026-11-01`` in a fresh child process, best of R,
   with its peak RSS (``bulk.measure``), against the target: under 3 s;
3. prints the result. If the CLI has no ``--events`` option yet, the row says "not available yet".
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import bulk
from bulk import DEFAULT_AS_OF, Run, Target, pick_by_share, rows_label, uniform_days

if TYPE_CHECKING:
    import polars as pl

WALL_MAX_S = 3.0
EPOCH = dt.date(1970, 1, 1)
LAST_DAY = dt.date(2026, 12, 31)  # events after it are dropped (every later event of a case is later still)
SALT = 100  # salts of this file's draws start here (bulk.cases_frame uses 1-14)
NEXT_STAGE = {"pre_trial": "trial", "trial": "appeal", "appeal": "sentenced"}
NEW_OFFENCES = [("338:1", 0.25), ("338:4", 0.25), ("337:3", 0.3), ("337:5", 0.2)]  # desertion, absence
GROUNDS = [("age", 0.15), ("health", 0.4), ("end_of_mobilisation", 0.05), ("other", 0.4)]
EVENT_COLUMNS = ["case_id", "event_id", "date", "kind", "ground", "stage", "charge"]


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


@dataclass
class _Slot:
    """One possible event of every case: its day number (null: the case has none), kind and fields."""

    name: str
    kind: str | pl.Expr
    ground: pl.Expr | None = None
    stage: pl.Expr | None = None
    charge: pl.Expr | None = None


def frames(n: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The case frame and the long events frame of ``n`` synthetic cases."""
    import polars as pl

    def u(salt: int) -> pl.Expr:
        return bulk._uniform(SALT + salt)

    def days(salt: int, lo: int, width: int) -> pl.Expr:
        return uniform_days(u(salt), lo, width)

    def after(col: str, salt: int, lo: int, width: int) -> pl.Expr:
        return pl.col(col) + days(salt, lo, width)

    def maybe(cond: pl.Expr, salt: int, p: float, value: pl.Expr) -> pl.Expr:
        return pl.when(cond & (u(salt) < p)).then(value)

    def present(col: str) -> pl.Expr:
        return pl.col(col).is_not_null()

    def next_stage(col: str) -> pl.Expr:
        return pl.col(col).replace_strict(NEXT_STAGE, default=None, return_dtype=pl.String)

    entry_lo, entry_hi = _day(dt.date(2023, 1, 1)), _day(dt.date(2025, 6, 30))
    offence_lo = _day(dt.date(2026, 1, 9))  # 534-FZ's new parts (338:4, 337:6) are in force from this day
    non_convict = pl.col("stage") != "sentenced"
    last_petition = pl.coalesce("p3", "p2", "p1")
    wide = (
        pl.LazyFrame()
        .select(pl.int_range(0, n, dtype=pl.UInt64).alias("_i"))
        .with_columns(
            stage=pick_by_share(u(1), [("pre_trial", 0.4), ("trial", 0.2), ("appeal", 0.1), ("sentenced", 0.3)]),
            entry=pl.when(u(2) < 0.97).then(days(3, entry_lo, entry_hi - entry_lo + 1)),
            entry_kind=pl.when(u(4) < 0.8).then(pl.lit("contract_signed")).otherwise(pl.lit("called_up")),
        )
        # the proceedings move on: one or two stage changes after the entry and before any petition (a change while
        # the proceedings are suspended would need a resumption first); a convict's stage is the last
        .with_columns(stage1=next_stage("stage"))
        .with_columns(sc1=maybe(present("entry") & present("stage1"), 5, 0.6, after("entry", 6, 1, 240)))
        .with_columns(stage2=pl.when(present("sc1")).then(next_stage("stage1")))
        .with_columns(sc2=maybe(present("stage2"), 7, 0.35, after("sc1", 8, 30, 210)))
        .with_columns(moved=pl.coalesce("sc2", "sc1", "entry"))
        # command petitions: most suspects, accused and defendants; a third of convicts; repeated ones (a petition
        # the law of its day refused, e.g. before 340-FZ reached the courts, or one the court turned down)
        .with_columns(
            p1=pl.when(present("entry") & (u(9) < pl.when(non_convict).then(0.9).otherwise(0.35))).then(
                after("moved", 10, 1, 120)
            )
        )
        .with_columns(p2=maybe(present("p1"), 12, 0.5, after("p1", 13, 20, 130)))
        .with_columns(p3=maybe(present("p2"), 14, 0.35, after("p2", 15, 20, 130)))
        .with_columns(base=pl.coalesce(last_petition, "moved"))
        # awards (a second one now and then) and discharges, counted from the last petition or the entry
        .with_columns(
            aw1=maybe(present("base"), 16, 0.42, after("base", 17, 1, 540)),
            dis=maybe(present("base"), 18, 0.4, after("base", 19, 1, 720)),
        )
        .with_columns(
            aw2=maybe(present("aw1"), 20, 0.35, after("aw1", 21, 30, 335)),
            ground=pl.when(present("dis")).then(pick_by_share(u(22), GROUNDS)),
        )
        # after a discharge on another ground: the proceedings resume, and some re-enlist and are petitioned again
        .with_columns(other=present("dis") & (pl.col("ground") == "other"))
        .with_columns(
            res=maybe(pl.col("other"), 23, 0.6, after("dis", 24, 1, 60)),
            re=maybe(pl.col("other"), 25, 0.45, after("dis", 26, 30, 335)),
        )
        .with_columns(rp=maybe(present("re"), 27, 0.7, after("re", 28, 1, 90)))
        # a new offence during service (desertion, absence), dated 2026, after everything before it
        .with_columns(
            latest=pl.max_horizontal("entry", "sc1", "sc2", "p1", "p2", "p3", "aw1", "aw2", "dis", "res", "re", "rp")
        )
        .with_columns(
            serving=present("entry") & (pl.col("dis").is_null() | present("re")),
        )
        .with_columns(
            no=maybe(
                pl.col("serving"),
                29,
                0.35,
                pl.max_horizontal(pl.lit(offence_lo), pl.col("latest") + 1) + days(30, 0, 240),
            ),
            no_charge=pick_by_share(u(31), NEW_OFFENCES),
        )
        # a few deaths, last of all
        .with_columns(
            died=maybe(present("entry"), 32, 0.06, pl.max_horizontal("latest", "no") + days(33, 1, 365)),
            case_id=pl.concat_str(pl.lit("C"), (pl.col("_i") + 1).cast(pl.String).str.zfill(9)),
        )
    )

    cases = wide.select(
        "case_id",
        bulk.charges_column(SALT + 40),
        "stage",
        # most cases asked about on the run's day, the rest on a day of the year before it
        pl.when(u(42) < 0.7)
        .then(pl.lit(DEFAULT_AS_OF))
        .otherwise(pl.lit(DEFAULT_AS_OF) - pl.duration(days=days(43, 1, 365)))
        .alias("as_of"),
    )

    slots = [
        _Slot("entry", pl.col("entry_kind")),
        _Slot("sc1", "stage_changed", stage=pl.col("stage1")),
        _Slot("sc2", "stage_changed", stage=pl.col("stage2")),
        _Slot("p1", "command_petition"),
        _Slot("p2", "command_petition"),
        _Slot("p3", "command_petition"),
        _Slot("aw1", "state_award"),
        _Slot("aw2", "state_award"),
        _Slot("dis", "discharged", ground=pl.col("ground")),
        _Slot("res", "resumed"),
        _Slot("re", "contract_signed"),
        _Slot("rp", "command_petition"),
        _Slot("no", "new_offence", charge=pl.col("no_charge")),
        _Slot("died", "died"),
    ]
    null = pl.lit(None, dtype=pl.String)
    long = pl.concat(
        [
            wide.select(
                "_i",
                pl.lit(order, dtype=pl.UInt8).alias("_order"),
                "case_id",
                pl.col(slot.name).alias("_day"),
                (pl.lit(slot.kind) if isinstance(slot.kind, str) else slot.kind).alias("kind"),
                (slot.ground if slot.ground is not None else null).alias("ground"),
                (slot.stage if slot.stage is not None else null).alias("stage"),
                (slot.charge if slot.charge is not None else null).alias("charge"),
            ).filter(pl.col("_day").is_not_null() & (pl.col("_day") <= _day(LAST_DAY)))
            for order, slot in enumerate(slots)
        ]
    )
    events = (
        long.sort("_i", "_day", "_order")
        .with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("event_id"),
            pl.col("_day").cast(pl.Date).alias("date"),
        )
        .select(EVENT_COLUMNS)
    )
    return cases, events


def write(n: int, out: Path, log: Callable[[str], None] = print) -> tuple[Path, Path]:
    """Write the N-case file and its events file into ``out``; their paths. Logs the mix of what was drawn."""
    import polars as pl

    out.mkdir(parents=True, exist_ok=True)
    cases_path, events_path = out / f"histories_{n}_cases.parquet", out / f"histories_{n}_events.parquet"
    t = time.perf_counter()
    cases, events = frames(n)
    case_frame, event_frame = pl.collect_all([cases, events])
    case_frame.write_parquet(cases_path)
    event_frame.write_parquet(events_path)
    took = time.perf_counter() - t
    kinds = event_frame.group_by("kind").len().sort("len", descending=True)
    per_case = event_frame.height / max(case_frame.height, 1)
    span = event_frame.select(pl.col("date").min().alias("lo"), pl.col("date").max().alias("hi")).row(0)
    log(
        f"generated {case_frame.height:,} cases and {event_frame.height:,} events ({per_case:.2f} a case, "
        f"{span[0]} to {span[1]}) in {took:.1f} s, in {out}; "
        + ", ".join(f"{k} {c / event_frame.height:.1%}" for k, c in kinds.iter_rows())
    )
    return cases_path, events_path


def events_option_available(cli: Path, env: dict[str, str] | None = None) -> bool | None:
    """Whether ``warexempt bulk --help`` lists ``--events``; None if the help itself fails (the run will tell)."""
    wide = {**(os.environ if env is None else env), "COLUMNS": "200"}
    try:
        proc = subprocess.run([str(cli), "bulk", "--help"], capture_output=True, text=True, timeout=60, env=wide)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return "--events" in proc.stdout


def rejects_events(run: Run) -> bool:
    """Whether a failed run's error is the CLI not knowing ``--events`` (Click's 'No such option')."""
    return not run.ok and "No such option" in run.stderr and "--events" in run.stderr


def time_cli(
    cases_path: Path,
    events_path: Path,
    rows: int,
    out: Path,
    as_of: dt.date,
    repeat: int,
    timeout: float,
    cli: Path,
    env: dict[str, str] | None = None,
    tag: str = "",
) -> Run:
    """Best of ``repeat`` of the CLI over the two files; a CLI without ``--events`` gives a run noted so."""
    label = f"warexempt bulk --events{tag}"
    if not cli.exists():
        return Run(label, rows, False, 0.0, 0.0, note="CLI missing")
    if events_option_available(cli, env) is False:
        return Run(label, rows, False, 0.0, 0.0, note="not available yet")
    dst = output_path(out, rows, tag)
    run = bulk.cli_run(label, cases_path, rows, dst, as_of, repeat, timeout, cli, ["--events", str(events_path)], env)
    if rejects_events(run):
        run.note = "not available yet"
    return run


def output_path(out: Path, rows: int, tag: str = "") -> Path:
    return out / f"histories_{rows}_out{tag.replace(' ', '_')}.parquet"


def target(run: Run, rows: int) -> Target:
    name = f"histories {rows_label(rows)} cases + events: wall"
    if run.note == "not available yet":
        return Target(name, "-", f"< {WALL_MAX_S:g} s", "-", "not available yet")
    return Target(
        name,
        f"{bulk.seconds(run)}, {run.peak_mib:,.0f} MiB peak" if run.ok else bulk.seconds(run),
        f"< {WALL_MAX_S:g} s",
        bulk.limit_ratio(run.wall, WALL_MAX_S) if run.ok else "-",
        bulk.verdict(run.ok and run.wall < WALL_MAX_S),
    )


def outcome_mix(path: Path) -> str:
    """The outcome counts of an output file, for the log (a sanity check of what the engine answered)."""
    import polars as pl

    try:
        frame = pl.read_parquet(path, columns=["outcome"])
    except Exception as exc:
        return f"could not read {path.name}: {exc}"
    counts = frame.group_by("outcome").len().sort("len", descending=True)
    return f"{frame.height:,} decisions: " + ", ".join(f"{k} {c / frame.height:.1%}" for k, c in counts.iter_rows())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases (about 4 events each)")
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "warexempt-bench", help="data and output dir"
    )
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF, help="passed as --as-of")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the fastest is reported")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run")
    parser.add_argument("--cli", type=Path, default=bulk.CLI, help="the warexempt executable")
    args = parser.parse_args(argv)
    cases_path, events_path = write(args.cases, args.out)
    run = time_cli(cases_path, events_path, args.cases, args.out, args.as_of, args.repeat, args.timeout, args.cli)
    if not run.ok and run.note != "not available yet":
        print(f"!! histories run FAILED ({run.note}):\n   " + "\n   ".join(bulk.excerpt(run.stderr)))
    row = target(run, args.cases)
    print(f"{row.measure}: {row.figure} (target {row.target}, {row.ratio}) {row.result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
