"""The engine's input: a case frame (one row per case) and a long events frame (one row per event).

``CASE_SCHEMA`` and ``EVENT_SCHEMA`` are what every caller gives (a single case is a one-row frame with its events);
``encode`` turns their words and dates into the small codes and day numbers the passes of ``rules.history`` use.
A bulk file's row has one date column per event kind (the bulk schema of the acceptance README): ``bulk_events``,
the one converter, makes those columns events, as the vocabulary's ``bulk`` fields say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from warexempt.law.tables import LawTables, day_number
from warexempt.rules.case import Case
from warexempt.rules.charges import set_numbers, set_texts
from warexempt.rules.history import NO_DAY, NONE, Cases, Events, Ints

CASE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "charges": pl.List(pl.String()),
    "stage": pl.String(),
    "offence_date": pl.Date(),
    "as_of": pl.Date(),
}
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "event_id": pl.String(),
    "date": pl.Date(),
    "kind": pl.String(),
    "ground": pl.String(),
    "stage": pl.String(),
    "charge": pl.String(),
}


def frames(cases: Iterable[Case]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The case frame and the events frame of some cases (a single case: one row and its events)."""
    rows = list(cases)
    case_frame = pl.DataFrame(
        {
            "case_id": [c.case_id for c in rows],
            "charges": [list(c.charges) for c in rows],
            "stage": [c.stage for c in rows],
            "offence_date": [c.offence_date for c in rows],
            "as_of": [c.as_of for c in rows],
        },
        schema=CASE_SCHEMA,
    )
    columns: dict[str, list[object]] = {name: [] for name in ("_k", *EVENT_SCHEMA)}
    for k, c in enumerate(rows):
        for event, event_id in zip(c.events, c.event_ids(), strict=True):
            columns["_k"].append(k)
            columns["case_id"].append(c.case_id)
            columns["event_id"].append(event_id)
            columns["date"].append(event.date)
            columns["kind"].append(event.kind)
            columns["ground"].append(event.ground)
            columns["stage"].append(event.stage)
            columns["charge"].append(event.charge)
    # ``_k``: the case's row, so that cases are matched by place, not by an id two files may share
    return case_frame, pl.DataFrame(columns, schema={"_k": pl.UInt32(), **EVENT_SCHEMA})


def _codes(values: pl.Series, words: list[str]) -> pl.Series:
    """Words of the vocabulary (stages, event keys) as their place in ``words`` (null stays null)."""
    return values.cast(pl.Enum(words)).to_physical().cast(pl.Int32)


@dataclass
class Encoded:
    """The frames as the engine's arrays (``rules.history.Cases``, ``Events``) and what the answer names back."""

    cases: Cases
    events: Events
    case_ids: pl.Series | list[str]
    charge_sets: list[str | None]  # [charge set number] → the codes as typed, ``;``-joined
    event_ids: pl.Series | list[str]  # [event row] → its id (a Series: text, an enum or whole numbers)
    new_offences: list[str]  # [charge number] → a new offence's code, in sorted order

    def parts(self, size: int) -> list[Encoded]:
        """The cases in parts of at most ``size`` (each with its own events): cases are independent of one another,
        so a large file is decided part by part and never holds the passes' arrays for all its events at once."""
        n = len(self.cases)
        if n <= size:
            return [self]
        ev = self.events
        if not (ev.case[1:] >= ev.case[:-1]).all():
            ev = ev.take(np.argsort(ev.case, kind="stable"))
        out = []
        for lo in range(0, n, size):
            hi = min(lo + size, n)
            a, b = np.searchsorted(ev.case, [lo, hi])
            part = ev.take(np.arange(a, b))
            part.case = part.case - lo
            cases = Cases(*(getattr(self.cases, f)[lo:hi] for f in ("stage0", "charges", "as_of", "offence")))
            out.append(Encoded(cases, part, self.case_ids[lo:hi], self.charge_sets, self.event_ids, self.new_offences))
        return out


def encode_cases(cases: list[Case], t: LawTables) -> Encoded:
    """``encode(*frames(cases))`` without the frames: the same arrays, made straight from the cases, so that one
    case (a single check, a what-if branch, a register entry) pays microseconds, not a data frame's set-up."""
    stages = {s: i for i, s in enumerate(t.stages)}
    keys = {k: i for i, k in enumerate(t.event_keys)}
    sets: dict[str, int] = {}
    charge_sets = [sets.setdefault(";".join(c.charges), len(sets)) for c in cases]
    codes = sorted({e.charge for c in cases for e in c.events if e.charge is not None})
    code_no = {c: i for i, c in enumerate(codes)}
    columns: dict[str, list[int]] = {name: [] for name in ("case", "day", "key", "to_stage", "charge")}
    ids: list[str] = []
    for k, c in enumerate(cases):
        ids.extend(c.event_ids())
        for e in c.events:
            columns["case"].append(k)
            columns["day"].append(day_number(e.date))
            columns["key"].append(keys[f"{e.kind}:{e.ground}" if e.ground else e.kind])
            columns["to_stage"].append(stages[e.stage] if e.stage else NONE)
            columns["charge"].append(code_no[e.charge] if e.charge is not None else NONE)
    arrays = {name: np.array(values, dtype=np.int32) for name, values in columns.items()}
    coded = Cases(
        stage0=np.array([stages[c.stage] for c in cases], dtype=np.int32),
        charges=np.array(charge_sets, dtype=np.int32),
        as_of=np.array([day_number(c.as_of) for c in cases], dtype=np.int32),
        offence=np.array([day_number(c.offence_date) if c.offence_date else NO_DAY for c in cases], dtype=np.int32),
    )
    events = Events(**arrays, row=np.arange(len(ids), dtype=np.int32))
    return Encoded(coded, events, [c.case_id for c in cases], list(sets), ids, codes)


def _array(values: pl.Series, fill: int) -> npt.NDArray[np.int32]:
    """A column as 32-bit numbers (codes, day numbers, case rows): the passes over millions of events move half
    the bytes of 64-bit ones."""
    return values.cast(pl.Int32).fill_null(fill).to_numpy()


Prepared = tuple[Events, pl.Series, list[str]]  # encoded events, their ids, the new offences' codes by number


def encode(cases: pl.DataFrame, events: pl.DataFrame | Prepared | None, t: LawTables, as_of: dt.date) -> Encoded:
    """The frames as arrays of codes and day numbers. ``events`` may name its case by ``case_id`` or by its row
    ``_k``, or come already encoded (``bulk_events``, ``encode_events``)."""
    names = cases.columns
    sets = set_numbers(cases["charges"])
    default = day_number(as_of)
    coded = Cases(
        stage0=_array(_codes(cases["stage"], t.stages), NONE),
        charges=_array(sets.to_physical(), 0),
        as_of=_array(cases["as_of"].to_physical(), default)
        if "as_of" in names
        else np.full(cases.height, default, dtype=np.int32),
        offence=_array(cases["offence_date"].to_physical(), NO_DAY)
        if "offence_date" in names
        else np.full(cases.height, NO_DAY, dtype=np.int32),
    )
    if events is None:
        events = pl.DataFrame(schema=EVENT_SCHEMA)
    if isinstance(events, tuple):  # already encoded
        return Encoded(coded, events[0], cases["case_id"].cast(pl.String), set_texts(sets), events[1], events[2])
    arrays, ids, codes = encode_events(cases, events, t)
    return Encoded(coded, arrays, cases["case_id"].cast(pl.String), set_texts(sets), ids, codes)


def encode_events(cases: pl.DataFrame, events: pl.DataFrame, t: LawTables) -> Prepared:
    """A long events frame (``EVENT_SCHEMA``, matched to ``cases`` by ``case_id`` or by the case's row ``_k``) as
    encoded events, their ids and the new offences' codes."""
    given = events.columns
    missing = [pl.lit(None, pl.String).alias(c) for c in ("ground", "stage", "charge", "event_id") if c not in given]
    events = events.with_columns(missing)
    with_ground = [e.id for e in t.law.vocabulary.events if "ground" in e.requires]
    if "_k" not in given:  # matched by case_id
        if cases["case_id"].is_duplicated().any():
            raise ValueError("the case frame repeats a case_id: its events cannot be matched to one case")
        index = cases.select(pl.col("case_id").cast(pl.String)).with_row_index("_k")
        events = events.join(index, on="case_id", how="left", maintain_order="left")
        unknown = events.filter(pl.col("_k").is_null())["case_id"].unique().to_list()
        if unknown:
            raise ValueError(f"events name cases that are not in the case frame: {', '.join(map(str, unknown[:5]))}")
    codes = sorted(set(events["charge"].drop_nulls().to_list()))
    coded = Events(
        case=_array(events["_k"], 0),
        day=_array(events["date"].to_physical(), NO_DAY),
        key=_event_keys(events, t, with_ground),
        to_stage=_array(_codes(events["stage"], t.stages), NONE),
        charge=_array(events["charge"].cast(pl.Enum(codes)).to_physical(), NONE),
        row=np.arange(events.height, dtype=np.int32),
    )
    ids = events["event_id"].cast(pl.String)
    if ids.null_count():  # an event without an id is named by its place: e1, e2, …
        ids = events.select(pl.col("event_id").fill_null(pl.format("e{}", pl.int_range(1, pl.len() + 1))))["event_id"]
    return coded, ids, codes


def _event_keys(events: pl.DataFrame, t: LawTables, with_ground: list[str]) -> npt.NDArray[np.int32]:
    """Each event's key number (``LawTables.event_keys``: ``kind``, or ``kind:ground`` for a kind that requires a
    ground) from its kind's and ground's numbers through a small table, not by joining texts."""
    vocab = t.law.vocabulary
    kinds, grounds = vocab.ids("events"), vocab.ids("discharge_grounds")
    kind_no = _array(_codes(events["kind"], kinds), 0)
    ground_no = _array(_codes(events["ground"], grounds), len(grounds))
    found: npt.NDArray[np.int32] = key_table(t, with_ground)[kind_no, ground_no]
    return found


def key_table(t: LawTables, with_ground: list[str]) -> npt.NDArray[np.int32]:
    """[kind's place in the vocabulary's events, ground's place in its grounds (no ground: the last column)] → the
    key number (``LawTables.event_keys``); ``NONE`` for a kind that requires a ground without one."""
    vocab = t.law.vocabulary
    kinds, grounds = vocab.ids("events"), vocab.ids("discharge_grounds")
    table = np.full((len(kinds), len(grounds) + 1), NONE, dtype=np.int32)
    for i, kind in enumerate(kinds):
        for j, ground in enumerate([*grounds, None]):
            name = f"{kind}:{ground}" if kind in with_ground else kind
            if name in t.event_keys and (ground is not None or kind not in with_ground):
                table[i, j] = t.event_keys.index(name)
    return table


def coded_events(case: Ints, day: Ints, kind: Ints, ground: Ints, stage: Ints, charge: Ints, t: LawTables) -> Events:
    """Events already read as numbers (``population.events``: a long events file's words matched once per distinct
    value) as the engine's: ``kind``, ``ground`` and ``stage`` are places in the vocabulary's events, discharge
    grounds and stages (``NONE``: not given), ``charge`` a place among the new offences' codes, ``day`` a day
    number. The same arrays ``encode_events`` makes from the texts."""
    with_ground = [e.id for e in t.law.vocabulary.events if "ground" in e.requires]
    grounds = len(t.law.vocabulary.ids("discharge_grounds"))
    key = key_table(t, with_ground)[kind, np.where(ground == NONE, grounds, ground)]
    return Events(
        case=case.astype(np.int32, copy=False),
        day=day.astype(np.int32, copy=False),
        key=key,
        to_stage=stage.astype(np.int32, copy=False),
        charge=charge.astype(np.int32, copy=False),
        row=np.arange(len(case), dtype=np.int32),
    )


def bulk_events(rows: pl.DataFrame, t: LawTables) -> Prepared:
    """A bulk file's date columns as encoded events (``encode``), row by row: each column the vocabulary names as an
    event kind's ``bulk`` column (``contract_date`` → ``contract_signed``; ``discharge_date`` with its ground column
    ``discharge_ground``) that holds a date is one event, whose id is the column's name. Returns the events and each
    event's id.

    ``rows``: the checked rows, with those columns as dates and the ground column as the vocabulary's words.
    """
    vocab = t.law.vocabulary
    grounds = vocab.ids("discharge_grounds")
    days: list[npt.NDArray[np.int32]] = []
    keys: list[int] = []
    ids: list[str] = []
    ground_of: dict[int, npt.NDArray[np.int32]] = {}  # column → each row's key there (a discharge: by its ground)
    for event in vocab.events:
        if event.bulk is None or event.bulk not in rows.columns:
            continue
        days.append(rows[event.bulk].to_physical().fill_null(NO_DAY).to_numpy())
        if "ground" in event.requires:
            first = t.event_keys.index(f"{event.id}:{grounds[0]}")
            ground = rows[event.bulk_ground or ""].cast(pl.Enum(grounds)).to_physical()
            ground_of[len(ids)] = _array(ground, 0) + first
            keys.append(first)
        else:
            keys.append(t.event_keys.index(event.id))
        ids.append(event.bulk)
    if not ids:  # no date column (a case file beside a long events file)
        days, keys, ids = [np.full(rows.height, NO_DAY, dtype=np.int32)], [0], ["-"]
    # one row per case and one column per event kind, read row by row: the events come out grouped by case
    grid = np.column_stack(days).ravel()
    happened = np.flatnonzero(grid != NO_DAY)
    case, column = np.divmod(happened, len(ids))
    key = np.array(keys, dtype=np.int32)[column]
    for col, by_ground in ground_of.items():
        at = column == col
        key[at] = by_ground[case[at]]
    n = len(happened)
    events = Events(
        case=case.astype(np.int32),
        day=grid[happened],
        key=key,
        to_stage=np.full(n, NONE, dtype=np.int32),
        charge=np.full(n, NONE, dtype=np.int32),
        row=np.arange(n, dtype=np.int32),
    )
    return events, pl.Series(ids, dtype=pl.Enum(ids)).gather(pl.Series(column)), []


def joined(first: Prepared, second: Prepared) -> Prepared:
    """Two sets of encoded events of the same cases as one (a bulk file's date columns and a long events file)."""
    a, b = first[0], second[0]
    if not len(first[1]) or not len(second[1]):  # (a case file without date columns: the events file's alone)
        # the ids as they are: made text when a decision names one (``Decisions.frame`` gathers, then casts)
        return second if not len(first[1]) else first
    codes = sorted({*first[2], *second[2]})
    renumber = [np.array([codes.index(c) for c in part[2]], dtype=np.int32) for part in (first, second)]

    def charge(ev: Events, numbers: npt.NDArray[np.int32]) -> Ints:
        return np.where(ev.charge == NONE, NONE, numbers[np.maximum(ev.charge, 0)]) if len(numbers) else ev.charge

    events = Events(
        case=np.concatenate([a.case, b.case]),
        day=np.concatenate([a.day, b.day]),
        key=np.concatenate([a.key, b.key]),
        to_stage=np.concatenate([a.to_stage, b.to_stage]),
        charge=np.concatenate([charge(a, renumber[0]), charge(b, renumber[1])]),
        row=np.concatenate([a.row, b.row + len(first[1])]),
    )
    return events, pl.concat([first[1].cast(pl.String), second[1].cast(pl.String)]), codes
