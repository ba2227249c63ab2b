"""Outcome scenarios (issue 11, item 4): synthetic event histories decided by the one rules path (RULES.md §4), their
parameters computed from the bundled claims, seeded and reproducible, labelled as scenarios."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from warexempt.facade import check
from warexempt.law.catalog import Law
from warexempt.population import scenarios as sc


@pytest.fixture(scope="module")
def claims() -> dict[str, sc.Claim]:
    return sc.load_claims()


@pytest.fixture(scope="module")
def result() -> sc.Result:
    return sc.run(seed=7, keep_cohort=True, draws=6, persons=40)


def _only(pid: str, share: float = 1 - 1e-9, **extra: float) -> sc.Scenario:
    """A scenario in which, within a year, (almost) everyone meets one kind of event."""
    values = {"death": 0.0, "release": 0.0, "award_part": 0.0, "age_part": 0.0, "other_discharge": 0.0}
    values |= {"desertion": 0.0, pid: share, **extra}
    params = tuple(sc.Parameter(k, v, v, v, "test") for k, v in values.items())
    return sc.Scenario(f"all-{pid}", "test", "test", params)


def test_parameters_come_from_the_claims(claims):
    """The death shares are the claims' own ratios: C17/C09, C15/(C09+C12), and C09's 17,175 in its text / C09."""
    found = {s.id: s for s in sc.scenarios(claims)}
    assert found["low"].parameter("death").mode == pytest.approx(5_000 / 48_000)
    assert found["central"].parameter("death").mode == pytest.approx(14_500 / (48_000 + 29_000))
    assert found["high"].parameter("death").mode == pytest.approx(17_175 / 48_000)
    assert found["central"].parameter("death").claims == ("C15", "C09", "C12")
    release = found["central"].parameter("release")
    assert (release.low, release.high) == pytest.approx((350 / 35_300, 5_000 / 35_300))
    assert release.assumption  # its mode is not published
    assert found["demobilised"].end_of_mobilisation is not None


def test_a_figure_must_stand_in_its_claim(claims):
    with pytest.raises(sc.ScenarioDataError, match=r"C09: its text does not contain '99,999'"):
        sc.figure(claims, "C09:99,999")
    with pytest.raises(sc.ScenarioDataError, match=r"C99: not in claims\.csv"):
        sc.figure(claims, "C99")
    with pytest.raises(sc.ScenarioDataError, match="C16: value_low is empty"):
        sc.figure(claims, "C16")


def test_all_awards_give_all_released():
    """RULES.md §4: an award releases (УК 78.1 ч. 1 п. «а»; a convict: 80.2 ч. 2 п. «а», 86 ч. 2), at every stage."""
    res = sc.run(only=[_only("release", award_part=1.0)], keep_cohort=True, draws=6, persons=40)
    summary = res.summary()
    released = summary.filter(pl.col("group") == "released")
    assert released["median"].to_list() == [1.0] * len(sc.STAGES)
    assert released["q05"].to_list() == [1.0] * len(sc.STAGES)
    reasons = set(res.breakdown["reasons"])
    assert reasons == {"uk:78.1:1:а upk:28.2", "uk:80.2:2:а uk:86:2"}
    assert set(res.breakdown["cause"]) == {"award"}


def test_all_deaths_give_all_killed():
    res = sc.run(only=[_only("death")], draws=6, persons=40)
    killed = res.summary().filter(pl.col("group") == "killed")
    assert killed["median"].to_list() == [1.0] * len(sc.STAGES)
    assert set(res.breakdown["outcome"]) == {"terminated_death"}


def test_desertion_after_534_fz_cites_its_part(result, law: Law):
    """534-FZ (in force 2026-01-09): desertion by a person whose case is suspended is УК 338 ч. 4, cited among the
    resumption's reasons; before that date the history has the general 338 ч. 1 and no 534-FZ part is cited."""
    cohort = result.cohort
    assert cohort is not None
    desertions = (
        cohort.events.filter(pl.col("event_id") == "desertion")
        .join(cohort.decisions.with_row_index("_k").select(pl.col("_k").cast(pl.UInt32), "outcome", "reasons"), on="_k")
        .with_columns(after=pl.col("date") >= dt.date(2026, 1, 9))
    )
    assert desertions.height > 0
    assert set(desertions["outcome"]) == {"resumed"}
    after, before = desertions.filter("after"), desertions.filter(~pl.col("after"))
    assert after.height > 0 and before.height > 0
    assert set(after["charge"]) == {"338:4"} and set(before["charge"]) == {"338:1"}
    assert all("uk:338:4" in r for r in after["reasons"].to_list())
    assert not any("uk:338:4" in r for r in before["reasons"].to_list())


def test_the_cohort_is_decided_as_single_checks_are(result):
    """The one rules path: a synthetic person's history given to ``check`` gets the same outcome and reasons."""
    cohort = result.cohort
    assert cohort is not None
    picks = cohort.decisions.with_row_index("_k").filter(pl.col("_k") % 97 == 0).head(12)
    for row in picks.iter_rows(named=True):
        case = cohort.cases.row(row["_k"], named=True)
        events = cohort.events.filter(pl.col("_k") == row["_k"])
        one = check(
            charges=case["charges"],
            stage=case["stage"],
            as_of=case["as_of"],
            events=[
                {k: v for k, v in e.items() if v is not None and k in ("date", "kind", "ground", "charge")}
                for e in events.iter_rows(named=True)
            ],
        )
        assert (one.outcome, one.reasons) == (row["outcome"], list(row["reasons"]))


def test_groups_follow_the_engine(result):
    """Each group is the engine's outcomes: nothing undecided, every release cites 78.1/80.2, killed is death."""
    summary = result.summary()
    assert summary.filter(pl.col("group") == "undecided")["median"].max() == 0.0
    by_group = result.breakdown.group_by("group").agg(pl.col("outcome").unique())
    outcomes = {g: set(o) for g, o in by_group.iter_rows()}
    assert outcomes["released"] <= {"released", "released_from_punishment"}
    assert outcomes["killed"] == {"terminated_death"}
    assert outcomes["serving"] <= {"suspended", "conditionally_released"}
    shares = result.shares.group_by("scenario", "stage", "draw").agg(pl.col("share").sum())
    assert shares["share"].round(6).unique().to_list() == [1.0]


def test_the_end_of_mobilisation_releases_everyone_still_serving(result):
    """A hypothetical end of mobilisation: the discharge on that ground releases (УК 78.1 ч. 1 п. «б»)."""
    demob = result.breakdown.filter(pl.col("scenario") == "demobilised")
    assert "serving" not in set(demob["group"])
    ended = demob.filter(pl.col("cause") == "end-of-mobilisation")
    assert set(ended["reasons"]) == {"uk:78.1:1:б upk:28.2", "uk:80.2:2:б uk:86:2"}


def test_the_same_seed_gives_byte_identical_numbers():
    a, b = sc.run(seed=3, draws=6, persons=40), sc.run(seed=3, draws=6, persons=40)
    assert a.summary().write_csv() == b.summary().write_csv()
    assert a.breakdown.write_csv() == b.breakdown.write_csv()
    assert a.parameters.write_csv() == b.parameters.write_csv()
    other = sc.run(seed=4, draws=6, persons=40)
    assert other.shares.write_csv() != a.shares.write_csv()


def test_bad_settings_are_refused():
    with pytest.raises(sc.ScenarioDataError, match="draws=0"):
        sc.run(draws=0)
    with pytest.raises(sc.ScenarioDataError, match="as_of 2025-06-01"):
        sc.run(as_of=dt.date(2025, 6, 1))
    heavy = _only("death", 0.6, desertion=0.5)
    with pytest.raises(sc.ScenarioDataError, match=r"sum to 1\.100"):
        sc.run(only=[heavy], draws=6, persons=40)
    early = dataclasses.replace(_only("death", 0.1), end_of_mobilisation=dt.date(2025, 6, 1))
    with pytest.raises(sc.ScenarioDataError, match="falls in the contract window"):
        sc.run(only=[early], draws=6, persons=40)
