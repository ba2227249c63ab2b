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
    st.lists(st.one_of(st.none(), st.dates(dt.date(2021, 1, 1), dt.date(2027, 12, 31))), max_size=3),
)
def test_grouped_decisions_are_each_case_alone(base, shifts, picks, offences):
    dates = law_dates()
    batch: list[Case] = []
    for case in base:
        for by in [0, *shifts]:  # copies that stay in the same situation, and copies that cross a law's day
            batch.append(shifted(case, by, len(batch)))
        batch.append(shifted(snapped(case, dates, picks), 0, len(batch)))
        for offence in offences:  # the offence not given, before, on or after the law's days (the 270-FZ gate)
            batch.append(shifted(case.model_copy(update={"offence_date": offence}), 0, len(batch)))
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


def test_an_offence_date_not_given_is_not_an_offence_after_every_law_day() -> None:
    """270-FZ's gate (offences committed before it took effect): a case without an offence date and one whose
    offence is later than any of the law's days are two situations, not one."""
    events = [
        Event(id="in", date=dt.date(2023, 7, 1), kind="contract_signed"),
        Event(id="ask", date=dt.date(2023, 8, 1), kind="command_petition"),
    ]
    base = Case(case_id="x", charges=["158:2"], stage="pre_trial", events=events, as_of=dt.date(2023, 9, 1))
    batch = [
        shifted(base.model_copy(update={"offence_date": offence}), 0, k)
        for k, offence in enumerate((None, dt.date(2027, 6, 1), None, dt.date(2027, 7, 1)))
    ]
    alone, grouped = both(batch)
    assert grouped == alone
    assert [r["status"] for r in grouped] == ["open", "gate_offence", "open", "gate_offence"]


def test_a_long_list_column_is_made_as_its_rows_lists() -> None:
    """``engine.listed`` over more rows than a chunk (built from offsets) gives each row its own list."""
    values = [(), ("uk:78.1:1", "upk:28.2:1"), ("fz-270:1",), ("a", "b", "c")]
    place = np.random.default_rng(5).integers(0, len(values), 2 * engine.LISTED_CHUNK + 17)
    made = engine.listed(values, place)
    assert made.len() == len(place) and made.n_chunks() == 3
    assert made.to_list() == [list(values[i]) for i in place]
