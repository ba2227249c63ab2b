"""Properties of the one rules path (Hypothesis): single == bulk, order and batch invariance, monotone exclusions,
and no look-ahead past the day asked about (RULES.md §1, §3, §4)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warexempt
from warexempt.law.catalog import bundled_law
from warexempt.rules import Case, Event, case_frame, evaluate

LAW = bundled_law()
CODES = ["158:1", "158:2", "158:3:в", "228:2", "111:1", "105:1", "161:1", "264.1:1", "134:1", "131:3", "205:1", "275"]
EXCLUDED = ["205:1", "275", "131:3:а", "361:1", "210:1"]
STAGES = ["pre_trial", "trial", "appeal", "sentenced"]
DAY0 = dt.date(2022, 6, 1)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw, charges=st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True)):
    offsets = sorted(draw(st.lists(st.integers(0, 1600), min_size=4, max_size=4)))
    entry = DAY0 + dt.timedelta(days=offsets[0])
    events = [Event(date=entry, kind=draw(st.sampled_from(["contract_signed", "called_up"])))]
    if draw(st.booleans()):
        events.append(Event(date=DAY0 + dt.timedelta(days=offsets[1]), kind="command_petition"))
    ending = draw(st.sampled_from(["none", "award", "discharge", "resumed"]))
    when = DAY0 + dt.timedelta(days=offsets[2])
    if ending == "award":
        events.append(Event(date=when, kind="state_award"))
    elif ending == "discharge":
        ground = draw(st.sampled_from(["age", "health", "end_of_mobilisation", "other"]))
        events.append(Event(date=when, kind="discharged", ground=ground))
    elif ending == "resumed":
        events.append(Event(date=when, kind="resumed"))
    if draw(st.booleans()):
        events.append(Event(date=DAY0 + dt.timedelta(days=offsets[3]), kind="died"))
    as_of = DAY0 + dt.timedelta(days=draw(st.integers(0, 1700)))
    offence = draw(st.one_of(st.none(), st.dates(dt.date(2021, 1, 1), dt.date(2024, 6, 1))))
    return Case(
        charges=draw(charges), stage=draw(st.sampled_from(STAGES)), events=events, as_of=as_of, offence_date=offence
    )


COLUMNS = ["eligible", "outcome", "record_cleared", "reasons", "unconfirmed"]


def answers(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return [
        tuple(r[c] if not isinstance(r[c], list) else tuple(r[c]) for c in COLUMNS)
        for r in evaluate(frame, law=LAW).iter_rows(named=True)
    ]


@SETTINGS
@given(st.lists(cases(), min_size=1, max_size=12))
def test_single_case_answer_equals_bulk_answer(batch):
    bulk = answers(case_frame(batch, LAW))
    single = [answers(case_frame([c], LAW))[0] for c in batch]
    assert bulk == single
    via_api = [warexempt.check(c) for c in batch]
    assert [(d.eligible, d.outcome, d.record_cleared, tuple(d.reasons), tuple(d.unconfirmed)) for d in via_api] == bulk


@SETTINGS
@given(st.lists(cases(), min_size=2, max_size=12), st.randoms(use_true_random=False), st.integers(1, 5))
def test_order_of_rows_charges_and_batch_size_never_change_an_answer(batch, rnd, size):
    base = answers(case_frame(batch, LAW))
    order = list(range(len(batch)))
    rnd.shuffle(order)
    shuffled = [
        batch[i].model_copy(update={"charges": rnd.sample(batch[i].charges, len(batch[i].charges))}) for i in order
    ]
    got = answers(case_frame(shuffled, LAW))
    assert [got[order.index(i)] for i in range(len(batch))] == base
    chunks = [answers(case_frame(batch[i : i + size], LAW)) for i in range(0, len(batch), size)]
    assert [a for chunk in chunks for a in chunk] == base


@SETTINGS
@given(cases(), st.sampled_from(EXCLUDED))
def test_adding_an_excluded_charge_never_makes_a_case_eligible(case, extra):
    before = warexempt.check(case)
    after = warexempt.check(case.model_copy(update={"charges": [*case.charges, extra]}))
    assert not (after.eligible and not before.eligible)
    if after.outcome != "not_covered":
        # only possible where the stage has no route on the day, or the list in force does not name the charge
        assert before.outcome == after.outcome


@SETTINGS
@given(cases(), st.integers(1, 400))
def test_an_answer_on_a_day_depends_only_on_events_up_to_that_day(case, later):
    day = case.as_of
    known = [e for e in case.events if e.date <= day]
    future = [Event(date=day + dt.timedelta(days=later), kind="state_award")]
    # keep the facts possible: a future event must not follow a death
    if any(e.kind == "died" for e in case.events):
        future = []
    trimmed = case.model_copy(update={"events": known})
    extended = case.model_copy(update={"events": [*case.events, *future]})
    if not known or not any(e.kind in ("contract_signed", "called_up") for e in known):
        return
    assert answers(case_frame([trimmed], LAW)) == answers(case_frame([extended], LAW))


@SETTINGS
@given(st.lists(cases(), min_size=1, max_size=6))
def test_a_frame_s_other_columns_never_change_an_answer(batch):
    """Columns the engine does not read (even ones named like its outputs) are ignored, not mixed into the answer."""
    frame = case_frame(batch, LAW)
    noise = frame.with_columns(
        outcome=pl.lit("released"), status=pl.lit(99), reasons=pl.lit("x"), _ans=pl.lit(0), eligible=pl.lit(True)
    )
    assert answers(noise) == answers(frame)
