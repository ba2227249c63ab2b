"""Pydantic models of the law data files.

Each instrument version is one YAML file (``law/data/instruments/*.yaml``); these models are its schema. Validation
happens on load, and a bad file is reported with its name and the field at fault (see ``catalog.load_law``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Stage = Literal["pre_trial", "trial", "appeal", "sentenced"]
Outcome = Literal[
    "not_covered",
    "eligible",
    "suspended",
    "conditionally_released",
    "released",
    "released_from_punishment",
    "resumed",
    "terminated_death",
]
EventKind = Literal[
    "contract_signed",
    "called_up",
    "command_petition",
    "suspended",
    "state_award",
    "discharged",
    "died",
    "resumed",
]
Ground = Literal["age", "health", "end_of_mobilisation", "other"]
GRAVITY_IDS = ("small", "medium", "grave", "especially_grave")


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a law file must not silently drop a fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    ru: str
    en: str


class InForce(Strict):
    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    confirmed: bool = True
    note: str | None = None


class Fact(Strict):
    """A legal fact the rules rely on that is NOT confirmed from a primary text (RULES.md §6)."""

    id: str
    ru: str
    en: str


class FactRef(Strict):
    """A reference to a fact, optionally only for decisive dates up to ``until`` (inclusive)."""

    fact: str
    until: dt.date | None = None


def _fact_refs(value: object) -> object:
    if isinstance(value, list):
        return [{"fact": v} if isinstance(v, str) else v for v in value]
    return value


class ExclusionItem(Strict):
    """One entry of an exclusion list: a charge code pattern, or an inclusive range of whole articles."""

    code: str | None = None
    range: tuple[str, str] | None = None
    category: str

    @model_validator(mode="after")
    def _one_of(self) -> ExclusionItem:
        if (self.code is None) == (self.range is None):
            raise ValueError("give exactly one of 'code' or 'range'")
        return self


class ExclusionList(Strict):
    """One version of a list of excluded offences, in force from ``from``.

    ``base: previous`` starts from the items of the previous version of the same list; ``add`` / ``remove`` then
    amend it, so that an amendment file states only what it changed.
    """

    id: str
    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    base: Literal["previous"] | None = None
    items: list[ExclusionItem] = []
    add: list[ExclusionItem] = []
    remove: list[str] = []
    rests_on: list[FactRef] = []
    confirmed: bool = True
    source_urls: list[str] = []

    _refs = field_validator("rests_on", mode="before")(_fact_refs)


class Activated(Strict):
    outcome: Literal["suspended", "conditionally_released"]
    reasons: list[str]


class Route(Strict):
    """What the law offers a case at one stage from one date: the dated row of RULES.md §2."""

    stage: Stage
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    covered: bool
    reasons: list[str] = []
    exclusion_list: str | None = None
    max_gravity: Literal["small", "medium", "grave", "especially_grave"] | None = None
    offence_before: dt.date | None = None
    gate_reasons: list[str] = []
    activated: Activated | None = None
    rests_on: list[FactRef] = []

    _refs = field_validator("rests_on", mode="before")(_fact_refs)

    @model_validator(mode="after")
    def _covered_needs_activation(self) -> Route:
        if self.covered and self.activated is None:
            raise ValueError("a covered route needs 'activated' (what the petition or entry leads to)")
        return self


class EventRule(Strict):
    """What an award, discharge, resumption or death leads to, under the law in force on the day it happens."""

    stages: list[Stage]
    event: list[Literal["state_award", "discharged", "resumed", "died"]]
    grounds: list[Ground] = []
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    outcome: Outcome
    record_cleared: bool = False
    reasons: list[str]
    rests_on: list[FactRef] = []

    _refs = field_validator("rests_on", mode="before")(_fact_refs)

    @field_validator("event", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _grounds(self) -> EventRule:
        if "discharged" in self.event and not self.grounds:
            raise ValueError("a rule for 'discharged' must name its 'grounds'")
        return self

    def event_keys(self) -> list[str]:
        """Event keys this rule answers: ``state_award``, ``discharged:age``, ``resumed``, ``died``."""
        out: list[str] = []
        for kind in self.event:
            if kind == "discharged":
                out.extend(f"discharged:{g}" for g in self.grounds)
            else:
                out.append(kind)
        return out


class Instrument(Strict):
    """One instrument version: a law, an amendment, or a documented non-statutory practice."""

    id: str
    kind: Literal["federal_law", "non_statutory_practice", "general_provisions", "amendment"]
    non_statutory: bool = False
    number: str | None = None
    title: Text
    signed: dt.date | None = None
    published: dt.date | None = None
    in_force: InForce
    confirmed: bool = True
    source_urls: list[str] = []
    provisions: list[str] = []
    facts: list[Fact] = []
    exclusion_lists: list[ExclusionList] = []
    routes: list[Route] = []
    events: list[EventRule] = []


class StageDef(Strict):
    id: Stage
    decisive_event: Literal["petition", "entry"]
    activation: Literal["petition", "entry"]
    ru: str
    en: str


class EventDef(Strict):
    id: EventKind
    role: Literal["entry", "petition", "terminal", "death"]
    order: int
    ru: str
    en: str


class Labelled(Strict):
    id: str
    ru: str
    en: str


class OutcomeDef(Labelled):
    """An outcome of the vocabulary; ``final``: a release that nothing later undoes (it wins over a later death)."""

    final: bool = False


class GravityRow(Strict):
    id: Literal["small", "medium", "grave", "especially_grave"]
    rank: int
    provision: str
    max_years: float | None
    forms: list[Literal["intentional", "negligent"]]
    ru: str
    en: str


class CodeName(Strict):
    prefix: str
    ru: str
    en: str


class Vocabulary(Strict):
    schema_version: int
    stages: list[StageDef]
    events: list[EventDef]
    discharge_grounds: list[Labelled]
    outcomes: list[OutcomeDef]
    gravity: list[GravityRow]
    codes: list[CodeName]
    point_letters: str
    latin_lookalikes: dict[str, str]


class Provision(BaseModel):
    """An entry of ``provisions.yaml`` (the canonical ids of shared/legal); extra research fields are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    version_id: str | None = None
    title_ru: str
    title_en: str
    in_force_from: dt.date | None = None
    in_force_to: dt.date | None = None
    confidence: str | None = None
    source_urls: list[str] = []
    non_statutory: bool = False
