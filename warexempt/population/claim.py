"""The claim check: what "40% of 60,000 defendants" (claims C01-C05) means, and whether the law's pool holds it.

Why several readings: the source (an anonymous Defence Ministry official quoted by IStories, 1 October 2024) does not
say what "about 60,000 defendants" counts. Each plausible reading — the people on trial on a day, the people held in
SIZO, the people whose cases courts hear in a year, or the 60,000 as stated — gives a different base, a different
eligible pool (the people the law covers, through the rules path, who are fit for service) and so a different
uptake the claim implies. The check states each plainly, with intervals, beside what was observed afterwards (court
suspensions, terminations), and never says more than the figures do.

``claim_check(day=None, draws=10_000, seed=0) -> ClaimCheck`` (plain data; ``to_dict(lang)``, ``to_json(lang)``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from warexempt._marks import N_
from warexempt.population import model as mdl
from warexempt.population.model import Estimate, Floats, Interval
from warexempt.population.stats import Statistics, bundled

SUSPENSIONS = "cases_suspended_other_than_wanted_or_illness"
TERMINATIONS = "terminations_contract_court_rulings"
PRE_TRIAL_STAGES = ("pre_trial", "trial", "appeal")  # those held in SIZO who are not yet convicts

READINGS = {
    "claim_base": (
        N_("the 60,000 as stated: a stock of defendants on trial (C01)"),
        N_("The 60,000 defendants as stated"),
    ),
    "trial_stock": (
        N_("the estimated stock of defendants on trial on the day (the model)"),
        N_("Defendants on trial on the day (estimated)"),
    ),
    "sizo": (
        N_("the people held in SIZO who are not yet convicts (C04: 106,000 at the start of 2024)"),
        N_("Held in SIZO, not yet convicted"),
    ),
    "annual_flow": (
        N_("an annual flow: the persons whose cases courts heard in 2023 (C05: 769,000), per year"),
        N_("Persons whose cases courts heard in a year"),
    ),
}
STATEMENT = N_(
    "Read as {reading}: 24,000 is {share} of a base of {base}; the law covers and service could take "
    "{pool} of them (90% interval {pool_lo}–{pool_hi}); the chance that this pool reaches 24,000 is {chance}; "
    "the claim implies that {uptake} of the pool sign (90% interval {uptake_lo}–{uptake_hi})."
)
OBSERVED = N_(
    "Observed: courts suspended {h1} cases in the first half of 2025 on grounds other than a wanted or seriously "
    "ill defendant, against {base} in the whole of 2019 (a proxy for suspensions for service, cases not persons, "
    "court stage only); at least {terminated} court rulings in 2025 terminated such cases."
)
COMPARE = N_(
    "With the assumed uptake ({assumed}), {signers} of the defendants on trial on one day would sign (90% interval "
    "{lo}–{hi}): the claim's 24,000 is {ratio} times that."
)
CONCLUSION = N_(
    "In plain words: the law in force on {day} covers {covered} of the people on trial (90% interval "
    "{covered_lo}–{covered_hi}). Under {reaching} of the {readings} readings of “60,000 defendants” the pool of "
    "covered people fit for service reaches 24,000 with a chance of 90% or more. Taking 24,000 from the stock on one "
    "day would need {uptake_min}–{uptake_max} of the pool to sign, depending on the reading, against an assumed "
    "uptake of {assumed} (C23, unconfirmed); from a year's flow it would need {flow_uptake}. Court suspensions in "
    "the first half of 2025 ({h1}) show numbers of this size reached as a flow over months, not as a stock on one day."
)


@dataclass(frozen=True)
class Reading:
    """One reading of "60,000 defendants": its base, the eligible pool, and what 24,000 means against them."""

    id: str
    base: Interval
    share_of_base: Interval
    pool: Interval
    chance_pool_reaches_target: float
    implied_uptake: Interval
    expected_signers: Interval  # the pool times the uptake assumption
    per_year: bool

    def to_dict(self, lang: str) -> dict[str, Any]:
        from warexempt.explain.i18n import gettext

        return {
            "id": self.id,
            "definition": gettext(lang, READINGS[self.id][0]),
            "label": gettext(lang, READINGS[self.id][1]),
            "per_year": self.per_year,
            "base": self.base.to_dict(),
            "target_share_of_base": self.share_of_base.to_dict(),
            "eligible_pool": self.pool.to_dict(),
            "chance_pool_reaches_target": self.chance_pool_reaches_target,
            "implied_uptake": self.implied_uptake.to_dict(),
            "expected_signers": self.expected_signers.to_dict(),
            "statement": _statement(self, lang),
        }


@dataclass
class ClaimCheck:
    day: dt.date
    version: str  # the law applied: the version in force on ``day``
    target: float  # 24,000 (C02)
    claimed_base: float  # 60,000 (C01)
    lawyers_guess: float  # 20,000 (C03)
    readings: list[Reading]
    observed: dict[str, dict[str, Any]]
    estimate: Estimate

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        from warexempt.explain.i18n import gettext

        return {
            "day": self.day.isoformat(),
            "law_version": self.version,
            "law_fingerprint": self.estimate.law_fingerprint,
            "seed": self.estimate.seed,
            "draws": self.estimate.draws,
            "data_hashes": dict(sorted(self.estimate.data_hashes.items())),
            "claim": {
                "claimed_base": self.claimed_base,
                "share": round(self.target / self.claimed_base, 4),
                "target": self.target,
                "lawyers_guess": self.lawyers_guess,
                "sources": ["C01", "C02", "C03"],
            },
            "readings": [r.to_dict(lang) for r in self.readings],
            "observed": self.observed,
            "observed_statement": gettext(lang, OBSERVED, **self._observed_values(lang)),
            "comparison_statement": self.comparison(lang),
            "conclusion": self.conclusion(lang),
            "assumptions": [a.view(lang) for a in self.estimate.assumptions if a.id in USED],
        }

    def to_json(self, lang: str = "en") -> str:
        return json.dumps(self.to_dict(lang), ensure_ascii=False, indent=2)

    def _observed_values(self, lang: str) -> dict[str, str]:
        o = self.observed
        return {
            "h1": _int(o["suspensions_2025H1"]["value"], lang),
            "base": _int(o["suspensions_2019"]["value"], lang),
            "terminated": _int(o["terminations_2025"]["value"], lang),
        }

    def comparison(self, lang: str = "en") -> str:
        """The claim against the model's own expectation: the stock on trial times the assumed uptake."""
        from warexempt.explain.i18n import gettext

        stock = next(r for r in self.readings if r.id == "trial_stock")
        signers = stock.expected_signers
        assumed = next(a for a in self.estimate.assumptions if a.id == "uptake").median
        ratio = f"{self.target / signers.median:.1f}" if signers.median > 0 else "∞"
        return gettext(
            lang,
            COMPARE,
            assumed=_pct(assumed, lang),
            signers=_int(signers.median, lang),
            lo=_int(signers.p90[0], lang),
            hi=_int(signers.p90[1], lang),
            ratio=ratio.replace(".", ",") if lang == "ru" else ratio,
        )

    def conclusion(self, lang: str = "en") -> str:
        from warexempt.explain.i18n import date, gettext

        trial = self.estimate.stage(mdl.AS_OF, "trial")
        stocks = [r for r in self.readings if not r.per_year]
        flow = next(r for r in self.readings if r.per_year)
        uptakes = [r.implied_uptake.median for r in stocks]
        assumed = next(a for a in self.estimate.assumptions if a.id == "uptake").median
        return gettext(
            lang,
            CONCLUSION,
            day=date(self.day, lang),
            covered=_pct(trial.share_covered.median, lang),
            covered_lo=_pct(trial.share_covered.p90[0], lang),
            covered_hi=_pct(trial.share_covered.p90[1], lang),
            reaching=str(sum(r.chance_pool_reaches_target >= 0.9 for r in self.readings)),
            readings=str(len(self.readings)),
            uptake_min=_pct(min(uptakes), lang),
            uptake_max=_pct(max(uptakes), lang),
            assumed=_pct(assumed, lang),
            flow_uptake=_pct(flow.implied_uptake.median, lang),
            h1=_int(self.observed["suspensions_2025H1"]["value"], lang),
        )


USED = ("trial_months", "pretrial_months", "appeal_months", "sizo_unconvicted_share", "fit_share", "uptake")


def _int(x: float, lang: str) -> str:
    text = f"{round(x):,}"
    return text.replace(",", "\u00a0") if lang == "ru" else text


def _pct(x: float, lang: str) -> str:
    text = f"{100 * x:.0f}%" if x < 10 else ">1000%"
    return text.replace(".", ",") if lang == "ru" else text


def _statement(r: Reading, lang: str) -> str:
    from warexempt.explain.i18n import gettext

    return gettext(
        lang,
        STATEMENT,
        reading=gettext(lang, READINGS[r.id][0]),
        share=_pct(r.share_of_base.median, lang),
        base=_int(r.base.median, lang),
        pool=_int(r.pool.median, lang),
        pool_lo=_int(r.pool.p90[0], lang),
        pool_hi=_int(r.pool.p90[1], lang),
        chance=_pct(r.chance_pool_reaches_target, lang),
        uptake=_pct(r.implied_uptake.median, lang),
        uptake_lo=_pct(r.implied_uptake.p90[0], lang),
        uptake_hi=_pct(r.implied_uptake.p90[1], lang),
    )


def claim_day() -> dt.date:
    """The default day: two weeks after the trial-stage route (340-FZ, the law the claim anticipated) entered into
    force, so the check applies the law as enacted."""
    from warexempt.law.catalog import bundled_law

    starts = [r.window.start for r in bundled_law().routes if r.route.stage == "trial"]
    return min(starts) + dt.timedelta(days=mdl.EVAL_AFTER)


def _flow(stats: Statistics, measure: str, period: str) -> dict[str, Any]:
    f = stats.flow(measure, period)
    return {"value": stats.value(measure, period), "unit": f.unit, "source_id": f.source_id, "note": f.note}


def _reading(
    rid: str, base: Floats, share: Floats, fit: Floats, uptake: Floats, target: float, per_year: bool
) -> Reading:
    pool = base * share * fit
    safe = np.where(pool > 0, pool, np.nan)
    implied = np.nan_to_num(target / safe, nan=np.inf, posinf=np.inf)
    return Reading(
        rid,
        Interval.of(base),
        Interval.of(target / base, 4),
        Interval.of(pool),
        round(float(np.mean(pool >= target)), 4),
        Interval.of(np.minimum(implied, 1e6), 4),
        Interval.of(pool * uptake),
        per_year,
    )


def claim_check(day: dt.date | None = None, draws: int = 10_000, seed: int = 0) -> ClaimCheck:
    """The claim check on ``day`` (default ``claim_day()``), from ``draws`` seeded draws (same seed, same JSON)."""
    stats = bundled()
    on = day or claim_day()
    est = mdl.estimate(on, draws, seed)
    c01, c02, c03, c04, c05 = (stats.claim(f"C0{i}") for i in range(1, 6))
    claimed, target = float(c01.value or 0), float(c02.value or 0)
    lawyers = float(c03.value or 0)
    s = est.samples
    a = {k[1]: v for k, v in s.items() if k[0] == "assumption"}
    fit, uptake = a["fit_share"], a["uptake"]
    v = mdl.AS_OF
    trial_share = s[(v, "trial", "share_covered")]
    held = sum(s[(v, st, "people")] for st in PRE_TRIAL_STAGES)
    covered = sum(s[(v, st, "covered")] for st in PRE_TRIAL_STAGES)
    held_share = covered / np.where(held > 0, held, 1.0)
    n = len(fit)
    readings = [
        _reading("claim_base", np.full(n, claimed), trial_share, fit, uptake, target, False),
        _reading("trial_stock", s[(v, "trial", "people")], trial_share, fit, uptake, target, False),
        _reading("sizo", float(c04.value or 0) * a["sizo_unconvicted_share"], held_share, fit, uptake, target, False),
        _reading("annual_flow", np.full(n, float(c05.value or 0)), trial_share, fit, uptake, target, True),
    ]
    observed = {
        "suspensions_2019": _flow(stats, SUSPENSIONS, "2019"),
        "suspensions_2025H1": _flow(stats, SUSPENSIONS, "2025H1"),
        "terminations_2025": _flow(stats, TERMINATIONS, "2025"),
    }
    return ClaimCheck(on, v, target, claimed, lawyers, readings, observed, est)
