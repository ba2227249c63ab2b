"""``evaluate``: the one place the rules live. A case frame and a long events frame in, one decision per case out.

The steps follow RULES.md, each named after its section:

1. ``history.ordered`` / ``history.staged`` (§1, §4): the events in legal order up to ``as_of``, the stage on each
   day, the attempts; ``impossible.problems`` (§5): what cannot be true;
2. ``judge.judge_attempt`` (§2 route, §3 exclusions and gates), once per distinct attempt situation;
3. ``history.cycles`` (§1 attempts and cycles); the rule for each closing event (§4), once per distinct one;
   ``history.finals``: a release or a death ends the history;
4. ``history.per_case``: the deciding attempt, the closing event and a death of every case;
5. ``judge.judge_cycle`` (§4 outcome, §6 unconfirmed), once per distinct answer; every case gathers its answer.

A single case is a one-row case frame with its events: the single check, the bulk run, the what-if branches and the
register all come through here, so they cannot disagree. Steps 1-4 are passes over arrays (``rules.history``), the
law is asked only in steps 2, 3 and 5, once per distinct situation — a few hundred for millions of cases.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from warexempt.law.catalog import Law, per_law
from warexempt.law.codes import ChargeCodeError
from warexempt.law.tables import LawTables, RouteCell, RuleCell, tables
from warexempt.rules import history, impossible
from warexempt.rules.charges import ChargeSet, book
from warexempt.rules.grid import Grid, Ints
from warexempt.rules.history import NO_DAY, NONE, History, PerCase
from warexempt.rules.judge import Answer, Closing, Cycle, Status, Verdict, judge_attempt, judge_cycle

if TYPE_CHECKING:
    from warexempt.rules.frames import Encoded

CYCLES = list(Cycle)
DECISION_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "as_of": pl.Date(),
    "eligible": pl.Boolean(),
    "outcome": pl.String(),
    "record_cleared": pl.Boolean(),
    "reasons": pl.List(pl.String()),
    "unconfirmed": pl.List(pl.String()),
    "warnings": pl.List(pl.String()),
    "decisive_date": pl.Date(),
    "decided_on": pl.Date(),
    "deciding_event": pl.String(),
    "stage": pl.String(),
    "status": pl.String(),
    "route": pl.String(),
    "list_version": pl.String(),
    "rule": pl.String(),
    "error": pl.String(),
}
ANSWER_COLUMNS = (
    "eligible",
    "outcome",
    "record_cleared",
    "reasons",
    "unconfirmed",
    "status",
    "route",
    "list_version",
    "rule",
)


class ChargeErrors(ValueError):
    """Some cases' charges are not valid codes: ``rows`` maps case row → message."""

    def __init__(self, rows: dict[int, str]) -> None:
        self.rows = rows
        first = ", ".join(f"row {i}: {m}" for i, m in list(rows.items())[:5])
        super().__init__(f"{len(rows)} case(s) with invalid charges: {first}")


@per_law
def _vocabulary(law: Law) -> history.Vocabulary:
    return history.Vocabulary.of(tables(law))


def evaluate(
    cases: pl.DataFrame,
    events: pl.DataFrame | None = None,
    law: Law | None = None,
    as_of: dt.date | None = None,
    *,
    lists: bool = True,
) -> pl.DataFrame:
    """Decide every case of ``cases`` (``rules.frames.CASE_SCHEMA``) with its events (``EVENT_SCHEMA``, matched
    by ``case_id`` or by the case's row ``_k``); one row of ``DECISION_SCHEMA`` per case, in the cases' order.

    ``as_of`` fills cases whose ``as_of`` is missing (default: today). Invalid charge codes raise ``ChargeErrors``.
    A case whose history cannot be true (RULES.md §5) gets its ``error`` and no answer. With ``lists=False`` the list
    columns are ``;``-joined text (cheaper to write for millions of rows).
    """
    from warexempt.law.catalog import bundled_law
    from warexempt.rules.frames import encode

    t = tables(law or bundled_law())
    return decide(encode(cases, events, t, as_of or dt.date.today()), t).frame(lists)


PART = 1_000_000  # cases decided at once: the passes' arrays for a million cases' events fit any machine
WORKERS = min(2, os.cpu_count() or 1)  # parts decided at once (two in memory at most: ``PART`` bounds each)
SPLIT = 200_000  # from this many cases a run is cut in ``WORKERS`` parts at least (a 1M histories file: 1.6 s of
# deciding on one core, 1.1 s on two, for a tenth more CPU in all)


def decide(enc: Encoded, t: LawTables) -> Decisions:
    """The rules over encoded frames (``rules.frames.encode``), a million cases at a time.

    Cases are independent of one another, so a run of ``SPLIT`` cases or more is cut in parts (of at most
    ``PART``) decided on two threads: the passes are numpy loops that run without the interpreter lock, so a second
    core, when free, takes half the parts. A smaller run (a single check, a what-if branch, an API batch, a
    register's appends) is one part, on the caller's thread: cutting it would cost more than it gains."""
    # the parts share the charge sets, so they share what was judged of them: each situation is judged once a run
    sets, verdicts = _charge_sets(enc, t), Verdicts()
    n = len(enc.cases)
    parts = enc.parts(min(PART, -(-n // WORKERS)) if n >= SPLIT else PART)
    if len(parts) == 1:
        return _decide(enc, t, sets, verdicts)
    verdicts.plain = _plain(t.cells[0], sets)  # (made before the threads start: the rest of it is locked)
    _vocabulary(t.law)
    with ThreadPoolExecutor(WORKERS) as pool:
        return Decisions.joined(list(pool.map(lambda part: _decide(part, t, sets, verdicts), parts)))


def _charge_sets(enc: Encoded, t: LawTables) -> list[ChargeSet]:
    """The run's charge sets read against the catalogue; a case whose charges are not valid codes raises."""
    charges = book(t.law)
    sets = [charges.charge_set(x) if x is not None else ChargeSet((), "no charge code given") for x in enc.charge_sets]
    bad = {i for i, s in enumerate(sets) if s.error}
    rows = np.flatnonzero(np.isin(enc.cases.charges, list(bad))) if bad else np.zeros(0, dtype=np.int64)
    if len(rows):  # (a set no case uses any more, the bulk reader having set its rows aside, is no error)
        raise ChargeErrors({int(r): str(sets[enc.cases.charges[r]].error) for r in rows})
    return sets


def _decide(
    enc: Encoded, t: LawTables, sets: list[ChargeSet] | None = None, verdicts: Verdicts | None = None
) -> Decisions:
    """Steps 1-5 for one part of the cases (``sets`` and ``verdicts``: the run's, shared by its parts)."""
    sets = _charge_sets(enc, t) if sets is None else sets
    verdicts = Verdicts() if verdicts is None else verdicts
    vocab = _vocabulary(t.law)
    cases = enc.cases
    h, ignored = history.ordered(cases, enc.events, vocab)
    history.staged(cases, h, vocab, t)
    problems = impossible.problems(h, t.event_keys, enc.new_offences, t.law.criminal_code)

    # step 2: §2-§3 once per distinct attempt situation (stage, segment, charge set, offence past the gate's day)
    cells, cell_of = t.cells
    situations = Grid(cell=len(cells), set=len(sets), late=2)
    attempts = np.flatnonzero(h.attempt)
    at_attempt = situations.index(
        cell=cell_of[h.stage[attempts] * t.nseg + h.segment[attempts]],
        set=cases.charges[h.events.case[attempts]],
        late=h.late[attempts],
    )
    verdict_of = _judge_situations(at_attempt, situations, verdicts, t, sets)
    allowed = np.zeros(len(h.role), dtype=np.bool_)
    allowed[attempts] = verdicts.allowed[verdict_of] if verdicts.numbers else False
    history.cycles(h, allowed)

    # step 3: §4 once per distinct closing event (stage, event, segment, a new offence's code)
    closings: list[Closing] = []
    closing_of = _judge_closings(h, enc, t, closings)
    final = np.zeros(len(h.role), dtype=np.bool_)
    final[h.closer] = np.array([c.rule.final for c in closings], dtype=np.bool_)[closing_of] if closings else False
    history.finals(h, final)
    closing_no = np.full(len(h.role), NONE, dtype=np.int64)
    closing_no[h.closer] = closing_of
    found = history.per_case(cases, h, ignored, vocab)

    # step 5: §4-§6 once per distinct answer
    out = _answers(enc, h, found, t, sets, situations, verdicts, closings, closing_no)
    out.problems = _problems([*problems, *found.impossible], h, enc)
    out.errors = _errors(out.problems)
    return out


def _judge_situations(numbers: Ints, grid: Grid, verdicts: Verdicts, t: LawTables, sets: list[ChargeSet]) -> Ints:
    """§2-§3 for each distinct situation (route cell, charge set, offence past the gate): each row's verdict number
    in ``verdicts``, where equal verdicts are one.

    Where no route is in force (§2), the verdict is that, whatever the charges; under a covered route, charges of
    which none is on the route's list and each within its gates leave the verdict the route's own: those situations
    take the verdict ``judge_attempt`` gives the route cell for no charges at all, so the law is asked once per route
    cell for them, and once per situation only where a charge is listed or a gate refuses."""
    uniq, place = grid.distinct(numbers)
    cells = t.cells[0]
    cell, charge_set, late = (uniq // grid.strides[d] % grid.dims[d] for d in ("cell", "set", "late"))
    dated = np.array([c.offence_before is not None for c in cells], dtype=np.bool_)
    if verdicts.plain is None:  # (the attempts' and the as-of situations share it: made once a run)
        verdicts.plain = _plain(cells, sets)
    plain = verdicts.plain[cell, charge_set] & ~(late.astype(np.bool_) & dated[cell])
    found = np.empty(len(uniq), dtype=np.int64)
    for c in np.unique(cell[plain]).tolist():
        found[plain & (cell == c)] = verdicts.add(judge_attempt(t, cells[c], ChargeSet(()), False))
    memo = verdicts.by_situation
    for i in np.flatnonzero(~plain).tolist():
        number = int(uniq[i])
        if number not in memo:  # (the attempts' and the as-of situations overlap: each is judged once a run)
            memo[number] = verdicts.add(judge_attempt(t, cells[cell[i]], sets[charge_set[i]], bool(late[i])))
        found[i] = memo[number]
    return found[place] if len(uniq) else place


def _plain(cells: list[RouteCell], sets: list[ChargeSet]) -> npt.NDArray[np.bool_]:
    """[cell, charge set] → the charges cannot change the route cell's verdict: no route is in force (§2: the
    verdict is that, whatever the charges), or the route is covered, none of the charges is on its list, and every
    one is within its gravity gate if it has one (the offence-date gate is the caller's: it depends on the case, not
    the charges)."""
    lists = list({id(c.exclusion_list): c.exclusion_list for c in cells if c.exclusion_list is not None}.values())
    listed = np.array(
        [[any(code.on_list(v) is not None for code in s.codes) for v in lists] for s in sets], dtype=np.bool_
    ).reshape(len(sets), len(lists))
    rank = np.array([s.rank if s.rank is not None and not s.unknown_gravity else 99 for s in sets], dtype=np.int64)
    out = np.zeros((len(cells), len(sets)), dtype=np.bool_)
    for i, c in enumerate(cells):
        if not c.covered:
            out[i] = True
        else:
            out[i] = ~listed[:, lists.index(c.exclusion_list)] if c.exclusion_list is not None else True
            if c.max_rank is not None:
                out[i] &= rank <= c.max_rank
    return out


@dataclass
class Verdicts:
    """The distinct verdicts of a run, numbered, the number of each situation judged so far, and which situations
    are plain. The parts of a run, decided on two threads, share it: a verdict is numbered under a lock."""

    numbers: dict[Verdict, int] = field(default_factory=dict)
    by_situation: dict[int, int] = field(default_factory=dict)
    plain: npt.NDArray[np.bool_] | None = None  # ``_plain`` of the run's route cells and charge sets
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, verdict: Verdict) -> int:
        with self.lock:
            return self.numbers.setdefault(verdict, len(self.numbers))

    def listed(self) -> list[Verdict]:
        """The verdicts so far, by number."""
        with self.lock:
            return list(self.numbers)

    @property
    def allowed(self) -> npt.NDArray[np.bool_]:
        return np.array([v.allowed for v in self.listed()] or [False], dtype=np.bool_)


def _judge_closings(h: History, enc: Encoded, t: LawTables, closings: list[Closing]) -> Ints:
    """§4 for each distinct closing event: the rule in force on its day for its stage, and the article a new
    offence during service cites (534-FZ). Returns each closing row's number in ``closings``."""
    grid = Grid(stage=len(t.stages), key=len(t.event_keys), segment=t.nseg, charge=len(enc.new_offences) + 1)
    rows = h.closer
    numbers = grid.index(
        stage=h.stage[rows], key=h.events.key[rows], segment=h.segment[rows], charge=h.events.charge[rows] + 1
    )
    uniq, place = grid.distinct(numbers)
    charges = book(t.law)
    for d in grid.decode_all(uniq):
        rule = t.rule(t.stages[d["stage"]], t.event_keys[d["key"]], d["segment"])
        cited = None
        if d["charge"]:
            try:
                code = charges.code(enc.new_offences[d["charge"] - 1])
            except ChargeCodeError:  # §5 already refuses the case with the code's own message (impossible.py)
                code = None
            if code is not None and any(code.on_list(v) for v in t.cited_lists(d["segment"])):
                cited = code.provision_id
        closings.append(Closing(rule, cited))
    return place


def _pick(values: Ints, rows: Ints, fill: int) -> Ints:
    """``values[rows]`` where ``rows`` is a row (``fill`` where it is ``NONE``)."""
    if not len(values):
        return np.full(len(rows), fill, dtype=np.int64)
    return np.where(rows != NONE, values[np.maximum(rows, 0)], fill)


def _answers(
    enc: Encoded,
    h: History,
    found: PerCase,
    t: LawTables,
    sets: list[ChargeSet],
    situations: Grid,
    verdicts: Verdicts,
    closings: list[Closing],
    closing_no: Ints,
) -> Decisions:
    """Step 5: each case's answer key — its verdict (the latest attempt's, else ``as_of``'s), the state of the
    cycle, the closing event's rule, a death's rule, the entry-before-stage flag — judged once per distinct key."""
    cases, attempt, closer, death = enc.cases, found.attempt, found.closer, found.death
    has_attempt = attempt != NONE
    stage = np.where(has_attempt, _pick(h.stage, attempt, 0), found.stage_as_of)
    day = np.where(has_attempt, _pick(h.events.day, attempt, 0), cases.as_of)
    segment = history.segments(t, day)
    late = history.late_offence(cases.offence, stage, segment, t)
    cell = t.cells[1][stage * t.nseg + segment]
    verdict = _judge_situations(
        situations.index(cell=cell, set=cases.charges, late=late), situations, verdicts, t, sets
    )
    by_number = verdicts.listed()
    allowed = np.array([v.allowed for v in by_number] or [False], dtype=np.bool_)[verdict]
    cycle = np.select(
        [~has_attempt, ~allowed, closer == NONE],
        [CYCLES.index(Cycle.NONE), CYCLES.index(Cycle.REFUSED), CYCLES.index(Cycle.OPEN)],
        CYCLES.index(Cycle.CLOSED),
    )
    closing = _pick(closing_no, closer, NONE) + 1
    death_cell = np.where(death != NONE, _pick(h.stage, death, 0) * t.nseg + _pick(h.segment, death, 0) + 1, 0)
    grid = Grid(
        verdict=len(by_number),
        cycle=len(CYCLES),
        closing=len(closings) + 1,
        death=len(t.stages) * t.nseg + 1,
        entry_before=2,
    )
    keys = grid.index(verdict=verdict, cycle=cycle, closing=closing, death=death_cell, entry_before=found.entry_before)
    uniq, place = grid.distinct(keys)
    answers: list[Answer] = []
    for d in grid.decode_all(uniq):
        died: RuleCell | None = None
        if d["death"]:
            death_stage, death_segment = divmod(d["death"] - 1, t.nseg)
            died = t.rule(t.stages[death_stage], "died", death_segment)
        closed = closings[d["closing"] - 1] if d["closing"] else None
        answers.append(judge_cycle(by_number[d["verdict"]], CYCLES[d["cycle"]], closed, died, bool(d["entry_before"])))
    warnings, warning_place = _warnings(found, cases.charges, sets)
    # the day the answer rests on, and the event it names: the closing event or death, else the attempt
    closed_or_died = np.array([a.status in (Status.CLOSED, Status.DEATH) for a in answers], dtype=np.bool_)[place]
    by_closer = closed_or_died & (closer != NONE)
    by_death = closed_or_died & ~by_closer & (death != NONE)
    on_row = np.select([by_closer, by_death, has_attempt], [closer, death, attempt], NONE)
    return Decisions(
        case_ids=enc.case_ids,
        as_of=cases.as_of,
        answers=answers,
        place=place,
        warnings=warnings,
        warning_place=warning_place,
        decisive=day,
        decided_on=np.where(on_row != NONE, _pick(h.events.day, on_row, 0), day),
        event_row=_pick(h.events.row, on_row, NONE),
        event_ids=enc.event_ids,
        stage=stage,
        stages=t.stages,
    )


@dataclass
class Decisions:
    """The decisions of a run: each case's answer (a number into ``answers``) and dates. ``frame`` lays them out as
    ``DECISION_SCHEMA`` (for a million cases), ``row`` as one plain dict (for one case, without a frame)."""

    case_ids: pl.Series | list[str]
    as_of: Ints
    answers: list[Answer]
    place: Ints
    warnings: list[tuple[str, ...]]
    warning_place: Ints
    decisive: Ints
    decided_on: Ints
    event_row: Ints
    event_ids: pl.Series | list[str]
    stage: Ints
    stages: list[str]
    errors: dict[int, str] = field(default_factory=dict)  # case → what cannot be true of its history (§5)
    problems: list[tuple[int, str, dt.date, str]] = field(default_factory=list)  # (case, event id, date, why)

    def __len__(self) -> int:
        return len(self.place)

    @classmethod
    def joined(cls, parts: list[Decisions]) -> Decisions:
        """The decisions of consecutive parts of the cases as one (answers numbered afresh, equal ones as one)."""
        answers: dict[Answer, int] = {}
        warnings: dict[tuple[str, ...], int] = {}
        places: list[Ints] = []
        warning_places: list[Ints] = []
        errors: dict[int, str] = {}
        problems: list[tuple[int, str, dt.date, str]] = []
        offset = 0
        for part in parts:
            renumber = np.array([answers.setdefault(a, len(answers)) for a in part.answers], dtype=np.int64)
            places.append(renumber[part.place])
            again = np.array([warnings.setdefault(w, len(warnings)) for w in part.warnings], dtype=np.int64)
            warning_places.append(again[part.warning_place])
            errors.update({offset + k: v for k, v in part.errors.items()})
            problems.extend((offset + c, e, d, m) for c, e, d, m in part.problems)
            offset += len(part)
        first = parts[0]
        ids: pl.Series | list[str] = pl.concat([pl.Series(p.case_ids, dtype=pl.String) for p in parts])
        return cls(
            case_ids=ids,
            as_of=np.concatenate([p.as_of for p in parts]),
            answers=list(answers),
            place=np.concatenate(places),
            warnings=list(warnings),
            warning_place=np.concatenate(warning_places),
            decisive=np.concatenate([p.decisive for p in parts]),
            decided_on=np.concatenate([p.decided_on for p in parts]),
            event_row=np.concatenate([p.event_row for p in parts]),
            event_ids=first.event_ids,
            stage=np.concatenate([p.stage for p in parts]),
            stages=first.stages,
            errors=errors,
            problems=problems,
        )

    def row(self, i: int) -> dict[str, object]:
        """Case ``i``'s decision as a dict of ``DECISION_SCHEMA``."""
        a = self.answers[int(self.place[i])]
        error = self.errors.get(i)
        answer: dict[str, object] = {
            "eligible": a.eligible,
            "outcome": a.outcome,
            "record_cleared": a.record_cleared,
            "reasons": list(a.reasons),
            "unconfirmed": list(a.unconfirmed),
            "warnings": list(self.warnings[int(self.warning_place[i])]),
            "decisive_date": _date(int(self.decisive[i])),
            "decided_on": _date(int(self.decided_on[i])),
            "deciding_event": None if self.event_row[i] == NONE else str(self.event_ids[int(self.event_row[i])]),
            "stage": self.stages[int(self.stage[i])],
            "status": a.status.value,
            "route": a.route,
            "list_version": a.list_version,
            "rule": a.rule,
        }
        if error is not None:
            answer = dict.fromkeys(answer)
        return {"case_id": str(self.case_ids[i]), "as_of": _date(int(self.as_of[i])), **answer, "error": error}

    def rows(self) -> list[dict[str, object]]:
        return [self.row(i) for i in range(len(self))]

    def _error_column(self) -> pl.Series:
        """Each case's §5 error, null where its history can be true (nearly every case: not built row by row)."""
        column = pl.repeat(None, len(self), dtype=pl.String, eager=True)
        if self.errors:
            at = list(self.errors)
            column = column.scatter(at, pl.Series([self.errors[i] for i in at], dtype=pl.String))
        return column

    def frame(self, lists: bool = True) -> pl.DataFrame:
        """All decisions as ``DECISION_SCHEMA`` (with ``lists=False`` the list columns ``;``-joined text)."""
        shown = _shown(self.answers, lists)[self.place]
        warnings = _texts(self.warnings, lists)[self.warning_place]
        ids = self.event_ids if isinstance(self.event_ids, pl.Series) else pl.Series(self.event_ids, dtype=pl.String)
        if len(ids):
            rows = pl.Series(self.event_row).scatter(np.flatnonzero(self.event_row == NONE), None)
            # gathered, then made text: a bulk file's ids are a small enum over tens of millions of events
            deciding = ids.gather(rows).cast(pl.String)  # (no event: a null row, a null id)
        else:  # no case has an event
            deciding = pl.repeat(None, len(self), dtype=pl.String, eager=True)
        out = pl.DataFrame(
            {
                "case_id": pl.Series(self.case_ids, dtype=pl.String),
                "as_of": _dates(self.as_of),
                **{c: shown[c] for c in ANSWER_COLUMNS[:5]},
                "warnings": warnings,
                "decisive_date": _dates(self.decisive),
                "decided_on": _dates(self.decided_on),
                "deciding_event": deciding,
                "stage": pl.Series(self.stages, dtype=pl.Categorical())[self.stage],
                **{c: shown[c] for c in ANSWER_COLUMNS[5:]},
                "error": self._error_column(),
            }
        )
        if self.errors:
            blank = pl.col("error").is_not_null()
            answer = [c for c in out.columns if c not in ("case_id", "as_of", "error")]
            out = out.with_columns(pl.when(blank).then(None).otherwise(pl.col(c)).alias(c) for c in answer)
        if lists:
            return out.with_columns(pl.col(c).cast(dtype) for c, dtype in DECISION_SCHEMA.items())
        return out


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def _dates(days: Ints) -> pl.Series:
    return pl.Series(days.astype(np.int32), dtype=pl.Int32).cast(pl.Date)


def _texts(values: list[tuple[str, ...]], lists: bool) -> pl.Series:
    """Lists of texts (reasons, flags, warnings) as a list column, or as ``;``-joined categorical text."""
    if lists:
        return pl.Series(values, dtype=pl.List(pl.String))
    return pl.Series([";".join(v) for v in values], dtype=pl.Categorical())


def _shown(answers: list[Answer], lists: bool) -> pl.DataFrame:
    """The answers as a decision row shows them (list columns, or ``;``-joined text)."""

    def words(values: list[str | None]) -> pl.Series:
        return pl.Series(values, dtype=pl.Categorical())

    return pl.DataFrame(
        {
            "eligible": pl.Series([a.eligible for a in answers], dtype=pl.Boolean),
            "outcome": words([a.outcome for a in answers]),
            "record_cleared": pl.Series([a.record_cleared for a in answers], dtype=pl.Boolean),
            "reasons": _texts([a.reasons for a in answers], lists),
            "unconfirmed": _texts([a.unconfirmed for a in answers], lists),
            "status": words([a.status.value for a in answers]),
            "route": words([a.route for a in answers]),
            "list_version": words([a.list_version for a in answers]),
            "rule": words([a.rule for a in answers]),
        }
    )


def _warnings(found: PerCase, charges: Ints, sets: list[ChargeSet]) -> tuple[list[tuple[str, ...]], Ints]:
    """What an answer warns about: the charges' catalogue notices, events after ``as_of`` that were ignored, a new
    offence outside a cycle (RULES.md §4) — once per distinct combination."""
    grid = Grid(set=len(sets), ignored=int(found.ignored.max(initial=0)) + 1, stray=2)
    uniq, place = grid.distinct(grid.index(set=charges, ignored=found.ignored, stray=found.stray))
    values: list[tuple[str, ...]] = []
    for d in grid.decode_all(uniq):
        items = list(sets[d["set"]].warnings)
        if d["ignored"]:
            items.append(f"{d['ignored']} event(s) dated after the as-of date were ignored")
        if d["stray"]:
            items.append(
                "a new offence outside a cycle of service changes nothing in this case: it is a case of its own"
            )
        values.append(tuple(items))
    return values, place


def _problems(found: list[tuple[int, int, str]], h: History, enc: Encoded) -> list[tuple[int, str, dt.date, str]]:
    """RULES.md §5: each impossible event as (case, event id, date, why), in the order of the cases and dates."""
    out = [
        (case, str(enc.event_ids[int(h.events.row[row])]), _date(int(h.events.day[row])), message)
        for case, row, message in found
    ]
    return sorted(out, key=lambda p: (p[0], p[2]))


def _errors(problems: list[tuple[int, str, dt.date, str]]) -> dict[int, str]:
    """For each case whose history cannot be true, each impossible event named by its id and date."""
    messages: dict[int, list[str]] = {}
    for case, event, day, message in problems:
        messages.setdefault(case, []).append(f"{event} ({day}): {message}")
    return {case: "; ".join(m) for case, m in messages.items()}


__all__ = ["DECISION_SCHEMA", "NO_DAY", "ChargeErrors", "Decisions", "decide", "evaluate"]
