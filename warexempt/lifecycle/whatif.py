"""What happens next: every step the law allows from a case's current state, and where each leads.

The branches are hypothetical events appended to the case's history on one day (the question's day, or the last
event's day if later); all of them are decided together by the one rules path, so a branch's answer is exactly what
``check`` would say if that event happened. Which events a branch may add comes from the vocabulary (their roles),
not from a list here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from warexempt.law.catalog import Law
from warexempt.law.tables import tables
from warexempt.rules.case import Case, Event
from warexempt.rules.engine import decide
from warexempt.rules.frames import encode_cases

Step = tuple[str, str | None]  # (kind, ground)


@dataclass(frozen=True)
class Branch:
    """One hypothetical path: the events added, and the answer the rules give after them."""

    events: tuple[Step, ...]
    on: dt.date
    outcome: str
    eligible: bool
    record_cleared: bool
    reasons: tuple[str, ...]
    unconfirmed: tuple[str, ...]
    stage: str | None = None  # the stage the branch's answer is judged at (a convict's outcomes are named as such)

    @property
    def label(self) -> str:
        return " → ".join(k if g is None else f"{k}:{g}" for k, g in self.events)


def _endings(law: Law) -> list[Step]:
    """What can end a service: each event of a releasing role, a discharge on each ground, death. (A resumption
    decision and a new offence are the authorities' and the person's acts, not steps the law offers.)"""
    vocab = law.vocabulary
    out: list[Step] = []
    for e in vocab.events:
        if "ground" in e.requires:
            out.extend((e.id, g.id) for g in vocab.discharge_grounds)
        elif e.role in ("release", "death"):
            out.append((e.id, None))
    return out


def _first(law: Law, role: str) -> str:
    return next(e.id for e in law.vocabulary.events if e.role == role)


def _paths(case: Case, row: dict[str, Any], law: Law) -> list[list[Step]]:
    outcome = row["outcome"]
    endings = _endings(law)
    active = {o.id for o in law.vocabulary.outcomes if o.active}
    entry: list[Step] = [(_first(law, "entry"), None)]
    petition: list[Step] = [(_first(law, "petition"), None)]
    if outcome in active:
        return [[e] for e in endings]
    stage = row["stage"] or case.stage
    by_entry = law.stage(stage).attempt == "entry"
    if outcome == "resumed":  # re-enlisting opens a new cycle (RULES.md §1)
        again = entry if by_entry else [*entry, *petition]
        return [[("died", None)], again, *[[*again, e] for e in endings]]
    if outcome != "eligible":
        return []
    in_service = any(law.vocabulary.role(e.kind, e.ground) == "entry" and e.date <= case.as_of for e in case.events)
    start = [] if in_service and not by_entry else entry
    attempt = start if by_entry else [*start, *petition]
    paths = ([start] if start and not by_entry else []) + [attempt] + [[*attempt, e] for e in endings]
    return [p for p in paths if p]


def what_if(case: Case, law: Law, on: dt.date | None = None) -> tuple[dict[str, Any], list[Branch]]:
    """The current answer and every branch from it (none when the case is final or not covered)."""
    t = tables(law)
    current = decide(encode_cases([case], t), t).row(0)
    last = max((e.date for e in case.events if e.date <= case.as_of), default=case.as_of)
    day = max(on or case.as_of, last)
    paths = _paths(case, current, law)
    if not paths or current["error"]:
        return current, []
    hypo = [
        case.with_events([Event(date=day, kind=k, ground=g) for k, g in path], as_of=day).model_copy(
            update={"case_id": f"{case.case_id}#{i}"}
        )
        for i, path in enumerate(paths)
    ]
    rows = decide(encode_cases(hypo, t), t).rows()
    branches = [
        Branch(
            events=tuple(path),
            on=day,
            outcome=str(r["outcome"]),
            eligible=bool(r["eligible"]),
            record_cleared=bool(r["record_cleared"]),
            reasons=tuple(r["reasons"]),  # type: ignore[arg-type]
            unconfirmed=tuple(r["unconfirmed"]),  # type: ignore[arg-type]
            stage=None if r["stage"] is None else str(r["stage"]),
        )
        for path, r in zip(paths, rows, strict=True)
        if not r["error"]
    ]
    return current, branches


def why_no_branches(case: Case, row: dict[str, Any], law: Law, branches: list[Branch]) -> str | None:
    """Why the what-if of a case lists no branch, as a word an interface puts in words (``explain.views``):

    ``error`` — its facts cannot be true; ``final`` — a release or a death has ended the case, and nothing later
    changes it; ``refused`` — its latest attempt was refused by the law in force on the attempt's day (a new attempt
    is judged by the law of its own day); ``not_covered`` — no attempt yet, and no route (or an excluded charge) on
    the day of the question; ``impossible`` — every step the law offers would make a history that cannot be true.
    ``None`` when there are branches."""
    if branches:
        return None
    if row.get("error"):
        return "error"
    final = {o.id for o in law.vocabulary.outcomes if o.final}
    if row["outcome"] in final:
        return "final"
    if not _paths(case, row, law):
        return "refused" if row["outcome"] == "not_covered" and row["deciding_event"] is not None else "not_covered"
    return "impossible"
