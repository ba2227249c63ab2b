"""Bulk benchmark: `warexempt bulk` against a per-row pure-Python loop and a bare Polars query.

Run ``python benchmarks/bulk.py [--rows N] [--big-rows M] [--out DIR]`` (defaults: 1 000 000, 10 000 000,
``/tmp/warexempt-bench``). In one run it

1. generates N synthetic cases in the bulk schema (``/work/shared/acceptance/README.md``, "Bulk schema") and
   writes them as CSV and Parquet, plus an M-row Parquet generated the same way;
2. times, each in a fresh child process (``--repeat`` times, default 5; the fastest run is reported, as ``timeit``
   does, because the slower ones measure the machine's other work) with its peak RSS measured (``ru_maxrss`` of the child's children, and
   the process tree's summed RSS polled every 20 ms; the larger is reported):
   (a) ``warexempt bulk IN -o OUT.parquet --as-of 2026-11-01`` from the N-row CSV, the N-row Parquet and the
       M-row Parquet;
   (b) a plain per-row pure-Python implementation of RULES.md §1-§4 over the N-row CSV (csv module, one loop);
   (c) a bare Polars query: decisive date against the stage's start date and an excluded-article regex;
   (d) the floor of the N-row CSV and the M-row Parquet runs: the input read and the CLI's decisions file written
       again (same columns, types, compression), nothing checked or decided — what no implementation of the same
       output can go below on this machine (an information row beside the target);
3. prints the results and the targets (PASS/FAIL). It exits 0 whatever the outcome: a benchmark, not a test.

Randomness: the project does not depend on numpy, so the rows are drawn with a seeded, vectorised generator
(Polars' 64-bit hash of the row number, seed 42, one salt per variable); the charge pool is drawn with
``random.Random(42)``. The same arguments give the same files with the same Polars version.

Hidden modes used for the child processes: ``--ref-python IN OUT``, ``--ref-polars IN OUT`` and ``--floor DECISIONS
OUT IN...``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

SEED = 42
DEFAULT_AS_OF = dt.date(2026, 11, 1)
CLI = Path(sys.executable).with_name("warexempt")
PY_SAMPLE_ROWS = 100_000
PY_BUDGET_S = 120.0
POLL_S = 0.02

# ------------------------------------------------------------------------------------------------------------
# The law, hard-coded for the reference implementations (RULES.md §2-§3); the engine reads it from data.
# ------------------------------------------------------------------------------------------------------------
FZ270_START = dt.date(2023, 6, 24)
FZ64_START = dt.date(2024, 3, 23)  # 64-FZ and 61-FZ; the 270-FZ window ends the day before
FZ340_START = dt.date(2024, 10, 13)
QUALIFYING_GROUNDS = frozenset({"age", "health", "end_of_mobilisation"})

# An exclusion list: article -> items (part, point); part None: the whole article, point None: the whole part.
ExclusionList = dict[str, list[tuple[str | None, str | None]]]
WHOLE = (None, None)
_SEXUAL_ITEMS: ExclusionList = {
    "131": [("3", "а"), ("4", "б"), ("5", None)],
    "132": [("3", "а"), ("4", "б"), ("5", None)],
    "134": [("3", None), ("4", None), ("5", None), ("6", None)],
    "135": [("3", None), ("4", None), ("5", None)],
}


def _words(text: str) -> list[str]:
    return text.split()


LIST_78_1_WHOLE = _words(
    """189 200.1 205 205.1 205.2 205.3 205.4 205.5 206 208 209 210 210.1 211 217.1 220 221 226.1 229.1
    274.1 275 275.1 276 276.1 277 278 279 280 280.1 280.2 280.4 281 281.1 281.2 281.3 282.1 282.2 282.3 283
    283.1 283.2 284 355 359 360 361"""
)
LIST_78_1: ExclusionList = {
    **{a: [WHOLE] for a in LIST_78_1_WHOLE},
    **_SEXUAL_ITEMS,
    "215.4": [("2", "б")],
    "322.1": [("2", None)],
}
LIST_270_SUSPECTS: ExclusionList = {
    "205.2": [("1", None)],
    "220": [("1", None), ("2", None)],
    "221": [("1", None)],
    "280": [WHOLE],
}
LIST_FZ31_17: ExclusionList = {
    **{
        a: [WHOLE]
        for a in _words(
            """205 205.1 205.2 205.3 205.4 205.5 206 208 211 220 221 275 275.1 276 276.1 277 278 279 280
            282.1 282.2 282.3 360 361"""
        )
    },
    **_SEXUAL_ITEMS,
}

SMALL, MEDIUM, GRAVE, ESPECIALLY_GRAVE = 1, 2, 3, 4
# Common charges of the synthetic pool: code -> (weight, gravity under УК art. 15 by the part's maximum term).
COMMON: dict[str, tuple[float, int]] = {
    "158:1": (9.0, SMALL),
    "158:2:а": (3.0, MEDIUM),
    "158:2:в": (8.0, MEDIUM),
    "158:3:а": (2.0, GRAVE),
    "158:3:в": (6.0, GRAVE),
    "158:3:г": (2.0, GRAVE),
    "158:4:б": (0.7, GRAVE),
    "30:3-158:2": (1.0, MEDIUM),
    "159:1": (1.5, SMALL),
    "159:2": (1.5, MEDIUM),
    "159:3": (1.2, GRAVE),
    "159:4": (1.5, GRAVE),
    "160:3": (0.8, GRAVE),
    "161:1": (4.0, MEDIUM),
    "161:2:а": (1.5, GRAVE),
    "162:1": (0.8, GRAVE),
    "162:2": (1.5, GRAVE),
    "163:2:а": (0.5, GRAVE),
    "166:1": (2.0, MEDIUM),
    "166:2:а": (0.6, GRAVE),
    "167:2": (0.8, MEDIUM),
    "105:1": (2.5, ESPECIALLY_GRAVE),
    "105:2:ж": (0.4, ESPECIALLY_GRAVE),
    "30:3-105:1": (0.3, ESPECIALLY_GRAVE),
    "111:1": (3.0, GRAVE),
    "111:4": (1.0, ESPECIALLY_GRAVE),
    "112:1": (1.2, SMALL),
    "115:2:а": (0.6, SMALL),
    "116": (0.3, SMALL),
    "119:1": (3.0, SMALL),
    "213:2": (0.6, GRAVE),
    "222:1": (1.0, MEDIUM),
    "228:1": (4.0, SMALL),
    "228:2": (7.0, GRAVE),
    "228:3": (0.8, ESPECIALLY_GRAVE),
    "228.1:1": (1.0, GRAVE),
    "228.1:4": (2.0, ESPECIALLY_GRAVE),
    "228.1:4:г": (1.0, ESPECIALLY_GRAVE),
    "264.1:1": (5.0, SMALL),
    "264.1:2": (1.0, SMALL),
    "264:2:а": (0.5, MEDIUM),  # negligent: medium whatever the term
    "318:1": (1.5, MEDIUM),
    "318:2": (0.3, GRAVE),
    "319": (0.8, SMALL),
    "290:3": (0.3, GRAVE),
    "291:3": (0.3, GRAVE),
    "330:2": (0.3, MEDIUM),
    "245:1": (0.2, SMALL),
    # near misses: look excluded, are not
    "207.3:1": (0.3, MEDIUM),
    "280.3:1": (0.3, MEDIUM),
    "282:1:а": (0.2, MEDIUM),
    "322.1:1": (0.4, MEDIUM),
}
# Excluded charges (on the 78.1 list; some also on the 270-FZ list); "131:3" is a coarse code (needs_detail).
EXCLUDED: dict[str, tuple[float, int]] = {
    "205:1": (1.0, ESPECIALLY_GRAVE),
    "275": (2.0, ESPECIALLY_GRAVE),
    "131:3:а": (1.0, ESPECIALLY_GRAVE),
    "131:3": (0.3, ESPECIALLY_GRAVE),
    "134:4": (1.0, ESPECIALLY_GRAVE),
    "206:1": (0.5, GRAVE),
    "210:1": (1.0, ESPECIALLY_GRAVE),
    "282.1:1": (0.8, GRAVE),
    "361:1": (0.3, ESPECIALLY_GRAVE),
    "280:1": (0.8, MEDIUM),
    "205.2:1": (0.8, MEDIUM),
    "220:1": (0.2, SMALL),
    "322.1:2:а": (0.5, GRAVE),
}
POOL_COMMON = 1960
POOL_EXCLUDED = 40
EXCLUDED_SHARE = 0.02

LATIN_LOOKALIKES = str.maketrans("aeopcxy", "аеорсху")


# ------------------------------------------------------------------------------------------------------------
# (b) the per-row pure-Python reference
# ------------------------------------------------------------------------------------------------------------
def parse_code(code: str) -> tuple[str, str | None, str | None, str]:
    """(article, part, point, normalised code) of one charge; preparation/attempt counts as the offence."""
    code = code.strip().translate(LATIN_LOOKALIKES)
    if code.startswith("30:") and "-" in code:
        code = code.split("-", 1)[1]
    bits = code.split(":")
    part = bits[1] if len(bits) > 1 else None
    point = bits[2] if len(bits) > 2 else None
    return bits[0], part, point, code


# Gravity by the offence's code (an attempt "30:3-158:2" has the gravity of "158:2"); unknown codes: grave.
GRAVITY: dict[str, int] = {parse_code(code)[3]: g for code, (_, g) in {**COMMON, **EXCLUDED}.items()}


def on_list(charge: tuple[str, str | None, str | None, str], listed: ExclusionList) -> bool:
    """Whether a charge is on a list; a charge too coarse for a partial item counts as on it (cautious)."""
    items = listed.get(charge[0])
    if items is None:
        return False
    _, part, point, _ = charge
    for item_part, item_point in items:
        if item_part is None or part is None:
            return True
        if item_part == part and (item_point is None or point is None or item_point == point):
            return True
    return False


def parse_date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def decide(
    charges: str,
    stage: str,
    contract: dt.date | None,
    petition: dt.date | None,
    award: dt.date | None,
    discharge: dt.date | None,
    ground: str,
    death: dt.date | None,
    as_of: dt.date,
) -> str:
    """The outcome of one case on ``as_of`` (RULES.md §1-§4)."""
    # Events after as_of are ignored; same-day order: entry, petition, award, discharge, death.
    events: list[tuple[dt.date, int, str]] = []
    for date, order, kind in (
        (contract, 0, "entry"),
        (petition, 1, "petition"),
        (award, 2, "award"),
        (discharge, 3, "discharge"),
        (death, 5, "death"),
    ):
        if date is not None and date <= as_of:
            events.append((date, order, kind))
    events.sort()

    # §1 decisive date
    anchor = "entry" if stage == "sentenced" else "petition"
    decisive = next((d for d, _, k in events if k == anchor), as_of)

    # §2 route, §3 exclusions
    parsed = [parse_code(c) for c in charges.split(";") if c.strip()]
    if stage == "pre_trial":
        if decisive < FZ270_START:
            return "not_covered"
        if decisive < FZ64_START:
            if any(on_list(c, LIST_270_SUSPECTS) for c in parsed):
                return "not_covered"
            if any(GRAVITY.get(c[3], GRAVE) > MEDIUM for c in parsed):
                return "not_covered"
        elif any(on_list(c, LIST_78_1) for c in parsed):
            return "not_covered"
    elif stage in ("trial", "appeal"):
        if decisive < FZ340_START or any(on_list(c, LIST_78_1) for c in parsed):
            return "not_covered"
    elif stage == "sentenced":
        if decisive < FZ270_START:
            return "not_covered"
        listed = LIST_FZ31_17 if decisive < FZ64_START else LIST_78_1
        if any(on_list(c, listed) for c in parsed):
            return "not_covered"
    else:
        raise ValueError(f"unknown stage {stage!r}")

    # §4 events -> outcome
    convict = stage == "sentenced"
    active = "conditionally_released" if convict else "suspended"
    final = "released_from_punishment" if convict else "released"
    outcome = "eligible"
    for _, _, kind in events:
        if outcome == final:
            break
        if kind == "death":
            outcome = "terminated_death"
            break
        if outcome == "eligible" and kind == ("entry" if convict else "petition"):
            outcome = active
        elif outcome == active and kind == "award":
            outcome = final
        elif outcome == active and kind == "discharge":
            outcome = final if ground in QUALIFYING_GROUNDS else "resumed"
    return outcome


def run_reference_python(src: Path, dst: Path, as_of: dt.date) -> None:
    """(b): read the CSV with the csv module, decide row by row, write a CSV of the decisions."""
    with src.open(newline="", encoding="utf-8") as fin, dst.open("w", newline="", encoding="utf-8") as fout:
        reader = csv.reader(fin)
        col = {name: i for i, name in enumerate(next(reader))}
        i_id, i_ch, i_st = col["case_id"], col["charges"], col["stage"]
        i_co, i_pe, i_aw = col["contract_date"], col["petition_date"], col["award_date"]
        i_di, i_gr, i_de = col["discharge_date"], col["discharge_ground"], col["death_date"]
        i_as = col.get("as_of")
        writer = csv.writer(fout)
        writer.writerow(["case_id", "eligible", "outcome", "record_cleared"])
        for row in reader:
            row_as_of = parse_date(row[i_as]) if i_as is not None else None
            outcome = decide(
                row[i_ch],
                row[i_st],
                parse_date(row[i_co]),
                parse_date(row[i_pe]),
                parse_date(row[i_aw]),
                parse_date(row[i_di]),
                row[i_gr],
                parse_date(row[i_de]),
                row_as_of or as_of,
            )
            cleared = outcome in ("released", "released_from_punishment")
            writer.writerow([row[i_id], outcome != "not_covered", outcome, cleared])


# ------------------------------------------------------------------------------------------------------------
# (c) the bare Polars reference
# ------------------------------------------------------------------------------------------------------------
def run_reference_polars(src: Path, dst: Path, as_of: dt.date) -> None:
    """(c): decisive date >= the stage's start date, and no charge's article among the 78.1 list's."""
    import polars as pl

    articles = "|".join(a.replace(".", r"\.") for a in LIST_78_1_WHOLE)
    excluded = rf"(?:^|;)(?:30:\d-)?(?:{articles})(?:[:;]|$)"
    decisive = pl.coalesce(pl.col("petition_date"), pl.lit(as_of))
    start = pl.when(pl.col("stage").is_in(["trial", "appeal"])).then(pl.lit(FZ340_START)).otherwise(pl.lit(FZ64_START))
    (
        pl.scan_csv(src, schema_overrides={"petition_date": pl.Date})
        .select(
            "case_id",
            ((decisive >= start) & ~pl.col("charges").str.contains(excluded)).alias("covered"),
        )
        .sink_parquet(dst)
    )


# ------------------------------------------------------------------------------------------------------------
# (d) the floor: reading the inputs and writing the decisions file, nothing checked or decided
# ------------------------------------------------------------------------------------------------------------
def run_floor(decisions: Path, dst: Path, sources: list[Path]) -> None:
    """(d): what any run over the same files pays before a row is checked: the process start with Polars' import,
    every input read whole, and the decisions file (the CLI's own output: its columns, types and compression)
    written again. Loading that file to write it is no part of a run: its time is printed (JSON) to be taken off."""
    import polars as pl

    started = time.perf_counter()
    frame = pl.read_parquet(decisions)
    loading = time.perf_counter() - started
    for src in sources:
        pl.read_parquet(src) if src.suffix == ".parquet" else pl.read_csv(src, infer_schema=False)
    frame.write_parquet(dst, compression="lz4")
    print(json.dumps({"loading_s": loading}))


FLOOR_REPEAT = 2  # (an information row: two runs show the floor; the 10M one takes 20 s a run)


def floor_run(label: str, decisions: Path, sources: list[Path], rows: int, repeat: int, timeout: float) -> Run:
    """(d) in a fresh child, best of ``repeat``, less the time it spent loading the decisions to write."""
    out = decisions.parent
    cmd = [sys.executable, str(Path(__file__).resolve()), "--floor", str(decisions), str(out / "floor.parquet")]
    cmd += [str(s) for s in sources]

    def once() -> Run:
        run = measure(label, rows, cmd, out, timeout)
        if run.ok:
            loading = float(json.loads((out / ".measure.stdout").read_text().splitlines()[-1])["loading_s"])
            run.wall -= loading
            run.note = f"{loading:.2f} s of loading the decisions to write taken off"
        return run

    return fastest(repeated(min(repeat, FLOOR_REPEAT), once))


# ------------------------------------------------------------------------------------------------------------
# Synthetic data
# ------------------------------------------------------------------------------------------------------------
def charge_pool() -> list[str]:
    """~2,000 distinct charge strings (1-3 codes joined by ';'): common ones, then POOL_EXCLUDED excluded."""
    rng = random.Random(SEED)
    codes, weights = list(COMMON), [w for w, _ in COMMON.values()]
    ex_codes, ex_weights = list(EXCLUDED), [w for w, _ in EXCLUDED.values()]

    def draw(k: int) -> list[str]:
        picked: list[str] = []
        while len(picked) < k:
            code = rng.choices(codes, weights)[0]
            if code not in picked:
                picked.append(code)
        return picked

    common: dict[str, None] = {}
    while len(common) < POOL_COMMON:
        common[";".join(draw(rng.choices((1, 2, 3), (0.55, 0.3, 0.15))[0]))] = None
    excluded: dict[str, None] = {}
    while len(excluded) < POOL_EXCLUDED:
        mixed = draw(rng.choices((0, 1, 2), (0.5, 0.35, 0.15))[0])
        mixed.insert(rng.randrange(len(mixed) + 1), rng.choices(ex_codes, ex_weights)[0])
        excluded[";".join(mixed)] = None
    return [*common, *excluded]


def _uniform(salt: int) -> pl.Expr:
    """A seeded uniform [0, 1) per row: the row number's 64-bit hash, one salt per variable."""
    import polars as pl

    return (pl.col("_i").hash(seed=SEED * 1000 + salt) % (1 << 53)).cast(pl.Float64) / float(1 << 53)


def uniform_days(u: pl.Expr, lo: int, width: int) -> pl.Expr:
    """A day number in ``[lo, lo + width)`` from a uniform ``u``."""
    import polars as pl

    return (u * width).floor().cast(pl.Int32) + lo


def pick_by_share(u: pl.Expr, choices: list[tuple[str, float]]) -> pl.Expr:
    """The first choice whose cumulative probability exceeds ``u``."""
    import polars as pl

    cum = choices[0][1]
    chain: Any = pl.when(u < cum).then(pl.lit(choices[0][0]))
    for value, p in choices[1:-1]:
        cum += p
        chain = chain.when(u < cum).then(pl.lit(value))
    result: pl.Expr = chain.otherwise(pl.lit(choices[-1][0]))
    return result


def charges_column(salt: int) -> pl.Expr:
    """The ``charges`` column: a draw from ``charge_pool()`` (EXCLUDED_SHARE excluded), salts ``salt``, ``salt + 1``."""
    import polars as pl

    pool = charge_pool()
    n_common = len(pool) - POOL_EXCLUDED
    charge_idx = (
        pl.when(_uniform(salt) < EXCLUDED_SHARE)
        .then((_uniform(salt + 1) * POOL_EXCLUDED).floor() + n_common)
        .otherwise((_uniform(salt + 1).pow(1.5) * n_common).floor())
        .cast(pl.UInt32)
    )
    return pl.lit(pl.Series("pool", pool)).gather(charge_idx).alias("charges")


def cases_frame(n: int) -> pl.LazyFrame:
    """N synthetic cases in the bulk schema, built with vectorised expressions (no per-row Python)."""
    import polars as pl

    first, last = dt.date(2022, 6, 1), dt.date(2026, 6, 30)
    epoch = dt.date(1970, 1, 1)
    span = (last - first).days + 1
    days, pick = uniform_days, pick_by_share
    has_contract = _uniform(4) >= 0.05
    contract = pl.when(has_contract).then(days(_uniform(5), (first - epoch).days, span))
    petition = pl.when(pl.col("contract").is_not_null() & (_uniform(6) < 0.63)).then(
        pl.col("contract") + days(_uniform(7), 1, 120)
    )
    base = pl.coalesce("petition", "contract")
    award = pl.when(base.is_not_null() & (_uniform(8) < 0.158)).then(base + days(_uniform(9), 1, 540))
    discharge = pl.when(base.is_not_null() & (_uniform(10) < 0.158)).then(base + days(_uniform(11), 1, 720))
    ground = pl.when(pl.col("discharge").is_not_null()).then(
        pick(_uniform(12), [("age", 0.15), ("health", 0.4), ("end_of_mobilisation", 0.05), ("other", 0.4)])
    )
    latest = pl.max_horizontal("contract", "petition", "award", "discharge")
    death = pl.when(latest.is_not_null() & (_uniform(13) < 0.053)).then(latest + days(_uniform(14), 1, 365))
    stage = pick(_uniform(3), [("pre_trial", 0.4), ("trial", 0.2), ("appeal", 0.1), ("sentenced", 0.3)])

    return (
        pl.LazyFrame()
        .select(pl.int_range(0, n, dtype=pl.UInt64).alias("_i"))
        .with_columns(contract=contract)
        .with_columns(petition=petition)
        .with_columns(award=award, discharge=discharge)
        .with_columns(death=death, discharge_ground=ground)
        .select(
            pl.concat_str(pl.lit("C"), (pl.col("_i") + 1).cast(pl.String).str.zfill(9)).alias("case_id"),
            charges_column(1),
            stage.alias("stage"),
            *(pl.col(src).cast(pl.Date).alias(f"{src}_date") for src in ("contract", "petition", "award", "discharge")),
            pl.col("discharge_ground"),
            pl.col("death").cast(pl.Date).alias("death_date"),
        )
    )


# ------------------------------------------------------------------------------------------------------------
# Measuring a child process
# ------------------------------------------------------------------------------------------------------------
# Runs in a fresh interpreter: times the command, reports ru_maxrss of its children (KiB on Linux) as JSON.
_WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    json.dump({"rc": rc, "wall": wall, "maxrss_kib": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime}, f)
"""


@dataclass
class Run:
    label: str
    rows: int
    ok: bool
    wall: float
    peak_mib: float
    cpu: float = 0.0
    note: str = ""
    stderr: str = ""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall if self.ok and self.wall > 0 else 0.0


def best_of(
    repeat: int, label: str, rows: int, cmd: list[str], workdir: Path, timeout: float, env: dict[str, str] | None = None
) -> Run:
    """The fastest of ``repeat`` runs (the least disturbed by the machine), with the highest peak RSS seen."""
    return fastest(repeated(repeat, lambda: measure(label, rows, cmd, workdir, timeout, env)))


REPEAT_BUDGET_S = 60.0  # a measurement is not repeated once another run would take it past this


def repeated(repeat: int, once: Callable[[], Run], budget_s: float = REPEAT_BUDGET_S) -> list[Run]:
    """Up to ``repeat`` runs of ``once``: fewer if one fails (the first failure is the answer) or if another run
    would take the measurement past ``budget_s`` (a slow run is clear from one or two; the suite keeps its time)."""
    runs: list[Run] = []
    spent = 0.0
    for _ in range(max(repeat, 1)):
        run = once()
        runs.append(run)
        spent += run.wall
        if not run.ok or spent + run.wall > budget_s:
            break
    if len(runs) < repeat and runs[-1].ok:
        runs[-1].note = ", ".join(x for x in (runs[-1].note, f"{len(runs)} of {repeat} runs: over {budget_s:g} s") if x)
    return runs


def fastest(runs: list[Run]) -> Run:
    """The fastest of some runs of one command, with the highest peak RSS seen; the first failure if any failed."""
    failed = [r for r in runs if not r.ok]
    if failed:
        return failed[0]
    best = min(runs, key=lambda r: r.wall)
    best.peak_mib = max(r.peak_mib for r in runs)
    notes = [f"best of {len(runs)}"] if len(runs) > 1 else []
    notes += [best.note] if best.note else []
    cut = next((r.note.rsplit(", ", 1)[-1] for r in runs if "runs: over" in r.note), "")  # set by ``repeated``
    notes += [cut] if cut and cut not in best.note else []
    best.note = ", ".join(notes)
    return best


def measure(
    label: str, rows: int, cmd: list[str], workdir: Path, timeout: float, env: dict[str, str] | None = None
) -> Run:
    """Run ``cmd`` in a fresh child: wall time, peak RSS (max of ru_maxrss and polled tree sum), stderr.

    ``env``: the child's environment (default: this process's)."""
    import psutil  # type: ignore[import-untyped,unused-ignore]

    result = workdir / f".measure-{os.getpid()}.json"
    out_path, err_path = workdir / ".measure.stdout", workdir / ".measure.stderr"
    result.unlink(missing_ok=True)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, str(result), *cmd], stdout=out, stderr=err, env=env)
        parent = psutil.Process(proc.pid)
        peak = 0
        started = time.perf_counter()
        timed_out = False
        while proc.poll() is None:
            total = 0
            with contextlib.suppress(psutil.Error):
                for child in parent.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += child.memory_info().rss
            peak = max(peak, total)
            if time.perf_counter() - started > timeout:
                timed_out = True
                for child in parent.children(recursive=True):
                    child.kill()
                proc.kill()
                proc.wait()
                break
            time.sleep(POLL_S)
    stderr = err_path.read_text(errors="replace")
    if timed_out or not result.exists():
        return Run(label, rows, False, time.perf_counter() - started, peak / 2**20, note="timeout", stderr=stderr)
    info = json.loads(result.read_text())
    result.unlink()
    peak_mib = max(peak / 2**20, info["maxrss_kib"] / 1024)
    ok = info["rc"] == 0
    return Run(label, rows, ok, info["wall"], peak_mib, info["cpu"], "" if ok else f"exit {info['rc']}", stderr)


# ------------------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------------------
def excerpt(text: str, head: int = 15, tail: int = 30) -> list[str]:
    """The first and last lines of a long stderr (a traceback's origin and its error)."""
    lines = text.strip().splitlines()
    if len(lines) <= head + tail:
        return lines
    return [*lines[:head], f"... ({len(lines) - head - tail} lines) ...", *lines[-tail:]]


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x else "-"


def compare_outputs(cli_out: Path, ref_csv: Path) -> str:
    """Agreement of the CLI's outcome column with (b)'s, on the rows (b) decided."""
    import polars as pl

    try:
        cli = pl.read_parquet(cli_out)
    except Exception as exc:
        return f"could not read the CLI output: {exc}"
    if not {"case_id", "outcome"} <= set(cli.columns):
        return f"CLI output has no case_id/outcome columns (columns: {', '.join(cli.columns)})"
    ref = pl.read_csv(ref_csv, schema_overrides={"case_id": pl.String, "outcome": pl.String})
    joined = ref.select("case_id", pl.col("outcome").alias("ref")).join(
        cli.select(pl.col("case_id").cast(pl.String), pl.col("outcome").cast(pl.String).alias("cli")),
        on="case_id",
        how="left",
    )
    same = int((joined["ref"] == joined["cli"]).sum())
    text = f"(b) vs CLI outcome agreement: {same:,}/{joined.height:,} rows ({same / max(joined.height, 1):.2%})"
    diff = joined.filter(pl.col("ref") != pl.col("cli").fill_null("<missing>"))
    if diff.height:
        top = diff.group_by("ref", "cli").len().sort("len", descending=True).head(6)
        text += "; top differences (reference -> CLI): " + ", ".join(
            f"{r} -> {c}: {k:,}" for r, c, k in top.iter_rows()
        )
    return text


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print(f"\n{title}")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        return
    table = Table(title=title)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i in (0, len(header) - 1) else "right")
    for r in rows:
        table.add_row(*r)
    Console(width=160).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV/Parquet runs (N)")
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="rows of the big Parquet run (M)")
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "warexempt-bench", help="data and output dir"
    )
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF, help="passed to every run (YYYY-MM-DD)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per child run")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement; the fastest is reported")
    parser.add_argument("--cli", type=Path, default=CLI, help="the warexempt executable")
    parser.add_argument("--ref-python", nargs=2, type=Path, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--ref-polars", nargs=2, type=Path, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs="+", type=Path, metavar="DECISIONS OUT IN", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.floor:
        decisions, dst, *sources = args.floor
        run_floor(decisions, dst, sources)
        return 0

    if args.ref_python:
        src, dst = args.ref_python
        run_reference_python(src, dst, args.as_of)
        return 0
    if args.ref_polars:
        src, dst = args.ref_polars
        run_reference_polars(src, dst, args.as_of)
        return 0

    result = run_benchmark(args.rows, args.big_rows, args.out, args.as_of, args.repeat, args.timeout, args.cli)
    n, m = result.rows, result.big_rows
    print_table(
        f"warexempt bulk benchmark (N={n:,}, M={m:,}, as_of {args.as_of})",
        ["run", "rows", "wall s", "rows/s", "peak RSS MiB", "CPU s", "note"],
        [
            [
                r.label,
                f"{r.rows:,}",
                f"{r.wall:.2f}" if r.ok else "-",
                fmt_rate(r.rows_per_s),
                f"{r.peak_mib:,.0f}" if r.ok else "-",
                f"{r.cpu:.1f}" if r.ok else "-",
                r.note or "ok",
            ]
            for r in result.runs.values()
        ],
    )
    print_table(
        "targets",
        ["measure", "figure", "target", "ratio", "result"],
        [[t.measure, t.figure, t.target, t.ratio, t.result] for t in result.targets],
    )
    for line in result.notes:
        print(line)
    return 0


# ------------------------------------------------------------------------------------------------------------
# The benchmark as a function (benchmarks/run.py prints its rows in the one table of `make bench`)
# ------------------------------------------------------------------------------------------------------------
CSV_VS_POLARS_MAX = 1.4  # (a) CSV time / (c) bare Polars time
PYTHON_VS_CSV_MIN = 10.0  # (b) pure Python time / (a) CSV time
BIG_WALL_MAX_S = 2.0
BIG_RSS_MAX_MIB = 4096.0


@dataclass
class Target:
    """One row of a results table: what was measured, the figure (with units), the target, a ratio, the result.

    ``result``: PASS or FAIL for a target; for a row without one, a word (``info``, ``not available yet``, ...)."""

    measure: str
    figure: str
    target: str = "-"
    ratio: str = "-"
    result: str = "info"


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def rows_label(n: int) -> str:
    """1000000 -> '1M', 100000 -> '100k' (exact multiples only; otherwise the number with separators)."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def seconds(run: Run) -> str:
    """A run's wall time for a table cell, or why there is none."""
    return f"{run.wall:.2f} s" if run.ok else f"failed ({run.note or 'error'})"


def limit_ratio(value: float, limit: float) -> str:
    return f"{value / limit:.2f}× of limit"


@dataclass
class BulkResult:
    rows: int
    big_rows: int
    runs: dict[str, Run]
    targets: list[Target]
    notes: list[str]  # lines for the log: output agreement, failures


def generate(n: int, m: int, out: Path, log: Callable[[str], None] = print) -> tuple[Path, Path, Path]:
    """Write the N-row CSV and Parquet and the M-row Parquet of synthetic cases into ``out``; their paths."""
    import polars as pl

    out.mkdir(parents=True, exist_ok=True)
    csv_n, pq_n, pq_m = out / f"cases_{n}.csv", out / f"cases_{n}.parquet", out / f"cases_{m}.parquet"
    t = time.perf_counter()
    frame = cases_frame(n).collect()
    frame.write_csv(csv_n)
    frame.write_parquet(pq_n)
    t_gen_n = time.perf_counter() - t
    t = time.perf_counter()
    write_big(m, pq_m)
    t_gen_m = time.perf_counter() - t
    mix = frame.select(
        pl.col("charges")
        .str.split(";")
        .list.eval(pl.element().is_in(list(EXCLUDED)))
        .list.any()
        .mean()
        .alias("excluded"),
        pl.col("charges").n_unique().alias("distinct"),
        pl.col("contract_date").is_null().mean().alias("no_contract"),
        pl.col("petition_date").is_not_null().mean().alias("petition"),
        pl.col("award_date").is_not_null().mean().alias("award"),
        pl.col("discharge_date").is_not_null().mean().alias("discharge"),
        pl.col("death_date").is_not_null().mean().alias("death"),
    ).row(0, named=True)
    del frame
    log(
        f"generated {n:,} rows (CSV + Parquet) in {t_gen_n:.1f} s, {m:,} rows (Parquet) in {t_gen_m:.1f} s, "
        f"in {out}; {mix['distinct']:,} distinct charge strings, excluded-looking {mix['excluded']:.1%}, "
        f"no contract {mix['no_contract']:.1%}, petition {mix['petition']:.1%}, award {mix['award']:.1%}, "
        f"discharge {mix['discharge']:.1%}, death {mix['death']:.1%}"
    )
    return csv_n, pq_n, pq_m


def write_big(m: int, path: Path) -> Path:
    """The M-row Parquet file of synthetic cases (streamed, never whole in memory)."""
    cases_frame(m).sink_parquet(path)
    return path


def cli_run(
    label: str,
    src: Path,
    rows: int,
    dst: Path,
    as_of: dt.date,
    repeat: int,
    timeout: float,
    cli: Path,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """``warexempt bulk SRC [EXTRA] -o DST --as-of AS_OF``, best of ``repeat``, with the errors file counted.

    Every run starts from a folder without the previous run's files (the CLI may refuse to overwrite them)."""
    cmd = [str(cli), "bulk", str(src), *(extra or []), "-o", str(dst), "--as-of", as_of.isoformat()]

    def once() -> Run:
        clear_outputs(dst)
        return checked_cli_run(measure(label, rows, cmd, dst.parent, timeout, env), dst)

    return fastest(repeated(repeat, once))


def clear_outputs(dst: Path) -> None:
    """Remove a CLI run's files for output ``dst``: the decisions, ``DST.errors.csv``, ``DST.manifest.json``,
    ``DST.lock`` and temporary debris (every ``STEM.*`` and ``NAME.*`` beside it)."""
    dst.unlink(missing_ok=True)
    for pattern in (f"{dst.stem}.*", f"{dst.name}.*"):
        for stale in dst.parent.glob(pattern):
            if stale.is_file():
                stale.unlink(missing_ok=True)


def checked_cli_run(run: Run, dst: Path) -> Run:
    """A CLI run without its output file is a failure; a note counts the rows in its errors file."""
    if run.ok and not dst.exists():
        run.ok, run.note = False, "no output file"
    if run.ok:
        for err_file in (dst.with_suffix(".errors.csv"), dst.with_name(dst.name + ".errors.csv")):
            if err_file.exists():
                with err_file.open(encoding="utf-8") as fh:
                    bad = max(sum(1 for _ in fh) - 1, 0)
                found = f"{bad:,} rows in {err_file.name}" if bad else "no bad rows"
                run.note = ", ".join(x for x in (run.note, found) if x)
    return run


def run_benchmark(
    n: int,
    m: int,
    out: Path,
    as_of: dt.date = DEFAULT_AS_OF,
    repeat: int = 5,
    timeout: float = 900.0,
    cli: Path = CLI,
    log: Callable[[str], None] = print,
) -> BulkResult:
    """Generate the data, time (a), (b) and (c), and judge the targets; progress and failures go to ``log``."""
    import polars as pl

    csv_n, pq_n, pq_m = generate(n, m, out, log)
    runs: dict[str, Run] = {}
    outputs: list[Path] = []
    notes: list[str] = []
    cli_ok = cli.exists()
    if not cli_ok:
        log(f"!! CLI not found at {cli}: the (a) runs are skipped")
    for key, src, rows, kind in (
        ("a_csv", csv_n, n, "CSV"),
        ("a_pq", pq_n, n, "Parquet"),
        ("a_big", pq_m, m, "Parquet"),
    ):
        label = f"(a) warexempt bulk, {kind}"
        if not cli_ok:
            runs[key] = Run(label, rows, False, 0.0, 0.0, note="CLI missing")
            continue
        dst = out / f"cli_{src.stem}_{src.suffix[1:]}.parquet"
        run = cli_run(label, src, rows, dst, as_of, repeat, timeout, cli)
        if run.ok:
            outputs.append(dst)
        else:
            log(f"!! CLI FAILED ({run.note}) on {src.name}: {cli} bulk {src} -o {dst} --as-of {as_of}")
            log("   stderr:\n   " + "\n   ".join(excerpt(run.stderr)))
        runs[key] = run

    me = [sys.executable, str(Path(__file__).resolve())]
    ref_out = out / "ref_python.csv"
    if n > PY_SAMPLE_ROWS:
        sample = out / f"cases_{PY_SAMPLE_ROWS}_sample.csv"
        pl.scan_csv(csv_n, infer_schema=False).head(PY_SAMPLE_ROWS).sink_csv(sample)
        cmd = [*me, "--ref-python", str(sample), str(ref_out), "--as-of", as_of.isoformat()]
        probe = best_of(repeat, "(b) pure Python, CSV", PY_SAMPLE_ROWS, cmd, out, timeout)
        projected = probe.wall * n / PY_SAMPLE_ROWS
        if probe.ok and projected > PY_BUDGET_S:
            probe.note = f"{PY_SAMPLE_ROWS:,}-row sample, time extrapolated x{n / PY_SAMPLE_ROWS:g}"
            probe.wall, probe.cpu, probe.rows = projected, probe.cpu * n / PY_SAMPLE_ROWS, n
            runs["b"] = probe
    if "b" not in runs:
        cmd = [*me, "--ref-python", str(csv_n), str(ref_out), "--as-of", as_of.isoformat()]
        runs["b"] = best_of(repeat, "(b) pure Python, CSV", n, cmd, out, timeout)
    cmd = [*me, "--ref-polars", str(csv_n), str(out / "ref_polars.parquet"), "--as-of", as_of.isoformat()]
    runs["c"] = best_of(repeat, "(c) bare Polars, CSV", n, cmd, out, timeout)
    for key in ("b", "c"):
        if not runs[key].ok:
            log(f"!! reference {runs[key].label} FAILED:\n   " + "\n   ".join(excerpt(runs[key].stderr)))

    for key, floor_key, sources in (("a_csv", "d_csv", [csv_n]), ("a_big", "d_big", [pq_m])):
        if runs[key].ok:
            decisions = out / f"cli_{sources[0].stem}_{sources[0].suffix[1:]}.parquet"
            label = f"(d) the floor: read, write the decisions of {runs[key].label[4:]}"
            runs[floor_key] = floor_run(label, decisions, sources, runs[key].rows, repeat, timeout)

    if outputs and runs["b"].ok and ref_out.exists():
        # every CLI output holds the first N (or sample) case ids: the M-row file starts with the N-row one
        notes.append(compare_outputs(outputs[0], ref_out) + f" [CLI output {outputs[0].name}]")
    if not all(r.ok for r in runs.values()):
        notes.append("!! at least one bulk run failed (see above); its targets are marked FAIL")
    return BulkResult(n, m, runs, targets(runs, n, m), notes)


def targets(runs: dict[str, Run], n: int, m: int) -> list[Target]:
    """The bulk targets: (a) CSV vs (c), (b) vs (a) CSV, the M-row Parquet's time and peak RSS; (a) Parquet N: info."""
    a_csv, a_pq, big, b, c = runs["a_csv"], runs["a_pq"], runs["a_big"], runs["b"], runs["c"]
    rn, rm = rows_label(n), rows_label(m)
    rows: list[Target] = []

    both = a_csv.ok and c.ok and c.wall > 0
    r1 = a_csv.wall / c.wall if both else None
    rows.append(
        Target(
            f"bulk {rn} CSV: warexempt vs bare Polars (c)",
            f"{seconds(a_csv)} vs {seconds(c)}",
            f"≤ {CSV_VS_POLARS_MAX:g}× (c)",
            f"{r1:.2f}×" if r1 is not None else "-",
            verdict(r1 is not None and r1 <= CSV_VS_POLARS_MAX),
        )
    )
    both = a_csv.ok and b.ok and a_csv.wall > 0
    r2 = b.wall / a_csv.wall if both else None
    extrapolated = " (extrapolated)" if "extrapolated" in b.note else ""
    rows.append(
        Target(
            f"bulk {rn} CSV: pure Python (b) vs warexempt",
            f"{seconds(b)}{extrapolated} vs {seconds(a_csv)}",
            f"≥ {PYTHON_VS_CSV_MIN:g}×",
            f"{r2:.1f}×" if r2 is not None else "-",
            verdict(r2 is not None and r2 >= PYTHON_VS_CSV_MIN),
        )
    )
    if "d_csv" in runs and c.ok:
        rows.append(floor_target(f"bulk {rn} CSV: its floor (d) vs bare Polars (c)", runs["d_csv"], reference=c))
    rows.append(Target(f"bulk {rn} Parquet: wall", seconds(a_pq), result="info" if a_pq.ok else "FAIL"))
    rows.append(
        Target(
            f"bulk {rm} Parquet: wall",
            seconds(big),
            f"< {BIG_WALL_MAX_S:g} s",
            limit_ratio(big.wall, BIG_WALL_MAX_S) if big.ok else "-",
            verdict(big.ok and big.wall < BIG_WALL_MAX_S),
        )
    )
    if "d_big" in runs:
        rows.append(floor_target(f"bulk {rm} Parquet: its floor (d)", runs["d_big"]))
    rows.append(
        Target(
            f"bulk {rm} Parquet: peak RSS",
            f"{big.peak_mib:,.0f} MiB" if big.ok else "-",
            f"< {BIG_RSS_MAX_MIB / 1024:g} GiB",
            limit_ratio(big.peak_mib, BIG_RSS_MAX_MIB) if big.ok else "-",
            verdict(big.ok and big.peak_mib < BIG_RSS_MAX_MIB),
        )
    )
    return rows


def floor_target(measure: str, floor: Run, limit_s: float | None = None, reference: Run | None = None) -> Target:
    """An information row: the floor (d) of a target's run against the target's own limit (``limit_s``) or
    reference run (within ``CSV_VS_POLARS_MAX``), so that the table shows when a target is below what reading and
    writing alone cost on this machine."""
    result = "info" if floor.ok else "FAIL"
    if reference is None:
        limit = BIG_WALL_MAX_S if limit_s is None else limit_s
        ratio = limit_ratio(floor.wall, limit) if floor.ok else "-"
        return Target(measure, seconds(floor), f"< {limit:g} s", ratio, result)
    ratio = f"{floor.wall / reference.wall:.2f}×" if floor.ok and reference.wall > 0 else "-"
    return Target(measure, f"{seconds(floor)} vs {seconds(reference)}", f"≤ {CSV_VS_POLARS_MAX:g}× (c)", ratio, result)


if __name__ == "__main__":
    sys.exit(main())
