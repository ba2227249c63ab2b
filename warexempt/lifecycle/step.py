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
from typing import Any, Literal

from warexempt.law.catalog import Law
from warexempt.law.tables import tables
from warexempt.rules.case import Case, Event
from warexempt.rules.engine import decide
from warexempt.rules.frames import encode_cases

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


@dataclass(frozen=True)
class StepResult:
    """What adding ``event`` (``supersedes`` an earlier one, if a correction) to ``case`` does.

    ``before``/``after``: the engine's decision rows on ``day`` without and with it; ``status``: the row with it on
    the case's own day (``case.as_of``: what the register stores); ``problems``: (field, message) for a refused
    event; ``history``: the case with the event (what is stored when it is not refused)."""

    effect: Effect
    event: Event
    day: dt.date
    before: dict[str, Any]
    after: dict[str, Any]
    status: dict[str, Any]
    history: Case
    supersedes: str | None = None
    why: Why | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.effect == "refused"


def judging_day(case: Case, extra: Sequence[Event] = ()) -> dt.date:
    return max([case.as_of, *(e.date for e in case.events), *(e.date for e in extra)])


def apply(case: Case, event: Event, law: Law, supersedes: str | None = None) -> StepResult:
    """What ``event`` does to ``case`` (its effective history, each event with its id; ``as_of`` the status day)."""
    kept = [e for e in case.events if supersedes is None or e.id != supersedes]
    day = judging_day(case, [event])
    before = case.model_copy(update={"as_of": day})
    with_event = case.model_copy(update={"events": [*kept, event]})
    t = tables(law)
    rows = decide(encode_cases([before, with_event.model_copy(update={"as_of": day}), with_event], t), t).rows()
    b, a, status = rows
    common = dict(event=event, day=day, before=b, after=a, status=status, history=with_event, supersedes=supersedes)
    if a["error"] and a["error"] != b["error"]:
        return StepResult("refused", problems=[("event", str(a["error"]))], **common)  # type: ignore[arg-type]
    if all(a[k] == b[k] for k in ANSWER):
        return StepResult("no_effect", why=_why(b, a, event, law), **common)  # type: ignore[arg-type]
    return StepResult("changed", **common)  # type: ignore[arg-type]


def _why(before: dict[str, Any], after: dict[str, Any], event: Event, law: Law) -> Why:
    final = {o.id for o in law.vocabulary.outcomes if o.final}
    if before["outcome"] in final:
        return "final"
    if after["deciding_event"] == event.id and after["outcome"] == "not_covered":
        return "not_acted_on"
    return "no_rule"


def statuses(cases: list[Case], law: Law) -> list[dict[str, Any]]:
    """The decision rows of many cases in one engine call (a history that cannot be true has its ``error``)."""
    if not cases:
        return []
    t = tables(law)
    return decide(encode_cases(cases, t), t).rows()


def apply_many(case: Case, events: Sequence[Event], law: Law) -> list[StepResult]:
    """What each of ``events`` does when added in order (a batch: one engine call for all of them): each is judged
    against the history with the ones before it. The first refused event ends the list (nothing after it is
    judged: the batch is refused there)."""
    return apply_groups([(case, events)], law)[0]


def apply_groups(groups: Sequence[tuple[Case, Sequence[Event]]], law: Law) -> list[list[StepResult]]:
    """``apply_many`` for many cases at once (the register's grouped appends): every prefix of every case's history
    with its new events goes into one engine call, and each event's effect is read off the decision rows."""
    cases: list[Case] = []
    spans: list[tuple[int, dt.date, list[Case]]] = []
    for case, events in groups:
        day = judging_day(case, events)
        prefixes = [case.model_copy(update={"events": [*case.events, *events[:i]]}) for i in range(len(events) + 1)]
        spans.append((len(cases), day, prefixes))
        cases += [p.model_copy(update={"as_of": day}) for p in prefixes]
        cases += prefixes[1:]
    rows = statuses(cases, law)
    out: list[list[StepResult]] = []
    for (start, day, prefixes), (_, events) in zip(spans, groups, strict=True):
        k = len(events)
        on_day, on_status_day = rows[start : start + k + 1], rows[start + k + 1 : start + 2 * k + 1]
        steps: list[StepResult] = []
        for i, event in enumerate(events):
            b, a = on_day[i], on_day[i + 1]
            common: dict[str, Any] = dict(
                event=event, day=day, before=b, after=a, status=on_status_day[i], history=prefixes[i + 1]
            )
            if a["error"] and a["error"] != b["error"]:
                steps.append(StepResult("refused", problems=[("event", str(a["error"]))], **common))
                break
            if all(a[key] == b[key] for key in ANSWER):
                steps.append(StepResult("no_effect", why=_why(b, a, event, law), **common))
            else:
                steps.append(StepResult("changed", **common))
        out.append(steps)
    return out
