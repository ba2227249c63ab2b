"""The law's judgement, section by section of RULES.md, for one situation at a time.

``rules.history`` works out, for every case at once, *which* events count (the attempts, the cycles, the closing
event); what the law says of them is decided here, once per distinct situation — a run of millions of cases has a
few hundred — by plain functions a lawyer can read next to the rules:

- ``judge_attempt``: §2 (the route for the stage on the day) and §3 (the exclusion list, the 270-FZ gates);
- ``judge_cycle``: §4 (what the cycle of the latest attempt has come to) and §6 (what the answer rests on).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from warexempt.law.tables import LawTables, RouteCell, RuleCell
from warexempt.rules.charges import ChargeSet

NEEDS_DETAIL = "needs_detail"  # RULES.md §3, §6: a charge too coarse for the list or the gate (a fact id)


class Status(StrEnum):
    """Where a case's judgement ended: the trace's ``status``, which ``explain`` puts in words."""

    NO_ROUTE = "no_route"  # §2: no law gave the stage a route on the decisive date
    EXCLUDED = "excluded"  # §3: a charge is on the list in force
    GATE_GRAVITY = "gate_gravity"  # §2 270-FZ: a charge graver than medium
    GATE_OFFENCE = "gate_offence"  # §2 270-FZ: the offence was committed after the law took effect
    ELIGIBLE = "eligible"  # covered, no attempt yet
    OPEN = "open"  # §1: an allowed attempt opened a cycle (suspended, conditionally released)
    CLOSED = "closed"  # §4: an award, discharge, resumption or new offence closed the cycle
    DEATH = "death"  # §4: the person died


class Cycle(StrEnum):
    """What ``rules.history`` found about the latest attempt (RULES.md §1)."""

    NONE = "none"  # no attempt: the question is whether the case could be suspended on ``as_of``
    REFUSED = "refused"  # the latest attempt was refused by the law in force on its day
    OPEN = "open"  # the latest attempt opened a cycle that is still open
    CLOSED = "closed"  # ... that an event has closed


@dataclass(frozen=True)
class Verdict:
    """RULES.md §2-§3 on one attempt: allowed, or refused with the reasons; with the route and list version used."""

    status: Status
    cell: RouteCell
    reasons: tuple[str, ...]
    flags: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return self.status == Status.ELIGIBLE


def judge_attempt(t: LawTables, cell: RouteCell, charges: ChargeSet, late_offence: bool) -> Verdict:
    """§2-§3 for an attempt (or for ``as_of`` when there is none) under ``cell``, the route in force for its stage on
    its day (``LawTables.route``): the route, then the exclusion list it uses, then its gates (gravity, offence
    date)."""
    if not cell.covered:  # §2: no route (for a convict in 2022, the pardon practice is cited instead)
        return Verdict(Status.NO_ROUTE, cell, cell.reasons, ())
    checked = cell.route_flags + cell.list_flags
    if cell.exclusion_list is not None:  # §3: any excluded charge closes the route
        excluded, coarse = charges.excluded(cell.exclusion_list)
        if excluded:
            flags = cell.list_flags + ((NEEDS_DETAIL,) if coarse else ())
            return Verdict(Status.EXCLUDED, cell, (cell.exclusion_list.id, *excluded), flags)
    if cell.max_rank is not None:  # §2 270-FZ: every charge of small or medium gravity (УК ст. 15)
        rank = charges.rank
        if charges.unknown_gravity or (rank is not None and rank > cell.max_rank):
            graver = [c for c in charges.codes if c.rank is None or c.rank > cell.max_rank]
            # a charge without a part, judged by its gravest part: a more precise code may change the answer
            detail = (NEEDS_DETAIL,) if all(c.coarse_gravity for c in graver) else ()
            category = (t.gravity_provision(rank),) if rank is not None else ()
            return Verdict(
                Status.GATE_GRAVITY, cell, (*cell.gate_reasons, *category, *charges.gravest), checked + detail
            )
    if late_offence:  # §2 270-FZ: only offences committed before it took effect
        return Verdict(Status.GATE_OFFENCE, cell, cell.gate_reasons, checked)
    return Verdict(Status.ELIGIBLE, cell, cell.reasons, checked)


@dataclass(frozen=True)
class Closing:
    """The event that closed the cycle (§4): the rule in force for it, and a new offence's cited article (534-FZ)."""

    rule: RuleCell
    cited: str | None = None


@dataclass(frozen=True)
class Answer:
    """A case's answer on ``as_of``: what the decision frame shows, and the trace's ids."""

    eligible: bool
    outcome: str
    record_cleared: bool
    reasons: tuple[str, ...]
    unconfirmed: tuple[str, ...]
    status: Status
    route: str | None
    list_version: str | None
    rule: str | None


def judge_cycle(
    verdict: Verdict, cycle: Cycle, closing: Closing | None, death: RuleCell | None, entry_before_stage: bool
) -> Answer:
    """RULES.md §4 for the latest attempt's cycle (and §6 for what the answer rests on).

    ``verdict``: §2-§3 on the latest attempt (or on ``as_of`` without one); ``closing``: the rule for the event
    that closed its cycle, if one did; ``death``: the death rule, when the person died after a resumption or
    without an attempt; ``entry_before_stage``: a convict with no attempt whose entries came before the sentence.
    """
    cell = verdict.cell
    list_version = cell.exclusion_list.version if cell.exclusion_list else None

    def answer(
        status: Status,
        outcome: str,
        reasons: tuple[str, ...],
        flags: tuple[str, ...],
        rule: RuleCell | None,
        cleared: bool = False,
    ) -> Answer:
        return Answer(
            outcome != "not_covered",
            outcome,
            cleared,
            tuple(dict.fromkeys(reasons)),
            tuple(dict.fromkeys(flags)),
            status,
            cell.route,
            list_version,
            rule.rule if rule else None,
        )

    if not verdict.allowed or cycle == Cycle.REFUSED:  # §1: the latest attempt was refused
        return answer(verdict.status, "not_covered", verdict.reasons, verdict.flags, None)
    flags = verdict.flags
    if closing is not None and closing.rule.rule is not None and closing.rule.final:  # §4: a release (or death)
        rule = closing.rule
        status = Status.DEATH if rule.on_death else Status.CLOSED
        assert rule.outcome is not None
        return answer(status, rule.outcome, rule.reasons, flags + rule.flags, rule, rule.record_cleared)
    if death is not None and death.rule is not None:  # §4: death ends any case not already released
        assert death.outcome is not None
        return answer(Status.DEATH, death.outcome, death.reasons, flags + death.flags, death)
    if closing is not None and closing.rule.rule is not None:  # §4: a resumption (other discharge, new offence)
        rule = closing.rule
        assert rule.outcome is not None
        cited = (closing.cited,) if closing.cited else ()
        return answer(Status.CLOSED, rule.outcome, rule.reasons + cited, flags + rule.flags, rule, rule.record_cleared)
    if cycle in (Cycle.OPEN, Cycle.CLOSED) and cell.activated is not None:  # §1: an allowed attempt opened a cycle
        return answer(Status.OPEN, cell.activated, cell.activated_reasons, flags, None)
    extra = cell.entry_before_stage if entry_before_stage else ()
    return answer(Status.ELIGIBLE, "eligible", verdict.reasons, flags + extra, None)
