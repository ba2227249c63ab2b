"""Every unknown of the estimate, as an assumption with a range, a distribution and its sources.

Why a table of its own: the published statistics do not give the number of people at each stage on a day, nor how
many of them are fit for service or sign; an estimate that used a figure for these without saying so would be a
made-up number. Each unknown here has a distribution (Beta for a share, PERT for an expert range: a Beta on
[low, high] with its mode), the sources that bound it (``source_ids`` of ``data/sources.csv``; none where no figure
was published, which ``basis`` then says), and what it stands for. The Monte Carlo of ``model`` draws each one from a
child of one ``numpy.random.SeedSequence``, in the order of ``ASSUMPTIONS``, so the same seed gives the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from warexempt._marks import N_

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Assumption:
    """One unknown. ``dist``: ``beta`` (a share: ``a``, ``b``) or ``pert`` (``low``, ``mode``, ``high``).
    ``basis``: why this range (an English msgid; the catalog has the Russian)."""

    id: str
    label: str  # English msgid
    unit: str
    dist: Literal["beta", "pert"]
    params: tuple[float, ...]
    source_ids: tuple[str, ...]
    basis: str

    @property
    def frozen(self) -> Any:
        """The distribution as a ``scipy.stats`` frozen Beta (PERT is a Beta on [low, high])."""
        if self.dist == "beta":
            a, b = self.params
            return sps.beta(a, b)
        low, mode, high = self.params
        span = high - low
        return sps.beta(1 + 4 * (mode - low) / span, 1 + 4 * (high - mode) / span, loc=low, scale=span)

    def ppf(self, q: Floats) -> Floats:
        """Values at quantiles ``q`` (SALib's unit samples become the assumption's values through this)."""
        out: Floats = np.asarray(self.frozen.ppf(q), dtype=np.float64)
        return out

    def draw(self, rng: np.random.Generator, n: int) -> Floats:
        if self.dist == "beta":
            a, b = self.params
            return rng.beta(a, b, n)
        low, mode, high = self.params
        span = high - low
        return low + span * rng.beta(1 + 4 * (mode - low) / span, 1 + 4 * (high - mode) / span, n)

    @property
    def median(self) -> float:
        return float(self.frozen.median())

    @property
    def range90(self) -> tuple[float, float]:
        lo, hi = self.frozen.ppf([0.05, 0.95])
        return float(lo), float(hi)

    def view(self, lang: str = "en") -> dict[str, Any]:
        """Plain data for JSON, the report and ``warexempt population sensitivity``."""
        from warexempt.explain.i18n import gettext

        names = ("a", "b") if self.dist == "beta" else ("low", "mode", "high")
        lo, hi = self.range90
        return {
            "id": self.id,
            "label": gettext(lang, self.label),
            "unit": self.unit,
            "distribution": "Beta" if self.dist == "beta" else "PERT",
            "parameters": dict(zip(names, self.params, strict=True)),
            "median": round(self.median, 6),
            "range_90": [round(lo, 6), round(hi, 6)],
            "sources": list(self.source_ids),
            "basis": gettext(lang, self.basis),
        }


def _beta_from(mean: float, sd: float) -> tuple[float, float]:
    """Beta(a, b) with this mean and standard deviation (a share whose spread is stated)."""
    k = mean * (1 - mean) / sd**2 - 1
    return round(mean * k, 4), round((1 - mean) * k, 4)


ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "pretrial_months",
        N_("Months a person spends as a suspect or accused before the case reaches court"),
        "months",
        "pert",
        (1.0, 2.0, 4.0),
        ("meduza_en_20241001",),
        N_(
            "No stock of persons under investigation is published; the stock is the annual flow of persons whose "
            "cases courts heard (C05) times this duration. Range: an inquiry lasts 30 days and an investigation "
            "2 months unless extended (УПК 162, 223); an expert range, not a published figure."
        ),
    ),
    Assumption(
        "trial_months",
        N_("Months a defendant's case spends at first instance"),
        "months",
        "pert",
        (0.75, 1.5, 3.0),
        ("meduza_en_20241001",),
        N_(
            "No stock of pending cases or defendants is published (cdep form 1 «остаток» not retrieved); the stock "
            "is the annual flow of persons whose cases courts heard (C05) times this duration. Most cases are heard "
            "in a few weeks (special procedure); an expert range, not a published figure."
        ),
    ),
    Assumption(
        "appeal_months",
        N_("Months between a sentence and its entry into force"),
        "months",
        "pert",
        (0.4, 1.0, 2.5),
        ("ria_20250417",),
        N_(
            "The stock of sentences not yet in force is the annual number convicted (criminal-record statistics) "
            "times this time; an appeal may be lodged within 15 days (УПК 389.4) and is heard within two months; an "
            "expert range."
        ),
    ),
    Assumption(
        "convict_stock_change",
        N_("Change of the number of convicts in places of detention since March 2026"),
        "ratio",
        "pert",
        (0.85, 1.0, 1.1),
        ("kommersant_20260304", "fakti_reuters_20240524"),
        N_(
            "The convicts' stock is the 308,000 in places of detention in early March 2026 (Davydov) times this "
            "ratio, for another day; the stock fell by tens of thousands a year in 2022-2023 (FSIN)."
        ),
    ),
    Assumption(
        "conviction_proxy",
        N_("How far the charges of suspects and defendants differ from the convictions by main article"),
        "weight",
        "beta",
        (2.0, 2.0),
        ("dostoevsky_backend_2020pkl",),
        N_(
            "Charges by article are not published; 0 takes the 2020 convictions by main article, 1 the mix of every "
            "person whose case was decided in 2020 (convicted, acquitted, dismissed on any ground, compulsory "
            "medical measures), both from the same file."
        ),
    ),
    Assumption(
        "multi_charge_share",
        N_("Share of persons charged under more than one article part"),
        "share",
        "beta",
        _beta_from(0.09, 0.018),
        ("dostoevsky_backend_2020pkl",),
        N_(
            "The 2020 file counts 62,224 persons with an additional qualification against 530,965 convicted "
            "(11.7%), an upper bound, as a person with two additional charges is counted twice."
        ),
    ),
    Assumption(
        "security_growth_2020",
        N_("Growth since 2020 of terrorism convictions without a later published figure (205.1-205.5)"),
        "ratio",
        "pert",
        (2.0, 4.0, 7.0),
        ("kommersant_20251020", "mr7_rbc_20250713"),
        N_(
            "Only arts 205, 275, 275.1, 276 have later totals; for 205.1-205.5 the 2020 counts are multiplied by "
            "this. In H1 2025, 571 were convicted under 205.1, 205.2 and 206 (Kommersant), against some 270 a year "
            "in 2020; art. 205 grew from 14 (2020) to 75 (2024)."
        ),
    ),
    Assumption(
        "security_growth_recent",
        N_("Growth of treason and terrorism convictions after the last published per-article figure"),
        "ratio",
        "pert",
        (1.0, 1.8, 4.0),
        ("kommersant_20251020", "tass_20260103", "istories_en_20251021"),
        N_(
            "Treason and terrorism convictions kept rising after 2024: 303 convicted of a terrorist act in H1 2025 "
            "(+483% on H1 2024), 1,921 for terrorist crimes in January-November 2025. Applied to arts 205-205.5, "
            "275, 275.1, 276 on days after 2024."
        ),
    ),
    Assumption(
        "sizo_unconvicted_share",
        N_("Share of persons held in SIZO who are not yet convicts"),
        "share",
        "pert",
        (0.6, 0.78, 0.9),
        ("moscowtimes_20241001",),
        N_(
            "The 106,000 in SIZO at the start of 2024 include convicts awaiting appeal or transfer (C04); the split "
            "is not published. An expert range."
        ),
    ),
    Assumption(
        "fit_share",
        N_("Share of covered persons of an age, sex and health to be taken into service"),
        "share",
        "beta",
        _beta_from(0.6, 0.08),
        (),
        N_(
            "No published figure: most defendants are men of working age, but women, the old and the ill are not "
            "taken. A stated assumption with a wide range."
        ),
    ),
    Assumption(
        "uptake",
        N_("Share of covered, fit persons who sign a contract"),
        "share",
        "beta",
        _beta_from(0.12, 0.05),
        ("russianlife_20250715",),
        N_(
            "Claim C23: about 12% of suspects offered a contract accept (a secondary summary of Verstka; "
            "unconfirmed); the wide range says how little is known."
        ),
    ),
)
BY_ID = {a.id: a for a in ASSUMPTIONS}
# imprisonment-term bands of the 2020 file → the midpoint of the band in years (a life sentence counted as 25):
# the convicts' stock is each band's admissions times its term (Little's law), a stated derivation, not a figure
TERM_YEARS: dict[str, float] = {
    "primaryImprisonment1": 0.75,
    "primaryImprisonment1_2": 1.5,
    "primaryImprisonment2_3": 2.5,
    "primaryImprisonment3_5": 4.0,
    "primaryImprisonment5_8": 6.5,
    "primaryImprisonment8_10": 9.0,
    "primaryImprisonment10_15": 12.5,
    "primaryImprisonment15_20": 17.5,
    "primaryLifeSentence": 25.0,
}
TERM_BASIS = N_(
    "The convicts' charge mix weights each 2020 imprisonment-term band by the midpoint of its term (life as 25 "
    "years): a stock holds long sentences longer. A stated derivation."
)


def draws(seed: int, n: int) -> dict[str, Floats]:
    """``n`` draws of every assumption, each from its own child of ``SeedSequence(seed)`` (in the order of
    ``ASSUMPTIONS``): adding a draw count never changes which stream an assumption reads."""
    children = np.random.SeedSequence(seed).spawn(len(ASSUMPTIONS))
    return {a.id: a.draw(np.random.default_rng(c), n) for a, c in zip(ASSUMPTIONS, children, strict=True)}


def at_quantiles(q: Floats) -> dict[str, Floats]:
    """Values of every assumption at unit-cube points ``q`` (rows: points; columns: ``ASSUMPTIONS`` order)."""
    return {a.id: a.ppf(q[:, i]) for i, a in enumerate(ASSUMPTIONS)}


def medians(n: int = 1) -> dict[str, Floats]:
    return {a.id: np.full(n, a.median) for a in ASSUMPTIONS}
