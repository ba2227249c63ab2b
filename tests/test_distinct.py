"""Deciding each distinct situation once (``rules.distinct``) gives every case exactly the answer of deciding it
alone: the same answer, dates, deciding event and errors, for histories whose dates fall on, before and after the
law's own days (where the segments start, the offence-date gate, 534-FZ's parts), shifted copies of one history,
and a hash that puts every case together (the exact check must then separate them)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_properties import SETTINGS, histories
from warexempt.law.catalog import bundled_law
from warexempt.law.tables import tables
from warexempt.rules import Case, Event, distinct, engine
from warexempt.rules.frames import encode, frames

LAW = bundled_law()
T = tables(LAW)
AS_OF = dt.date(2026, 11, 1)


def law_dates() -> list[dt.date]:
    """The law's own days and their neighbours: where a shift changes the answer, or must not."""
    days = distinct.law_days(T, ["338:4", "337:6"])
    base = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    return sorted({d + dt.timedelta(days=k) for d in base for k in (-1, 0, 1)})


def shifted(case: Case, by: int, k: int) -> Case:
    """A copy of ``case`` under other ids with every date (events, offence, as-of) moved ``by`` days."""
    move = dt.timedelta(days=by)
    events = [e.model_copy(update={"date": e.date + move, "id": f"c{k}-{e.id}"}) for e in case.events]
    return case.model_copy(
        update={
            "case_id": f"c{k}",
            "events": events,
            "as_of": case.as_of + move if case.as_of else None,
            "offence_date": case.offence_date + move if case.offence_date else None,
        }
    )


def snapped(case: Case, dates: list[dt.date], picks: list[int]) -> Case:
    """``case`` with some of its events moved onto the law's days (kept in the order they had)."""
    events = list(case.events)
    for i, pick in zip(range(len(events)), picks, strict=False):
        if pick >= 0:
            events[i] = events[i].model_copy(update={"date": dates[pick % len(dates)]})
    return case.model_copy(update={"events": sorted(events, key=lambda e: e.date)})


def both(batch: list[Case]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The batch decided case by case (``engine._decide``) and by situations (grouping forced on)."""
    enc = encode(*frames(batch), T, AS_OF)
    alone = engine._decide(enc, T).rows()
    saved = distinct.MIN_CASES, distinct.WORTH
    distinct.MIN_CASES, distinct.WORTH = 1, 1.0
    try:
        grouped = engine.decide(enc, T).rows()
    finally:
        distinct.MIN_CASES, distinct.WORTH = saved
    return alone, grouped


@SETTINGS
@given(
    st.lists(histories(), min_size=1, max_size=6),
    st.lists(st.integers(-400, 400), min_size=1, max_size=6),
    st.lists(st.integers(-1, 60), max_size=8),
)
def test_grouped_decisions_are_each_case_alone(base, shifts, picks):
    dates = law_dates()
    batch: list[Case] = []
    for case in base:
        for by in [0, *shifts]:  # copies that stay in the same situation, and copies that cross a law's day
            batch.append(shifted(case, by, len(batch)))
        batch.append(shifted(snapped(case, dates, picks), 0, len(batch)))
    alone, grouped = both(batch)
    assert grouped == alone


def test_a_hash_that_joins_every_case_still_decides_each_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case given one hash: the field-by-field check finds who differs, so each answer is still its own."""
    monkeypatch.setattr(distinct, "_mix", lambda x: np.zeros(len(x), dtype=np.uint64))
    petition = [
        Event(date=dt.date(2024, 5, 1), kind="contract_signed"),
        Event(date=dt.date(2024, 6, 1), kind="command_petition"),
    ]
    batch = [
        Case(case_id="a", charges=["158:1"], stage="pre_trial", events=petition, as_of=AS_OF),
        Case(case_id="b", charges=["205:1"], stage="pre_trial", events=petition, as_of=AS_OF),
        Case(case_id="c", charges=["158:1"], stage="sentenced", events=petition[:1], as_of=AS_OF),
        Case(case_id="d", charges=["158:1"], stage="pre_trial", events=petition, as_of=AS_OF),
    ]
    alone, grouped = both(batch)
    assert grouped == alone
    assert [r["outcome"] for r in grouped][:2] == ["suspended", "not_covered"]


def test_cases_of_one_situation_are_decided_once_with_their_own_dates_and_ids() -> None:
    """Shifted copies of a history inside one segment are one situation; each answer names its own dates and event."""
    case = Case(
        case_id="x",
        charges=["158:2"],
        stage="trial",
        events=[
            Event(id="in", date=dt.date(2025, 2, 1), kind="contract_signed"),
            Event(id="ask", date=dt.date(2025, 3, 1), kind="command_petition"),
        ],
        as_of=dt.date(2025, 6, 1),
    )
    batch = [shifted(case, by, k) for k, by in enumerate(range(0, 50, 5))]
    enc = encode(*frames(batch), T, AS_OF)
    classes = distinct.charge_classes(T, engine._charge_sets(enc, T))
    saved = distinct.MIN_CASES
    distinct.MIN_CASES = 1
    try:
        groups = distinct.group(enc, T, engine._vocabulary(LAW), classes)
    finally:
        distinct.MIN_CASES = saved
    assert groups is not None and len(groups.rep_case) == 1
    alone, grouped = both(batch)
    assert grouped == alone
    assert [r["decisive_date"] for r in grouped] == [
        dt.date(2025, 3, 1) + dt.timedelta(days=by) for by in range(0, 50, 5)
    ]
    assert [r["deciding_event"] for r in grouped] == [f"c{k}-ask" for k in range(10)]


def test_a_history_that_cannot_be_true_keeps_its_own_message() -> None:
    """Cases of one situation whose history cannot be true (§5) are refused each with its own event and date."""
    case = Case(
        case_id="x",
        charges=["158:2"],
        stage="trial",
        events=[
            Event(id="ask", date=dt.date(2025, 3, 1), kind="command_petition"),
            Event(id="in", date=dt.date(2025, 4, 1), kind="contract_signed"),
        ],
        as_of=dt.date(2025, 6, 1),
    )
    batch = [shifted(case, by, k) for k, by in enumerate((0, 3, 7))]
    alone, grouped = both(batch)
    assert grouped == alone
    assert all(r["error"] and f"c{k}-ask" in str(r["error"]) for k, r in enumerate(grouped))
