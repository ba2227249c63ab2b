"""Which assumptions move the estimate: Morris screening, Sobol indices (SALib) and the data of a tornado chart.

Why three: Morris (elementary effects, a few hundred runs) screens out the assumptions that do not matter; Sobol's
first-order and total indices say how much of the variance each one carries, alone and with the others; the
tornado shows the swing of the answer between each assumption's 5% and 95% values, the others at their medians,
in people — the picture a reader grasps. All three run the model of ``model.Model`` (the cells decided once by
the rules path; a run only reweights them), with each assumption sampled in its quantile space (0.5%-99.5%) and
mapped through its distribution. Sample sizes are powers of two, as Sobol sequences need.

``sensitivity(day, output="covered", morris_n=2**6, sobol_n=2**10, seed=0) -> Sensitivity`` (plain data).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from warexempt._marks import N_
from warexempt.population import assumptions as asm
from warexempt.population.model import AS_OF, Floats, Model

EDGE = 0.005  # the quantile range sampled: the tails of a Beta beyond it are not a range anyone stated
OUTPUTS: dict[str, str] = {
    "covered": N_("People the law in force on the day covers, every stage"),
    "trial_pool": N_("Defendants on trial the law covers who are fit for service"),
    "signers": N_("Covered defendants on trial who would sign (pool times uptake)"),
}


def _power_of_two(name: str, n: int) -> None:
    if n < 2 or n & (n - 1):
        raise ValueError(f"{name}: {n} is not a power of two (expected 2, 4, 8, … e.g. 1024)")


def output_function(model: Model, output: str) -> Callable[[dict[str, Floats]], Floats]:
    """The quantity studied, for arrays of assumption values."""
    if output not in OUTPUTS:
        raise ValueError(f"output: {output!r} is not one of {', '.join(OUTPUTS)}")

    def f(p: dict[str, Floats]) -> Floats:
        run = model.run(p)
        if output == "covered":
            return run[(AS_OF, "all", "covered")]
        pool = run[(AS_OF, "trial", "covered")] * p["fit_share"]
        return pool if output == "trial_pool" else pool * p["uptake"]

    return f


@dataclass(frozen=True)
class Factor:
    id: str
    morris_mu_star: float
    morris_sigma: float
    sobol_first: float
    sobol_first_conf: float
    sobol_total: float
    sobol_total_conf: float
    tornado_low: float  # the output with this assumption at its 5% value, the others at their medians
    tornado_high: float  # … at its 95% value

    @property
    def swing(self) -> float:
        return abs(self.tornado_high - self.tornado_low)


@dataclass
class Sensitivity:
    day: dt.date
    output: str
    seed: int
    morris_n: int
    sobol_n: int
    runs: int
    baseline: float  # the output with every assumption at its median
    factors: list[Factor]  # largest tornado swing first

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        from warexempt.explain.i18n import gettext

        labels = {a.id: a for a in asm.ASSUMPTIONS}

        def r(x: float) -> float:
            return round(float(x), 4) + 0.0  # never -0.0

        return {
            "day": self.day.isoformat(),
            "output": self.output,
            "output_label": gettext(lang, OUTPUTS[self.output]),
            "seed": self.seed,
            "morris_trajectories": self.morris_n,
            "sobol_base_samples": self.sobol_n,
            "model_runs": self.runs,
            "baseline": round(self.baseline),
            "factors": [
                {
                    "id": f.id,
                    "label": gettext(lang, labels[f.id].label),
                    "range_90": [r(x) for x in labels[f.id].range90],
                    "morris": {"mu_star": round(f.morris_mu_star), "sigma": round(f.morris_sigma)},
                    "sobol": {
                        "S1": r(f.sobol_first),
                        "S1_conf": r(f.sobol_first_conf),
                        "ST": r(f.sobol_total),
                        "ST_conf": r(f.sobol_total_conf),
                    },
                    "tornado": {"low": round(f.tornado_low), "high": round(f.tornado_high), "swing": round(f.swing)},
                }
                for f in self.factors
            ],
        }

    def to_json(self, lang: str = "en") -> str:
        return json.dumps(self.to_dict(lang), ensure_ascii=False, indent=2)


def _values(q: Floats) -> dict[str, Floats]:
    return asm.at_quantiles(EDGE + (1 - 2 * EDGE) * q)


def sensitivity(
    day: dt.date, output: str = "covered", morris_n: int = 2**6, sobol_n: int = 2**10, seed: int = 0
) -> Sensitivity:
    """Morris (``morris_n`` trajectories), Sobol (``sobol_n`` base samples, first and total order) and the tornado
    for ``output`` on ``day``; the same seed gives the same indices."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    _power_of_two("morris_n", morris_n)
    _power_of_two("sobol_n", sobol_n)
    f = output_function(Model.of(day), output)
    names = [a.id for a in asm.ASSUMPTIONS]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}

    xm = morris_sample.sample(problem, morris_n, num_levels=4, seed=seed)
    ym = f(_values(xm))
    mo = morris_analyze.analyze(problem, xm, ym, num_levels=4, seed=seed)

    xs = sobol_sample.sample(problem, sobol_n, calc_second_order=False, seed=seed)
    ys = f(_values(xs))
    so = sobol_analyze.analyze(problem, ys, calc_second_order=False, seed=seed)

    med = asm.medians(2)
    baseline = float(f(asm.medians(1))[0])
    factors = []
    for i, a in enumerate(asm.ASSUMPTIONS):
        p = {k: v.copy() for k, v in med.items()}
        p[a.id] = np.array(a.range90)
        lo, hi = f(p)
        factors.append(
            Factor(
                a.id,
                float(mo["mu_star"][i]),
                float(mo["sigma"][i]),
                float(so["S1"][i]),
                float(so["S1_conf"][i]),
                float(so["ST"][i]),
                float(so["ST_conf"][i]),
                float(lo),
                float(hi),
            )
        )
    factors.sort(key=lambda x: (-x.swing, x.id))
    return Sensitivity(day, output, seed, morris_n, sobol_n, len(ym) + len(ys) + 2 * len(factors), baseline, factors)
