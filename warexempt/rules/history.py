"""A case as a history (RULES.md §1, §4): which events count, for every case at once.

The events of all cases are one long run of arrays, sorted by case, date and the same-day order of §4. Everything
here is a pass over those arrays (shifts, running sums, fills, gathers), never a loop over cases, so one case costs
microseconds and ten million cost one pass each:

1. ``ordered``: events after ``as_of`` are set aside (and counted, for the warning); the rest are put in order.
2. ``staged``: the stage on each event's day (the latest ``stage_changed`` on or before it, else the case's first
   stage), the segment of the time line, and whether the event is an *attempt* at that stage (a petition; for a
   convict an entry into service).
3. ``cycles`` — given which attempts the law allows (``rules.judge``, once per distinct situation): a closing event
   (release, resumption, new offence, death) ends an *epoch*; in each epoch the first allowed attempt opens a cycle,
   later attempts in it change nothing, and the epoch's closing event closes that cycle. ``finals``: a release or a
   death is final, nothing after it counts.
4. ``per_case``: the latest attempt still counting (it decides, §1), the event that closed its cycle, a death, and
   what the answer must warn about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from warexempt.law.models import ROLES
from warexempt.law.tables import LawTables

NO_DAY = 2**31 - 1  # "did not happen" among day numbers: later than any date
NONE = -1  # "no such row" among row numbers
DAY_ZERO = -25567  # 1900-01-01 as a day number: the order key counts days from it
STAGE_CHANGE, ENTRY, PETITION, RELEASE, RESUMPTION, NEW_OFFENCE, DEATH = range(len(ROLES))
CLOSING = (RELEASE, RESUMPTION, NEW_OFFENCE, DEATH)  # the roles that end an epoch (and a cycle, if one is open)


def role_mask(roles: tuple[int, ...] | list[int]) -> Bools:
    """[role] → whether it is one of ``roles``: a gather per event, not a search."""
    mask = np.zeros(len(ROLES), dtype=np.bool_)
    mask[list(roles)] = True
    return mask


Ints = npt.NDArray[np.signedinteger[Any]]  # int32 codes and days, int64 positions and sums
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Vocabulary:
    """The event keys as the passes need them: each key's role and same-day order, each stage's attempt role."""

    role: Ints  # [event key] → role number (``ROLES``)
    order: Ints  # [event key] → same-day order (RULES.md §4)
    attempt: Ints  # [stage] → the role of an attempt at that stage

    @classmethod
    def of(cls, t: LawTables) -> Vocabulary:
        vocab = t.law.vocabulary
        roles = [ROLES.index(vocab.role(kind, ground)) for kind, ground in vocab.event_keys()]
        return cls(
            role=np.array(roles, dtype=np.int32),
            order=np.array([vocab.order(ROLES[r]) for r in roles], dtype=np.int32),
            attempt=np.array([ROLES.index(s.attempt) for s in vocab.stages], dtype=np.int32),
        )


@dataclass
class Cases:
    """The cases, encoded (``rules.frames.encode``): one entry per case."""

    stage0: Ints  # the stage at the start of the record
    charges: Ints  # the charge set's number
    as_of: Ints  # the day asked about
    offence: Ints  # the offence's day, ``NO_DAY`` if not given

    def __len__(self) -> int:
        return len(self.stage0)


@dataclass
class Events:
    """The events, encoded: one entry per event; ``row`` is its place in the caller's events frame."""

    case: Ints
    day: Ints
    key: Ints  # event key number (``LawTables.event_keys``)
    to_stage: Ints  # a stage change's stage, else NONE
    charge: Ints  # a new offence's code, numbered in the codes' sorted order, else NONE
    row: Ints

    def take(self, index: Ints | Bools) -> Events:
        return Events(*(getattr(self, f)[index] for f in ("case", "day", "key", "to_stage", "charge", "row")))


def ffill_index(valid: Bools) -> Ints:
    """For every row, the last row at or before it where ``valid`` holds (0 if none): a forward fill."""
    index = np.where(valid, np.arange(len(valid)), 0)
    return np.maximum.accumulate(index) if len(index) else index


def bfill_index(valid: Bools) -> Ints:
    """For every row, the first row at or after it where ``valid`` holds (the last row if none): a backward fill."""
    n = len(valid)
    index = np.where(valid, np.arange(n), n - 1)
    return np.minimum.accumulate(index[::-1])[::-1] if n else index


def since(flag: Bools, start: Bools | Ints) -> Ints:
    """How many rows before this one, since the last row where ``start`` holds, have ``flag``: a running sum less
    its value at each start, so no group-by is needed (``start`` holds at each case's first row). ``start`` may be
    given as each row's start row already (``History.case_start``)."""
    before = np.cumsum(flag, dtype=np.int32) - flag  # (fewer than 2**31 events in a part)
    at: Ints = ffill_index(start) if start.dtype == np.bool_ else start  # type: ignore[arg-type, assignment]
    result: Ints = before - before[at]
    return result


@dataclass
class History:
    """The ordered events with what the passes found: ``Events`` plus the per-row arrays below."""

    events: Events
    role: Ints
    first: Bools  # the case's first event
    last: Bools  # the case's last event
    case_start: Ints  # the row of the case's first event
    stage: Ints = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # the stage on the event's day
    segment: Ints = field(
        default_factory=lambda: np.empty(0, dtype=np.int64)
    )  # the segment of the time line of its day
    attempt: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    late: Bools = field(
        default_factory=lambda: np.empty(0, dtype=np.bool_)
    )  # the case's offence is past the route's offence-date gate
    allowed: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))  # an attempt the law allows
    open: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))  # a cycle is open before this event
    closing: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))  # the event ends an epoch
    closer: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))  # ... and closes an open cycle
    after_final: Bools = field(default_factory=lambda: np.empty(0, dtype=np.bool_))  # a release or death came before it


def ordered(cases: Cases, events: Events, vocab: Vocabulary) -> tuple[History, Ints]:
    """Step 1 (§4): the events up to each case's ``as_of`` in legal order, and how many were set aside per case.

    The order is by case, date, the role's same-day order, the event key, then the charge and the stage: content
    only, so the order the events were given in never changes an answer."""
    later = events.day > cases.as_of[events.case]
    ignored = np.bincount(events.case[later], minlength=len(cases)) if later.any() else np.zeros(len(cases), np.int64)
    # the events kept and their legal order are composed into one index, so each array is gathered once
    index: Ints | None = np.flatnonzero(~later) if later.any() else None

    def kept(values: Ints) -> Ints:
        return values if index is None else values[index]

    case, day, key = kept(events.case), kept(events.day), kept(events.key)
    order = _legal_order(case, day, key, vocab.order[key], lambda: (kept(events.to_stage), kept(events.charge)))
    if order is not None:
        case, day, key = case[order], day[order], key[order]
        index = order if index is None else index[order]
    rest = [getattr(events, f) for f in ("to_stage", "charge", "row")]
    ev = Events(case, day, key, *(rest if index is None else [values[index] for values in rest]))
    role = vocab.role[key]
    boundary = ev.case[1:] != ev.case[:-1]
    first = np.concatenate(([True], boundary)) if len(ev.case) else np.zeros(0, np.bool_)
    last = np.concatenate((boundary, [True])) if len(ev.case) else np.zeros(0, np.bool_)
    return History(ev, role, first, last, ffill_index(first)), ignored


def _legal_order(
    case: Ints, day: Ints, key: Ints, same_day: Ints, contents: Callable[[], tuple[Ints, Ints]]
) -> Ints | None:
    """The permutation that puts the events in legal order, or None if they are in order already. One 64-bit key
    (case, days since 1900, same-day order, event key) sorts almost every file; only where two events share it (two
    new offences on one day) do their charge and stage (``contents()``) decide, by a second, full sort."""
    key_bits = max(int(key.max(initial=0)).bit_length(), 1)
    low = 3 + key_bits
    days = (np.clip(day, DAY_ZERO, DAY_ZERO + 2**20 - 1) - DAY_ZERO).astype(np.uint64)  # (32-bit days: no overflow)
    packed = (case.astype(np.uint64) << np.uint64(20 + low)) | (days << np.uint64(low))
    packed |= (same_day.astype(np.uint64) << np.uint64(key_bits)) | key.astype(np.uint64)
    step = packed[1:] >= packed[:-1]
    tie = bool((packed[1:] == packed[:-1]).any())
    if step.all() and not tie:
        return None
    if tie:  # same kind on one day: by content
        to_stage, charge = contents()
        return np.lexsort((to_stage, charge, packed))
    if (case[1:] >= case[:-1]).all():
        # events already grouped by case, in case order (a bulk file's rows): only the cases whose events are out
        # of order are sorted, each within its own block
        unsorted = np.zeros(int(case.max(initial=0)) + 1, dtype=np.bool_)
        unsorted[case[1:][~step]] = True
        where = np.flatnonzero(unsorted[case])
        order = np.arange(len(packed), dtype=np.int64)
        order[where] = where[np.argsort(packed[where], kind="stable")]
        return order
    if len(packed) > 100_000:  # Polars sorts on every core
        import polars as pl

        return pl.Series(packed).arg_sort().to_numpy().astype(np.int64)
    return np.argsort(packed, kind="stable")


def staged(cases: Cases, h: History, vocab: Vocabulary, t: LawTables) -> None:
    """Step 2 (§1 stage history): each event's stage on its day, its segment, and whether it is an attempt."""
    ev = h.events
    changes = h.role == STAGE_CHANGE
    if changes.any():
        known = np.where(changes, ev.to_stage, np.where(h.first, cases.stage0[ev.case], NONE))
        h.stage = known[ffill_index(known != NONE)]
    else:  # no stage changes: every event is at the case's first stage
        h.stage = cases.stage0[ev.case]
    h.segment = segments(t, ev.day)
    h.attempt = h.role == vocab.attempt[h.stage]
    h.late = late_offence(cases.offence[ev.case], h.stage, h.segment, t)


def segments(t: LawTables, days: Ints) -> Ints:
    """The segment of the time line of each day number (``LawTables.segments_of``), for 32-bit days too: those are
    made 64-bit only if the time line starts before 1970, where ``NO_DAY`` less its first day would overflow."""
    return t.segments_of(days if t.first_day >= 0 else days.astype(np.int64))


def late_offence(offence: Ints, stage: Ints, segment: Ints, t: LawTables) -> Bools:
    """§2 270-FZ: the offence (``NO_DAY`` if not given) was committed on or after the day from which the route in
    force for ``stage`` in ``segment`` no longer covers it; false for a route without that gate."""
    limit = t.offence_before()[stage * t.nseg + segment]
    result: Bools = (offence != NO_DAY) & (offence >= limit)
    return result


def cycles(h: History, allowed: Bools) -> None:
    """Step 3 (§1 attempts and cycles). ``allowed``: the law allows this attempt (``rules.judge.judge_attempt``)."""
    h.allowed = h.attempt & allowed
    h.closing = role_mask(CLOSING)[h.role]
    epoch_start = h.first | np.concatenate(([True], h.closing[:-1]))[: len(h.first)]
    h.open = since(h.allowed, epoch_start) > 0
    h.closer = h.closing & h.open


def finals(h: History, final: Bools) -> None:
    """Step 3, end (§1): ``final``: a closing event that ends its cycle in a release or a death (``rules.judge``);
    every event after the first such event of its case changes nothing."""
    h.after_final = since(h.closer & final, h.case_start) > 0


@dataclass
class PerCase:
    """Step 4: for every case, the rows (in the ordered events) of what the law is asked to judge, ``NONE`` if
    there is none, and the facts the answer warns about."""

    attempt: Ints  # the latest attempt still counting (§1)
    closer: Ints  # the event that closed its cycle
    death: Ints
    stage_as_of: Ints  # the stage on ``as_of``
    ignored: Ints  # events after ``as_of``
    stray: Bools  # a new offence outside a cycle (§4)
    entry_before: Bools  # no attempt, but entries before the stage at which an entry is the attempt (§1, §6)
    impossible: list[tuple[int, int, str]]  # (case, row, message): a stage change the cycles make impossible (§5)


def per_case(cases: Cases, h: History, ignored: Ints, vocab: Vocabulary) -> PerCase:
    """Step 4: the latest attempt of each case that still counts — a cycle's opener, or an attempt refused while no
    cycle was open — and the event that closed its cycle; a death; the stage on ``as_of``."""
    n, ev = len(cases), h.events
    rows = np.arange(len(ev.case))
    after = h.after_final
    candidate = h.attempt & ~h.open & ~after
    # for every row, the row of the event that ends its epoch if that event closes a cycle: set at every closing
    # event (and at a case's last row) and filled backwards, so it never crosses an epoch or a case
    marks = np.where(h.closer, rows, NONE)
    closed_by = marks[bfill_index(h.closing | h.last)] if len(rows) else marks

    def latest(mask: Bools) -> Ints:
        """Per case, the last row where ``mask`` holds (NONE if none): of the rows in order, those followed by a row
        of another case, so that each case is written once."""
        where = np.flatnonzero(mask)
        cases_at = ev.case[where]
        last_of_case = np.concatenate((cases_at[1:] != cases_at[:-1], [True])) if len(where) else where.astype(bool)
        out = np.full(n, NONE, dtype=np.int64)
        out[cases_at[last_of_case]] = where[last_of_case]
        return out

    attempt = latest(candidate)
    closer = np.where(attempt != NONE, closed_by[np.maximum(attempt, 0)] if len(rows) else NONE, NONE)
    death = latest((h.role == DEATH) & ~after)
    last = latest(h.last)
    stage_as_of = np.where(last != NONE, h.stage[np.maximum(last, 0)] if len(rows) else 0, cases.stage0)
    stray = np.zeros(n, np.bool_)
    stray[ev.case[(h.role == NEW_OFFENCE) & ~h.closer]] = True
    has_entry = np.zeros(n, np.bool_)
    has_entry[ev.case[h.role == ENTRY]] = True
    entry_before = (attempt == NONE) & has_entry & (vocab.attempt[stage_as_of] == ENTRY)
    bad = (h.role == STAGE_CHANGE) & (h.open | after)
    impossible = [(int(ev.case[r]), int(r), SUSPENDED if h.open[r] else RELEASED) for r in np.flatnonzero(bad)]
    return PerCase(attempt, closer, death, stage_as_of, ignored, stray, entry_before, impossible)


SUSPENDED = "a stage change while the proceedings are suspended: record the resumption first"
RELEASED = "a stage change after the case was already released"
