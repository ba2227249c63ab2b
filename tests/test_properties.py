"""Properties of the one rules path over case histories (Hypothesis), RULES.md §1 and §4: the single check, a batch
of cases and a bulk file give the same answers; the order events are given in, and events after the day asked
about, never change an answer; a release or a death is final; an excluded charge never makes a case eligible."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import warexempt
from warexempt.law.catalog import bundled_law
from warexempt.rules import Case, Event, evaluate
from warexempt.rules.case import CaseError
from warexempt.rules.frames import frames

LAW = bundled_law()
CODES = ["158:1", "158:2", "158:3:в", "228:2", "111:1", "105:1", "161:1", "264.1:1", "134:1", "131:3", "205:1", "275"]
EXCLUDED = ["205:1", "275", "131:3:а", "361:1", "210:1"]
STAGES = ["pre_trial", "trial", "appeal", "sentenced"]
NEW_OFFENCES = ["338:1", "337:3", "338:4", "337:6", "339:4"]
GROUNDS = ["age", "health", "end_of_mobilisation", "other"]
DAY0 = dt.date(2022, 6, 1)
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
COLUMNS = ["eligible", "outcome", "record_cleared", "reasons", "unconfirmed", "status", "route", "rule"]


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


@st.composite
def histories(draw, charges=st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True)):
    """A case history a register could hold: stage changes before service, then service in one or more cycles
    (entry, petitions — some refused, some repeated —, an ending or a new offence), re-enlisting after a
    resumption, and perhaps a death last."""
    t = draw(st.integers(0, 200))
    events: list[Event] = []
    for _ in range(draw(st.integers(0, 2))):  # sent to court, sentence passed, returned to the prosecutor
        t += draw(st.integers(1, 200))
        events.append(Event(date=day(t), kind="stage_changed", stage=draw(st.sampled_from(STAGES))))
    for _ in range(draw(st.integers(1, 3))):  # cycles of service
        t += draw(st.integers(0, 120))
        events.append(Event(date=day(t), kind=draw(st.sampled_from(["contract_signed", "called_up"]))))
        for _ in range(draw(st.integers(0, 2))):
            t += draw(st.integers(0, 200))
            events.append(Event(date=day(t), kind=draw(st.sampled_from(["command_petition", "suspended"]))))
        t += draw(st.integers(0, 400))
        ending = draw(st.sampled_from(["none", "award", "discharge", "resumed", "new_offence"]))
        if ending == "award":
            events.append(Event(date=day(t), kind="state_award"))
        elif ending == "discharge":
            events.append(Event(date=day(t), kind="discharged", ground=draw(st.sampled_from(GROUNDS))))
        elif ending == "resumed":
            events.append(Event(date=day(t), kind="resumed"))
        elif ending == "new_offence":
            code = draw(st.sampled_from(NEW_OFFENCES))
            if code.endswith(("338:4", "337:6", "339:4")):
                t = max(t, (dt.date(2026, 1, 9) - DAY0).days)  # 534-FZ's parts exist from 2026-01-09
            events.append(Event(date=day(t), kind="new_offence", charge=code))
    if draw(st.booleans()):
        t += draw(st.integers(0, 300))
        events.append(Event(date=day(t), kind="died"))
    as_of = day(draw(st.integers(0, t + 400)))
    offence = draw(st.one_of(st.none(), st.dates(dt.date(2021, 1, 1), dt.date(2024, 6, 1))))
    ids = [f"e{i}" for i in range(len(events))]
    events = [e.model_copy(update={"id": i}) for e, i in zip(events, ids, strict=True)]
    return Case(
        charges=draw(charges), stage=draw(st.sampled_from(STAGES)), events=events, as_of=as_of, offence_date=offence
    )


def answer(row: dict[str, object]) -> tuple[object, ...]:
    return tuple(tuple(v) if isinstance(v := row[c], list) else v for c in COLUMNS)


def checked(case: Case) -> tuple[object, ...] | None:
    """The single check's answer, None for a history that cannot be true (RULES.md §5)."""
    try:
        return answer(warexempt.check(case).row)
    except CaseError:
        return None


@SETTINGS
@given(st.lists(histories(), min_size=1, max_size=10))
def test_single_check_equals_the_batch_answer(batch):
    """A single case is a one-row frame: the same answer alone and among others (frames through Polars)."""
    rows = evaluate(*frames(batch), law=LAW).to_dicts()
    for case, row in zip(batch, rows, strict=True):
        assert checked(case) == (None if row["error"] else answer(row))


@SETTINGS
@given(histories(), st.randoms(use_true_random=False))
def test_the_order_events_are_given_in_never_changes_an_answer(case, rnd):
    events = list(case.events)
    rnd.shuffle(events)
    assert checked(case) == checked(case.model_copy(update={"events": events}))


@SETTINGS
@given(histories(), st.lists(st.sampled_from(["state_award", "died", "command_petition", "resumed"]), max_size=3))
def test_events_after_the_day_asked_about_never_change_an_answer(case, kinds):
    """RULES.md §4: an event dated after ``as_of`` is ignored (and counted in the warnings)."""
    later = [Event(date=case.as_of + dt.timedelta(days=i + 1), kind=k, id=f"later{i}") for i, k in enumerate(kinds)]
    before = checked(case)
    after = checked(case.with_events(later))
    assert before == after
    if kinds and before is not None:
        warnings = warexempt.check(case.with_events(later)).warnings
        ignored = len(kinds) + sum(e.date > case.as_of for e in case.events)
        assert any(f"{ignored} event(s) dated after" in w for w in warnings)


@SETTINGS
@given(histories())
def test_a_release_or_a_death_is_final(case):
    """RULES.md §1, §4: appending the history's events one by one, once the outcome is a release or a death nothing
    appended after changes it."""
    events = sorted(case.events, key=lambda e: e.date)
    final = None
    for k in range(1, len(events) + 1):
        as_of = max(case.as_of, events[k - 1].date)
        got = checked(case.model_copy(update={"events": events[:k], "as_of": as_of}))
        if got is None:
            break
        if final is not None:
            assert got[1] == final
        elif got[1] in ("released", "released_from_punishment", "terminated_death"):
            final = got[1]


@SETTINGS
@given(histories(), st.sampled_from(EXCLUDED))
def test_adding_an_excluded_charge_never_makes_a_case_eligible(case, extra):
    """RULES.md §3: exclusions only remove routes."""
    before = checked(case)
    after = checked(case.model_copy(update={"charges": [*case.charges, extra]}))
    assume(before is not None and after is not None)
    assert before is not None and after is not None
    assert not (after[0] and not before[0])


def flat(case: Case) -> dict[str, object] | None:
    """The case as a bulk file's row (one date per kind), when its history fits one."""
    row: dict[str, object] = {
        "case_id": "x",
        "charges": ";".join(case.charges),
        "stage": case.stage,
        "as_of": case.as_of,
    }
    columns = {
        "contract_signed": "contract_date",
        "command_petition": "petition_date",
        "state_award": "award_date",
        "discharged": "discharge_date",
        "resumed": "resumed_date",
        "died": "death_date",
    }
    for e in case.events:
        column = columns.get(e.kind)
        if column is None or column in row:
            return None
        row[column] = e.date
        if e.kind == "discharged":
            row["discharge_ground"] = e.ground
    row.setdefault("contract_date", None)
    if case.offence_date:
        row["offence_date"] = case.offence_date
    return row


@SETTINGS
@given(st.lists(histories(), min_size=1, max_size=10))
def test_a_bulk_file_gives_the_single_check_answer(tmp_path_factory, batch):
    """The bulk file's date columns become events through the one converter: a file of the cases that fit a row
    is decided as ``check`` decides each."""
    from warexempt.law.tables import tables
    from warexempt.population.bulk import run_bulk

    rows = [(c, r) for c in batch if (r := flat(c)) is not None]
    assume(rows)
    folder = tmp_path_factory.mktemp("bulk")
    data = [{**r, "case_id": f"c{i}"} for i, (_, r) in enumerate(rows)]
    schema = {
        "case_id": pl.String,
        "charges": pl.String,
        "stage": pl.String,
        "as_of": pl.Date,
        "contract_date": pl.Date,
        "petition_date": pl.Date,
        "award_date": pl.Date,
        "discharge_date": pl.Date,
        "discharge_ground": pl.String,
        "resumed_date": pl.Date,
        "death_date": pl.Date,
        "offence_date": pl.Date,
    }
    pl.DataFrame(data, schema=schema).write_parquet(folder / "in.parquet")
    result = run_bulk(folder / "in.parquet", tables(LAW), dt.date(2026, 11, 1), folder / "out.parquet")
    out = {r["case_id"]: r for r in pl.read_parquet(folder / "out.parquet").to_dicts()}
    bad = set(result.errors["case_id"].to_list())
    for i, (case, _) in enumerate(rows):
        single = checked(case.model_copy(update={"events": [e.model_copy(update={"id": None}) for e in case.events]}))
        if f"c{i}" in bad:
            assert single is None or "contract" not in str(result.errors), result.errors
            continue
        got = out[f"c{i}"]
        assert single is not None
        assert answer(got)[:5] == single[:5]


def test_random_seeded_histories_decide_without_error_in_one_batch():
    """A batch of a thousand varied histories goes through the engine at once (a smoke test of the passes)."""
    rnd = random.Random(7)
    batch = []
    for i in range(1000):
        n = rnd.randint(0, 600)
        events = [Event(date=day(n), kind="contract_signed")]
        if rnd.random() < 0.7:
            events.append(Event(date=day(n + rnd.randint(0, 100)), kind="command_petition"))
        if rnd.random() < 0.4:
            events.append(Event(date=day(n + rnd.randint(100, 400)), kind="discharged", ground=rnd.choice(GROUNDS)))
        batch.append(
            Case(
                case_id=f"r{i}",
                charges=[rnd.choice(CODES)],
                stage=rnd.choice(STAGES),
                events=events,
                as_of=day(n + 500),
            )
        )
    rows = evaluate(*frames(batch), law=LAW)
    assert rows.height == 1000 and rows["error"].null_count() == 1000
    assert set(rows["outcome"].unique()) >= {"suspended", "not_covered", "released"}


@SETTINGS
@given(st.lists(histories(), min_size=2, max_size=12), st.integers(1, 5))
def test_deciding_in_parts_gives_the_answers_of_one_pass(batch, size):
    """A large run is decided a part of the cases at a time (``engine.PART``): the answers are those of one pass."""
    from warexempt.law.tables import tables
    from warexempt.rules import engine
    from warexempt.rules.frames import encode

    t = tables(LAW)
    enc = encode(*frames(batch), t, dt.date(2026, 11, 1))
    whole = engine._decide(enc, t).rows()
    saved, engine.PART = engine.PART, size
    try:
        parts = engine.decide(enc, t).rows()
    finally:
        engine.PART = saved
    assert parts == whole
