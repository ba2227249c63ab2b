"""A single case as a lawyer states it: charges, stage, dated events, and the day the question is asked.

``Case`` validates the facts (RULES.md §5: impossible facts are errors, not answers) and turns into the one-row
case frame the engine evaluates: the single-case answer and the bulk answer go through the same function.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warexempt.law.catalog import vocabulary
from warexempt.law.models import EventKind, Ground, Stage

_EVENTS = vocabulary().events
ENTRY_KINDS = tuple(e.id for e in _EVENTS if e.role == "entry")
PETITION_KINDS = tuple(e.id for e in _EVENTS if e.role == "petition")
ORDER = {e.id: e.order for e in _EVENTS}  # same-day order of events (RULES.md §4), from vocabulary.yaml


class CaseError(ValueError):
    """Facts that cannot be true or cannot be read; ``problems`` lists (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]], case_id: str | None = None) -> None:
        self.problems = problems
        self.case_id = case_id
        where = f"case {case_id}: " if case_id else ""
        super().__init__(where + "; ".join(f"{f}: {m}" for f, m in problems))


class Event(BaseModel):
    """One dated event in the life of a case (see the acceptance README for the vocabulary)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    kind: EventKind
    ground: Ground | None = None
    award: str | None = None

    @model_validator(mode="after")
    def _ground(self) -> Event:
        if self.kind == "discharged" and self.ground is None:
            raise ValueError("a 'discharged' event needs a ground: age, health, end_of_mobilisation or other")
        if self.kind != "discharged" and self.ground is not None:
            raise ValueError(f"only 'discharged' events have a ground, not {self.kind!r}")
        return self

    @property
    def order(self) -> tuple[dt.date, int]:
        return self.date, ORDER[self.kind]


class Case(BaseModel):
    """The facts of one case."""

    model_config = ConfigDict(extra="forbid")

    case_id: str = "case"
    charges: list[str] = Field(min_length=1)
    stage: Stage
    offence_date: dt.date | None = None
    events: list[Event] = []
    as_of: dt.date = Field(default_factory=dt.date.today)

    @field_validator("charges")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if any(not str(c).strip() for c in value):
            raise ValueError("a charge code is empty")
        return value

    @model_validator(mode="after")
    def _possible(self) -> Case:
        problems = impossible_facts(self.events)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def sorted_events(self) -> list[Event]:
        """Events in legal order: by date, and on one day entry, petition, award/discharge/resumption, death."""
        return sorted(self.events, key=lambda e: e.order)

    def with_events(self, extra: list[Event], as_of: dt.date | None = None) -> Case:
        return self.model_copy(update={"events": [*self.events, *extra], "as_of": as_of or self.as_of})

    @classmethod
    def parse(cls, data: Any, case_id: str | None = None) -> Case:
        """Validate raw data (YAML, JSON, CLI flags) into a Case or raise ``CaseError`` with field paths."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = [(".".join(str(p) for p in e["loc"]) or "case", _message(e)) for e in exc.errors()]
            raise CaseError(problems, case_id) from None


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def impossible_facts(events: list[Event]) -> list[str]:
    """RULES.md §5: a petition, award, discharge or death before the entry event; any event after death."""
    problems: list[str] = []
    entries = [e.date for e in events if e.kind in ENTRY_KINDS]
    first_entry = min(entries) if entries else None
    for e in events:
        if e.kind in ENTRY_KINDS:
            continue
        if first_entry is None:
            problems.append(f"{e.kind} on {e.date} but no contract_signed or called_up event before it")
        elif e.date < first_entry:
            problems.append(f"{e.kind} on {e.date} is before the entry into service on {first_entry}")
    deaths = [e.date for e in events if e.kind == "died"]
    if len(deaths) > 1:
        problems.append("more than one 'died' event")
    if deaths:
        death = min(deaths)
        problems.extend(
            f"{e.kind} on {e.date} is after the death on {death}" for e in events if e.kind != "died" and e.date > death
        )
    return problems
