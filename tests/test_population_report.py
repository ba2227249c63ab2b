"""The population report and the Datasette file (issue 11, item 5): self-contained HTML in Russian and English, every
figure with its sources, the figures' data in SQLite with primary keys; built from real outputs of the model."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from warexempt.law.catalog import bundled_law
from warexempt.population import plots, publish, report, report_model, scenarios

OUTSIDE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def scenario_result() -> scenarios.Result:
    return scenarios.run(draws=5, persons=30, seed=2)


@pytest.fixture(scope="module")
def ctx() -> report.Context:
    return report.Context(dt.date(2026, 12, 1), 0, 40, bundled_law(), scenarios.load_claims(), 5, 30)


@pytest.fixture(scope="module")
def estimate(ctx: report.Context) -> object:
    """A real estimate of the model, with few draws (the section functions are fed its output)."""
    model = pytest.importorskip("warexempt.population.model")
    return ctx.get("estimate", lambda: model.estimate(ctx.day, draws=ctx.draws, seed=ctx.seed))


def _figures(html: str) -> list[str]:
    return re.findall(r"<figure\b.*?</figure>", html, flags=re.S)


@pytest.mark.parametrize(
    ("lang", "label", "sources"),
    [("en", "SCENARIOS, not forecasts", "Sources"), ("ru", "СЦЕНАРИИ, а не прогнозы", "Источники")],
)
def test_the_report_is_self_contained_in_both_languages(tmp_path: Path, lang: str, label: str, sources: str) -> None:
    page, found = report.build(tmp_path, lang=lang, seed=1, only=["scenarios"], scenario_draws=5, scenario_persons=30)
    html = page.read_text(encoding="utf-8")
    assert not OUTSIDE.search(html), "the report must not load anything from outside"
    assert "<link" not in html and "<script" not in html
    figures = _figures(html)
    assert len(figures) == sum(len(s.charts) for s in found) >= 2
    for fig in figures:
        assert "<svg" in fig
        caption = re.search(r"<figcaption>(.*?)</figcaption>", fig, flags=re.S)
        assert caption and sources in caption.group(1) and "C15" in caption.group(1)
    assert label in html
    assert bundled_law().fingerprint in html
    for name, digest in report.data_hashes().items():
        assert name in html and digest in html
    assert (tmp_path / "figures" / "scenarios.svg").is_file() and (tmp_path / "figures" / "scenarios.png").is_file()
    if lang == "ru":
        assert 'lang="ru"' in html
        for phrase in ("Сценарии исходов", "освобождены", "погибли на службе", "ч. 4 ст. 338 УК РФ", "Исходные данные"):
            assert phrase in html, phrase


@pytest.fixture(scope="module")
def section(scenario_result: scenarios.Result) -> report.Section:
    return report.scenario_section(scenario_result, "en", scenarios.load_claims(), bundled_law())


def test_the_scenario_section_cites_the_rules(section: report.Section) -> None:
    """The breakdown table names each rule's provisions as citations (RULES.md §4: an award releases, УК 78.1)."""
    rules = section.tables[-1]
    cells = [" ".join(r) for r in rules.rows]
    assert any("78.1" in c and "released" in c for c in cells)
    assert all(c.caption.startswith("SCENARIOS, not forecasts") for c in section.charts)
    stacked = section.charts[0].data
    assert set(stacked.columns) == {"label", "part", "value"} and stacked.height == 4 * 4


def test_a_figure_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match="figure x: its data lacks the column"):
        plots.interval_chart(pl.DataFrame({"label": ["a"]}), chart_id="x", title="t", caption="c", xlabel="x")


def test_figures_are_byte_identical_for_the_same_data() -> None:
    data = pl.DataFrame({"label": ["a", "b"], "median": [1.0, 2.0], "q05": [0.5, 1.0], "q25": [0.8, 1.5]})
    data = data.with_columns(q75=pl.col("median") + 0.2, q95=pl.col("median") + 0.5)
    a, b = (plots.interval_chart(data, chart_id="x", title="t", caption="Sources: C01", xlabel="x") for _ in range(2))
    assert a.svg == b.svg and a.png == b.png
    assert a.svg.startswith("<svg") and "Sources: C01" in a.svg


def test_model_sections_from_a_real_estimate(estimate: object, ctx: report.Context) -> None:
    """Coverage, the charge mix and the intervals, from the model's own output."""
    for build in (report_model.coverage_section, report_model.charges_section, report_model.intervals_section):
        section = build("en", ctx)
        assert section.charts and section.charts[0].data.height > 0
        assert "Sources:" in section.charts[0].caption and "Assumptions" in section.charts[0].caption
    coverage = report_model.coverage_frame(estimate)  # type: ignore[arg-type]
    assert set(coverage["stage"]) == {"pre_trial", "trial", "appeal", "sentenced"}


def test_publish_writes_datasette_tables(tmp_path: Path) -> None:
    out = tmp_path / "out.db"
    counts = publish.publish(out, seed=1, only=["scenarios"], scenario_draws=5, scenario_persons=30)
    con = sqlite3.connect(out)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        need = {"run", "data_files", "sources", "claims", "figures", "tables", "scenario_summary", "scenario_breakdown"}
        assert need <= tables
        assert "figure_scenarios" in tables
        for name in tables:
            keys = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")') if r[5]]
            assert keys, f"{name} has no primary key"
            assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == counts[name]
        run = dict(con.execute("SELECT key, value FROM run"))
        assert run["law_fingerprint"] == bundled_law().fingerprint and run["seed"] == "1"
        released = con.execute(
            "SELECT median FROM scenario_summary WHERE scenario = 'central' AND stage = 'trial' AND \"group\" = 'released'"
        ).fetchone()
        assert released is not None and 0 <= released[0] <= 1
        captions = [r[0] for r in con.execute("SELECT caption FROM figures")]
        assert captions and all("Sources" in c for c in captions)
        assert con.execute("SELECT count(*) FROM claims WHERE claim_id = 'C09'").fetchone()[0] == 1
    finally:
        con.close()
    with pytest.raises(publish.PublishError, match="exists; use --force"):
        publish.publish(out, only=["scenarios"], scenario_draws=5, scenario_persons=30)


def test_the_commands(tmp_path: Path) -> None:
    """``warexempt population scenarios | report | publish``, and their errors naming the value and the choices."""
    import json

    from typer.testing import CliRunner

    from warexempt.cli.app import app

    runner = CliRunner()
    res = runner.invoke(app, ["population", "scenarios", "--scenario-draws", "3", "--persons", "20", "--json"])
    assert res.exit_code == 0, res.output
    view = json.loads(res.output)
    assert view["label"] == "SCENARIOS, not forecasts" and {s["id"] for s in view["scenarios"]} >= {"central"}
    res = runner.invoke(app, ["population", "scenarios", "--scenario-draws", "3", "--persons", "20", "--lang", "ru"])
    assert res.exit_code == 0 and "СЦЕНАРИИ, а не прогнозы" in res.output
    small = ["--section", "scenarios", "--scenario-draws", "3", "--persons", "20"]
    res = runner.invoke(app, ["population", "report", "--out", str(tmp_path / "r"), *small])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r" / "report.html").is_file()
    res = runner.invoke(app, ["population", "report", "--out", str(tmp_path / "r"), "--section", "nonsense"])
    assert res.exit_code == 2 and "--section nonsense: not a section; expected coverage" in res.output
    (tmp_path / "file").write_text("x")
    res = runner.invoke(app, ["population", "report", "--out", str(tmp_path / "file"), *small])
    assert res.exit_code == 2 and "is a file; expected a folder" in res.output
    db = tmp_path / "p.db"
    db.write_bytes(b"")
    res = runner.invoke(app, ["population", "publish", str(db), *small])
    assert res.exit_code == 2 and "exists; use --force" in res.output
