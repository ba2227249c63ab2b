"""``warexempt population …`` (estimates, the claim check, sensitivity) and ``warexempt data sources``.

Thin: each command formats what ``warexempt.population`` returns (plain data); the numbers come from the model,
whose decisions come from the rules path. Nothing here lists or ranks people: every figure is an aggregate.

Other population commands (scenarios, report, publish) are added below the marked line, each in its own function
registered on ``population_app``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from warexempt.cli.options import Json, Lang, group

if TYPE_CHECKING:
    from warexempt.population.model import Interval

population_app = group(
    "Estimates from public statistics: how many people each version of the law covers, with uncertainty."
)
data_app = group("The bundled public statistics and their sources.")


Seed = Annotated[int, typer.Option("--seed", help="Seed of the random draws: the same seed gives the same numbers.")]
Draws = Annotated[int, typer.Option("--draws", help="Number of Monte Carlo draws.", min=1, max=200_000)]
Day = Annotated[
    str | None, typer.Option("--as-of", help="The day of the population and of the law (YYYY-MM-DD; default today).")
]
ClaimDay = Annotated[
    str | None,
    typer.Option("--as-of", help="The day (YYYY-MM-DD; default: two weeks after 340-FZ entered into force)."),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    from warexempt.cli.app import _fail as fail

    fail(message, code)


def _day(value: str | None) -> dt.date:
    from warexempt.cli.app import _day as day

    return day(value)


def _stats_guard() -> None:
    """Load the bundled statistics first, so that a file that fails its checks stops with its own message."""
    from warexempt.cli.i18n import current
    from warexempt.population.stats import StatsError, bundled

    try:
        bundled()
    except StatsError as exc:
        _fail(exc.text(current()))


def _iv(x: Interval, lang: str, pct: bool = False) -> str:
    def f(v: float) -> str:
        text = f"{100 * v:.1f}%" if pct else f"{round(v):,}"
        return (text.replace(",", "\u00a0").replace(".", ",")) if lang == "ru" else text

    return f"{f(x.median)}  [{f(x.p50[0])}–{f(x.p50[1])}]  [{f(x.p90[0])}–{f(x.p90[1])}]"


def _print(text: str) -> None:
    from warexempt.cli.app import _out

    _out().print(text, highlight=False, soft_wrap=True)


@population_app.command("estimate")
def estimate_cmd(
    as_of: Day = None, draws: Draws = 10_000, seed: Seed = 0, as_json: Json = False, lang: Lang = "en"
) -> None:
    """How many people each version of the law covers at each stage: median, 50% and 90% intervals."""
    from rich.table import Table

    from warexempt.explain.i18n import gettext, pick
    from warexempt.population.model import estimate

    day = _day(as_of)
    _stats_guard()
    est = estimate(day, draws, seed)
    if as_json:
        typer.echo(est.to_json(lang))
        return
    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    table = Table(title=_("People covered by each version of the law (population of {day})", day=day.isoformat()))
    for heading in (_("Version"), _("Stage"), _("People"), _("Covered"), _("Share covered")):
        table.add_column(heading)
    from warexempt.law.catalog import bundled_law

    law = bundled_law()
    for v in est.versions:
        name = v.version.id if v.version.id != "as_of" else _("in force on {day}", day=day.isoformat())
        for s in v.stages:
            table.add_row(
                f"{name} ({v.version.day.isoformat()})",
                pick(law.stage(s.stage), lang),
                _iv(s.people, lang),
                _iv(s.covered, lang),
                _iv(s.share_covered, lang, pct=True),
            )
    from warexempt.cli.app import _out

    _out().print(table)
    _print(_("Median  [50% interval]  [90% interval]; {draws} draws, seed {seed}.", draws=draws, seed=seed))
    _print(_("Every assumption, its range and its sources: warexempt population estimate --json"))


@population_app.command("claim")
def claim_cmd(
    as_of: ClaimDay = None, draws: Draws = 10_000, seed: Seed = 0, as_json: Json = False, lang: Lang = "en"
) -> None:
    """Check the claim "40% of about 60,000 defendants" (C01-C05) against the law's estimated pool."""
    from warexempt.explain.i18n import gettext
    from warexempt.population.claim import claim_check

    day = _day(as_of) if as_of else None
    _stats_guard()
    check = claim_check(day, draws, seed)
    view = check.to_dict(lang)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    words = _claim_words(view, lang)
    _print(gettext(lang, "The claim: {share} of about {base} defendants, that is {target}.", **words))
    for r in view["readings"]:
        _print(f"• {r['statement']}")
    _print(view["observed_statement"])
    _print(view["comparison_statement"])
    _print(view["conclusion"])


def _claim_words(view: dict[str, Any], lang: str) -> dict[str, str]:
    c = view["claim"]

    def n(x: float) -> str:
        return f"{x:,.0f}".replace(",", "\u00a0" if lang == "ru" else ",")

    return {"share": f"{100 * c['share']:.0f}%", "base": n(c["claimed_base"]), "target": n(c["target"])}


@population_app.command("sensitivity")
def sensitivity_cmd(
    as_of: Day = None,
    output: Annotated[
        str, typer.Option("--output", help="What is studied: covered, trial_pool or signers.")
    ] = "covered",
    morris: Annotated[int, typer.Option("--morris", help="Morris trajectories (a power of two).")] = 64,
    sobol: Annotated[int, typer.Option("--sobol", help="Sobol base samples (a power of two).")] = 1024,
    seed: Seed = 0,
    as_json: Json = False,
    lang: Lang = "en",
) -> None:
    """Which assumptions move the estimate: Morris screening, Sobol indices and the tornado's swings."""
    from rich.table import Table

    from warexempt.explain.i18n import gettext
    from warexempt.population.sensitivity import sensitivity

    day = _day(as_of)
    _stats_guard()
    try:
        result = sensitivity(day, output.strip().lower(), morris, sobol, seed)
    except ValueError as exc:
        _fail(str(exc))
    view = result.to_dict(lang)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    table = Table(title=f"{view['output_label']} ({day.isoformat()}): {view['baseline']:,}")
    for heading in (_("Assumption"), "μ*", "S1", "ST", _("5% value"), _("95% value")):
        table.add_column(heading)
    for f in view["factors"]:
        t = f["tornado"]
        table.add_row(
            f"{f['label']} ({f['id']})",
            f"{f['morris']['mu_star']:,}",
            f"{f['sobol']['S1']:.3f}",
            f"{f['sobol']['ST']:.3f}",
            f"{t['low']:,}",
            f"{t['high']:,}",
        )
    from warexempt.cli.app import _out

    _out().print(table)


@data_app.command("sources")
def sources_cmd(as_json: Json = False, lang: Lang = "en") -> None:
    """Every bundled figure with its source, and each file's SHA-256, date and definition."""
    from rich.table import Table

    from warexempt.explain.i18n import gettext
    from warexempt.population.stats import StatsError, bundled

    try:
        stats = bundled()
    except StatsError as exc:
        _fail(exc.text(lang))
    rows: list[dict[str, Any]] = []
    for f in stats.figures:
        srcs = [stats.source(s) for s in f.source_ids]
        rows.append(
            {
                "file": f.file,
                "key": f.key,
                "period": f.period,
                "measure": f.measure,
                "value": f.value,
                "value_high": f.value_high,
                "unit": f.unit,
                "note": f.note,
                "sources": [{"id": s.source_id, "title": s.title, "publisher": s.publisher, "date": s.date,
                             "url": s.url} for s in srcs],
            }
        )  # fmt: skip
    if as_json:
        files = [{k: e[k] for k in ("file", "sha256", "source", "date", "definition")} for e in stats.provenance]
        by_part = {
            "file": "dostoevsky_2020_by_part_wide.csv",
            "source_id": "dostoevsky_backend_2020pkl",
            "measure": "totalConvicted",
            "rows": [{"part": p.code, "name": p.name, "convicted": p.values["totalConvicted"]} for p in stats.parts],
        }
        view = {"files": files, "figures": rows, "by_part_2020": by_part}
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    _ = lambda m: gettext(lang, m)  # noqa: E731
    listing = Table(title=_("Bundled files"))
    for heading in (_("File"), _("Date"), "SHA-256"):
        listing.add_column(heading)
    for e in stats.provenance:
        listing.add_row(str(e["file"]), str(e["date"]), str(e["sha256"]))
    from warexempt.cli.app import _out

    _out().print(listing)
    table = Table(title=_("Figures and their sources"))
    for heading in (_("Figure"), _("Period"), _("Value"), _("Source")):
        table.add_column(heading)
    for r in rows:
        value = "" if r["value"] is None else f"{r['value']:,.0f}"
        if r["value_high"] not in (None, r["value"]):
            value += f"–{r['value_high']:,.0f}"
        source = "; ".join(f"{s['publisher']}, {s['date']}: {s['url']}" for s in r["sources"])
        table.add_row(f"{r['key']}  {r['measure']}", r["period"], value or "—", source)
    _out().print(table)
    _print(_("The 2020 figures by article part: dostoevsky_2020_by_part_wide.csv (warexempt data sources --json)."))


# ------------------------------------------------------------------------------------------------------------
# Further `population` commands (outcome scenarios, report, publish) go below this line, one function each,
# registered with @population_app.command(...).


ScenarioDraws = Annotated[
    int, typer.Option("--scenario-draws", help="Parameter draws of the outcome scenarios.", min=1, max=100_000)
]
Persons = Annotated[
    int,
    typer.Option("--persons", help="Synthetic people per draw and stage in the outcome scenarios.", min=1, max=100_000),
]
ScenarioDay = Annotated[
    str | None,
    typer.Option("--as-of", help="The day the scenarios' histories are decided on (YYYY-MM-DD; default 2026-12-01)."),
]


@population_app.command("scenarios")
def scenarios_cmd(
    as_of: ScenarioDay = None,
    draws: ScenarioDraws = 200,
    persons: Persons = 250,
    seed: Seed = 0,
    as_json: Json = False,
    lang: Lang = "en",
) -> None:
    """SCENARIOS, not forecasts: of those who sign, the shares released, resumed, killed and still serving."""
    from rich.table import Table

    from warexempt.explain.i18n import gettext, pick
    from warexempt.law.catalog import bundled_law
    from warexempt.population import scenarios as sc

    day = _day(as_of) if as_of else sc.DEFAULT_AS_OF
    try:
        result = sc.run(draws=draws, persons=persons, seed=seed, as_of=day)
    except sc.ScenarioDataError as exc:
        _fail(str(exc))
    summary = result.summary()
    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    if as_json:
        view = {
            "label": _(sc.LABEL),
            "as_of": day.isoformat(),
            "seed": seed,
            "draws": draws,
            "persons": persons,
            "law_fingerprint": result.law_fingerprint,
            "scenarios": [
                {
                    "id": s.id,
                    "name": _(s.name),
                    "end_of_mobilisation": s.end_of_mobilisation.isoformat() if s.end_of_mobilisation else None,
                    "parameters": [
                        {"id": p.id, "label": _(sc.PARAMETER_NAMES[p.id]), "low": p.low, "mode": p.mode,
                         "high": p.high, "claims": list(p.claims), "derivation": p.derivation, "basis": _(p.basis)}
                        for p in s.parameters
                    ],
                }
                for s in result.scenarios
            ],
            "shares": summary.to_dicts(),
        }  # fmt: skip
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    law = bundled_law()
    names = {s.id: _(s.name) for s in result.scenarios}
    table = Table(title=f"{_(sc.LABEL)} — {pick(law.stage('trial'), lang)}, {day.isoformat()}")
    for heading in (_("scenario"), *(_(sc.GROUP_SHORT[g]) for g in sc.GROUPS if g != "undecided")):
        table.add_column(heading)

    def pct(x: float) -> str:
        text = f"{100 * x:.1f}"
        return text.replace(".", ",") if lang == "ru" else text

    trial = summary.filter(summary["stage"] == "trial")
    for sid, name in names.items():
        rows = {r["group"]: r for r in trial.filter(trial["scenario"] == sid).iter_rows(named=True)}
        table.add_row(
            name,
            *(
                f"{pct(rows[g]['median'])}%  [{pct(rows[g]['q05'])}–{pct(rows[g]['q95'])}%]"
                for g in sc.GROUPS
                if g != "undecided"
            ),
        )
    from warexempt.cli.app import _out

    _out().print(table)
    _print(
        _(
            "Median  [90% interval]; {draws} draws, {persons} people per stage, seed {seed}.",
            draws=draws,
            persons=persons,
            seed=seed,
        )
    )
    _print(_("Shares of those who sign at trial; the groups:"))
    for g in sc.GROUPS[:-1]:
        _print(f"  {_(sc.GROUP_SHORT[g])}: {_(sc.GROUP_NAMES[g])}")
    _print(
        _(
            "Every stage, parameter and source: warexempt population scenarios --json; the report: warexempt population report"
        )
    )


ReportDraws = Annotated[int, typer.Option("--draws", help="Monte Carlo draws of the estimate.", min=1, max=1_000_000)]
Sections = Annotated[
    list[str] | None,
    typer.Option(
        "--section",
        help="Only these sections (repeatable): coverage, charges, intervals, sensitivity, claim, scenarios.",
    ),
]


def _sections(values: list[str] | None, lang: str) -> list[str] | None:
    """The sections asked for, refused with the choices when one is not a section."""
    from warexempt.explain.i18n import gettext
    from warexempt.population.report import SECTIONS

    if not values:
        return None
    known = [sid for sid, _t, _b in SECTIONS]
    wanted = [v.strip().lower() for v in values]
    for v in wanted:
        if v not in known:
            _fail(
                gettext(
                    lang, "--section {value}: not a section; expected {expected}", value=v, expected=", ".join(known)
                )
            )
    return wanted


@population_app.command("report")
def report_cmd(
    out: Annotated[str, typer.Option("--out", help="Folder to write the report and its figures into.")],
    as_of: Day = None,
    draws: ReportDraws = 10_000,
    scenario_draws: ScenarioDraws = 200,
    persons: Persons = 250,
    seed: Seed = 0,
    section: Sections = None,
    lang: Lang = "en",
) -> None:
    """Write a self-contained HTML report (figures as SVG inside) and each figure as SVG and PNG."""
    from pathlib import Path

    from warexempt.explain.i18n import gettext
    from warexempt.population import report
    from warexempt.population import scenarios as sc

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        _fail(gettext(lang, "--out {path}: is a file; expected a folder", path=out))
    day = _day(as_of) if as_of else sc.DEFAULT_AS_OF
    only = _sections(section, lang)
    _stats_guard()
    try:
        page, found = report.build(
            folder,
            lang=lang,
            seed=seed,
            draws=draws,
            day=day,
            scenario_draws=scenario_draws,
            scenario_persons=persons,
            only=only,
        )
    except (sc.ScenarioDataError, OSError) as exc:
        _fail(str(exc))
    for s in found:
        if s.missing:
            _print(f"[yellow]{s.title}: {s.missing}[/yellow]")
    figures = sum(len(s.charts) for s in found)
    _print(
        gettext(
            lang,
            "Report: {page}; {figures} figures (SVG and PNG) in {folder}",
            page=str(page),
            figures=figures,
            folder=str(folder / "figures"),
        )
    )


@population_app.command("publish")
def publish_cmd(
    output: Annotated[str, typer.Argument(help="The SQLite file to write (e.g. population.db).", metavar="OUT.db")],
    as_of: Day = None,
    draws: ReportDraws = 10_000,
    scenario_draws: ScenarioDraws = 200,
    persons: Persons = 250,
    seed: Seed = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    section: Sections = None,
    lang: Lang = "en",
) -> None:
    """Write the aggregates and every figure's data as a SQLite file Datasette opens as it is."""
    from pathlib import Path

    from warexempt.explain.i18n import gettext
    from warexempt.population import publish
    from warexempt.population import scenarios as sc

    day = _day(as_of) if as_of else sc.DEFAULT_AS_OF
    only = _sections(section, lang)
    _stats_guard()
    try:
        counts = publish.publish(
            Path(output), seed=seed, draws=draws, day=day, scenario_draws=scenario_draws, scenario_persons=persons,
            force=force, only=only,
        )  # fmt: skip
    except (publish.PublishError, sc.ScenarioDataError, OSError) as exc:
        _fail(str(exc))
    rows = sum(counts.values())
    _print(
        gettext(
            lang,
            "Wrote {path}: {tables} tables, {rows} rows (datasette {path})",
            path=output,
            tables=len(counts),
            rows=rows,
        )
    )
