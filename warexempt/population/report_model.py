"""The report's sections on the coverage estimate (``model.estimate``), its sensitivity and the claim check.

Each ``*_figure`` function takes plain data — a frame or the claim check's view — and gives a ``plots.Chart``, so it
is tested with real outputs of the parts that exist; each ``*_section(lang, ctx)`` gets the estimate once through
``report.Context`` and builds the section. Captions name the published figures the estimate rests on (their
``source_id`` in ``data/sources.csv``) and the assumptions with their 90% ranges.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import polars as pl

from warexempt._marks import N_
from warexempt.population import plots
from warexempt.population.report import Context, Section, Table, pct, t

if TYPE_CHECKING:
    from warexempt.population.model import Estimate, Interval

M = {
    "caption": N_("Sources: {sources}. Assumptions (90% ranges): {assumptions}. Seed {seed}, {draws} draws."),
    "coverage_title": N_("People the law covers, by the version in force (median and 90% interval)"),
    "coverage_text": N_(
        "Each version of the law is applied to the same population (that of {day}), on a day soon after it came "
        "into force: what changed is the law, not the people."
    ),
    "people": N_("people"),
    "share": N_("share of the stage's people"),
    "charges_title": N_("People at trial by main charge: covered and not covered ({version})"),
    "covered": N_("covered"),
    "not_covered": N_("not covered"),
    "other": N_("other articles"),
    "excluded_title": N_("Who the exclusions remove, by deciding provision ({version})"),
    "intervals_title": N_("Share of each stage's people covered (median, 50% and 90% intervals)"),
    "col_version": N_("version of the law"),
    "col_stage": N_("stage"),
    "col_people": N_("people"),
    "col_covered": N_("covered"),
    "col_provision": N_("deciding provision"),
    "tornado_title": N_("Tornado: people covered when one assumption goes from its 5th to its 95th percentile"),
    "sobol_title": N_("Sobol indices of the people covered (first order S1, total ST)"),
    "sens_caption": N_(
        "Sources of the assumptions' ranges: {sources}. {morris} Morris trajectories, {sobol} Sobol base samples "
        "(SALib), {runs} model runs, seed {seed}; each assumption sampled between its 0.5% and 99.5% quantiles. "
        "Assumptions (90% ranges): {assumptions}."
    ),
    "sens_text": N_("The output studied: {output}; with every assumption at its median it is {baseline}."),
    "col_assumption": N_("assumption"),
    "col_swing": N_("tornado swing (5% → 95%)"),
    "claim_title": N_("The claim '40% of 60,000' beside the estimated pool"),
    "pool": N_("people the law covers who are fit for service (eligible pool)"),
    "col_reading": N_("reading of '60,000 defendants'"),
    "col_pool": N_("eligible pool (90% interval)"),
    "col_chance": N_("chance the pool reaches 24,000"),
    "col_uptake": N_("uptake the claim implies"),
}
AS_OF = "as_of"


def _estimate(ctx: Context) -> Estimate:
    from warexempt.population.model import estimate

    found: Estimate = ctx.get("estimate", lambda: estimate(ctx.day, draws=ctx.draws, seed=ctx.seed))
    return found


def _source_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("source_id", "source_ids", "sources"):
                for s in v if isinstance(v, list | tuple) else str(v).split(";"):
                    yield str(s).strip()
            else:
                yield from _source_ids(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _source_ids(v)


def caption(est: Estimate, lang: str) -> str:
    """The sources (published figures and the assumptions' bounds) and the assumptions with their 90% ranges."""
    views = [a.view(lang) for a in est.assumptions]
    sources = sorted(set(_source_ids(est.inputs)) | set(_source_ids(views)))
    assumed = "; ".join(f"{v['label']} {v['range_90'][0]:g}–{v['range_90'][1]:g}" for v in views)
    return t(lang, M["caption"], sources=", ".join(sources), assumptions=assumed, seed=est.seed, draws=est.draws)


def _row(iv: Interval) -> dict[str, float]:
    return {"median": iv.median, "q05": iv.p90[0], "q25": iv.p50[0], "q75": iv.p50[1], "q95": iv.p90[1]}


def coverage_frame(est: Estimate, stage_names: dict[str, str] | None = None) -> pl.DataFrame:
    """``series`` (the stage, named by ``stage_names``), ``stage``, ``x`` (the version's start), ``x_label``,
    ``version``, then the covered people's median and quantiles."""
    names = stage_names or {}
    rows = [
        {
            "series": names.get(s.stage, s.stage),
            "stage": s.stage,
            "x": v.version.start,
            "x_label": f"{v.version.id}\n{v.version.start.isoformat()}",
            "version": v.version.id,
            **_row(s.covered),
        }
        for v in est.versions
        if v.version.id != AS_OF
        for s in v.stages
    ]
    return pl.DataFrame(rows)


def coverage_figure(data: pl.DataFrame, lang: str, text: str) -> plots.Chart:
    return plots.line_chart(
        data, chart_id="coverage", title=t(lang, M["coverage_title"]), caption=text, ylabel=t(lang, M["people"])
    )


def coverage_section(lang: str, ctx: Context) -> Section:
    from warexempt.explain.i18n import pick

    est = _estimate(ctx)
    data = coverage_frame(est, {s: pick(ctx.law.stage(s), lang) for s in ("pre_trial", "trial", "appeal", "sentenced")})
    table = Table(
        [t(lang, M[k]) for k in ("col_version", "col_stage", "col_covered")],
        [
            [r["version"], r["series"], f"{r['median']:,.0f} ({r['q05']:,.0f}–{r['q95']:,.0f})"]
            for r in data.iter_rows(named=True)
        ],
    )
    from warexempt.population.report import _date

    return Section(
        "coverage",
        t(lang, N_("Coverage by law version over time")),
        [t(lang, M["coverage_text"], day=_date(est.day, lang))],
        [table],
        [coverage_figure(data, lang, caption(est, lang))],
    )


def charges_frame(
    est: Estimate,
    stage: str = "trial",
    top: int = 12,
    labels: tuple[str, str, str] = ("covered", "not covered", "other"),
) -> pl.DataFrame:
    """People of ``stage`` (the law of the estimate's day) by main charge's article, covered or not: ``label,
    part, value`` — the ``top`` articles by people, the rest as one row."""
    people = est.stage(AS_OF, stage).people.median
    cells = [c for c in est.cells if c.version == AS_OF and c.stage == stage]
    frame = pl.DataFrame(
        {
            "article": [c.charges[0].split(":")[0] for c in cells],
            "eligible": [c.eligible for c in cells],
            "people": [float(c.weight) * people for c in cells],
        }
    )
    by = frame.group_by("article").agg(pl.col("people").sum()).sort("people", "article", descending=[True, False])
    keep = set(by.head(top)["article"])
    covered, not_covered, other = labels
    return (
        frame.with_columns(
            label=pl.when(pl.col("article").is_in(keep)).then(pl.col("article")).otherwise(pl.lit(other))
        )
        .with_columns(part=pl.when("eligible").then(pl.lit(covered)).otherwise(pl.lit(not_covered)))
        .group_by("label", "part")
        .agg(value=pl.col("people").sum().round(0))
        .with_columns(
            order=pl.col("label").replace_strict({a: i for i, a in enumerate(by.head(top)["article"])}, default=top)
        )
        .sort("order", "part")
        .drop("order")
    )


def excluded_frame(est: Estimate) -> pl.DataFrame:
    """The people the law of the estimate's day does not cover, by stage and deciding provision."""
    rows = [
        {"stage": s.stage, "provision": pid, **_row(iv)}
        for s in next(v for v in est.versions if v.version.id == AS_OF).stages
        for pid, iv in s.excluded_by.items()
    ]
    return pl.DataFrame(rows)


def charges_section(lang: str, ctx: Context) -> Section:
    from warexempt.explain.citations import cite

    est = _estimate(ctx)
    labels = (t(lang, M["covered"]), t(lang, M["not_covered"]), t(lang, M["other"]))
    data = charges_frame(est, labels=labels)
    text = caption(est, lang)
    chart = plots.stacked_bars(
        data,
        chart_id="charges",
        title=t(lang, M["charges_title"], version=AS_OF),
        caption=text,
        xlabel=t(lang, M["people"]),
    )
    excluded = excluded_frame(est)
    table = Table(
        [t(lang, M[k]) for k in ("col_stage", "col_provision", "col_people")],
        [
            [
                r["stage"],
                f"{cite(r['provision'], ctx.law).text(lang)} ({r['provision']})",
                f"{r['median']:,.0f} ({r['q05']:,.0f}–{r['q95']:,.0f})",
            ]
            for r in excluded.iter_rows(named=True)
        ],
        t(lang, M["excluded_title"], version=AS_OF),
    )
    return Section("charges", t(lang, N_("The charge mix and what the exclusions remove")), [], [table], [chart])


def intervals_frame(est: Estimate) -> pl.DataFrame:
    """``label`` (version · stage) and the covered share's median and quantiles, for the stages a version covers."""
    rows = [
        {"label": f"{v.version.id} · {s.stage}", "version": v.version.id, "stage": s.stage, **_row(s.share_covered)}
        for v in est.versions
        for s in v.stages
        if s.covered.median > 0
    ]
    return pl.DataFrame(rows)


def intervals_section(lang: str, ctx: Context) -> Section:
    est = _estimate(ctx)
    data = intervals_frame(est)
    chart = plots.interval_chart(
        data,
        chart_id="intervals",
        title=t(lang, M["intervals_title"]),
        caption=caption(est, lang),
        xlabel=t(lang, M["share"]),
        percent=True,
    )
    table = Table(
        [t(lang, M[k]) for k in ("col_version", "col_stage", "col_covered")],
        [
            [r["version"], r["stage"], f"{pct(r['median'], lang)} ({pct(r['q05'], lang)}–{pct(r['q95'], lang)})"]
            for r in data.iter_rows(named=True)
        ],
    )
    return Section("intervals", t(lang, N_("Estimates with their intervals")), [], [table], [chart])


def claim_frame(view: dict[str, Any]) -> pl.DataFrame:
    """Each reading's eligible pool (``claim_check(...).to_dict(lang)``): ``label, median, q05, q25, q75, q95``."""
    rows = []
    for r in view["readings"]:
        pool = r["eligible_pool"]
        rows.append(
            {
                "reading": r["id"],
                "label": r["label"],
                "median": pool["median"],
                "q05": pool["p90"][0],
                "q25": pool["p50"][0],
                "q75": pool["p50"][1],
                "q95": pool["p90"][1],
                "chance_pool_reaches_target": r["chance_pool_reaches_target"],
                "implied_uptake": r["implied_uptake"]["median"],
            }
        )
    return pl.DataFrame(rows)


def claim_figure(view: dict[str, Any], lang: str, text: str) -> plots.Chart:
    target = float(view["claim"]["target"])
    return plots.interval_chart(
        claim_frame(view),
        chart_id="claim",
        title=t(lang, M["claim_title"]),
        caption=text,
        xlabel=t(lang, M["pool"]),
        marks={
            f"{target:,.0f} (C02)": target,
            f"{view['claim']['lawyers_guess']:,.0f} (C03)": view["claim"]["lawyers_guess"],
        },
    )


def claim_caption(view: dict[str, Any], lang: str) -> str:
    sources = sorted(
        {*view["claim"]["sources"], *(str(o.get("source_id", "")) for o in view["observed"].values())} - {""}
    )
    sources += sorted({s for a in view["assumptions"] for s in a.get("sources", [])})
    assumed = "; ".join(f"{a['label']} {a['range_90'][0]:g}–{a['range_90'][1]:g}" for a in view["assumptions"])
    return t(
        lang,
        M["caption"],
        sources=", ".join(dict.fromkeys(sources)),
        assumptions=assumed,
        seed=view["seed"],
        draws=view["draws"],
    )


def claim_section(lang: str, ctx: Context) -> Section:
    from warexempt.population.claim import claim_check

    check = ctx.get("claim", lambda: claim_check(draws=ctx.draws, seed=ctx.seed))
    view = check.to_dict(lang)
    ctx.cache["claim_view"] = check.to_dict("en")
    table = Table(
        [t(lang, M[k]) for k in ("col_reading", "col_pool", "col_chance", "col_uptake")],
        [
            [
                r["definition"],
                f"{r['eligible_pool']['median']:,.0f} ({r['eligible_pool']['p90'][0]:,.0f}–{r['eligible_pool']['p90'][1]:,.0f})",
                pct(r["chance_pool_reaches_target"], lang),
                pct(r["implied_uptake"]["median"], lang),
            ]
            for r in view["readings"]
        ],
    )
    paragraphs = [view["conclusion"], *(r["statement"] for r in view["readings"]), view["observed_statement"]]
    return Section(
        "claim",
        t(lang, N_("The claim check: '40% of 60,000'")),
        paragraphs,
        [table],
        [claim_figure(view, lang, claim_caption(view, lang))],
    )


def tornado_frame(view: dict[str, Any]) -> pl.DataFrame:
    """``label, low, high`` (the output at each assumption's 5% and 95% values) from ``Sensitivity.to_dict``."""
    return pl.DataFrame(
        [
            {"id": f["id"], "label": f["label"], "low": float(f["tornado"]["low"]), "high": float(f["tornado"]["high"])}
            for f in view["factors"]
        ]
    )


def sobol_frame(view: dict[str, Any]) -> pl.DataFrame:
    """``label, S1, ST, S1_conf, ST_conf`` and Morris's μ*, σ from ``Sensitivity.to_dict``."""
    return pl.DataFrame(
        [
            {
                "id": f["id"],
                "label": f["label"],
                **{k: float(v) for k, v in f["sobol"].items()},
                "mu_star": float(f["morris"]["mu_star"]),
                "sigma": float(f["morris"]["sigma"]),
            }
            for f in view["factors"]
        ]
    )


def sensitivity_caption(view: dict[str, Any], lang: str) -> str:
    from warexempt.population import assumptions as asm

    found = {a.id: a for a in asm.ASSUMPTIONS}
    ids = [f["id"] for f in view["factors"]]
    sources = sorted({s for i in ids if i in found for s in found[i].source_ids})
    assumed = "; ".join(f"{f['label']} {f['range_90'][0]:g}–{f['range_90'][1]:g}" for f in view["factors"])
    return t(
        lang,
        M["sens_caption"],
        sources=", ".join(sources),
        morris=view["morris_trajectories"],
        sobol=view["sobol_base_samples"],
        runs=view["model_runs"],
        seed=view["seed"],
        assumptions=assumed,
    )


def sensitivity_section(lang: str, ctx: Context) -> Section:
    from warexempt.population.sensitivity import sensitivity

    found = ctx.get("sensitivity", lambda: sensitivity(ctx.day, "covered", 2**6, ctx.sobol_n, ctx.seed))
    view = found.to_dict(lang)
    ctx.cache["sensitivity_view"] = found.to_dict("en")
    text = sensitivity_caption(view, lang)
    tornado = plots.tornado_chart(
        tornado_frame(view),
        base=float(view["baseline"]),
        chart_id="tornado",
        title=t(lang, M["tornado_title"]),
        caption=text,
        xlabel=t(lang, M["people"]),
    )
    sobol = plots.sobol_chart(sobol_frame(view), chart_id="sobol", title=t(lang, M["sobol_title"]), caption=text)
    table = Table(
        [t(lang, M["col_assumption"]), "μ*", "S1", "ST", t(lang, M["col_swing"])],
        [
            [
                f"{f['label']} ({f['id']})",
                f"{f['morris']['mu_star']:,}",
                f"{f['sobol']['S1']:.3f}",
                f"{f['sobol']['ST']:.3f}",
                f"{f['tornado']['low']:,} → {f['tornado']['high']:,}",
            ]
            for f in view["factors"]
        ],
    )
    paragraphs = [t(lang, M["sens_text"], output=view["output_label"], baseline=f"{view['baseline']:,}")]
    return Section(
        "sensitivity",
        t(lang, N_("What the estimate is sensitive to: tornado and Sobol indices")),
        paragraphs,
        [table],
        [tornado, sobol],
    )
