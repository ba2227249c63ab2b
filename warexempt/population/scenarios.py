"""Outcome SCENARIOS — never forecasts — for the people who sign: what share is released, resumed or killed.

Of those who sign a contract (or, before trial, are suspended on the command's petition), some are released (a
state award; a discharge for health, age or the end of mobilisation: УК 78.1 ч. 1, 80.2 ч. 2), some see their
case or sentence resumed (a discharge on another ground; a new offence during service such as desertion, which since
9 January 2026 is the heavier УК 338 ч. 4 of 534-FZ), some are killed, and the rest still serve on the report's date.

Nobody publishes these shares. The scenarios take what the bundled claims do publish — the casualty figures (claims
C07–C17) and the court counts of suspensions and terminations (C18–C24) — as stated ratios, each with the claims it
comes from; every share the claims do not give is an *assumption* with a range, drawn by seeded Monte Carlo (PERT).
Each draw gives a synthetic cohort its EVENT HISTORIES (contract_signed, command_petition, then an award, a discharge
on a ground, a new offence or a death on drawn dates), and the cohort is decided by the one rules path,
``warexempt.rules.engine.evaluate``: the outcome and its reasons (provision ids) are the engine's, never this module's.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from warexempt._marks import N_
from warexempt.law.catalog import Law, bundled_law
from warexempt.rules.frames import CASE_SCHEMA, EVENT_SCHEMA

LABEL = N_("SCENARIOS, not forecasts")
STAGES = ("pre_trial", "trial", "appeal", "sentenced")
GROUPS = ("released", "resumed", "killed", "serving", "undecided")
GROUP_NAMES = {
    "released": N_("released (award; discharge for health, age, end of mobilisation)"),
    "resumed": N_("resumed (discharge on another ground; desertion or another new offence)"),
    "killed": N_("killed in service"),
    "serving": N_("still serving on the date"),
    "undecided": N_("not decided by the rules (should be none)"),
}
GROUP_SHORT = {
    "released": N_("released"),
    "resumed": N_("resumed"),
    "killed": N_("killed"),
    "serving": N_("still serving"),
    "undecided": N_("not decided"),
}
# How the engine's outcomes are counted in the groups above: a grouping for display, not a rule (the outcome itself
# is the engine's; an outcome not listed here is counted as undecided, so nothing is silently lost).
OUTCOME_GROUP = {
    "released": "released",
    "released_from_punishment": "released",
    "resumed": "resumed",
    "terminated_death": "killed",
    "suspended": "serving",
    "conditionally_released": "serving",
}
# The events a history can end with: (event id, kind, ground); the event id names the drawn cause in the decisions.
CAUSES = (
    ("award", "state_award", None),
    ("discharge-health", "discharged", "health"),
    ("discharge-age", "discharged", "age"),
    ("discharge-other", "discharged", "other"),
    ("desertion", "new_offence", None),
    ("death", "died", None),
)
CAUSE_NAMES = {
    "award": N_("state award"),
    "discharge-health": N_("discharge: declared unfit"),
    "discharge-age": N_("discharge: age limit"),
    "discharge-other": N_("discharge on another ground"),
    "desertion": N_("desertion (new offence)"),
    "death": N_("death"),
    "end-of-mobilisation": N_("discharge: end of mobilisation"),
}
DESERTION = ("338:4", "338:1")  # desertion by a person whose case is suspended (534-FZ), and the general part
# Charges of the synthetic people: the offence mix of the 42 St Petersburg defendants who signed (claim C22: 15 drug,
# 13 theft or fraud, 7 alimony); which part of each article stands for the group is an assumption.
CHARGE_MIX = (("228:2", "C22:15 drug"), ("158:2", "C22:13 theft"), ("157:1", "C22:7 alimony"))
DEFAULT_AS_OF = dt.date(2026, 12, 1)
WINDOW_END = dt.date(2025, 12, 31)  # contracts signed up to the end of 2025, the last year the claims cover


class ScenarioDataError(ValueError):
    """A claim a scenario rests on is missing, or its figure is not what the scenario says it quotes."""


@dataclass(frozen=True)
class Claim:
    claim_id: str
    claim: str
    value_low: float | None
    value_high: float | None
    unit: str
    definition: str
    source_id: str


def claims_path() -> Path:
    """The package's bundled copy of claims.csv (``population/data/``)."""
    return Path(str(resources.files("warexempt.population") / "data" / "claims.csv"))


def load_claims(path: Path | None = None) -> dict[str, Claim]:
    """The claims by id, read from the bundled copy (``path`` only to read another copy, as tests of a checkout do)."""
    path = path or claims_path()
    if not path.is_file():
        raise ScenarioDataError(f"{path}: the bundled claims file is missing")
    out: dict[str, Claim] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["claim_id"]] = Claim(
                row["claim_id"],
                row["claim"],
                float(row["value_low"]) if row["value_low"] else None,
                float(row["value_high"]) if row["value_high"] else None,
                row["unit"],
                row["definition"],
                row["source_id"],
            )
    return out


def figure(claims: dict[str, Claim], ref: str) -> float:
    """One published number: ``"C09"`` is the claim's ``value_low``; ``"C09:17,175"`` the number 17,175 as it stands
    in the claim's text (some claims give a second figure only in words) — checked to be there, never assumed."""
    claim_id, _, quoted = ref.partition(":")
    claim = claims.get(claim_id)
    if claim is None:
        raise ScenarioDataError(f"claim {claim_id}: not in claims.csv (the scenarios rest on it)")
    if quoted:
        if quoted not in claim.claim and quoted not in claim.definition:
            raise ScenarioDataError(f"claim {claim_id}: its text does not contain {quoted!r}")
        return float(re.sub(r"[^\d.]", "", quoted))
    if claim.value_low is None:
        raise ScenarioDataError(f"claim {claim_id}: value_low is empty; expected a number")
    return claim.value_low


@dataclass(frozen=True)
class Ratio:
    """A share as published numbers over published numbers (each a ``figure`` reference)."""

    numerator: tuple[str, ...]
    denominator: tuple[str, ...]

    def value(self, claims: dict[str, Claim]) -> float:
        return sum(figure(claims, r) for r in self.numerator) / sum(figure(claims, r) for r in self.denominator)

    @property
    def claims(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.partition(":")[0] for r in (*self.numerator, *self.denominator)))

    def text(self) -> str:
        def side(refs: tuple[str, ...]) -> str:
            text = " + ".join(r.replace(":", " ") if ":" in r else r for r in refs)
            return f"({text})" if len(refs) > 1 else text

        return f"{side(self.numerator)} / {side(self.denominator)}"


@dataclass(frozen=True)
class Parameter:
    """One share of a scenario: its PERT range (low, mode, high); ``low == high`` is a fixed value. ``basis`` says
    where it comes from (an English msgid); ``claims`` the claims it rests on — none means an assumption."""

    id: str
    low: float
    mode: float
    high: float
    basis: str
    claims: tuple[str, ...] = ()
    derivation: str = ""

    @property
    def assumption(self) -> bool:
        return not self.claims or self.low != self.high

    def draw(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        """``n`` draws from the PERT distribution on [low, high] with this mode (a Beta with λ = 4)."""
        if self.high <= self.low:
            return np.full(n, self.low)
        span = self.high - self.low
        a = 1 + 4 * (self.mode - self.low) / span
        b = 1 + 4 * (self.high - self.mode) / span
        drawn: npt.NDArray[np.float64] = self.low + span * rng.beta(a, b, n)
        return drawn


PARAMETER_NAMES = {
    "death": N_("killed within a year of service"),
    "release": N_("released within a year (award or releasing discharge)"),
    "award_part": N_("awards among the releases"),
    "age_part": N_("age-limit discharges among the releasing discharges"),
    "other_discharge": N_("discharged on another ground within a year"),
    "desertion": N_("deserting within a year"),
}


@dataclass(frozen=True)
class Scenario:
    """A named set of parameters. ``end_of_mobilisation``: a hypothetical date on which everyone still serving is
    discharged on that ground (no such date is announced; the scenario shows what the law would then do)."""

    id: str
    name: str
    note: str
    parameters: tuple[Parameter, ...]
    end_of_mobilisation: dt.date | None = None

    def parameter(self, pid: str) -> Parameter:
        return next(p for p in self.parameters if p.id == pid)


DEATH = {
    "low": (
        Ratio(("C17",), ("C09",)),
        N_(
            "named former prisoners among the dead by July 2023 (C17) over the prisoners Wagner recruited, "
            "a lower bound (C09): a low reading, since named deaths are an undercount"
        ),
    ),
    "central": (
        Ratio(("C15",), ("C09", "C12")),
        N_(
            "named dead recruited prisoners by November 2024 (C15) over the prisoners recruited by Wagner (C09) "
            "and into Storm Z (C12); close to Prigozhin's own 'around 20 percent' (C07)"
        ),
    ),
    "high": (
        Ratio(("C09:17,175",), ("C09",)),
        N_(
            "pardoned prisoners among the Wagner dead at Bakhmut (C09: 17,175) over the prisoners Wagner recruited "
            "(C09): a high reading, the heaviest fighting"
        ),
    ),
}
# Terminations over the court suspensions made up to then: the released share of a year's signers, bracketed by the
# 350 of H1 2025 (C19, definition unverified) and the more than 5,000 rulings of 2025 (C24, convicts included).
RELEASE_LOW = Ratio(("C19",), ("C20", "C18"))
RELEASE_HIGH = Ratio(("C24",), ("C20", "C18"))
RELEASE_BASIS = N_(
    "cases terminated over cases suspended by courts (2024, C20; H1 2025, C18): from 350 in H1 2025 (C19) to more "
    "than 5,000 rulings in 2025 (C24); the mode, the middle of the range, is an assumption"
)
ASSUMED = {
    "award_part": (0.25, 0.5, 0.75, N_("assumption: no published figure splits releases by award and discharge")),
    "age_part": (0.0, 0.05, 0.15, N_("assumption: no published figure; few signers are near the age limit")),
    "other_discharge": (0.0, 0.02, 0.05, N_("assumption: no published figure of discharges on other grounds")),
    "desertion": (0.0, 0.02, 0.05, N_("assumption: no published figure of desertion by people who signed")),
}
SCENARIO_TEXT = {
    "low": (N_("low casualties"), N_("the lowest death share the casualty claims support")),
    "central": (N_("central casualties"), N_("the named dead over all known prisoner recruits")),
    "high": (N_("high casualties"), N_("the death share of the Bakhmut assault")),
    "demobilised": (
        N_("central, mobilisation ends"),
        N_("as central, and mobilisation ends on a hypothetical date: everyone still serving is discharged"),
    ),
}
END_OF_MOBILISATION = dt.date(2026, 7, 1)  # hypothetical, for the last scenario only


def scenarios(claims: dict[str, Claim] | None = None) -> list[Scenario]:
    """The scenarios, their parameters computed from the claims (``ScenarioDataError`` if a claim is missing)."""
    claims = claims if claims is not None else load_claims()
    low, high = RELEASE_LOW.value(claims), RELEASE_HIGH.value(claims)
    release = Parameter(
        "release",
        low,
        (low + high) / 2,
        high,
        RELEASE_BASIS,
        (*RELEASE_LOW.claims, *RELEASE_HIGH.claims[:1]),
        f"{RELEASE_LOW.text()} … {RELEASE_HIGH.text()}",
    )
    assumed = tuple(Parameter(pid, lo, mode, hi, basis) for pid, (lo, mode, hi, basis) in ASSUMED.items())
    out = []
    for sid, (ratio, basis) in DEATH.items():
        share = ratio.value(claims)
        death = Parameter("death", share, share, share, basis, ratio.claims, ratio.text())
        name, note = SCENARIO_TEXT[sid]
        out.append(Scenario(sid, name, note, (death, release, *assumed)))
    central = out[1]
    name, note = SCENARIO_TEXT["demobilised"]
    out.append(Scenario("demobilised", name, note, central.parameters, END_OF_MOBILISATION))
    return out


@dataclass(frozen=True)
class Cohort:
    """Synthetic people and their histories: the engine's case frame and long events frame, and the decisions."""

    cases: pl.DataFrame  # CASE_SCHEMA plus scenario, draw
    events: pl.DataFrame  # EVENT_SCHEMA plus _k
    decisions: pl.DataFrame  # the engine's DECISION_SCHEMA rows, in the cases' order


@dataclass
class Result:
    """What the scenarios show: the shares per draw, their summary, the breakdown by deciding event and rule."""

    scenarios: list[Scenario]
    seed: int
    draws: int
    persons: int
    as_of: dt.date
    window: tuple[dt.date, dt.date]
    shares: pl.DataFrame  # scenario, stage, draw, group, share
    breakdown: pl.DataFrame  # scenario, stage, group, cause, outcome, rule, reasons, cases
    parameters: pl.DataFrame  # scenario, draw, parameter, value
    law_fingerprint: str
    cohort: Cohort | None = field(default=None, repr=False)

    def summary(self) -> pl.DataFrame:
        """Per scenario, stage and group: the mean and median share over the draws and its 50% and 90% intervals
        (the means of a stage's groups add up to one; the medians need not)."""
        q = pl.col("share")
        return (
            self.shares.group_by("scenario", "stage", "group", maintain_order=True)
            .agg(
                mean=q.mean(),
                median=q.median(),
                q05=q.quantile(0.05, "linear"),
                q25=q.quantile(0.25, "linear"),
                q75=q.quantile(0.75, "linear"),
                q95=q.quantile(0.95, "linear"),
            )
            .with_columns(pl.col(c).round(6) for c in ("mean", "median", "q05", "q25", "q75", "q95"))
        )


def first_day(law: Law, stage: str = "trial") -> dt.date:
    """The first day the law gives ``stage`` a route (for a trial: 340-FZ), from the law's dated tables."""
    for day in law.boundaries:
        if law.route_on(stage, day) is not None:
            return day
    raise ScenarioDataError(f"the law gives stage {stage} no route on any date")


def _desertion_code(law: Law, day: dt.date) -> str:
    """The desertion part a suspended person commits on ``day``: 338 ч. 4 once the Code has it (534-FZ, from the
    Criminal Code catalogue's in-force date), before that the general 338 ч. 1. A fact of the history, not a rule:
    the engine then decides what it does (and cites 534-FZ's part)."""
    article = law.criminal_code.get("338")
    part = article.part("4") if article else None
    if part is not None and part.in_force_on(day):
        return DESERTION[0]
    return DESERTION[1]


def simulate(
    scenario: Scenario,
    rng: np.random.Generator,
    *,
    draws: int,
    persons: int,
    as_of: dt.date,
    window: tuple[dt.date, dt.date],
    law: Law,
    stages: tuple[str, ...] = STAGES,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One scenario's cohort: ``persons`` people per draw and stage, the draw's parameters, and their histories.
    Returns the case frame, the events frame and the parameters drawn. Competing risks with constant hazards: the
    year's shares p_k (summing to P) give the total hazard λ = −ln(1 − P) per year, the cause k with odds p_k / P."""
    params = {p.id: p.draw(rng, draws) for p in scenario.parameters}
    release, award = params["release"], params["award_part"]
    shares = np.stack(
        [
            release * award,  # award
            release * (1 - award) * (1 - params["age_part"]),  # discharge: health
            release * (1 - award) * params["age_part"],  # discharge: age
            params["other_discharge"],
            params["desertion"],
            params["death"],
        ],
        axis=1,
    )
    total = shares.sum(axis=1)
    if (total >= 1).any():
        raise ScenarioDataError(f"scenario {scenario.id}: the year's shares sum to {total.max():.3f}; expected < 1")
    hazard = -np.log1p(-total)  # per year
    n_stage = len(stages)
    shape = (draws, n_stage, persons)
    n = draws * n_stage * persons
    start, end = window
    span = (end - start).days + 1
    contract = rng.integers(0, span, shape) + start.toordinal()
    petition = contract + rng.integers(3, 31, shape)
    years = rng.exponential(1.0, shape) / hazard[:, None, None]
    u = rng.random(shape)
    cum = np.cumsum(shares / total[:, None], axis=1)
    cause = (u[..., None] > cum[:, None, None, :]).sum(axis=-1)
    cause = np.minimum(cause, len(CAUSES) - 1)
    charge = rng.choice(len(CHARGE_MIX), size=shape, p=_charge_weights())
    stage_no = np.broadcast_to(np.arange(n_stage)[None, :, None], shape)
    sentenced = np.array([s == "sentenced" for s in stages])[stage_no]
    served_from = np.where(sentenced, contract, petition)
    when = served_from + np.maximum(1, np.ceil(years * 365.25).astype(np.int64))
    horizon = as_of.toordinal()
    demob = scenario.end_of_mobilisation
    if demob is not None and demob.toordinal() <= end.toordinal() + 31:
        raise ScenarioDataError(f"scenario {scenario.id}: end of mobilisation {demob} falls in the contract window")
    if demob is not None and demob <= as_of:
        # whoever has not yet left service on that day is discharged on it
        by_demob = when > demob.toordinal()
        ended = ~by_demob
        when = np.where(by_demob, demob.toordinal(), when)
    else:
        by_demob = np.zeros(shape, dtype=bool)
        ended = when <= horizon

    flat = {k: v.ravel() for k, v in {"contract": contract, "petition": petition, "when": when}.items()}
    stage_flat, sentenced_flat = stage_no.ravel(), sentenced.ravel()
    draw_flat = np.repeat(np.arange(draws), n_stage * persons)
    cases = pl.DataFrame(
        {
            "case_id": pl.Series(np.arange(n)).cast(pl.String),
            "charges": pl.Series([[code] for code, _ in CHARGE_MIX], dtype=pl.List(pl.String)).gather(charge.ravel()),
            "stage": pl.Series(stages).gather(stage_flat),
            "offence_date": pl.Series([None] * n, dtype=pl.Date),
            "as_of": pl.Series([as_of] * n, dtype=pl.Date),
        },
        schema=CASE_SCHEMA,
    ).with_columns(scenario=pl.lit(scenario.id), draw=pl.Series(draw_flat, dtype=pl.Int32))

    events = _events(flat, cause.ravel(), ended.ravel(), by_demob.ravel(), sentenced_flat, law)
    drawn = pl.DataFrame(
        {
            "scenario": [scenario.id] * (draws * len(params)),
            "draw": np.tile(np.arange(draws), len(params)).astype(np.int32),
            "parameter": np.repeat(list(params), draws),
            "value": np.concatenate([np.round(v, 9) for v in params.values()]),
        }
    )
    return cases, events, drawn


def _charge_weights() -> npt.NDArray[np.float64]:
    counts = np.array([float(ref.split(":")[1].split()[0]) for _, ref in CHARGE_MIX])
    weights: npt.NDArray[np.float64] = counts / counts.sum()
    return weights


def _dates(ordinals: npt.NDArray[np.int64]) -> pl.Series:
    """Proleptic ordinals as dates (1970-01-01 is ordinal 719163)."""
    return pl.Series(ordinals - dt.date(1970, 1, 1).toordinal()).cast(pl.Int32).cast(pl.Date)


def _events(
    flat: dict[str, npt.NDArray[np.int64]],
    cause: npt.NDArray[np.int64],
    ended: npt.NDArray[np.bool_],
    by_demob: npt.NDArray[np.bool_],
    sentenced: npt.NDArray[np.bool_],
    law: Law,
) -> pl.DataFrame:
    """The long events frame: every person's contract, a defendant's petition, and the drawn closing event."""
    n = len(cause)
    k = np.arange(n, dtype=np.uint32)
    not_sentenced = np.flatnonzero(~sentenced)
    closing = np.flatnonzero(ended | by_demob)
    ids = [c[0] for c in CAUSES]
    kinds = [c[1] for c in CAUSES]
    grounds = [c[2] for c in CAUSES]
    c_cause = cause[closing]
    c_demob = by_demob[closing]
    c_day = flat["when"][closing]
    event_id = np.where(c_demob, "end-of-mobilisation", np.array(ids, dtype=object)[c_cause])
    kind = np.where(c_demob, "discharged", np.array(kinds, dtype=object)[c_cause])
    ground = np.where(c_demob, "end_of_mobilisation", np.array(grounds, dtype=object)[c_cause])
    c_dates = _dates(c_day)
    desertion = (kind == "new_offence").astype(bool)
    charge = np.full(len(closing), None, dtype=object)
    if desertion.any():
        days = c_dates.filter(pl.Series(desertion)).to_list()
        charge[desertion] = [_desertion_code(law, d) for d in days]
    parts = [
        pl.DataFrame(
            {
                "_k": k,
                "event_id": pl.Series(["contract"] * n, dtype=pl.String),
                "date": _dates(flat["contract"]),
                "kind": pl.Series(["contract_signed"] * n, dtype=pl.String),
                "ground": pl.Series([None] * n, dtype=pl.String),
                "charge": pl.Series([None] * n, dtype=pl.String),
            }
        ),
        pl.DataFrame(
            {
                "_k": k[not_sentenced],
                "event_id": pl.Series(["petition"] * len(not_sentenced), dtype=pl.String),
                "date": _dates(flat["petition"][not_sentenced]),
                "kind": pl.Series(["command_petition"] * len(not_sentenced), dtype=pl.String),
                "ground": pl.Series([None] * len(not_sentenced), dtype=pl.String),
                "charge": pl.Series([None] * len(not_sentenced), dtype=pl.String),
            }
        ),
        pl.DataFrame(
            {
                "_k": k[closing],
                "event_id": pl.Series(event_id.tolist(), dtype=pl.String),
                "date": c_dates,
                "kind": pl.Series(kind.tolist(), dtype=pl.String),
                "ground": pl.Series(ground.tolist(), dtype=pl.String),
                "charge": pl.Series(charge.tolist(), dtype=pl.String),
            }
        ),
    ]
    events = pl.concat(parts).sort("_k", maintain_order=True)
    return events.with_columns(case_id=pl.col("_k").cast(pl.String), stage=pl.lit(None, pl.String)).select(
        "_k", *EVENT_SCHEMA
    )


def run(
    *,
    draws: int = 200,
    persons: int = 250,
    seed: int = 0,
    as_of: dt.date = DEFAULT_AS_OF,
    claims: dict[str, Claim] | None = None,
    law: Law | None = None,
    keep_cohort: bool = False,
    only: list[Scenario] | None = None,
) -> Result:
    """Every scenario: ``draws`` parameter draws × ``persons`` people per stage, decided by the rules path.

    Seeded with ``numpy.random.SeedSequence(seed)``, one child per scenario: the same seed gives byte-identical
    numbers, and a scenario's numbers do not depend on how many draws the others had. ``only``: other scenarios
    than the bundled ones (a test's, a reader's own); ``keep_cohort`` keeps the synthetic cases, events and
    decisions."""
    from warexempt.rules.engine import evaluate

    if draws < 1 or persons < 1:
        raise ScenarioDataError(f"draws={draws}, persons={persons}: expected at least 1 each")
    law = law or bundled_law()
    window = (first_day(law), WINDOW_END)
    if as_of <= window[1]:
        raise ScenarioDataError(f"as_of {as_of}: expected a date after the contract window ending {window[1]}")
    found = only if only is not None else scenarios(claims)
    children = np.random.SeedSequence(seed).spawn(len(found))
    all_cases, all_events, drawn = [], [], []
    offset = 0
    for scenario, child in zip(found, children, strict=True):
        cases, events, params = simulate(
            scenario, np.random.default_rng(child), draws=draws, persons=persons, as_of=as_of, window=window, law=law
        )
        all_cases.append(cases.with_columns(case_id=(pl.col("case_id").cast(pl.Int64) + offset).cast(pl.String)))
        all_events.append(
            events.with_columns(
                _k=pl.col("_k") + offset, case_id=(pl.col("case_id").cast(pl.Int64) + offset).cast(pl.String)
            )
        )
        drawn.append(params)
        offset += cases.height
    cases = pl.concat(all_cases)
    events = pl.concat(all_events)
    decisions = evaluate(cases.select(list(CASE_SCHEMA)), events, law, as_of)
    return _result(
        found, cases, events, decisions, pl.concat(drawn), seed, draws, persons, as_of, window, law, keep_cohort
    )


def _result(
    found: list[Scenario],
    cases: pl.DataFrame,
    events: pl.DataFrame,
    decisions: pl.DataFrame,
    drawn: pl.DataFrame,
    seed: int,
    draws: int,
    persons: int,
    as_of: dt.date,
    window: tuple[dt.date, dt.date],
    law: Law,
    keep: bool,
) -> Result:
    groups = pl.col("outcome").replace_strict(OUTCOME_GROUP, default="undecided")
    decided = pl.DataFrame(
        {
            "scenario": cases["scenario"],
            "stage": cases["stage"],
            "draw": cases["draw"],
            "outcome": decisions["outcome"],
            "deciding_event": decisions["deciding_event"],
            "rule": decisions["rule"],
            "reasons": decisions["reasons"].list.join(" "),
            "error": decisions["error"],
        }
    ).with_columns(group=pl.when(pl.col("error").is_null()).then(groups).otherwise(pl.lit("undecided")))
    grid = (
        pl.DataFrame({"scenario": [s.id for s in found]})
        .join(pl.DataFrame({"stage": list(STAGES)}), how="cross")
        .join(pl.DataFrame({"draw": np.arange(draws, dtype=np.int32)}), how="cross")
        .join(pl.DataFrame({"group": list(GROUPS)}), how="cross")
    )
    counts = decided.group_by("scenario", "stage", "draw", "group").len("cases")
    shares = (
        grid.join(counts, on=["scenario", "stage", "draw", "group"], how="left")
        .with_columns(pl.col("cases").fill_null(0).cast(pl.Int64))
        .with_columns(share=(pl.col("cases") / persons).round(9))
    )
    # the deciding event's id is the drawn cause ("award", "desertion", …); "contract"/"petition" decide an open cycle
    breakdown = (
        decided.with_columns(cause=pl.col("deciding_event").fill_null("-"))
        .group_by("scenario", "stage", "group", "cause", "outcome", "rule", "reasons")
        .len("cases")
        .sort("scenario", "stage", "group", "cause", "outcome", "rule", "reasons")
        .with_columns(pl.col("cases").cast(pl.Int64))
    )
    order = {s.id: i for i, s in enumerate(found)}
    stage_order = {s: i for i, s in enumerate(STAGES)}
    breakdown = breakdown.sort(
        pl.col("scenario").replace_strict(order),
        pl.col("stage").replace_strict(stage_order),
        "group",
        "cause",
        "reasons",
        maintain_order=True,
    )
    cohort = Cohort(cases, events, decisions) if keep else None
    return Result(found, seed, draws, persons, as_of, window, shares, breakdown, drawn, law.fingerprint, cohort)
