"""What a new event does to a case: refused as impossible, recorded with no effect, or changing the status.

The register records what happened; the law judges it. ``apply`` replays the case's history with and without the
new event through the one rules path (``rules.engine.decide``, the engine behind ``facade.check``), in one call:

- the history with the event cannot be true (RULES.md §5: an award before the contract, a stage change while the
  proceedings are suspended, anything after death, a 534-FZ part before it existed) → ``refused``, with the
  engine's own words;
- the answer is the same with and without it → ``no_effect``, and ``why`` says which of three it is: ``final`` (the
  case had already ended), ``not_acted_on`` (the event is the attempt the law in force on its day refuses: a
  trial-stage petition before 340-FZ, an excluded charge — the decision's reasons cite why), ``no_rule`` (no rule
  acts on this event at this point, e.g. an award without a suspension);
- else → ``changed``.

Both sides are judged on the *judging day*: the later of the question's day, the new event's day and the last
event's day, so that the new event is never ignored for being later than the day the status is asked on. The
status the register stores is judged on the status day (``status`` below). Nothing here decides: every answer is a
row of the engine's decision frame.

A correction supersedes an earlier event: ``effective`` replays a stored history leaving out every superseded event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from warexempt.law.catalog import Law
from warexempt.law.tables import day_number, tables
from warexempt.rules.case import Case, Event
from warexempt.rules.engine import Decisions, decide
from warexempt.rules.frames import Encoded, encode_cases
from warexempt.rules.history import Cases

Effect = Literal["refused", "no_effect", "changed"]
Why = Literal["final", "not_acted_on", "no_rule"]
# what the register's "no effect" compares: the answer a person reads (the trace may name another deciding event)
ANSWER = ("eligible", "outcome", "record_cleared", "reasons")


@dataclass(frozen=True)
class Recorded:
    """One stored event: the event, and the earlier event id it supersedes (a correction), if any."""

    event: Event
    supersedes: str | None = None


def effective(history: Iterable[Recorded]) -> list[Event]:
    """The events of a stored history that count: every event some later one supersedes is left out (a chain of
    corrections leaves the last)."""
    rows = list(history)
    replaced = {r.supersedes for r in rows if r.supersedes}
    return [r.event for r in rows if r.event.id not in replaced]


class Judged:
    """The decision rows of one engine call, each made into a dict only when it is read: a batch of 100 events
    judges a few hundred histories, and its writer reads a handful of whole rows (the cached status) and of the
    rest only the answer (``ANSWER``), the error and the outcome — taken from the decisions directly."""

    def __init__(self, decisions: Decisions) -> None:
        self.decisions = decisions
        self._rows: dict[int, dict[str, Any]] = {}

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` of the decision frame (``DECISION_SCHEMA``), made once."""
        found = self._rows.get(i)
        if found is None:
            found = self._rows[i] = self.decisions.row(i)
        return found

    def error(self, i: int) -> str | None:
        return self.decisions.errors.get(i)

    def answer(self, i: int) -> tuple[Any, ...]:
        """Row ``i``'s ``ANSWER`` values, as its dict has them (all null where its history cannot be true)."""
        if i in self.decisions.errors:
            return (None,) * len(ANSWER)
        a = self.decisions.answers[int(self.decisions.place[i])]
        return (a.eligible, a.outcome, a.record_cleared, list(a.reasons))


@dataclass(frozen=True)
class StepResult:
    """What adding ``event`` (``supersedes`` an earlier one, if a correction) to a case does.

    ``before``/``after``: the engine's decision rows on ``day`` without and with it; ``status``: the row with it on
    the case's own day (``case.as_of``: what the register stores); ``problems``: (field, message) for a refused
    event; ``history``: the case with the event (what is stored when it is not refused). The rows and the history
    are made when first read (``judged``: the engine call's rows; ``rows``: which are before, after and status;
    ``base`` and ``added``: the history is ``base`` with ``added`` appended)."""

    effect: Effect
    event: Event
    day: dt.date
    judged: Judged = field(repr=False, compare=False)
    rows: tuple[int, int, int] = field(repr=False)
    base: Case = field(repr=False)
    added: tuple[Event, ...] = field(repr=False)
    supersedes: str | None = None
    why: Why | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.effect == "refused"

    @cached_property
    def before(self) -> dict[str, Any]:
        return self.judged.row(self.rows[0])

    @cached_property
    def after(self) -> dict[str, Any]:
        return self.judged.row(self.rows[1])

    @cached_property
    def status(self) -> dict[str, Any]:
        return self.judged.row(self.rows[2])

    @cached_property
    def answer(self) -> dict[str, Any]:
        """The ``ANSWER`` fields of ``status`` (what the audit log records of it), without making its whole row."""
        if "status" in self.__dict__:
            return {k: self.status[k] for k in ANSWER}
        return dict(zip(ANSWER, self.judged.answer(self.rows[2]), strict=True))

    @cached_property
    def history(self) -> Case:
        return self.base.model_copy(update={"events": [*self.base.events, *self.added]})


def judging_day(case: Case, extra: Sequence[Event] = ()) -> dt.date:
    return max([case.as_of, *(e.date for e in case.events), *(e.date for e in extra)])


def apply(case: Case, event: Event, law: Law, supersedes: str | None = None) -> StepResult:
    """What ``event`` does to ``case`` (its effective history, each event with its id; ``as_of`` the status day)."""
    kept = case.model_copy(update={"events": [e for e in case.events if supersedes is None or e.id != supersedes]})
    day = judging_day(case, [event])
    with_event = kept.model_copy(update={"events": [*kept.events, event]})
    judged = Judged(
        _decide([case.model_copy(update={"as_of": day}), with_event.model_copy(update={"as_of": day}), with_event], law)
    )
    return _step(judged, (0, 1, 2), event, day, kept, (event,), law, _finals(law), supersedes)


def _step(
    judged: Judged,
    rows: tuple[int, int, int],
    event: Event,
    day: dt.date,
    base: Case,
    added: tuple[Event, ...],
    law: Law,
    final: set[str],
    supersedes: str | None = None,
) -> StepResult:
    """The effect of ``event`` read off the rows ``rows`` (before, after, status) of ``judged``."""
    common: dict[str, Any] = dict(
        event=event, day=day, judged=judged, rows=rows, base=base, added=added, supersedes=supersedes
    )
    b, a = rows[0], rows[1]
    error = judged.error(a)
    if error and error != judged.error(b):
        return StepResult("refused", problems=[("event", error)], **common)
    if judged.answer(a) == judged.answer(b):
        return StepResult("no_effect", why=_why(judged, b, a, event, final), **common)
    return StepResult("changed", **common)


def _finals(law: Law) -> set[str]:
    return {o.id for o in law.vocabulary.outcomes if o.final}


def _why(judged: Judged, before: int, after: int, event: Event, final: set[str]) -> Why:
    if judged.answer(before)[1] in final:
        return "final"
    if judged.answer(after)[1] == "not_covered" and judged.row(after)["deciding_event"] == event.id:
        return "not_acted_on"
    return "no_rule"


def _decide(cases: list[Case], law: Law) -> Decisions:
    t = tables(law)
    return decide(encode_cases(cases, t), t)


def statuses(cases: list[Case], law: Law) -> list[dict[str, Any]]:
    """The decision rows of many cases in one engine call (a history that cannot be true has its ``error``)."""
    if not cases:
        return []
    return _decide(cases, law).rows()


def apply_many(case: Case, events: Sequence[Event], law: Law) -> list[StepResult]:
    """What each of ``events`` does when added in order (a batch: one engine call for all of them): each is judged
    against the history with the ones before it. The first refused event ends the list (nothing after it is
    judged: the batch is refused there)."""
    return apply_groups([(case, events)], law)[0]


def apply_groups(groups: Sequence[tuple[Case, Sequence[Event]]], law: Law) -> list[list[StepResult]]:
    """``apply_many`` for many cases at once (the register's grouped appends): every prefix of every case's history
    with its new events goes into one engine call, and each event's effect is read off the decision rows.

    A case with ``k`` new events is judged as ``k + 1`` histories on the judging day (its history, then with one
    new event more each time), and, when its status day is another day, as ``k`` more on that day. The events are
    encoded once, each case with all its new events (``encode_cases``); the prefixes are rows of those arrays,
    repeated (``prefixes``), so that a batch pays the encoding of its events, not of every prefix of them."""
    t = tables(law)
    days = [judging_day(case, events) for case, events in groups]
    whole = [
        case.model_copy(update={"events": [*case.events, *events], "as_of": day})
        for (case, events), day in zip(groups, days, strict=True)
    ]
    plan: list[tuple[int, int, dt.date]] = []  # (group, events kept, day) of each history judged
    spans: list[tuple[int, bool]] = []  # (its first history, whether the status day is the judging day)
    for g, ((case, events), day) in enumerate(zip(groups, days, strict=True)):
        h, k = len(case.events), len(events)
        spans.append((len(plan), case.as_of == day))
        plan += [(g, h + i, day) for i in range(k + 1)]
        if case.as_of != day:
            plan += [(g, h + i, case.as_of) for i in range(1, k + 1)]
    judged = Judged(decide(prefixes(encode_cases(whole, t), plan), t))
    final = _finals(law)
    out: list[list[StepResult]] = []
    for (case, events), day, (start, same_day) in zip(groups, days, spans, strict=True):
        k = len(events)
        steps: list[StepResult] = []
        for i, event in enumerate(events):
            on_status_day = start + i + 1 if same_day else start + k + 1 + i
            rows = (start + i, start + i + 1, on_status_day)
            steps.append(_step(judged, rows, event, day, case, tuple(events[: i + 1]), law, final))
            if steps[-1].refused:
                break
        out.append(steps)
    return out


def prefixes(enc: Encoded, plan: Sequence[tuple[int, int, dt.date]]) -> Encoded:
    """The encoded histories ``plan`` names — (case of ``enc``, its first ``n`` events, the day asked about) each —
    as one ``Encoded``: each one's events are rows of ``enc``'s, gathered (the same arrays ``encode_cases`` makes of
    those histories as cases of their own: the ids, charge sets and codes are ``enc``'s)."""
    source = np.array([g for g, _, _ in plan], dtype=np.int64)
    lengths = np.array([n for _, n, _ in plan], dtype=np.int64)
    counts = (
        np.bincount(enc.events.case, minlength=len(enc.cases))
        if len(enc.events.case)
        else np.zeros(len(enc.cases), dtype=np.int64)
    )
    first = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    total = int(lengths.sum())
    at = np.cumsum(lengths) - lengths
    index = np.arange(total, dtype=np.int64) - np.repeat(at, lengths) + np.repeat(first[source], lengths)
    events = enc.events.take(index)
    events.case = np.repeat(np.arange(len(plan), dtype=np.int32), lengths)
    cases = Cases(
        stage0=enc.cases.stage0[source],
        charges=enc.cases.charges[source],
        as_of=np.array([day_number(d) for _, _, d in plan], dtype=np.int32),
        offence=enc.cases.offence[source],
    )
    ids = [enc.case_ids[g] for g in source.tolist()]
    return Encoded(cases, events, ids, enc.charge_sets, enc.event_ids, enc.new_offences)
