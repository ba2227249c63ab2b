"""What happens next: every step the law allows from a case's current state, and where each leads.

The branches are hypothetical event sequences appended to the case on one day (the question's day, or the last
event's day if later); all of them are evaluated together by the one rules path, so a branch's answer is exactly
what ``check`` would say if that event happened.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from warexempt.law.catalog import Law
from warexempt.rules.case import Case, Event
from warexempt.rules.engine import evaluate
from warexempt.rules.frame import case_frame


def _endings(law: Law) -> list[tuple[str, str | None]]:
    """What can end a service: an award, a discharge on each ground of the vocabulary, death. (A resumption is the
    authorities' decision, not a step of the person's; it is not offered.)"""
    grounds = [("discharged", g.id) for g in law.vocabulary.discharge_grounds]
    return [("state_award", None), *grounds, ("died", None)]


@dataclass(frozen=True)
class Branch:
    """One hypothetical path: the events added, and the answer the rules give after them."""

    events: tuple[tuple[str, str | None], ...]
    on: dt.date
    outcome: str
    eligible: bool
    record_cleared: bool
    reasons: tuple[str, ...]
    unconfirmed: tuple[str, ...]

    @property
    def label(self) -> str:
        return " → ".join(k if g is None else f"{k}:{g}" for k, g in self.events)


def _paths(case: Case, outcome: str, law: Law) -> list[list[tuple[str, str | None]]]:
    has_entry = any(e.kind in ("contract_signed", "called_up") and e.date <= case.as_of for e in case.events)
    entry: list[tuple[str, str | None]] = [] if has_entry else [("contract_signed", None)]
    endings = _endings(law)
    active = {r.activated.outcome for r, _ in law.routes if r.activated}  # suspended, conditionally released
    if outcome in active:
        return [[e] for e in endings]
    if outcome == "resumed":
        return [[("died", None)]]
    if outcome != "eligible":
        return []
    if law.stage(case.stage).activation == "entry":
        return [entry] + [[*entry, e] for e in endings]
    petition = [*entry, ("command_petition", None)]
    paths = ([entry] if entry else []) + [petition] + [[*petition, e] for e in endings]
    if entry:
        paths.append([*entry, ("died", None)])
    return paths


def what_if(case: Case, law: Law, on: dt.date | None = None) -> tuple[dict[str, object], list[Branch]]:
    """The current answer and every branch from it (none when the case is final or not covered)."""
    current = evaluate(case_frame([case], law), law=law).row(0, named=True)
    last = max((e.date for e in case.events if e.date <= case.as_of), default=case.as_of)
    day = max(on or case.as_of, last)
    paths = _paths(case, current["outcome"], law)
    if not paths:
        return current, []
    hypo = [
        case.with_events([Event(date=day, kind=k, ground=g) for k, g in path], as_of=day).model_copy(
            update={"case_id": f"{case.case_id}#{i}"}
        )
        for i, path in enumerate(paths)
    ]
    rows = evaluate(case_frame(hypo, law), law=law)
    branches = [
        Branch(
            events=tuple(path),
            on=day,
            outcome=r["outcome"],
            eligible=r["eligible"],
            record_cleared=r["record_cleared"],
            reasons=tuple(r["reasons"]),
            unconfirmed=tuple(r["unconfirmed"]),
        )
        for path, r in zip(paths, rows.iter_rows(named=True), strict=True)
    ]
    return current, branches
