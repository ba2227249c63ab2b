"""The population model: cells decided by the rules path, reproducible draws, the claim check, sensitivity."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import warexempt
from warexempt.cli.app import app
from warexempt.population import assumptions as asm
from warexempt.population.claim import claim_check, claim_day
from warexempt.population.model import AS_OF, CONTRACT_BEFORE, PETITION_BEFORE, Estimate, Model, estimate
from warexempt.population.sensitivity import sensitivity
from warexempt.population.stats import bundled

runner = CliRunner()
DAY = claim_day()  # one day for the whole file: its cells are decided once (Model.of is cached)
DRAWS = 2_000


@pytest.fixture(scope="module")
def est() -> Estimate:
    return estimate(DAY, DRAWS, seed=7)


def test_the_default_claim_day_is_two_weeks_into_340_fz():
    assert dt.date(2024, 10, 27) == DAY


def test_same_seed_same_bytes_other_seed_other_numbers(est):
    again = estimate(DAY, DRAWS, seed=7)
    assert again.to_json() == est.to_json() and again.to_json("ru") == est.to_json("ru")
    other = estimate(DAY, DRAWS, seed=8)
    assert other.to_json() != est.to_json()
    assert json.loads(est.to_json())["seed"] == 7


def test_cells_are_decided_as_check_decides_the_same_case(est):
    """The rules path, not a copy of it: a sample of cells, each re-decided by ``warexempt.check``."""
    rng = np.random.default_rng(0)
    picks = [est.cells[i] for i in rng.choice(len(est.cells), 25, replace=False)]
    picks += [c for c in est.cells if c.charges == ("275",) and c.stage == "trial"][:2]
    for cell in picks:
        d = warexempt.check(
            charges=list(cell.charges),
            stage=cell.stage,
            as_of=cell.day,
            events=[
                {"date": cell.day - dt.timedelta(days=CONTRACT_BEFORE), "kind": "contract_signed"},
                {"date": cell.day - dt.timedelta(days=PETITION_BEFORE), "kind": "command_petition"},
            ],
        )
        assert (d.eligible, d.outcome, tuple(d.reasons)) == (cell.eligible, cell.outcome, cell.reasons), cell


def test_each_version_of_the_law(est):
    ids = [v.version.id for v in est.versions]
    assert ids[:4] == ["pardon-2022", "fz-270", "fz-64", "fz-340"] and ids[-1] == AS_OF
    assert est.stage("fz-64", "trial").covered.median == 0  # courts could not suspend before 340-FZ
    assert est.stage("fz-340", "trial").covered.median > 0
    assert est.stage("pardon-2022", "pre_trial").covered.median == 0
    assert est.stage("fz-270", "pre_trial").covered.median > 0
    treason = [c for c in est.cells if c.charges == ("275",) and c.version == "fz-340" and c.stage == "trial"]
    assert treason and not treason[0].eligible and treason[0].outcome == "not_covered"
    assert "uk:78.1:1" in est.stage("fz-340", "trial").excluded_by


def test_intervals_and_sums_hold_in_every_draw(est):
    s = est.samples
    for v in est.versions:
        for st in ("pre_trial", "trial", "appeal", "sentenced"):
            parts = s[(v.version.id, st, "covered")] + s[(v.version.id, st, "not_covered")]
            parts = parts + s[(v.version.id, st, "unmapped")]
            np.testing.assert_allclose(parts, s[(v.version.id, st, "people")], rtol=1e-9)
            iv = est.stage(v.version.id, st).covered
            assert iv.p90[0] <= iv.p50[0] <= iv.median <= iv.p50[1] <= iv.p90[1]
    trial = est.stage(AS_OF, "trial")
    flow = bundled().value("persons_in_criminal_cases_heard_by_courts", "2023")
    lo, hi = asm.BY_ID["trial_months"].params[0], asm.BY_ID["trial_months"].params[2]
    assert flow * lo / 12 <= trial.people.p90[0] and trial.people.p90[1] <= flow * hi / 12


def test_every_assumption_is_stated_with_range_distribution_and_basis(est):
    view = est.to_dict()["assumptions"]
    assert {a["id"] for a in view} == set(asm.BY_ID)
    for a in view:
        assert a["distribution"] in ("Beta", "PERT") and a["basis"] and a["range_90"][0] < a["range_90"][1]
    ru = est.to_dict("ru")["assumptions"]
    assert all(any("а" <= ch <= "я" for ch in a["label"]) for a in ru)
    assert est.data_hashes == bundled().hashes and est.law_fingerprint


def test_draws_must_be_positive():
    with pytest.raises(ValueError, match="draws: 0"):
        estimate(DAY, 0)


def test_the_claim_check_from_the_data():
    check = claim_check(DAY, DRAWS, seed=3)
    view = check.to_dict()
    assert view["claim"]["target"] == bundled().claim("C02").value == 24_000
    assert view["claim"]["share"] == 0.4
    assert view["observed"]["suspensions_2025H1"]["value"] == 25_300
    assert view["observed"]["suspensions_2019"]["value"] == 648
    assert view["observed"]["terminations_2025"]["value"] == 5_000
    readings = {r["id"]: r for r in view["readings"]}
    assert set(readings) == {"claim_base", "trial_stock", "sizo", "annual_flow"}
    for r in readings.values():
        assert 0.0 <= r["chance_pool_reaches_target"] <= 1.0
        assert r["eligible_pool"]["p90"][0] <= r["eligible_pool"]["median"] <= r["eligible_pool"]["p90"][1]
    base = readings["claim_base"]
    assert base["base"]["median"] == 60_000 and base["target_share_of_base"]["median"] == 0.4
    # implied uptake = 24,000 / pool, so a larger base needs a smaller share
    assert readings["annual_flow"]["implied_uptake"]["median"] < base["implied_uptake"]["median"]
    assert claim_check(DAY, DRAWS, seed=3).to_json() == check.to_json()
    ru = check.to_dict("ru")
    assert "подсудимых" in ru["conclusion"] and "25\u00a0300" in ru["observed_statement"]
    assert "24,000 is" in view["comparison_statement"] and "раза" in ru["comparison_statement"]


def test_sensitivity_morris_sobol_tornado():
    result = sensitivity(DAY, "trial_pool", morris_n=4, sobol_n=32, seed=1)
    factors = {f.id: f for f in result.factors}
    assert set(factors) == set(asm.BY_ID)
    assert result.factors[0].id == "trial_months"  # the stock of defendants is the least known and matters most
    assert factors["uptake"].swing == 0 and factors["uptake"].sobol_total == pytest.approx(0, abs=1e-9)
    assert factors["trial_months"].sobol_total > factors["fit_share"].sobol_total > 0
    assert factors["trial_months"].tornado_low < result.baseline < factors["trial_months"].tornado_high
    with pytest.raises(ValueError, match="not a power of two"):
        sensitivity(DAY, "trial_pool", morris_n=5)
    assert sensitivity(DAY, "trial_pool", morris_n=4, sobol_n=32, seed=1).to_json() == result.to_json()


def test_model_run_is_vectorised_and_decides_nothing():
    model = Model.of(DAY)
    p = asm.medians(3)
    out = model.run(p)
    assert out[(AS_OF, "trial", "covered")].shape == (3,)
    assert len({round(float(x)) for x in out[(AS_OF, "trial", "covered")]}) == 1


def test_cli_claim_estimate_and_errors():
    res = runner.invoke(app, ["population", "claim", "--as-of", DAY.isoformat(), "--draws", "500", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["claim"]["target"] == 24_000
    text = runner.invoke(app, ["population", "claim", "--draws", "500", "--lang", "ru"], env={"COLUMNS": "200"})
    assert text.exit_code == 0 and "Проще говоря" in text.output
    res = runner.invoke(app, ["population", "estimate", "--as-of", DAY.isoformat(), "--draws", "300"])
    assert res.exit_code == 0 and "fz-340" in res.output
    bad = runner.invoke(app, ["population", "estimate", "--as-of", "2024-13-01"])
    assert bad.exit_code == 2 and "2024-13-01" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(app, ["population", "sensitivity", "--as-of", DAY.isoformat(), "--morris", "6"])
    assert bad.exit_code == 2 and "morris_n: 6 is not a power of two" in bad.output
    res = runner.invoke(
        app,
        [
            "population",
            "sensitivity",
            "--as-of",
            DAY.isoformat(),
            "--output",
            "trial_pool",
            "--morris",
            "4",
            "--sobol",
            "16",
            "--json",
        ],
    )
    assert res.exit_code == 0 and json.loads(res.output)["factors"][0]["id"] == "trial_months"
