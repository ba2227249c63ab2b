"""The Python API: ``check`` one case, ``evaluate`` frames of cases and events, ``what_if`` from a case's state.

A single case is a one-row case frame with its events through ``rules.evaluate``; nothing here decides anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from warexempt.law.catalog import Law, bundled_law
from warexempt.law.tables import tables
from warexempt.rules.case import Case, CaseError
from warexempt.rules.engine import decide
from warexempt.rules.engine import evaluate as _evaluate
from warexempt.rules.frames import encode_cases

if TYPE_CHECKING:
    from warexempt.explain.citations import Citation
    from warexempt.explain.render import Step
    from warexempt.lifecycle.whatif import Branch


@dataclass
class Decision:
    """The answer for one case on its ``as_of`` date, with reasons as canonical provision ids and a trace."""

    case: Case
    row: dict[str, Any]
    law: Law = field(repr=False)

    @property
    def eligible(self) -> bool:
        return bool(self.row["eligible"])

    @property
    def outcome(self) -> str:
        return str(self.row["outcome"])

    @property
    def record_cleared(self) -> bool:
        return bool(self.row["record_cleared"])

    @property
    def reasons(self) -> list[str]:
        return list(self.row["reasons"])

    @property
    def unconfirmed(self) -> list[str]:
        return list(self.row["unconfirmed"])

    @property
    def warnings(self) -> list[str]:
        return list(self.row["warnings"])

    @property
    def trace(self) -> dict[str, Any]:
        """The stable ids behind the answer (never positions), with the law's fingerprint and the package version:
        enough to explain and re-check a stored decision after the law files change."""
        from warexempt import __version__

        return {
            "status": self.row["status"],
            "stage": self.row["stage"],
            "route": self.row["route"],
            "exclusion_list": self.row["list_version"],
            "rule": self.row["rule"],
            "deciding_event": self.row["deciding_event"],
            "law_fingerprint": self.law.fingerprint,
            "version": __version__,
        }

    def citations(self) -> list[Citation]:
        from warexempt.explain.citations import cite

        return [cite(r, self.law) for r in self.reasons]

    def explain(self, lang: str = "en") -> list[Step]:
        from warexempt.explain.render import explain

        return explain(self.row, self.case, self.law, lang)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        from warexempt.explain.views import decision_view

        return decision_view(self, lang)


def _case(case: Case | Mapping[str, Any] | None, **facts: Any) -> Case:
    if isinstance(case, Case):
        return case
    data = dict(case or {}) | {k: v for k, v in facts.items() if v is not None}
    return Case.parse(data)


def decide_cases(cases: list[Case], law: Law) -> list[dict[str, object]]:
    """The decision rows of some cases (one frame through the engine); ``CaseError`` for an impossible history."""
    rows = decide(encode_cases(cases, tables(law)), tables(law)).rows()
    for case, row in zip(cases, rows, strict=True):
        if row["error"]:
            raise CaseError([("events", str(row["error"]))], case.case_id)
    return rows


def check(
    case: Case | Mapping[str, Any] | None = None,
    *,
    charges: Iterable[str] | None = None,
    stage: str | None = None,
    events: Iterable[Mapping[str, Any]] | None = None,
    offence_date: dt.date | str | None = None,
    as_of: dt.date | str | None = None,
    law: Law | None = None,
) -> Decision:
    """Check one case::

        >>> d = check(charges=["158:3:в"], stage="trial", as_of="2025-06-01",
        ...           events=[{"date": "2024-10-20", "kind": "contract_signed"},
        ...                   {"date": "2024-11-01", "kind": "command_petition"}])
        >>> d.outcome, d.reasons
        ('suspended', ['upk:238:1:5'])

    Raises ``CaseError`` (facts that cannot be read or cannot be true) or ``ChargeErrors`` (unknown codes).
    """
    law = law or bundled_law()
    c = _case(
        case,
        charges=list(charges) if charges is not None else None,
        stage=stage,
        events=list(events) if events is not None else None,
        offence_date=offence_date,
        as_of=as_of,
    )
    return Decision(c, decide_cases([c], law)[0], law)


def evaluate(
    cases: pl.DataFrame, events: pl.DataFrame | None = None, as_of: dt.date | str | None = None, law: Law | None = None
) -> pl.DataFrame:
    """Evaluate a case frame and its events (``warexempt.rules.CASE_SCHEMA``, ``EVENT_SCHEMA``); one decision row
    per case, in order."""
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    return _evaluate(cases, events, law or bundled_law(), day)


def what_if(
    case: Case | Mapping[str, Any], on: dt.date | None = None, law: Law | None = None
) -> tuple[Decision, list[Branch]]:
    """The case's current answer and every next step the law allows, each with where it leads.

    Raises ``CaseError`` as ``check`` does for a history that cannot be true (there is no answer to go on from);
    ``explain.views.what_if_note`` says why a case has no branch."""
    from warexempt.lifecycle.whatif import what_if as _what_if

    law = law or bundled_law()
    c = _case(case)
    row, branches = _what_if(c, law, on)
    if row["error"]:
        raise CaseError([("events", str(row["error"]))], c.case_id)
    return Decision(c, row, law), branches
