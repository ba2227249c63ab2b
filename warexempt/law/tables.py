"""The law compiled for the engine: the time line cut into segments, and what was in force in each.

Between two ``boundaries`` nothing in the law changes, so the engine looks a day up as its *segment* and asks, per
(stage, segment) or (stage, event, segment), for the row in force then: a ``RouteCell`` (RULES.md §2-§3) or a
``RuleCell`` (§4). Each cell is resolved once, from the catalog, and remembered: a run of ten million cases asks for
a few dozen. Nothing here knows about cases; the rules engine (``rules``) asks and decides.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from warexempt.law.catalog import Law, ListVersion, per_law

EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """A date as Polars stores it: days since 1970-01-01."""
    return (day - EPOCH).days


@dataclass(frozen=True)
class RouteCell:
    """The route in force for one stage in one segment (RULES.md §2), with the list version it uses (§3) and the
    facts its answers rest on (§6). ``route`` is None where no law gives that stage any route then."""

    stage: str
    segment: int = field(compare=False)  # the first segment it was resolved for; equal cells are one cell
    route: str | None  # stable id, e.g. ``fz-340/routes/trial``
    covered: bool
    reasons: tuple[str, ...]  # the route's ids (or, uncovered, what is cited instead: the 2022 pardons)
    exclusion_list: ListVersion | None
    max_rank: int | None  # the gravest category (УК ст. 15) the route admits, if it has a gravity gate
    offence_before: dt.date | None  # offences committed on or after this day are not covered
    gate_reasons: tuple[str, ...]
    activated: str | None  # the outcome an allowed attempt leads to (opens a cycle)
    activated_reasons: tuple[str, ...]
    route_flags: tuple[str, ...]  # the route's unconfirmed facts on this segment
    list_flags: tuple[str, ...]  # the list version's
    entry_before_stage: tuple[str, ...]  # facts of an answer whose only entries came before the stage (§1, §6)


@dataclass(frozen=True)
class RuleCell:
    """The event rule in force for one (stage, event, segment) (RULES.md §4), or none (``rule`` is None)."""

    rule: str | None  # stable id, e.g. ``fz-64/events/suspect-award``
    outcome: str | None
    record_cleared: bool
    final: bool  # a release or a death: nothing later changes the outcome
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    on_death: bool = False  # the event is a death (its role in the vocabulary)


@dataclass(eq=False)
class LawTables:
    """The segments of ``law``'s time line and the cells in force in each (resolved on first use)."""

    law: Law
    _routes: dict[tuple[str, int], RouteCell] = field(default_factory=dict)
    _rules: dict[tuple[str, str, int], RuleCell] = field(default_factory=dict)
    _offence_before: npt.NDArray[np.int64] | None = None

    @cached_property
    def stages(self) -> list[str]:
        return self.law.vocabulary.ids("stages")

    @cached_property
    def event_keys(self) -> list[str]:
        """Every event as the rules see it, ``kind`` or ``kind:ground``; the engine numbers events by this list."""
        return [f"{k}:{g}" if g else k for k, g in self.law.vocabulary.event_keys()]

    @cached_property
    def nseg(self) -> int:
        return len(self.law.boundaries) + 1

    def start(self, segment: int) -> dt.date:
        return self.law.segment_start(segment)

    @cached_property
    def first_day(self) -> int:
        """The day number of the day before the first boundary: ``segment_of_day`` starts there."""
        cuts = self.law.boundaries or [dt.date(1970, 1, 2)]
        return day_number(cuts[0]) - 1

    @cached_property
    def segment_of_day(self) -> npt.NDArray[np.int64]:
        """[day number - ``first_day``] → segment, from the day before the first boundary to the last boundary; a
        day outside is clipped to the ends (``segments_of``)."""
        cuts = self.law.boundaries or [dt.date(1970, 1, 2)]
        first = cuts[0] - dt.timedelta(days=1)
        span = (cuts[-1] - first).days + 1
        days = (first + dt.timedelta(days=i) for i in range(span))
        return np.array([bisect.bisect_right(self.law.boundaries, d) for d in days], dtype=np.int64)

    def segments_of(self, days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The segment of each day number."""
        found: npt.NDArray[np.int64] = self.segment_of_day[
            np.clip(days - self.first_day, 0, len(self.segment_of_day) - 1)
        ]
        return found

    @cached_property
    def cells(self) -> tuple[list[RouteCell], npt.NDArray[np.int64]]:
        """The distinct route cells, and [stage * nseg + segment] → the number of the cell in force there: segments
        in which nothing changed for a stage share one cell, so the law is asked once for them."""
        distinct: dict[RouteCell, int] = {}
        numbers = [distinct.setdefault(self.route(s, g), len(distinct)) for s in self.stages for g in range(self.nseg)]
        return list(distinct), np.array(numbers, dtype=np.int64)

    def route(self, stage: str, segment: int) -> RouteCell:
        """RULES.md §2-§3: the route for ``stage`` in force in ``segment``, its list version and its facts."""
        key = (stage, segment)
        found = self._routes.get(key)
        if found is None:
            found = self._routes[key] = self._route(stage, segment)
        return found

    def _route(self, stage: str, segment: int) -> RouteCell:
        law, day = self.law, self.start(segment)
        entry = law.route_on(stage, day)
        if entry is None:
            return RouteCell(stage, segment, None, False, (), None, None, None, (), None, (), (), (), ())
        r = entry.route
        version = law.list_on(r.exclusion_list, day) if r.exclusion_list else None
        return RouteCell(
            stage=stage,
            segment=segment,
            route=entry.id,
            covered=r.covered,
            reasons=tuple(r.reasons),
            exclusion_list=version,
            max_rank=law.gravity.rank[r.max_gravity] if r.max_gravity else None,
            offence_before=r.offence_before,
            gate_reasons=tuple(r.gate_reasons),
            activated=r.activated.outcome if r.activated else None,
            activated_reasons=tuple(r.activated.reasons) if r.activated else (),
            route_flags=tuple(law.fact_flags(r.rests_on, day)),
            list_flags=tuple(law.fact_flags(version.rests_on, day)) if version else (),
            entry_before_stage=tuple(law.fact_flags(r.entry_before_stage, day)),
        )

    def rule(self, stage: str, event: str, segment: int) -> RuleCell:
        """RULES.md §4: the rule in force in ``segment`` for ``event`` (an event key) at ``stage``."""
        key = (stage, event, segment)
        found = self._rules.get(key)
        if found is None:
            found = self._rules[key] = self._rule(stage, event, segment)
        return found

    def _rule(self, stage: str, event: str, segment: int) -> RuleCell:
        entry = self.law.rule_on(stage, event, self.start(segment))
        if entry is None:
            return RuleCell(None, None, False, False, (), ())
        r = entry.rule
        final = next(o.final for o in self.law.vocabulary.outcomes if o.id == r.outcome)
        flags = tuple(self.law.fact_flags(r.rests_on, None))
        kind, _, ground = event.partition(":")
        death = self.law.vocabulary.role(kind, ground or None) == "death"
        return RuleCell(entry.id, r.outcome, r.record_cleared, final, tuple(r.reasons), flags, death)

    def gravity_provision(self, rank: int) -> str:
        """The provision of УК ст. 15 that defines the category of this rank (``uk:15:4`` for grave)."""
        return next(g.provision for g in self.law.gravity.rows if g.rank == rank)

    def cited_lists(self, segment: int) -> list[ListVersion]:
        """The lists of offences cited when committed during service (534-FZ), in force in ``segment``."""
        day = self.start(segment)
        found = (self.law.list_on(i, day, cited=True) for i in sorted({v.id for v in self.law.cited}))
        return [v for v in found if v is not None]

    def offence_before(self) -> npt.NDArray[np.int64]:
        """[stage * nseg + segment] → the route's offence-date limit as a day number (the largest Int32: none)."""
        if self._offence_before is None:
            none = 2**31 - 1
            self._offence_before = np.array(
                [
                    day_number(c.offence_before) if (c := self.route(s, g)).offence_before else none
                    for s in self.stages
                    for g in range(self.nseg)
                ],
                dtype=np.int64,
            )
        return self._offence_before


@per_law
def tables(law: Law) -> LawTables:
    """The tables of ``law`` (made once for the life of the ``Law``, so their cells are resolved once)."""
    return LawTables(law)
