"""Single-case benchmark: ``warexempt.check(...)`` and ``warexempt.what_if(case)`` in process, p50/p99 in ms.

Run ``python benchmarks/single.py [--calls 2000] [--what-if-calls 500] [--json OUT]``. It

1. warms up with 50 calls of ``check`` over ~20 realistic cases (pre-trial, trial, appeal, sentenced; stage
   changes, refused-then-repeated petitions, discharges on each ground, re-enlistment, new offences dated 2026,
   awards, deaths); a case whose call raises is dropped (the engine may not know an event kind yet) and counted;
2. times ``--calls`` calls of ``check`` round-robin over the kept cases, each with ``time.perf_counter_ns``,
   garbage collection left on as a user has it; then ``--what-if-calls`` calls of ``what_if`` the same way;
3. prints p50/p99 (and mean, max) against the targets, or writes them as JSON for ``benchmarks/run.py`` (which
   runs this file in a fresh child, under each virtual environment it compares).

The package is imported by name at run time and used through its public API only (``check``, ``what_if``, a
Decision's ``.outcome``), so the harness runs on today's engine and on a rewritten one.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

WARM_UP_CALLS = 50
CHECK_P50_MAX_MS = 2.0
CHECK_P99_MAX_MS = 5.0
WHAT_IF_P50_MAX_MS = 5.0

Event = dict[str, str]


def _ev(date: str, kind: str, **extra: str) -> Event:
    return {"date": date, "kind": kind, **extra}


def _case(name: str, charges: list[str], stage: str, as_of: str, *events: Event) -> tuple[str, dict[str, Any]]:
    return name, {"charges": charges, "stage": stage, "events": list(events), "as_of": as_of}


# (name, keyword arguments of warexempt.check); the entry into service comes first in every case.
CASES: list[tuple[str, dict[str, Any]]] = [
    _case(
        "pre-trial theft, petition",
        ["158:3:в"],
        "pre_trial",
        "2025-02-01",
        _ev("2024-05-02", "contract_signed"),
        _ev("2024-05-10", "command_petition"),
    ),
    _case(
        "pre-trial, petition, award",
        ["158:3:в", "228:2"],
        "pre_trial",
        "2025-02-01",
        _ev("2024-05-14", "contract_signed"),
        _ev("2024-06-05", "command_petition"),
        _ev("2025-01-20", "state_award"),
    ),
    _case(
        "pre-trial, grave charge: refused under 270-FZ, repeated under 64-FZ",
        ["161:2:а"],
        "pre_trial",
        "2025-03-01",
        _ev("2023-09-01", "contract_signed"),
        _ev("2023-10-02", "command_petition"),
        _ev("2024-04-15", "command_petition"),
    ),
    _case(
        "trial: refused before 340-FZ, repeated after it",
        ["159:4", "159:3"],
        "trial",
        "2025-04-01",
        _ev("2024-07-01", "contract_signed"),
        _ev("2024-08-20", "command_petition"),
        _ev("2024-11-05", "command_petition"),
    ),
    _case(
        "pre-trial, excluded terrorism charge",
        ["205:1"],
        "pre_trial",
        "2025-01-15",
        _ev("2024-06-01", "contract_signed"),
        _ev("2024-06-20", "command_petition"),
    ),
    _case(
        "pre-trial, 270-FZ window, medium gravity",
        ["158:2:в"],
        "pre_trial",
        "2024-01-10",
        _ev("2023-08-01", "contract_signed"),
        _ev("2023-09-01", "command_petition"),
    ),
    _case(
        "pre-trial, 270-FZ window, grave (not covered then)",
        ["228:2"],
        "pre_trial",
        "2024-01-10",
        _ev("2023-08-01", "called_up"),
        _ev("2023-09-01", "command_petition"),
    ),
    _case(
        "trial, petition",
        ["158:3:в", "228:2"],
        "trial",
        "2025-06-01",
        _ev("2024-10-20", "contract_signed"),
        _ev("2024-11-01", "command_petition"),
    ),
    _case(
        "trial, discharged for health",
        ["111:1"],
        "trial",
        "2025-09-01",
        _ev("2024-10-25", "contract_signed"),
        _ev("2024-11-05", "command_petition"),
        _ev("2025-07-14", "discharged", ground="health"),
    ),
    _case(
        "trial, discharged 'other', resumed",
        ["162:2"],
        "trial",
        "2025-10-01",
        _ev("2024-11-01", "contract_signed"),
        _ev("2024-11-20", "command_petition"),
        _ev("2025-05-03", "discharged", ground="other"),
        _ev("2025-06-10", "resumed"),
    ),
    _case(
        "trial, discharged 'other', re-enlisted, petition again",
        ["30:3-158:2", "228:1"],
        "trial",
        "2026-03-01",
        _ev("2024-11-01", "contract_signed"),
        _ev("2024-11-20", "command_petition"),
        _ev("2025-04-03", "discharged", ground="other"),
        _ev("2025-08-01", "contract_signed"),
        _ev("2025-08-20", "command_petition"),
    ),
    _case(
        "appeal, petition, award",
        ["105:1"],
        "appeal",
        "2025-12-01",
        _ev("2024-12-01", "contract_signed"),
        _ev("2024-12-15", "command_petition"),
        _ev("2025-10-30", "state_award"),
    ),
    _case(
        "appeal, petition before 340-FZ",
        ["159:4"],
        "appeal",
        "2025-01-01",
        _ev("2024-08-01", "contract_signed"),
        _ev("2024-09-01", "command_petition"),
    ),
    _case(
        "sentenced, contract",
        ["228.1:4"],
        "sentenced",
        "2025-04-01",
        _ev("2024-05-01", "contract_signed"),
    ),
    _case(
        "sentenced, contract, award",
        ["166:1", "264.1:1"],
        "sentenced",
        "2025-09-01",
        _ev("2024-05-01", "contract_signed"),
        _ev("2025-06-12", "state_award"),
    ),
    _case(
        "sentenced, called up, end of mobilisation",
        ["318:1"],
        "sentenced",
        "2026-06-01",
        _ev("2023-07-01", "called_up"),
        _ev("2026-02-01", "discharged", ground="end_of_mobilisation"),
    ),
    _case(
        "sentenced, contract, died",
        ["111:4"],
        "sentenced",
        "2025-08-01",
        _ev("2024-07-01", "contract_signed"),
        _ev("2025-03-09", "died"),
    ),
    _case(
        "sentenced, health discharge, later death",
        ["158:4:б"],
        "sentenced",
        "2026-01-01",
        _ev("2024-03-25", "contract_signed"),
        _ev("2024-12-01", "discharged", ground="health"),
        _ev("2025-06-01", "died"),
    ),
    _case(
        "pre-trial, coarse code (needs detail)",
        ["131:3"],
        "pre_trial",
        "2025-02-01",
        _ev("2024-06-01", "contract_signed"),
        _ev("2024-06-10", "command_petition"),
    ),
    # Event kinds of the rewritten engine (stage_changed, new_offence): may raise on today's engine.
    _case(
        "pre-trial -> trial, petition at trial",
        ["158:3:в"],
        "pre_trial",
        "2025-05-01",
        _ev("2024-03-01", "contract_signed"),
        _ev("2024-09-01", "stage_changed", stage="trial"),
        _ev("2024-11-10", "command_petition"),
    ),
    _case(
        "trial -> appeal, petition at appeal",
        ["161:1", "119:1"],
        "trial",
        "2025-09-01",
        _ev("2025-01-10", "contract_signed"),
        _ev("2025-02-01", "stage_changed", stage="appeal"),
        _ev("2025-03-15", "command_petition"),
    ),
    _case(
        "appeal -> sentenced while serving",
        ["159:3"],
        "appeal",
        "2025-12-01",
        _ev("2024-11-01", "contract_signed"),
        _ev("2025-02-01", "stage_changed", stage="sentenced"),
    ),
    _case(
        "sentenced, new offence 338:4 in 2026",
        ["158:3:в"],
        "sentenced",
        "2026-06-01",
        _ev("2024-06-01", "contract_signed"),
        _ev("2026-02-10", "new_offence", charge="338:4"),
    ),
    _case(
        "pre-trial suspended, new offence 337:3 in 2026",
        ["228:2"],
        "pre_trial",
        "2026-08-01",
        _ev("2024-09-01", "contract_signed"),
        _ev("2024-09-20", "command_petition"),
        _ev("2026-03-01", "new_offence", charge="337:3"),
    ),
]


@dataclass
class Timing:
    calls: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    max_ms: float | None = None
    error: str = ""


@dataclass
class SingleResult:
    python: str = sys.version.split()[0]
    polars: str = ""
    cases: int = len(CASES)
    dropped: dict[str, str] = field(default_factory=dict)  # case name -> the error its call raised
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome -> kept cases
    check: Timing = field(default_factory=Timing)
    what_if: Timing = field(default_factory=Timing)
    what_if_dropped: dict[str, str] = field(default_factory=dict)
    error: str = ""  # the package could not be imported or no case could be checked

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SingleResult:
        result = cls(**{k: v for k, v in data.items() if k not in ("check", "what_if")})
        result.check = Timing(**data.get("check", {}))
        result.what_if = Timing(**data.get("what_if", {}))
        return result


def _one_line(exc: BaseException, where: bool = False) -> str:
    """``Type: message`` on one line; with ``where``, the file and line that raised it."""
    text = " ".join(str(exc).split())
    place = ""
    if where and exc.__traceback__ is not None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        place = f" (at {Path(frame.filename).name}:{frame.lineno})"
    return f"{type(exc).__name__}: {text[:200]}{place}"


def _timings(samples_ns: list[int]) -> Timing:
    ms = [s / 1e6 for s in samples_ns]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return Timing(len(ms), cuts[49], cuts[98], statistics.fmean(ms), max(ms))


def _time_calls(fn: Callable[[dict[str, Any]], object], cases: list[dict[str, Any]], calls: int) -> Timing:
    samples: list[int] = []
    clock = time.perf_counter_ns
    for i in range(calls):
        kwargs = cases[i % len(cases)]
        t = clock()
        fn(kwargs)
        samples.append(clock() - t)
    return _timings(samples)


def run(calls: int = 2000, what_if_calls: int = 500) -> SingleResult:
    """Warm up, drop the cases that raise, time ``check`` and ``what_if``; never raises."""
    result = SingleResult()
    try:
        import polars

        result.polars = polars.__version__
        wx: Any = importlib.import_module("warexempt")
        check, what_if = wx.check, wx.what_if
    except Exception as exc:
        result.error = "import failed: " + _one_line(exc, where=True)
        return result

    # warm-up: each case once (a case that raises is dropped), then round-robin up to WARM_UP_CALLS calls
    kept: list[tuple[str, dict[str, Any]]] = []
    outcomes: Counter[str] = Counter()
    for name, kwargs in CASES:
        try:
            outcomes[str(check(**kwargs).outcome)] += 1
        except Exception as exc:
            result.dropped[name] = _one_line(exc)
        else:
            kept.append((name, kwargs))
    result.outcomes = dict(outcomes.most_common())
    if not kept:
        result.error = f"every case raised at warm-up ({error_kinds(result.dropped)})"
        return result
    for i in range(max(WARM_UP_CALLS - len(CASES), 0)):
        check(**kept[i % len(kept)][1])

    try:
        result.check = _time_calls(lambda kw: check(**kw), [kw for _, kw in kept], calls)
    except Exception as exc:  # a case that passed the warm-up cannot fail here, but a benchmark must not stop
        result.check.error = _one_line(exc)
    if what_if_calls <= 0:
        return result

    # what_if takes the case as one mapping; its warm-up drops the cases it cannot branch
    branchable: list[dict[str, Any]] = []
    for name, kwargs in kept:
        try:
            what_if(kwargs)
        except Exception as exc:
            result.what_if_dropped[name] = _one_line(exc, where=True)
        else:
            branchable.append(kwargs)
    if not branchable:
        result.what_if.error = "every case raised at warm-up"
        return result
    for i in range(max(WARM_UP_CALLS - len(kept), 0)):
        what_if(branchable[i % len(branchable)])
    try:
        result.what_if = _time_calls(what_if, branchable, what_if_calls)
    except Exception as exc:
        result.what_if.error = _one_line(exc)
    return result


def describe(result: SingleResult) -> list[str]:
    """Log lines: which cases were dropped and why, and the outcomes of the kept ones."""
    if result.error and not result.dropped:
        return [f"!! single (Python {result.python}, Polars {result.polars or '?'}): {result.error}"]
    lines: list[str] = []
    if result.error:
        lines.append(f"!! single: {result.error}")
    kept = result.cases - len(result.dropped)
    lines.append(
        f"single (Python {result.python}, Polars {result.polars}): {kept} of {result.cases} cases kept, "
        f"{len(result.dropped)} dropped (raised at warm-up); outcomes of the kept: "
        + ", ".join(f"{k} {v}" for k, v in result.outcomes.items())
    )
    lines.extend(_grouped("dropped", result.dropped))
    lines.extend(_grouped("dropped from what_if", result.what_if_dropped))
    return lines


def _grouped(what: str, dropped: dict[str, str]) -> list[str]:
    """One line per distinct error, with the cases that raised it."""
    by_error: dict[str, list[str]] = {}
    for name, err in dropped.items():
        by_error.setdefault(err, []).append(name)
    lines = []
    for err, names in by_error.items():
        shown = "; ".join(names[:3]) + (f"; and {len(names) - 3} more" if len(names) > 3 else "")
        lines.append(f"   {what} ({len(names)}: {shown}): {err}")
    return lines


def error_kinds(dropped: dict[str, str]) -> str:
    """'SchemaError ×22, OutOfBoundsError ×1': the exception types the dropped cases raised."""
    kinds = Counter(err.split(":", 1)[0] for err in dropped.values())
    return ", ".join(f"{k} ×{v}" for k, v in kinds.most_common())


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000, help="timed calls of check")
    parser.add_argument("--what-if-calls", type=int, default=500, help="timed calls of what_if (0: none)")
    parser.add_argument("--json", type=Path, help="write the result as JSON here instead of printing it")
    args = parser.parse_args(argv)
    try:
        result = run(args.calls, args.what_if_calls)
    except BaseException:  # a benchmark reports, it does not stop
        result = SingleResult(error="harness error: " + traceback.format_exc(limit=3).strip().splitlines()[-1])
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=1))
        return 0
    for line in describe(result):
        print(line)
    c, w = result.check, result.what_if
    print(f"check:   {c.calls:,} calls, p50 {_ms(c.p50_ms)} (target ≤ {CHECK_P50_MAX_MS:g} ms), ", end="")
    print(f"p99 {_ms(c.p99_ms)} (target ≤ {CHECK_P99_MAX_MS:g} ms), mean {_ms(c.mean_ms)} {c.error}")
    print(f"what_if: {w.calls:,} calls, p50 {_ms(w.p50_ms)} (target ≤ {WHAT_IF_P50_MAX_MS:g} ms), ", end="")
    print(f"p99 {_ms(w.p99_ms)}, mean {_ms(w.mean_ms)} {w.error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
