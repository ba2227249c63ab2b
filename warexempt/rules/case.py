"""A single case as a lawyer states it: charges, the stage at the start of the record, dated events, and the day the
question is asked.

``Case`` reads the facts (every word checked against the vocabulary, each event with the fields its kind requires);
what cannot be true of a history (RULES.md §5) is found by the engine itself (``rules.impossible``); ``rules.frames`` turns cases into the case frame and the events frame the engine evaluates, so
the single-case answer and the bulk answer go through the same function.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warexempt._marks import N_
from warexempt.law.catalog import bundled_law
from warexempt.law.models import Vocabulary

# What a problem with the facts is, for the JSON of ``check --json`` (``type``) and its short ``title``. The titles
# and the message templates below are English msgids (``N_``): an interface translates them (``explain.i18n``).
TITLES = {
    "unknown_stage": N_("Unknown stage"),
    "unknown_event_kind": N_("Unknown event kind"),
    "unknown_ground": N_("Unknown discharge ground"),
    "not_a_date": N_("Not a date"),
    "missing": N_("Missing value"),
    "unknown_field": N_("Unknown field"),
    "event_field": N_("Wrong fields for the event"),
    "unquoted_charge": N_("Charge code read as a number"),
    "empty_charge": N_("Empty charge code"),
    "invalid_charge": N_("Invalid charge code"),
    "impossible_history": N_("History that cannot be true"),
    "invalid_value": N_("Invalid value"),
    "case_file": N_("Case file that cannot be used"),
    "unknown_language": N_("Unknown language"),
}
DID_YOU_MEAN = N_("did you mean {choices}?")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the facts: where (``field``, e.g. ``events[1].date``), what kind (``kind``, a key of
    ``TITLES``), the value rejected as given (``None`` when missing), and the message as an English template with
    its values (``template``/``params``, for translation) and the nearest valid choices (``choices``)."""

    field: str
    kind: str
    value: str | None
    template: str
    params: dict[str, str] = dc_field(default_factory=dict)
    choices: tuple[str, ...] = ()

    def detail(self, translate: Callable[..., str] | None = None) -> str:
        """The message; ``translate(template, **params)`` (``explain.i18n.gettext`` for a language) words it."""
        say = translate or (lambda template, **params: template.format(**params))
        text = say(self.template, **self.params)
        if self.choices:
            text += " (" + say(DID_YOU_MEAN, choices=spoken(self.choices)) + ")"
        return text

    def title(self, translate: Callable[..., str] | None = None) -> str:
        template = TITLES.get(self.kind, TITLES["invalid_value"])
        return translate(template) if translate else template

    def to_json(self, translate: Callable[..., str] | None = None) -> dict[str, str | None]:
        """``{"type", "title", "field", "value", "detail"}``: the shape of ``check --json``'s errors."""
        return {
            "type": self.kind,
            "title": self.title(translate),
            "field": self.field,
            "value": self.value,
            "detail": self.detail(translate),
        }

    def at(self, field: str) -> Problem:
        return replace(self, field=field)


class CaseError(ValueError):
    """Facts that cannot be true or cannot be read; ``problems`` lists (field, message) pairs, ``details`` the same
    problems as ``Problem``s (their kind, the value rejected, the nearest valid choices)."""

    def __init__(self, problems: list[tuple[str, str]] | list[Problem], case_id: str | None = None) -> None:
        self.details = [
            p if isinstance(p, Problem) else Problem(p[0], _kind_of(p), None, "{text}", {"text": p[1]})
            for p in problems
        ]
        self.problems = [(p.field, p.detail()) for p in self.details]
        self.case_id = case_id
        where = f"case {case_id}: " if case_id else ""
        super().__init__(where + "; ".join(f"{f}: {m}" if f else m for f, m in self.problems))


def _kind_of(problem: tuple[str, str]) -> str:
    return "impossible_history" if problem[0] == "events" else "invalid_value"


class InputError(ValueError):
    """Raised by the validators below: the problems found, each ``field`` relative to the validated one (``""``
    for the field itself, ``"[2]"`` for its second item)."""

    def __init__(self, *problems: Problem) -> None:
        self.found = list(problems)
        super().__init__("; ".join(p.detail() for p in problems))


def vocabulary() -> Vocabulary:
    """The vocabulary of the law in use (the bundled one with the event kinds of ``WAREXEMPT_LAW_DIRS``)."""
    return bundled_law().vocabulary


def spoken(items: Sequence[str]) -> str:
    """``a, b, c or d``: a list of choices as a sentence says it."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1] if items else ""


def nearest(value: str, known: Sequence[str], n: int = 3) -> tuple[str, ...]:
    """The valid choices closest to ``value`` (difflib), best first."""
    return tuple(difflib.get_close_matches(value.strip().lower(), list(known), n=n, cutoff=0.6))


# What each word is, as a message names it: (kind, template, the vocabulary list).
WORDS = {
    "stage": ("unknown_stage", N_("{value} is not a stage; expected {expected}"), "stages"),
    "event kind": ("unknown_event_kind", N_("{value} is not an event kind; expected {expected}"), "events"),
    "discharge ground": (
        "unknown_ground",
        N_("{value} is not a discharge ground; expected {expected}"),
        "discharge_grounds",
    ),
}


def canonical(value: object, what: str) -> str | None:
    """The vocabulary's word (``what``: stage, event kind, discharge ground) for ``value`` as people type it:
    without regard to case and surrounding spaces (``" TRIAL "`` is ``trial``, ``State_Award`` ``state_award``);
    ``None`` if it is none."""
    return _spellings(vocabulary(), what).get(str(value).strip().lower())


_SPELLINGS: dict[int, tuple[Vocabulary, dict[str, dict[str, str]]]] = {}  # id(vocabulary) → it and its tables


def _spellings(vocab: Vocabulary, what: str) -> dict[str, str]:
    """[a word as ``canonical`` reads it] → the vocabulary's word, made once per vocabulary (a case has a dozen words
    to look up, an API batch thousands). Keyed by identity, the vocabulary kept beside its tables."""
    held = _SPELLINGS.get(id(vocab))
    if held is None or held[0] is not vocab:
        held = _SPELLINGS[id(vocab)] = (vocab, {})
    tables = held[1]
    if what not in tables:
        table: dict[str, str] = {}
        for k in vocab.ids(WORDS[what][2]):
            table.setdefault(k.lower(), k)
        tables[what] = table
    return tables[what]


def _word(value: object, what: str) -> str:
    found = canonical(value, what) if value is not None else None
    if found is not None:
        return found
    kind, template, items = WORDS[what]
    known = vocabulary().ids(items)
    if value is None or not str(value).strip():
        raise InputError(Problem("", "missing", None, N_("missing; expected {expected}"), {"expected": spoken(known)}))
    text = str(value)
    raise InputError(
        Problem("", kind, text, template, {"value": repr(text), "expected": spoken(known)}, nearest(text, known))
    )


def _date_text(value: object) -> object:
    """A date as text with its surrounding spaces removed (pydantic parses the rest, ``_problem`` words a failure)."""
    return value.strip() if isinstance(value, str) else value


CHARGE_EXAMPLE = "158:3:в"


def _charge(value: object, where: str = "") -> str:
    """A charge code as text; a number (YAML reads ``158:3`` unquoted as 9483, ``158.1`` as a float) is refused with
    the text it was written as, when that is known exactly."""
    if isinstance(value, str):
        if not value.strip():
            raise InputError(
                Problem(
                    where,
                    "empty_charge",
                    value,
                    N_("an empty charge code; expected a code such as {example}"),
                    {"example": CHARGE_EXAMPLE},
                )
            )
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        written = _written(value)
        if written is not None:
            raise InputError(
                Problem(where, "unquoted_charge", written, N_("quote charge codes: {code}"), {"code": repr(written)})
            )
        raise InputError(
            Problem(
                where,
                "unquoted_charge",
                str(value),
                N_("quote charge codes in the file (a code was read as the number {number})"),
                {"number": str(value)},
            )
        )
    raise InputError(
        Problem(
            where,
            "invalid_charge",
            str(value),
            N_("{value} is not a charge code; expected a code such as {example}"),
            {"value": repr(value), "example": CHARGE_EXAMPLE},
        )
    )


def _written(number: int | float) -> str | None:
    """The text a number was written as: kept by the case-file reader (``rules.acceptance.load_case_yaml``); else,
    for a whole number, the sexagesimal ``ARTICLE:PART`` YAML 1.1 reads as ``ARTICLE * 60 + PART`` (9483 is
    ``158:3``) when that is a valid code; else unknown (a float has lost its trailing zeros: ``158.10`` is 158.1)."""
    source = getattr(number, "yaml_source", None)
    if isinstance(source, str):
        return source
    if isinstance(number, int) and number >= 60:
        from warexempt.law.codes import ChargeCodeError
        from warexempt.rules.charges import book

        text = "{}:{}".format(*divmod(number, 60))
        try:
            book(bundled_law()).code(text)
        except ChargeCodeError:
            return None
        return text
    return None


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

    _date = field_validator("date", mode="before")(_date_text)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> str:
        return _word(value, "event kind")

    @field_validator("ground", mode="before")
    @classmethod
    def _ground(cls, value: object) -> str | None:
        return None if value is None else _word(value, "discharge ground")

    @field_validator("stage", mode="before")
    @classmethod
    def _stage(cls, value: object) -> str | None:
        return None if value is None else _word(value, "stage")

    @field_validator("charge", mode="before")
    @classmethod
    def _charge(cls, value: object) -> str | None:
        return None if value is None else _charge(value)

    @model_validator(mode="after")
    def _fields(self) -> Event:
        """RULES.md §5: each kind has the fields the vocabulary says it requires, and only those."""
        requires = set(vocabulary().event(self.kind).requires)
        for name in ("ground", "stage", "charge"):
            given = getattr(self, name)
            if name in requires and given is None:
                raise InputError(
                    Problem(
                        f".{name}",
                        "missing",
                        None,
                        N_("a {kind} event needs a {name}; expected {expected}"),
                        {"kind": repr(self.kind), "name": name, "expected": _expected(name)},
                    )
                )
            if given is not None and name not in requires:
                raise InputError(
                    Problem(
                        f".{name}",
                        "event_field",
                        str(given),
                        N_("a {kind} event has no {name} (only {owners} events have one)"),
                        {"kind": repr(self.kind), "name": name, "owners": self._owner(name)},
                    )
                )
        return self

    @staticmethod
    def _owner(name: str) -> str:
        return spoken([repr(e.id) for e in vocabulary().events if name in e.requires]) or "no events"


def _expected(name: str) -> str:
    """What a field of an event may hold, for a message."""
    vocab = vocabulary()
    if name == "ground":
        return spoken(vocab.ids("discharge_grounds"))
    if name == "stage":
        return spoken(vocab.ids("stages"))
    if name == "charge":
        return "a charge code such as 338:4"
    return name


class Case(BaseModel):
    """The facts of one case."""

    model_config = ConfigDict(extra="forbid")

    case_id: str = "case"
    charges: list[str] = Field(min_length=1)
    stage: str
    offence_date: dt.date | None = None
    events: list[Event] = []
    as_of: dt.date = Field(default_factory=dt.date.today)

    _dates = field_validator("offence_date", "as_of", mode="before")(_date_text)

    @field_validator("case_id", mode="before")
    @classmethod
    def _id(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("stage", mode="before")
    @classmethod
    def _stage(cls, value: object) -> str:
        return _word(value, "stage")

    @field_validator("charges", mode="before")
    @classmethod
    def _charges(cls, value: object) -> object:
        """Each code as text (a single code may be given alone, not in a list); every bad one is named."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            return value
        found, codes = [], []
        for i, code in enumerate(value, 1):
            try:
                codes.append(_charge(code, f"[{i}]"))
            except InputError as exc:
                found.extend(exc.found)
        if found:
            raise InputError(*found)
        return codes

    def event_ids(self) -> list[str]:
        """Each event's id: its own, else ``e1``, ``e2``… by its place in the list as given."""
        return [e.id or f"e{i}" for i, e in enumerate(self.events, 1)]

    def with_events(self, extra: list[Event], as_of: dt.date | None = None) -> Case:
        return self.model_copy(update={"events": [*self.events, *extra], "as_of": as_of or self.as_of})

    @classmethod
    def parse(cls, data: Any, case_id: str | None = None) -> Case:
        """Validate raw data (YAML, JSON, CLI flags) into a Case or raise ``CaseError`` with field paths
        (``events[1].date``: events are counted from 1, as their ids ``e1``, ``e2``… are)."""
        try:
            case = cls.model_validate(data)
        except ValidationError as exc:
            raise CaseError([p for e in exc.errors() for p in _problems(e)], case_id) from None
        return case


def path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a field path: ``("events", 0, "date")`` is ``events[1].date``."""
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problems(err: Any) -> list[Problem]:
    """The problems of one pydantic error, in words (never pydantic's "Input should be…")."""
    loc = tuple(err["loc"])
    where = path(loc)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, InputError):
        return [p.at(where + p.field) for p in cause.found]
    kind, value, name = str(err["type"]), err.get("input"), str(loc[-1]) if loc else ""
    shown = value if isinstance(value, str) else str(value)
    if kind.startswith(("date_", "datetime_")):
        return [
            Problem(
                where, "not_a_date", shown, N_("{value} is not a date (expected YYYY-MM-DD)"), {"value": repr(shown)}
            )
        ]
    if kind == "missing" or (value is None and kind.endswith("_type")):
        return [Problem(where, "missing", None, N_("missing; expected {expected}"), {"expected": _expected_of(loc)})]
    if kind == "too_short" and name == "charges":
        return [
            Problem(
                where,
                "missing",
                None,
                N_("no charge code given; expected at least one, such as {example}"),
                {"example": CHARGE_EXAMPLE},
            )
        ]
    if kind == "extra_forbidden":
        known = tuple(Event.model_fields) if "events" in loc[:1] and len(loc) > 2 else tuple(Case.model_fields)
        return [
            Problem(
                where,
                "unknown_field",
                name,
                N_("{name} is not a field here; expected {expected}"),
                {"name": repr(name), "expected": spoken(known)},
                nearest(name, known),
            )
        ]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if where in ("", "case"):
            template, fields = N_("expected the facts of one case ({fields}), not {value}"), tuple(Case.model_fields)
        else:
            template, fields = N_("expected an event ({fields}), not {value}"), tuple(Event.model_fields)
        return [
            Problem(
                where or "case", "invalid_value", shown, template, {"fields": ", ".join(fields), "value": repr(shown)}
            )
        ]
    if kind == "list_type":
        return [Problem(where, "invalid_value", shown, N_("expected a list, not {value}"), {"value": repr(shown)})]
    message = str(err["msg"]).removeprefix("Value error, ")
    return [
        Problem(
            where,
            "invalid_value",
            shown,
            N_("{value} is not valid here: {reason}"),
            {"value": repr(shown), "reason": message},
        )
    ]


def _expected_of(loc: tuple[int | str, ...]) -> str:
    name = str(loc[-1]) if loc else ""
    vocab = vocabulary()
    return {
        "charges": f"at least one charge code, such as {CHARGE_EXAMPLE}",
        "stage": spoken(vocab.ids("stages")),
        "kind": spoken(vocab.ids("events")),
        "date": "a date (YYYY-MM-DD)",
        "as_of": "a date (YYYY-MM-DD)",
        "offence_date": "a date (YYYY-MM-DD)",
    }.get(name, name)
