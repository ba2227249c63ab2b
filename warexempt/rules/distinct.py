"""Each distinct situation decided once: cases that the rules cannot tell apart share one decision.

Why this is sound: the rules look at a case's dates only by comparing them — with one another (the legal order of
§4, two events on one day, an event after ``as_of``) and with the law's own days (``law_days``: where the segments
of the time line start, a route's offence-date gate, the day a new offence's part of the Code came into force).
So two cases with the same first stage, charges the law treats alike (``charge_classes``), the same events in the
same legal order, and each date in the same place among the law's days and beside the dates next to it, get the
same answer; only their dates and event ids differ, and each case takes those from its own events at the same
places. A file of a million cases holds far fewer distinct situations than cases: ``group`` keeps one case of each,
the engine decides those (the one rules path, unchanged), and ``spread`` gives every case its situation's answer.

A case whose history cannot be true (§5) is decided again on its own: its message names its own dates.
Grouping is exact, not a guess: situations are found by a hash, then every case is compared field by field with
the case that stands for its situation, and a case that differs (a hash collision) stands for itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from warexempt.law.tables import LawTables, day_number
from warexempt.rules.charges import ChargeSet
from warexempt.rules.history import NO_DAY, NONE, Cases, Ints, Vocabulary, legal_order
from warexempt.rules.impossible import in_force_from
from warexempt.rules.judge import findings

if TYPE_CHECKING:
    from warexempt.rules.engine import Decisions
    from warexempt.rules.frames import Encoded

MIN_CASES = 20_000  # fewer cases: grouping them costs more than deciding them all
WORTH = 0.6  # grouping pays only if the situations are at most this share of the cases
U64 = np.uint64


def law_days(t: LawTables, new_offences: list[str]) -> Ints:
    """Every day the rules compare a case's dates with, sorted: the segments' first days, the routes' offence-date
    limits, and the days from which the run's new-offence codes are valid (``impossible.in_force_from``)."""
    days = {day_number(b) for b in t.law.boundaries}
    days.update(int(d) for d in t.offence_before() if d < NO_DAY)
    catalogue = t.law.criminal_code
    days.update(d for d in (in_force_from(catalogue, c) for c in new_offences) if abs(d) < NO_DAY)
    return np.array(sorted(days), dtype=np.int64)


def day_codes(days: Ints, fixed: Ints) -> Ints:
    """Each day's place among the law's ``fixed`` days: ``2i`` between the ``i``-th and the next, ``2i - 1`` on the
    ``i``-th itself, so that two days with one code compare alike with every fixed day; ``NO_DAY`` ("not given")
    a code of its own after all. Looked up in a table over the fixed days' span (a few thousand days), not searched
    for each day."""
    lo = int(fixed[0]) - 1 if len(fixed) else 0
    span = np.arange(lo, (int(fixed[-1]) if len(fixed) else 0) + 2, dtype=np.int64)
    after = np.searchsorted(fixed, span, side="right")
    table = np.append(2 * after - np.isin(span, fixed), 2 * len(fixed) + 1)
    at = np.where(days == NO_DAY, len(span), np.clip(days.astype(np.int64) - lo, 0, len(span) - 1))
    codes: Ints = table[at]
    return codes


def charge_classes(t: LawTables, sets: list[ChargeSet]) -> Ints:
    """[charge set] → its class: sets with the same findings (``judge.findings``: all that the judge reads of the
    charges) under every list version and gravity gate of the law's route cells, and the same catalogue warnings,
    are judged alike in every situation, so they are one class."""
    gates = list(dict.fromkeys((c.exclusion_list, c.max_rank) for c in t.cells[0] if c.covered))
    classes: dict[object, int] = {}
    out = [
        classes.setdefault((s.warnings, *(findings(t, lv, rank, s) for lv, rank in gates)), len(classes)) for s in sets
    ]
    return np.array(out, dtype=np.int64)


@dataclass
class Groups:
    """The situations of a run: ``reps`` holds one case of each (its events' ``row`` the caller's rows)."""

    reps: Encoded
    rep_case: Ints  # [situation] → the case that stands for it
    of: Ints  # [case] → its situation
    start: Ints  # [case] → the place of its first event among the ordered events
    day: Ints  # [place] → the ordered events' days
    row: Ints  # [place] → the ordered events' rows in the caller's frame
    place_of_row: Ints  # [caller's row] → its place among the ordered events


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: a well-spread 64-bit hash of each value (numpy's unsigned arithmetic wraps)."""
    x = x ^ (x >> U64(30))
    x = x * U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> U64(27))
    x = x * U64(0x94D049BB133111EB)
    out: npt.NDArray[np.uint64] = x ^ (x >> U64(31))
    return out


def _packed(*fields: Ints | npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64] | None:
    """Small non-negative codes side by side in one 64-bit word (so equal words are equal codes), or None if they
    do not fit."""
    word = np.zeros(len(fields[0]), dtype=np.uint64)
    shift = 0
    for f in fields:
        bits = max(int(f.max(initial=0)).bit_length(), 1)
        if shift + bits > 64:
            return None
        word |= f.astype(np.uint64) << U64(shift)
        shift += bits
    return word


def group(enc: Encoded, t: LawTables, vocab: Vocabulary, classes: Ints) -> Groups | None:
    """The run's distinct situations, or None when there are too few cases or too many situations to gain.

    A case's situation is its own word (first stage, charge class, the offence's and ``as_of``'s places among the
    law's days, the number of events) and, in legal order, each event's word: its key, stage change and new offence,
    its day's place among the law's days, whether it falls on the day of the event before it, and whether it is
    after ``as_of``."""
    cases, ev = enc.cases, enc.events
    n, m = len(cases), len(ev.case)
    if n < MIN_CASES:
        return None
    order = legal_order(ev.case, ev.day, ev.key, vocab.order[ev.key], lambda: (ev.to_stage, ev.charge))
    s = ev if order is None else ev.take(order)
    fixed = law_days(t, enc.new_offences)
    count = np.bincount(s.case, minlength=n)
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(count[:-1], out=start[1:])
    pos = np.arange(m, dtype=np.int64) - start[s.case]
    same_day = np.zeros(m, dtype=np.bool_)
    same_day[1:] = (s.day[1:] == s.day[:-1]) & (pos[1:] > 0)
    later = s.day > cases.as_of[s.case]
    word = _packed(day_codes(s.day, fixed), s.key, s.to_stage + 1, s.charge + 1, same_day, later)
    own = _packed(
        cases.stage0, classes[cases.charges], day_codes(cases.offence, fixed), day_codes(cases.as_of, fixed), count
    )
    if word is None or own is None:
        return None
    # the situation's hash: each event's word at its place in the case, summed over the case, then its own word
    h = np.zeros(n, dtype=np.uint64)
    busy = np.flatnonzero(count)
    if len(busy):
        h[busy] = np.add.reduceat(_mix(word ^ (pos.astype(np.uint64) * U64(0x9E3779B97F4A7C15))), start[busy])
    rep = _first_of_each(_mix(h ^ _mix(own)))
    # exact: a case that differs from the case standing for it, in its own word or any event's, stands for itself
    differs = own != own[rep]
    if m:
        differs[s.case[word != word[np.minimum(start[rep[s.case]] + pos, m - 1)]]] = True
    rep[differs] = np.flatnonzero(differs)
    is_rep = np.zeros(n, dtype=np.bool_)
    is_rep[rep] = True
    rep_case = np.flatnonzero(is_rep)
    if len(rep_case) > WORTH * n:
        return None
    number = np.full(n, NONE, dtype=np.int64)
    number[rep_case] = np.arange(len(rep_case))
    kept = s.take(np.flatnonzero(is_rep[s.case]))
    kept.case = number[kept.case].astype(np.int32)
    place_of_row = np.empty(m, dtype=np.int64)
    place_of_row[s.row] = np.arange(m)
    reps = dataclasses.replace(
        enc,
        cases=Cases(*(getattr(cases, f)[rep_case] for f in ("stage0", "charges", "as_of", "offence"))),
        events=kept,
        case_ids=_take(enc.case_ids, rep_case),
    )
    return Groups(reps, rep_case, number[rep], start, s.day, s.row, place_of_row)


def _first_of_each(h: npt.NDArray[np.uint64]) -> Ints:
    """[case] → the first case with its hash (a hashed window over the cases, not a sort of a million)."""
    cases = pl.DataFrame({"h": h}).with_row_index("case")
    found: Ints = cases.select(pl.col("case").min().over("h"))["case"].to_numpy().astype(np.int64)
    return found


def _take(ids: pl.Series | list[str], at: Ints) -> pl.Series | list[str]:
    if isinstance(ids, pl.Series):
        return ids.gather(at)
    return [ids[int(i)] for i in at]


def subset(enc: Encoded, at: Ints) -> Encoded:
    """The cases ``at`` (sorted case numbers) with their events, as an ``Encoded`` of their own."""
    number = np.full(len(enc.cases), NONE, dtype=np.int64)
    number[at] = np.arange(len(at))
    ev = enc.events.take(np.flatnonzero(number[enc.events.case] != NONE))
    ev.case = number[ev.case].astype(np.int32)
    cases = Cases(*(getattr(enc.cases, f)[at] for f in ("stage0", "charges", "as_of", "offence")))
    return dataclasses.replace(enc, cases=cases, events=ev, case_ids=_take(enc.case_ids, at))


def spread(g: Groups, enc: Encoded, d: Decisions, decide: Callable[[Encoded], Decisions]) -> Decisions:
    """Every case's decision from its situation's (``d``, the decisions of ``g.reps``): the same answer, with the
    dates and event ids of the case's own events at the places of the situation's. Cases of a situation whose
    history cannot be true are decided on their own (``decide``), so that their messages name their own events."""
    of = g.of
    rep = g.rep_case[of]

    def own(rep_rows: Ints) -> Ints:
        """The rep's event rows (caller's) as this case's places among the ordered events (NONE stays NONE)."""
        rows = rep_rows[of]
        at = g.place_of_row[np.maximum(rows, 0)] - g.start[rep] + g.start
        return np.where(rows != NONE, at, NONE)

    decisive_at, deciding_at = own(d.attempt_row), own(d.event_row)
    decisive = np.where(decisive_at != NONE, g.day[np.maximum(decisive_at, 0)], enc.cases.as_of)
    full = dataclasses.replace(
        d,
        case_ids=enc.case_ids,
        as_of=enc.cases.as_of,
        place=d.place[of],
        warning_place=d.warning_place[of],
        decisive=decisive,
        decided_on=np.where(deciding_at != NONE, g.day[np.maximum(deciding_at, 0)], decisive),
        event_row=np.where(deciding_at != NONE, g.row[np.maximum(deciding_at, 0)], NONE),
        attempt_row=np.where(decisive_at != NONE, g.row[np.maximum(decisive_at, 0)], NONE),
        event_ids=enc.event_ids,
        stage=d.stage[of],
        errors={},
        problems=[],
    )
    if not d.errors:
        return full
    alone = np.flatnonzero(np.isin(of, np.fromiter(d.errors, dtype=np.int64)))
    return splice(full, decide(subset(enc, alone)), alone)


def splice(full: Decisions, part: Decisions, at: Ints) -> Decisions:
    """``full`` with the cases ``at`` decided anew as ``part`` (its answers and warnings numbered after full's)."""
    renumber = len(full.answers) + np.arange(len(part.answers), dtype=np.int64)
    again = len(full.warnings) + np.arange(len(part.warnings), dtype=np.int64)
    arrays: dict[str, Any] = {}
    for name, values in (
        ("place", renumber[part.place]),
        ("warning_place", again[part.warning_place]),
        *((f, getattr(part, f)) for f in ("decisive", "decided_on", "event_row", "attempt_row", "stage")),
    ):
        column = getattr(full, name).copy()
        column[at] = values
        arrays[name] = column
    return dataclasses.replace(
        full,
        answers=[*full.answers, *part.answers],
        warnings=[*full.warnings, *part.warnings],
        errors={int(at[k]): v for k, v in part.errors.items()},
        problems=sorted(((int(at[c]), e, day, msg) for c, e, day, msg in part.problems), key=lambda p: (p[0], p[2])),
        **arrays,
    )
