"""Pydantic models of the law data files.

Each instrument version is one YAML file (``law/data/instruments/*.yaml``); these models are its schema. Validation
happens on load, and a bad file is reported with its name and the field at fault (see ``catalog.load_law``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The words of the vocabulary (stages, event kinds, grounds, outcomes) are plain strings here: ``vocabulary.yaml``
# defines them, once, and the catalog checks every law file against it on load (``catalog.load_law``), naming the file
# and the field of a word the engine cannot see.
Stage = str
EventKind = str
Ground = str
Outcome = str
GRAVITY_IDS = ("small", "medium", "grave", "especially_grave")


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a law file must not silently drop a fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    ru: str
    en: str


class InForce(Strict):
    from_: dt.date | None = Field(default=None, alias="from")  # unknown only for a documented instrument
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
    source_urls: list[str] = []

    _refs = field_validator("rests_on", mode="before")(_fact_refs)


class Activated(Strict):
    """What an attempt the route allows leads to: an outcome that opens a cycle (``active`` in the vocabulary)."""

    outcome: Outcome
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
    # facts the answer rests on when the case has no attempt and its entries came before its stage began (§1, §6)
    entry_before_stage: list[FactRef] = []

    _refs = field_validator("rests_on", "entry_before_stage", mode="before")(_fact_refs)

    @model_validator(mode="after")
    def _covered_needs_activation(self) -> Route:
        if self.covered and self.activated is None:
            raise ValueError("a covered route needs 'activated' (what the petition or entry leads to)")
        return self


class EventRule(Strict):
    """What an award, discharge, resumption, new offence or death leads to in an open cycle, under the law in force
    on the day it happens (RULES.md §4). ``id`` is unique within its file: the rule's stable id is
    ``<instrument>/events/<id>``."""

    id: str
    stages: list[Stage]
    event: list[EventKind]
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

    def event_keys(self, with_ground: set[str]) -> list[str]:
        """Event keys this rule answers (``state_award``, ``discharged:age``, ``died``): a kind of
        ``with_ground`` (the kinds that require a ground) once per ground, another kind as it is."""
        out: list[str] = []
        for kind in self.event:
            if kind in with_ground:
                out.extend(f"{kind}:{g}" for g in self.grounds)
            else:
                out.append(kind)
        return out


class Milestone(Strict):
    """A dated step of an instrument whose entry into force is not known (passed by the Duma, approved, …)."""

    date: dt.date
    ru: str
    en: str


class Instrument(Strict):
    """One instrument version: a law, an amendment, a documented non-statutory practice, or an instrument that is
    documented only (RULES.md §7: on the time line, flagged, with no route and no rule)."""

    id: str
    kind: Literal["federal_law", "non_statutory_practice", "general_provisions", "amendment", "documented"]
    non_statutory: bool = False
    documented_only: bool = False
    milestones: list[Milestone] = []
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
    # offences cited when a case's new offence during service is one of them (RULES.md §4, 534-FZ)
    cited_offences: list[ExclusionList] = []
    routes: list[Route] = []
    events: list[EventRule] = []
    # event kinds this instrument adds to the vocabulary (an amendment may name a new kind of an existing role)
    event_kinds: list[EventDef] = []

    @model_validator(mode="after")
    def _dated(self) -> Instrument:
        if self.documented_only and (self.routes or self.events or self.exclusion_lists or self.cited_offences):
            raise ValueError("a documented-only instrument has no routes, rules or lists")
        if self.in_force.from_ is None and not self.documented_only:
            raise ValueError("in_force.from is required (only a documented-only instrument may leave it unknown)")
        return self

    @property
    def start(self) -> dt.date | None:
        """When it took effect, else its first known milestone (a documented-only instrument)."""
        return self.in_force.from_ or min((m.date for m in self.milestones), default=None)


ROLES = ("stage_change", "entry", "petition", "release", "resumption", "new_offence", "death")
Role = Literal["stage_change", "entry", "petition", "release", "resumption", "new_offence", "death"]


class StageDef(Strict):
    """A stage of a case; ``attempt``: the role of the event that is an attempt at this stage (RULES.md §1)."""

    id: Stage
    attempt: Literal["petition", "entry"]
    ru: str
    en: str


class RoleDef(Strict):
    """What an event does in a history; ``order``: its place among the events of one day (RULES.md §4)."""

    id: Role
    order: int
    ru: str
    en: str


class EventDef(Strict):
    """An event kind: its role (``ground``: the discharge ground's role), the fields it requires, and the column of
    the bulk file that stands for it (with the column of its ground)."""

    id: EventKind
    role: Role | Literal["ground"]
    requires: list[Literal["ground", "stage", "charge"]] = []
    bulk: str | None = None
    bulk_ground: str | None = None
    ru: str
    en: str

    @model_validator(mode="after")
    def _ground_role(self) -> EventDef:
        if (self.role == "ground") != ("ground" in self.requires):
            raise ValueError("an event takes its role from its ground exactly when it requires a ground")
        return self


class Labelled(Strict):
    id: str
    ru: str
    en: str


class GroundDef(Labelled):
    """A discharge ground; ``role``: whether the discharge releases or ends service so that the case resumes."""

    role: Literal["release", "resumption"]


class OutcomeDef(Labelled):
    """An outcome; ``final``: a release or a death, which nothing later undoes; ``active``: a cycle is open.
    ``ru_convict``/``en_convict``: the name for a convict where the general one (``ru``/``en``, for a suspect,
    accused or defendant) is wrong for a sentence in force (a convict's sentence is enforced, not "proceedings")."""

    final: bool = False
    active: bool = False
    ru_convict: str | None = None
    en_convict: str | None = None


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
    roles: list[RoleDef]
    events: list[EventDef]
    discharge_grounds: list[GroundDef]
    outcomes: list[OutcomeDef]
    gravity: list[GravityRow]
    codes: list[CodeName]
    point_letters: str
    # the names of the categories of the exclusion lists' items (``ExclusionItem.category``), for display only
    categories: list[Labelled] = []

    def with_events(self, extra: list[EventDef]) -> Vocabulary:
        """This vocabulary with the event kinds an instrument adds (``Instrument.event_kinds``)."""
        return self.model_copy(update={"events": [*self.events, *extra]}) if extra else self

    def ids(self, what: str) -> list[str]:
        """The ids of ``stages``, ``events``, ``discharge_grounds`` or ``outcomes``, in their order."""
        return [item.id for item in getattr(self, what)]

    def event(self, kind: str) -> EventDef:
        return next(e for e in self.events if e.id == kind)

    def event_keys(self) -> list[tuple[str, str | None]]:
        """Every (kind, ground) an event can be: a kind that requires a ground once per ground. The engine numbers
        events by their place in this list."""
        grounds = self.ids("discharge_grounds")
        out: list[tuple[str, str | None]] = []
        for e in self.events:
            out.extend((e.id, g) for g in grounds) if "ground" in e.requires else out.append((e.id, None))
        return out

    def role(self, kind: str, ground: str | None) -> str:
        """The role of an event: its kind's, or for a discharge its ground's."""
        event = self.event(kind)
        if event.role != "ground":
            return event.role
        return next(g.role for g in self.discharge_grounds if g.id == ground)

    def order(self, role: str) -> int:
        return next(r.order for r in self.roles if r.id == role)


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


Instrument.model_rebuild()
