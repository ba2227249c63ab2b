"""``warexempt population report``: one self-contained HTML file (figures as inline SVG, no outside asset) and the
figures as SVG and PNG, in Russian or English.

Each section is a function from plain data (data frames, the scenarios' ``Result``, the claim check's view) to a
``Section`` — its text, tables and ``plots.Chart`` figures — so a section can be built and tested from whatever part
of the population model exists, and ``publish`` writes the same figures' data. ``build`` gathers the sections from
the model, the sensitivity analysis, the claim check and the scenarios; the page lists what it was made from: the
package version, the law's fingerprint, the seed and the SHA-256 of every bundled data file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from warexempt._marks import N_
from warexempt.explain.i18n import gettext
from warexempt.law.catalog import Law, bundled_law
from warexempt.population import plots, scenarios
from warexempt.population.plots import Chart

TEXT = {
    "title": N_("How many people the law on prosecution for service covers, and what happens to those who sign"),
    "made": N_("Made from"),
    "version": N_("package version"),
    "fingerprint": N_("law fingerprint"),
    "seed": N_("seed"),
    "draws": N_("Monte Carlo draws"),
    "date": N_("estimate date"),
    "hashes": N_("SHA-256 of the bundled data files"),
    "file": N_("file"),
    "not_built": N_("This section could not be built: {reason}"),
    "intro": N_(
        "Every number below is computed from the public statistics bundled with warexempt, and every unknown is a "
        "stated assumption with a range; the law is applied to each synthetic case exactly as to a single case. "
        "Intervals are the 50% and 90% ranges of the Monte Carlo draws."
    ),
    "sources": N_("Sources"),
    "assumptions": N_("Assumptions"),
    "contents": N_("Contents"),
}
SCEN = {
    "title": N_("Outcome scenarios: released, resumed or killed"),
    "banner": N_(
        "These are SCENARIOS, not forecasts: what the law would do if things went as each scenario supposes. "
        "No official figure says how many of those who sign are released, resumed or killed."
    ),
    "how": N_(
        "Each scenario draws synthetic people who sign a contract between {start} and {end} (at every stage), gives "
        "each an event history — the contract, the command's petition, then an award, a discharge on a ground, "
        "desertion or death on drawn dates — and decides every history by the rules, on {as_of}. {draws} draws of "
        "{persons} people per stage."
    ),
    "chart": N_("Of those who sign at trial: the mean shares on {as_of}"),
    "intervals": N_("Share killed at trial: median, 50% and 90% intervals"),
    "axis_share": N_("share of those who sign"),
    "params": N_("Parameters of the scenarios (shares within a year of service)"),
    "col_scenario": N_("scenario"),
    "col_parameter": N_("parameter"),
    "col_range": N_("low – mode – high"),
    "col_basis": N_("basis"),
    "col_group": N_("group"),
    "col_stage": N_("stage"),
    "col_median": N_("median"),
    "col_50": N_("50% interval"),
    "col_90": N_("90% interval"),
    "col_cause": N_("event"),
    "col_outcome": N_("outcome"),
    "col_reasons": N_("provisions"),
    "col_cases": N_("synthetic cases"),
    "table": N_("Shares by stage"),
    "rules": N_("How the rules decided the synthetic histories (central scenario, all draws)"),
    "desertion": N_(
        "Desertion dated from {day} is the offence of УК 338 ч. 4 added by 534-FZ, and the rules cite it among the "
        "reasons of the resumption; desertion dated earlier is the general part."
    ),
    "caption": N_(
        "SCENARIOS, not forecasts. Sources: {sources}. Death shares: {deaths}. Assumptions: {assumptions}. "
        "Decided by warexempt's rules (law fingerprint {fingerprint}); seed {seed}."
    ),
}


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    title: str = ""


@dataclass
class Section:
    """One part of the report: a title, paragraphs, tables and figures; ``missing`` says why it could not be built."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    missing: str | None = None


def t(lang: str, message: str, **values: object) -> str:
    return gettext(lang, message, **values)


def pct(value: float, lang: str = "en") -> str:
    text = f"{100 * value:.1f}%"
    return text.replace(".", ",") if lang == "ru" else text


def source_names(claim_ids: Iterable[str], claims: dict[str, scenarios.Claim]) -> str:
    """``C15 (zona_casualties_en), C09 (…)``: claim ids with the sources of ``sources.csv`` they rest on."""
    return "; ".join(f"{c} ({claims[c].source_id})" for c in dict.fromkeys(claim_ids) if c in claims)


def scenario_section(result: scenarios.Result, lang: str, claims: dict[str, scenarios.Claim], law: Law) -> Section:
    """The scenarios: the stacked shares at trial, the killed share's intervals, the parameters with their basis,
    the shares by stage and how the rules decided the central scenario's histories."""
    from warexempt.explain.citations import cite
    from warexempt.explain.i18n import pick
    from warexempt.explain.render import outcome_label

    summary = result.summary()
    stages = {s: pick(law.stage(s), lang) for s in scenarios.STAGES}
    names = {s.id: t(lang, s.name) for s in result.scenarios}
    groups = [g for g in scenarios.GROUPS if g != "undecided"]
    group_names = {g: t(lang, scenarios.GROUP_NAMES[g]) for g in scenarios.GROUPS}
    ids = [c for s in result.scenarios for p in s.parameters for c in p.claims]
    deaths = "; ".join(
        f"{names[s.id]} {pct(s.parameter('death').mode, lang)} = {s.parameter('death').derivation}"
        for s in result.scenarios
    )
    ranged = {p.id: p for s in result.scenarios for p in s.parameters if p.assumption}
    assumed = "; ".join(
        f"{t(lang, scenarios.PARAMETER_NAMES[p.id])} {pct(p.low, lang)}–{pct(p.high, lang)}" for p in ranged.values()
    )
    caption = t(
        lang,
        SCEN["caption"],
        sources=source_names(ids, claims),
        deaths=deaths,
        assumptions=assumed,
        fingerprint=result.law_fingerprint[:12],
        seed=result.seed,
    )
    trial = summary.filter(pl.col("stage") == "trial")
    stacked = trial.filter(pl.col("group").is_in(groups)).select(
        label=pl.col("scenario").replace_strict(names),
        part=pl.col("group").replace_strict(group_names),
        value="mean",
    )
    day = _date(result.as_of, lang)
    charts = [
        plots.stacked_bars(
            stacked,
            chart_id="scenarios",
            title=t(lang, SCEN["chart"], as_of=day),
            caption=caption,
            xlabel=t(lang, SCEN["axis_share"]),
            percent=True,
        ),
        plots.interval_chart(
            trial.filter(pl.col("group") == "killed").select(
                pl.col("scenario").replace_strict(names).alias("label"), "median", "q05", "q25", "q75", "q95"
            ),
            chart_id="scenarios_killed",
            title=t(lang, SCEN["intervals"]),
            caption=caption,
            xlabel=t(lang, SCEN["axis_share"]),
            percent=True,
        ),
    ]
    params = Table(
        [t(lang, SCEN[k]) for k in ("col_scenario", "col_parameter", "col_range", "col_basis")],
        [
            [
                names[s.id],
                t(lang, scenarios.PARAMETER_NAMES[p.id]),
                pct(p.low, lang)
                if p.low == p.high
                else f"{pct(p.low, lang)} – {pct(p.mode, lang)} – {pct(p.high, lang)}",
                t(lang, p.basis) + (f" [{p.derivation}]" if p.derivation else ""),
            ]
            for s in result.scenarios
            for p in s.parameters
            if s.id != "demobilised" or p.id == "death"
        ],
        t(lang, SCEN["params"]),
    )
    shares = Table(
        [t(lang, SCEN[k]) for k in ("col_scenario", "col_stage", "col_group", "col_median", "col_50", "col_90")],
        [
            [
                names[r["scenario"]],
                stages[r["stage"]],
                group_names[r["group"]],
                pct(r["median"], lang),
                f"{pct(r['q25'], lang)} – {pct(r['q75'], lang)}",
                f"{pct(r['q05'], lang)} – {pct(r['q95'], lang)}",
            ]
            for r in summary.filter(pl.col("group").is_in(groups)).iter_rows(named=True)
        ],
        t(lang, SCEN["table"]),
    )
    central = result.breakdown.filter(pl.col("scenario") == "central")
    causes = {k: t(lang, v) for k, v in scenarios.CAUSE_NAMES.items()}
    rules = Table(
        [t(lang, SCEN[k]) for k in ("col_stage", "col_cause", "col_outcome", "col_reasons", "col_cases")],
        [
            [
                stages[r["stage"]],
                causes.get(r["cause"], r["cause"]),
                f"{outcome_label(law, r['outcome'], lang, r['stage'])} ({r['outcome']})",
                "; ".join(cite(pid, law).text(lang) for pid in r["reasons"].split()) or "—",
                str(r["cases"]),
            ]
            for r in central.iter_rows(named=True)
        ],
        t(lang, SCEN["rules"]),
    )
    start, end = result.window
    how = t(
        lang,
        SCEN["how"],
        start=_date(start, lang),
        end=_date(end, lang),
        as_of=_date(result.as_of, lang),
        draws=result.draws,
        persons=result.persons,
    )
    since = _534_day(law)
    paragraphs = [t(lang, SCEN["banner"]), how, t(lang, SCEN["desertion"], day=_date(since, lang))]
    return Section("scenarios", t(lang, SCEN["title"]), paragraphs, [params, shares, rules], charts)


def _date(day: dt.date, lang: str) -> str:
    from warexempt.explain.i18n import date

    return date(day, lang)


def _534_day(law: Law) -> dt.date:
    article = law.criminal_code.get("338")
    part = article.part("4") if article else None
    if part is None or part.in_force_from is None:
        raise scenarios.ScenarioDataError("УК 338 ч. 4 (534-FZ) is not in the Criminal Code catalogue")
    return part.in_force_from


def data_hashes(folder: Path | None = None) -> dict[str, str]:
    """SHA-256 of every bundled data file (``population/data``), by name."""
    folder = folder or scenarios.claims_path().parent
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


# The sections the other parts of the population model give, each built by a function of this module's
# ``sections`` registry when that part is there; a part that is missing or fails gives a section saying why.
Builder = Callable[[str, "Context"], Section]


@dataclass
class Context:
    """What the sections are made from, computed once per report."""

    day: dt.date
    seed: int
    draws: int
    law: Law
    claims: dict[str, scenarios.Claim]
    scenario_draws: int = 200
    scenario_persons: int = 250
    sobol_n: int = 512  # Sobol base samples (a power of two) for the sensitivity section
    cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, day: dt.date | None, seed: int, draws: int, scenario_draws: int, scenario_persons: int) -> Context:
        """The report's context with the bundled law and claims (the report and the SQLite file share it)."""
        return cls(
            day or scenarios.DEFAULT_AS_OF,
            seed,
            draws,
            bundled_law(),
            scenarios.load_claims(),
            scenario_draws,
            scenario_persons,
        )

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def scenarios(self) -> scenarios.Result:
        found: scenarios.Result = self.get(
            "scenarios",
            lambda: scenarios.run(
                draws=self.scenario_draws, persons=self.scenario_persons, seed=self.seed, claims=self.claims
            ),
        )
        return found


def _scenario_builder(lang: str, ctx: Context) -> Section:
    return scenario_section(ctx.scenarios(), lang, ctx.claims, ctx.law)


def _from(module: str, function: str) -> Builder:
    """A builder in another module of this package (``report_model``), imported when the report is made."""

    def build(lang: str, ctx: Context) -> Section:
        found: Builder = getattr(importlib.import_module(f"warexempt.population.{module}"), function)
        return found(lang, ctx)

    return build


SECTIONS: list[tuple[str, str, Builder]] = [
    ("coverage", N_("Coverage by law version over time"), _from("report_model", "coverage_section")),
    ("charges", N_("The charge mix and what the exclusions remove"), _from("report_model", "charges_section")),
    ("intervals", N_("Estimates with their intervals"), _from("report_model", "intervals_section")),
    (
        "sensitivity",
        N_("What the estimate is sensitive to: tornado and Sobol indices"),
        _from("report_model", "sensitivity_section"),
    ),
    ("claim", N_("The claim check: '40% of 60,000'"), _from("report_model", "claim_section")),
    ("scenarios", SCEN["title"], _scenario_builder),
]


def sections(lang: str, ctx: Context, only: Iterable[str] | None = None) -> list[Section]:
    """Every section in order; a section whose part of the model is missing or fails says why instead."""
    wanted = set(only) if only is not None else None
    out = []
    for sid, title, build in SECTIONS:
        if wanted is not None and sid not in wanted:
            continue
        try:
            out.append(build(lang, ctx))
        except (ImportError, AttributeError, NotImplementedError) as exc:
            out.append(Section(sid, t(lang, title), missing=t(lang, TEXT["not_built"], reason=str(exc))))
    return out


def render(found: list[Section], lang: str, ctx: Context) -> str:
    """The HTML page (Jinja2, autoescaped; the figures' SVG is inserted as markup, the only unescaped content)."""
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    from warexempt import __version__

    env = Environment(loader=PackageLoader("warexempt.population", "templates"), autoescape=select_autoescape())
    template = env.get_template("report.html.j2")
    return template.render(
        lang=lang,
        text={k: t(lang, v) for k, v in TEXT.items() if k != "not_built"},
        label=t(lang, scenarios.LABEL),
        sections=found,
        svg=lambda chart: Markup(chart.svg),  # our own matplotlib output, no outside content
        meta=[
            (t(lang, TEXT["version"]), __version__),
            (t(lang, TEXT["fingerprint"]), ctx.law.fingerprint),
            (t(lang, TEXT["seed"]), str(ctx.seed)),
            (t(lang, TEXT["draws"]), str(ctx.draws)),
            (t(lang, TEXT["date"]), _date(ctx.day, lang)),
        ],
        hashes=sorted(data_hashes().items()),
    )


def build(
    out: Path,
    *,
    lang: str = "en",
    seed: int = 0,
    draws: int = 10_000,
    day: dt.date | None = None,
    scenario_draws: int = 200,
    scenario_persons: int = 250,
    only: Iterable[str] | None = None,
) -> tuple[Path, list[Section]]:
    """Write ``report.html`` (``report.ru.html`` in Russian) and every figure's SVG and PNG into ``out``."""
    ctx = Context.of(day, seed, draws, scenario_draws, scenario_persons)
    found = sections(lang, ctx, only)
    out.mkdir(parents=True, exist_ok=True)
    for section in found:
        for chart in section.charts:
            chart.write(out / "figures")
    page = out / ("report.html" if lang == "en" else f"report.{lang}.html")
    page.write_text(render(found, lang, ctx), encoding="utf-8")
    return page, found
