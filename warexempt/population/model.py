"""How many people each version of the law covers, at each stage, with the uncertainty carried through.

The public API (other modules — scenarios, report, plots, publish — build on it; keep it stable):

``estimate(day: datetime.date, draws: int = 10_000, seed: int = 0) -> Estimate``
    For ``day`` and for each version of the law (evaluated in its own window, on the population of ``day``): the
    people at each stage (pre-trial, trial, appeal, convicts) and how many of them the law covers, each as the
    median and the 50% and 90% intervals of ``draws`` seeded Monte Carlo draws.

``Estimate`` (plain data; ``Estimate.to_dict()`` / ``Estimate.to_json()`` give JSON that is byte-identical for the
same seed):
    ``day``, ``draws``, ``seed``, ``versions`` (a ``VersionEstimate`` per law version and one for ``day`` itself,
    id ``"as_of"``), each with ``stages`` (a ``StageEstimate`` per stage: ``people``, ``covered``,
    ``not_covered``, ``share_covered`` as ``Interval``; ``excluded_by`` the not-covered people by deciding
    provision; ``outcomes``: covered people by outcome), ``cells`` (every distinct (charge set, stage, date) the
    rules path decided, with its decision and its base weight), ``assumptions`` (every unknown with its range,
    distribution and sources: ``assumptions.Assumption``), ``data_hashes`` (SHA-256 of every bundled file),
    ``law_fingerprint`` and ``version``. ``Estimate.samples`` holds the draws themselves (numpy arrays keyed by
    ``(version_id, stage, measure)``) for plots and for the claim check; it is not part of the JSON.

Why cells: the law is applied only through ``warexempt.rules.engine.evaluate``. The population is a few thousand
distinct (charge set, stage, date) cells; they are decided ONCE, as one case frame with a contract and a command
petition a few days before the date (so each stage's route is reached), and the Monte Carlo draws only reweight
the cells. A draw never decides anything, so 10,000 draws take a fraction of a second and the answer of every
cell is the one ``warexempt check`` gives for the same case.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from warexempt._marks import N_
from warexempt.population import assumptions as asm
from warexempt.population.stats import EMPTY, Statistics, StatsError, bundled

Floats = npt.NDArray[np.float64]
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
AS_OF = "as_of"  # the id of the "version" that is the law in force on the chosen day itself
EVAL_AFTER = 14  # a version is evaluated this many days after it entered into force (its events on days 9 and 11)
CONTRACT_BEFORE, PETITION_BEFORE = 5, 3  # days before the evaluation day: the route's attempt is reached
# the groups whose later growth is a stated assumption (assumptions.security_growth_*): arts with a published
# total after 2020, and the terrorism articles without one
SECURITY_LATER = ("205", "275", "275.1", "276")
SECURITY_2020 = ("205.1", "205.2", "205.3", "205.4", "205.5")
ORDINARY, LATER, ONLY_2020 = 0, 1, 2
# the 2020 file's outcome columns whose sum is "every person whose case was decided" (assumptions.conviction_proxy)
DECIDED = (
    "totalConvicted",
    "acquittal",
    "coerciveMeasures",
    "dismissalAbsenceOfEvent",
    "dismissalAmnesty",
    "dismissalCourtFine",
    "dismissalOther",
    "dismissalReconciliation",
    "dismissalRepentance",
    "dismissalRepentance2",
)
UNMAPPED = "unmapped"  # the indicator of people whose 2020 part the Code data no longer has (or the ch. 33 total)


@dataclass(frozen=True)
class Interval:
    """A quantity over the draws: the median and the central 50% and 90% intervals (whole people)."""

    median: float
    p50: tuple[float, float]
    p90: tuple[float, float]

    @classmethod
    def of(cls, samples: Floats, digits: int = 0) -> Interval:
        q = np.quantile(samples, QUANTILES)
        r = [round(float(x), digits) if digits else float(round(float(x))) for x in q]
        return cls(r[2], (r[1], r[3]), (r[0], r[4]))

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "p50": list(self.p50), "p90": list(self.p90)}


@dataclass(frozen=True)
class Version:
    """A version of the law: an instrument whose start is a boundary of the law's dated tables, and the day it is
    evaluated on (``EVAL_AFTER`` days in, or the chosen day for ``AS_OF``)."""

    id: str
    start: dt.date
    day: dt.date


@dataclass(frozen=True)
class Cell:
    """A distinct (charge set, stage, date) decided once by the rules path; ``weight``: its share of its stage's
    people at the medians of the mix assumptions, the growth factors at 1 (pair cells: the share of all pairs whose
    main charge is ``charges[0]`` and whose additional charge is represented by ``charges[1]``)."""

    version: str
    day: dt.date
    stage: str
    charges: tuple[str, ...]
    eligible: bool
    outcome: str
    reasons: tuple[str, ...]
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "day": self.day.isoformat(),
            "stage": self.stage,
            "charges": list(self.charges),
            "eligible": self.eligible,
            "outcome": self.outcome,
            "reasons": list(self.reasons),
            "weight": round(self.weight, 9),
        }


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    people: Interval
    covered: Interval
    not_covered: Interval
    unmapped: Interval
    share_covered: Interval
    excluded_by: dict[str, Interval]  # not covered, by the deciding provision (the decision's first reason)
    outcomes: dict[str, Interval]  # covered, by outcome

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "people": self.people.to_dict(),
            "covered": self.covered.to_dict(),
            "not_covered": self.not_covered.to_dict(),
            "unmapped": self.unmapped.to_dict(),
            "share_covered": self.share_covered.to_dict(),
            "excluded_by": {k: v.to_dict() for k, v in self.excluded_by.items()},
            "outcomes": {k: v.to_dict() for k, v in self.outcomes.items()},
        }


@dataclass(frozen=True)
class VersionEstimate:
    version: Version
    stages: list[StageEstimate]
    covered: Interval  # every stage together

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.version.id,
            "in_force": self.version.start.isoformat(),
            "evaluated_on": self.version.day.isoformat(),
            "covered": self.covered.to_dict(),
            "stages": [s.to_dict() for s in self.stages],
        }


@dataclass
class Estimate:
    """The answer of ``estimate``: plain data, and the draws in ``samples`` (not part of the JSON)."""

    day: dt.date
    draws: int
    seed: int
    versions: list[VersionEstimate]
    cells: list[Cell]
    assumptions: list[asm.Assumption]
    data_hashes: dict[str, str]
    law_fingerprint: str
    version: str
    inputs: dict[str, Any]  # the published figures the stage sizes rest on, with their sources
    samples: dict[tuple[str, str, str], Floats] = field(default_factory=dict, repr=False)

    def stage(self, version_id: str, stage: str) -> StageEstimate:
        v = next(v for v in self.versions if v.version.id == version_id)
        return next(s for s in v.stages if s.stage == stage)

    def to_dict(self, lang: str = "en", cells: bool = False) -> dict[str, Any]:
        """JSON-ready; ``cells=True`` adds every decided cell (several thousand)."""
        out: dict[str, Any] = {
            "day": self.day.isoformat(),
            "draws": self.draws,
            "seed": self.seed,
            "version": self.version,
            "law_fingerprint": self.law_fingerprint,
            "data_hashes": dict(sorted(self.data_hashes.items())),
            "inputs": self.inputs,
            "assumptions": [a.view(lang) for a in self.assumptions],
            "versions": [v.to_dict() for v in self.versions],
            "cell_count": len(self.cells),
        }
        if cells:
            out["cells"] = [c.to_dict() for c in self.cells]
        return out

    def to_json(self, lang: str = "en", cells: bool = False) -> str:
        """Byte-identical for the same day, draws, seed, data and law."""
        return json.dumps(self.to_dict(lang, cells), ensure_ascii=False, indent=2, sort_keys=False)


# ----------------------------------------------------------------------------------------------- the public API
def estimate(day: dt.date, draws: int = 10_000, seed: int = 0) -> Estimate:
    """How many people each version of the law covers at each stage, on the population of ``day``.

    The cells are decided once through the rules path (``Model.of``); each of ``draws`` seeded draws of the
    assumptions reweights them. Raises ``StatsError`` if the bundled statistics fail their checks, ``ValueError``
    for a non-positive ``draws``."""
    if draws < 1:
        raise ValueError(f"draws: {draws} is not a positive number of draws")
    model = Model.of(day)
    values = asm.draws(seed, draws)
    samples = model.run(values)
    samples.update({("assumption", k, "value"): v for k, v in values.items()})  # for the claim check and plots
    return model.summarise(samples, draws, seed)


# ----------------------------------------------------------------------------------------------- the model
Key = tuple[str, str, str]  # (version id, stage, measure)


@dataclass
class _Mains:
    """The main charges (one per 2020 article part): their codes for the engine (None: unmapped), their group and
    their base weights — ``a`` convictions, ``b`` every decided person, ``c`` the convicts' stock — and ``q``, the
    weight of each as an additional charge."""

    data_codes: list[str]
    codes: list[str | None]
    group: npt.NDArray[np.int64]
    a: Floats
    b: Floats
    c: Floats
    q: Floats
    later_year: dict[str, int]  # article → the year of the later total used


@dataclass
class Model:
    """The decided cells of one day and the linear maps from the assumptions to every measure."""

    day: dt.date
    versions: list[Version]
    stages: list[str]
    cells: list[Cell]
    # (version, stage) → measure → [group, basis (0 first, 1 second), single|pair] sums
    tensors: dict[tuple[str, str], dict[str, Floats]]
    norms: dict[str, Floats]  # stage → [group, basis]
    inputs: dict[str, Any]
    stats: Statistics
    fingerprint: str

    @staticmethod
    def of(day: dt.date) -> Model:
        """The model of ``day`` (built once a process per day: the cells' decisions do not depend on the draws)."""
        return _model(day)

    # -------------------------------------------------------------------------------------------- stage sizes
    def people(self, p: dict[str, Floats]) -> dict[str, Floats]:
        flow = self.inputs["persons_heard_per_year"]["value"]
        convicted = self.inputs["convicted_per_year"]["value"]
        convicts = self.inputs["convicts_in_detention"]["value"]
        return {
            "pre_trial": flow * p["pretrial_months"] / 12.0,
            "trial": flow * p["trial_months"] / 12.0,
            "appeal": convicted * p["appeal_months"] / 12.0,
            "sentenced": convicts * p["convict_stock_change"],
        }

    def growth(self, p: dict[str, Floats]) -> Floats:
        """[draw, group] multipliers of the groups' weights (assumptions.security_growth_*)."""
        n = len(p["conviction_proxy"])
        g = np.ones((n, 3))
        # after the year of the last per-article figure (the stage-size year), and since 2022 for the rest
        recent = (
            p["security_growth_recent"]
            if self.day.year > int(self.inputs["convicted_per_year"]["period"])
            else np.ones(n)
        )
        since_2022 = p["security_growth_2020"] if self.day.year > 2022 else np.ones(n)
        g[:, LATER] = recent
        g[:, ONLY_2020] = since_2022 * recent
        return g

    def run(self, p: dict[str, Floats]) -> dict[Key, Floats]:
        """Every measure for every draw of the assumptions ``p`` (arrays of one length): vectorised, no decision."""
        lam, multi = p["conviction_proxy"], p["multi_charge_share"]
        g = self.growth(p)
        mix = np.stack([1.0 - lam, lam], axis=1)  # [draw, basis]
        part = np.stack([1.0 - multi, multi], axis=1)  # [draw, single|pair]
        sizes = self.people(p)
        out: dict[Key, Floats] = {}
        for (vid, stage), measures in self.tensors.items():
            den = np.einsum("ng,nb,gb->n", g, mix, self.norms[stage])
            scale = sizes[stage] / np.where(den > 0, den, 1.0)
            out[(vid, stage, "people")] = sizes[stage]
            for name, t in measures.items():
                out[(vid, stage, name)] = scale * np.einsum("ng,nb,nk,gbk->n", g, mix, part, t)
            people = np.where(sizes[stage] > 0, sizes[stage], 1.0)
            out[(vid, stage, "share_covered")] = out[(vid, stage, "covered")] / people
        for v in self.versions:
            out[(v.id, "all", "covered")] = sum(out[(v.id, s, "covered")] for s in self.stages)  # type: ignore[assignment]
        return out

    def summarise(self, samples: dict[Key, Floats], draws: int, seed: int) -> Estimate:
        from warexempt import __version__

        result = []
        for v in self.versions:
            stages = []
            for s in self.stages:
                names = self.tensors[(v.id, s)]

                def iv(measure: str, _v: str = v.id, _s: str = s) -> Interval:
                    return Interval.of(samples[(_v, _s, measure)])

                stages.append(
                    StageEstimate(
                        s,
                        iv("people"),
                        iv("covered"),
                        iv("not_covered"),
                        iv(UNMAPPED),
                        Interval.of(samples[(v.id, s, "share_covered")], 4),
                        {k.split(":", 1)[1]: iv(k) for k in sorted(names) if k.startswith("excluded:")},
                        {k.split(":", 1)[1]: iv(k) for k in sorted(names) if k.startswith("outcome:")},
                    )
                )
            result.append(VersionEstimate(v, stages, Interval.of(samples[(v.id, "all", "covered")])))
        return Estimate(
            self.day,
            draws,
            seed,
            result,
            self.cells,
            list(asm.ASSUMPTIONS),
            dict(self.stats.hashes),
            self.fingerprint,
            __version__,
            self.inputs,
            samples,
        )


def law_versions(day: dt.date) -> list[Version]:
    """Each version of the law (an instrument in force from a boundary of the law's dated tables), evaluated
    ``EVAL_AFTER`` days in (before the next one starts), and the law in force on ``day`` (``AS_OF``)."""
    from warexempt.law.catalog import bundled_law

    law = bundled_law()
    windows = [r.window for r in law.routes] + [v.window for v in law.lists + law.cited]
    acting = {id(w.instrument) for w in windows}  # an instrument with a route or a list: it changes who is covered
    dated = [(s, i.id) for s, _e, i in law.timeline() if i.in_force.from_ is not None and id(i) in acting]
    out = []
    for k, (start, vid) in enumerate(dated):
        on = start + dt.timedelta(days=EVAL_AFTER)
        if k + 1 < len(dated) and on >= dated[k + 1][0]:
            on = dated[k + 1][0] - dt.timedelta(days=1)
        out.append(Version(vid, start, on))
    out.append(Version(AS_OF, day, day))
    return out


def _figure(stats: Statistics, measure: str, period: str) -> dict[str, Any]:
    f = stats.flow(measure, period)
    if f.value is None:
        raise StatsError("court_flows.csv", EMPTY, measure=repr(measure), period=repr(period), note=f.note)
    return {"measure": measure, "period": period, "value": f.value, "unit": f.unit, "source_id": f.source_id}


def _latest(stats: Statistics, measure: str, before: int) -> str:
    """The latest year (a plain year) before ``before`` with a figure of ``measure``; else the earliest."""
    years = sorted(int(f.period) for f in stats.figures if f.measure == measure and f.period.isdigit())
    if not years:
        raise StatsError("court_flows.csv", N_("no yearly figure of {measure}"), measure=repr(measure))
    earlier = [y for y in years if y < before]
    return str(earlier[-1] if earlier else years[0])


def _inputs(stats: Statistics, day: dt.date) -> dict[str, Any]:
    """The published figures the stage sizes rest on (court_flows.csv), with their sources."""
    record = "convicted_total_criminal_record_stats"
    return {
        "persons_heard_per_year": _figure(stats, "persons_in_criminal_cases_heard_by_courts", "2023"),
        "convicted_per_year": _figure(stats, record, _latest(stats, record, day.year)),
        "convicted_2020": _figure(stats, record, "2020"),
        "convicts_in_detention": _figure(stats, "convicts_in_places_of_detention", "2026-03-01"),
    }


def _mains(stats: Statistics, day: dt.date, inputs: dict[str, Any]) -> _Mains:
    from warexempt.law.catalog import bundled_law
    from warexempt.rules.charges import book

    law = bundled_law()
    charges = book(law)
    ratio = inputs["convicted_per_year"]["value"] / inputs["convicted_2020"]["value"]
    year = int(inputs["convicted_per_year"]["period"])
    rows = list(stats.parts)
    arts = [p.code.split(":")[0] for p in rows]
    # a later published total of an article (a year ≤ the stage-size year) replaces its scaled 2020 count
    later: dict[str, tuple[int, float]] = {}
    for (y, art), fig in sorted(stats.article_totals.items()):
        if y <= year and fig.value is not None:
            later[art] = (y, fig.value)
    for art in sorted(later):  # an article with a later total but no 2020 row (275.1): one row of its own
        if art not in arts:
            rows.append(type(rows[0])(art, art, "", {k: 0.0 for k in rows[0].values}))
            arts.append(art)
    a = np.array([p.values["totalConvicted"] for p in rows])
    b = np.array([sum(p.values[c] for c in DECIDED) for p in rows])
    c = np.array([sum(p.values[k] * yrs for k, yrs in asm.TERM_YEARS.items()) for p in rows])
    factor = np.full(len(rows), ratio)
    for art, (_y, total) in later.items():
        at = np.array([x == art for x in arts])
        base = a[at].sum()
        if base > 0:
            factor[at] = total / base
        else:  # no 2020 count: the later total on the article's own row, its decided and stock weights alike
            a[at], b[at] = 1.0, 1.0
            c[at] = np.mean([c[i] / a[i] for i, x in enumerate(arts) if x in SECURITY_LATER and a[i] > 0])
            factor[at] = total
    codes = [_engine_code(p.code, law, charges) for p in rows]
    group = np.array(
        [LATER if x in SECURITY_LATER else ONLY_2020 if x in SECURITY_2020 else ORDINARY for x in arts],
        dtype=np.int64,
    )
    q = np.array([p.values["addTotalPersons"] if code else 0.0 for p, code in zip(rows, codes, strict=True)])
    return _Mains(
        [p.code for p in rows],
        codes,
        group,
        a * factor,
        b * factor,
        c * factor,
        q,
        {k: y for k, (y, _) in later.items()},
    )


def _engine_code(code: str, law: Any, charges: Any) -> str | None:
    """The 2020 part as a code the rules path reads: as it is, or the article alone where today's Code has no
    numbered parts for it; None (unmapped) for a part today's Code does not have, a repealed article or the ch. 33
    aggregate — those people are counted as ``unmapped``, never decided by a guess."""
    if not code[0].isdigit() or "-" in code:
        return None
    if charges.charge_set(code).error is None:
        return code
    article = law.criminal_code.articles.get(code.split(":")[0])
    if article is not None and not article.repealed and not article.has_parts:
        alone = code.split(":")[0]
        return alone if charges.charge_set(alone).error is None else None
    return None


# ----------------------------------------------------------------------------------------------- the cells
def _decide(rows: Sequence[tuple[str, str, tuple[str, ...], dt.date]]) -> list[tuple[bool, str, tuple[str, ...]]]:
    """Decide cells ``(version, stage, charges, day)`` through the rules path, once each: one case frame, with a
    contract signed ``CONTRACT_BEFORE`` and a command petition ``PETITION_BEFORE`` days before the day (so the
    route's attempt — a petition, or a convict's entry into service — is reached)."""
    import polars as pl

    from warexempt.law.catalog import bundled_law
    from warexempt.rules.engine import evaluate
    from warexempt.rules.frames import CASE_SCHEMA, EVENT_SCHEMA

    n = len(rows)
    epoch = dt.date(1970, 1, 1)
    day_no = np.array([(r[3] - epoch).days for r in rows], dtype=np.int32)
    ids = pl.Series("case_id", np.arange(n)).cast(pl.String)

    def dates(before: int) -> pl.Series:
        return pl.Series(day_no - before).cast(pl.Date)

    # built from columns, not lists of Python objects: a frame of a few hundred thousand cells in a tenth of a second
    cases = pl.DataFrame(
        {
            "case_id": ids,
            "charges": pl.Series([";".join(r[2]) for r in rows]).str.split(";"),
            "stage": pl.Series([r[1] for r in rows]),
            "offence_date": pl.Series([None] * n, dtype=pl.Date),
            "as_of": dates(0),
        }
    ).cast(CASE_SCHEMA)  # type: ignore[arg-type]
    events = pl.DataFrame(
        {
            "case_id": pl.concat([ids, ids]),
            "event_id": pl.Series(["e1"] * n + ["e2"] * n),
            "date": pl.concat([dates(CONTRACT_BEFORE), dates(PETITION_BEFORE)]),
            "kind": pl.Series(["contract_signed"] * n + ["command_petition"] * n),
            "ground": pl.Series([None] * (2 * n), dtype=pl.String),
            "stage": pl.Series([None] * (2 * n), dtype=pl.String),
            "charge": pl.Series([None] * (2 * n), dtype=pl.String),
        }
    ).cast(EVENT_SCHEMA)  # type: ignore[arg-type]
    out = evaluate(cases, events, bundled_law())
    bad = out.filter(pl.col("error").is_not_null())
    if bad.height:
        raise RuntimeError(f"the rules path refused a synthetic cell: {bad.row(0, named=True)}")
    return [
        (bool(e), str(o), tuple(r))
        for e, o, r in zip(out["eligible"].to_list(), out["outcome"].to_list(), out["reasons"].to_list(), strict=True)
    ]


STAGE_BASES = {"pre_trial": (1, 2), "trial": (1, 2), "appeal": (1, 1), "sentenced": (3, 3)}  # a, b, c of _Mains


def _basis(m: _Mains, k: int) -> Floats:
    return {1: m.a, 2: m.b, 3: m.c}[k]


def _measure(eligible: bool, outcome: str, reasons: tuple[str, ...]) -> tuple[str, str]:
    """The two measures a decided cell counts in: covered by outcome, or not covered by deciding provision."""
    if eligible:
        return "covered", f"outcome:{outcome}"
    return "not_covered", f"excluded:{reasons[0] if reasons else 'none'}"


@dataclass
class _Pairs:
    """Main charge × class of additional charge: the representative's index (-1: the class holds only the main
    charge itself, and the pair counts as the main charge alone) and each class's weight."""

    other: npt.NDArray[np.int64]  # [main, class]
    weight: Floats  # [class]
    names: list[str]  # each class's representative code


def _pairs(m: _Mains, valid: list[int], covered: dict[int, tuple[bool, ...]]) -> _Pairs:
    """An additional charge stands for its class: the charges covered alone at the same versions and stages,
    represented by the one most often additional (the class's weight: its share of additional qualifications) — a
    stated approximation that keeps the pairs to a few per main charge; each pair is still decided by the rules."""
    classes: dict[tuple[bool, ...], list[int]] = {}
    for i in valid:
        if m.q[i] > 0:
            classes.setdefault(covered[i], []).append(i)
    members = [sorted(ix, key=lambda i: (-m.q[i], str(m.codes[i]))) for ix in classes.values()]
    members.sort(key=lambda ix: str(m.codes[ix[0]]))
    weight = np.array([sum(m.q[i] for i in ix) for ix in members])
    other = np.full((len(m.codes), len(members)), -1, dtype=np.int64)
    for k, ix in enumerate(members):
        other[:, k] = ix[0]
        other[ix[0], k] = ix[1] if len(ix) > 1 else -1
    return _Pairs(other, weight / weight.sum(), [str(m.codes[ix[0]]) for ix in members])


@lru_cache(maxsize=8)
def _model(day: dt.date) -> Model:
    from warexempt.law.catalog import bundled_law

    law = bundled_law()
    stats = bundled()
    stages = list(law.vocabulary.ids("stages"))
    versions = law_versions(day)
    inputs = _inputs(stats, day)
    m = _mains(stats, day, inputs)
    n_main = len(m.codes)
    valid = [i for i, c in enumerate(m.codes) if c is not None]
    used = [i for i in valid if m.a[i] + m.b[i] + m.c[i] > 0]
    grid = [(v, s) for v in versions for s in stages]

    # singles: every mapped main charge at every version and stage, decided once
    single_rows = [(v.id, s, (str(m.codes[i]),), v.day) for v, s in grid for i in valid]
    single_d = _decide(single_rows)
    single = {(g, i): single_d[g * len(valid) + n] for g in range(len(grid)) for n, i in enumerate(valid)}
    covered = {i: tuple(single[(g, i)][0] for g in range(len(grid))) for i in valid}
    pairs = _pairs(m, valid, covered)

    # pairs: every used main charge with each class's representative, decided once
    keys = [
        (g, i, k) for g in range(len(grid)) for i in used for k in range(len(pairs.weight)) if pairs.other[i, k] >= 0
    ]
    pair_rows = [
        (grid[g][0].id, grid[g][1], (str(m.codes[i]), str(m.codes[pairs.other[i, k]])), grid[g][0].day)
        for g, i, k in keys
    ]
    pair = dict(zip(keys, _decide(pair_rows), strict=True))

    # indicators: [grid cell, measure, main, single|pair] — what share of each main charge's people each measure holds
    names: dict[str, int] = {"covered": 0, "not_covered": 1, UNMAPPED: 2}
    idx: list[tuple[int, int, int, int, float]] = []  # grid, measure, main, slot, weight
    for g in range(len(grid)):
        for i in range(n_main):
            if m.codes[i] is None:
                idx += [(g, 2, i, 0, 1.0), (g, 2, i, 1, 1.0)]
                continue
            for name in _measure(*single[(g, i)]):
                idx.append((g, names.setdefault(name, len(names)), i, 0, 1.0))
            for k, w in enumerate(pairs.weight):
                d = pair.get((g, i, k), single[(g, i)])
                for name in _measure(*d):
                    idx.append((g, names.setdefault(name, len(names)), i, 1, float(w)))
    cols = np.array([t[:4] for t in idx], dtype=np.int64).T
    ind = np.zeros((len(grid), len(names), n_main, 2))
    np.add.at(ind, tuple(cols), np.array([t[4] for t in idx]))

    onehot = np.zeros((n_main, 3))
    onehot[np.arange(n_main), m.group] = 1.0
    tensors: dict[tuple[str, str], dict[str, Floats]] = {}
    norms: dict[str, Floats] = {}
    order = sorted(names, key=lambda n: names[n])
    for s in stages:
        bases = np.stack([_basis(m, k) for k in STAGE_BASES[s]])  # [basis, main]
        norms[s] = np.einsum("bi,ig->gb", bases, onehot)
        for g, (v, st) in enumerate(grid):
            if st == s:
                t = np.einsum("bi,ig,mik->mgbk", bases, onehot, ind[g])
                tensors[(v.id, s)] = {
                    name: t[names[name]] for name in order if name in (order[:3]) or t[names[name]].any()
                }
    cells = _cells(m, grid, single, pair, pairs, used)
    inputs["later_article_totals"] = dict(sorted(m.later_year.items()))
    inputs["classes_of_additional_charges"] = pairs.names
    return Model(day, versions, stages, cells, tensors, norms, inputs, stats, law.fingerprint)


def _cells(
    m: _Mains,
    grid: list[tuple[Version, str]],
    single: dict[tuple[int, int], tuple[bool, str, tuple[str, ...]]],
    pair: dict[tuple[int, int, int], tuple[bool, str, tuple[str, ...]]],
    pairs: _Pairs,
    used: list[int],
) -> list[Cell]:
    """Every decided cell with its share of its stage's people at the assumptions' medians."""
    out = []
    share: dict[str, Floats] = {}
    for s in {st for _, st in grid}:
        a, b = (_basis(m, k) for k in STAGE_BASES[s])
        w = 0.5 * a + 0.5 * b
        share[s] = w / (w.sum() or 1.0)
    multi = asm.BY_ID["multi_charge_share"].median
    for g, (v, s) in enumerate(grid):
        for i in used:
            e, o, r = single[(g, i)]
            out.append(Cell(v.id, v.day, s, (str(m.codes[i]),), e, o, r, float(share[s][i] * (1 - multi))))
            for k, w in enumerate(pairs.weight):
                found = pair.get((g, i, k))
                if found is not None:
                    j = int(pairs.other[i, k])
                    codes = (str(m.codes[i]), str(m.codes[j]))
                    out.append(Cell(v.id, v.day, s, codes, *found, float(share[s][i] * multi * w)))
    return out
