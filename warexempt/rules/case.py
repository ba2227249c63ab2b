"""A single case as a lawyer states it: charges, the stage at the start of the record, dated events, and the day the
question is asked.

``Case`` reads the facts (every word checked against the vocabulary, each event with the fields its kind requires);
what cannot be true of a history (RULES.md §5) is found by the engine itself (``rules.impossible``); ``rules.frames`` turns cases into the case frame and the events frame the engine evaluates, so
the single-case answer and the bulk answer go through the same function.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warexempt.law.catalog import bundled_law
from warexempt.law.models import Vocabulary


class CaseError(ValueError):
    """Facts that cannot be true or cannot be read; ``problems`` lists (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]], case_id: str | None = None) -> None:
        self.problems = problems
        self.case_id = case_id
        where = f"case {case_id}: " if case_id else ""
        super().__init__(where + "; ".join(f"{f}: {m}" for f, m in problems))


def vocabulary() -> Vocabulary:
    """The vocabulary of the law in use (the bundled one with the event kinds of ``WAREXEMPT_LAW_DIRS``)."""
    return bundled_law().vocabulary


def _word(value: object, what: str, known: list[str]) -> str:
    text = str(value).strip()
    if text not in known:
        raise ValueError(f"unknown {what} {value!r}: expected one of {', '.join(known)}")
    return text


class Event(BaseModel):
    """One dated event in the life of a case (the acceptance README lists the kinds and their fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    kind: str
    ground: str | None = None
    stage: str | None = None
    charge: str | None = None
    award: str | None = None
    id: str | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _word(value, "event kind", vocabulary().ids("events"))

    @field_validator("ground")
    @classmethod
    def _ground(cls, value: str | None) -> str | None:
        return None if value is None else _word(value, "discharge ground", vocabulary().ids("discharge_grounds"))

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str | None) -> str | None:
        return None if value is None else _word(value, "stage", vocabulary().ids("stages"))

    @model_validator(mode="after")
    def _fields(self) -> Event:
        """RULES.md §5: each kind has the fields the vocabulary says it requires, and only those."""
        requires = set(vocabulary().event(self.kind).requires)
        for name in ("ground", "stage", "charge"):
            given = getattr(self, name) is not None
            if name in requires and not given:
                raise ValueError(f"a {self.kind!r} event needs a {name}")
            if given and name not in requires:
                raise ValueError(f"a {self.kind!r} event has no {name} (only {self._owner(name)} do)")
        return self

    @staticmethod
    def _owner(name: str) -> str:
        return ", ".join(repr(e.id) for e in vocabulary().events if name in e.requires) or "no events"


class Case(BaseModel):
    """The facts of one case."""

    model_config = ConfigDict(extra="forbid")

    case_id: str = "case"
    charges: list[str] = Field(min_length=1)
    stage: str
    offence_date: dt.date | None = None
    events: list[Event] = []
    as_of: dt.date = Field(default_factory=dt.date.today)

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        return _word(value, "stage", vocabulary().ids("stages"))

    @field_validator("charges")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if any(not str(c).strip() for c in value):
            raise ValueError("a charge code is empty")
        return value

    def event_ids(self) -> list[str]:
        """Each event's id: its own, else ``e1``, ``e2``… by its place in the list as given."""
        return [e.id or f"e{i}" for i, e in enumerate(self.events, 1)]

    def with_events(self, extra: list[Event], as_of: dt.date | None = None) -> Case:
        return self.model_copy(update={"events": [*self.events, *extra], "as_of": as_of or self.as_of})

    @classmethod
    def parse(cls, data: Any, case_id: str | None = None) -> Case:
        """Validate raw data (YAML, JSON, CLI flags) into a Case or raise ``CaseError`` with field paths."""
        try:
            case = cls.model_validate(data)
        except ValidationError as exc:
            problems = [(".".join(str(p) for p in e["loc"]) or "case", _message(e)) for e in exc.errors()]
            raise CaseError(problems, case_id) from None
        return case


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")
