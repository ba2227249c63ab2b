"""The Python API: ``check`` one case, ``evaluate`` a frame, ``what_if`` from a case's state.

A single case is a one-row frame through ``rules.evaluate``; nothing here decides anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from warexempt.explain.citations import Citation, cite
from warexempt.explain.render import Step, explain
from warexempt.law.catalog import Law, bundled_law
from warexempt.lifecycle.whatif import Branch
from warexempt.lifecycle.whatif import what_if as _what_if
from warexempt.rules.case import Case
from warexempt.rules.engine import evaluate as _evaluate
from warexempt.rules.frame import case_frame, case_row


@dataclass
class Decision:
    """The answer for one case on its ``as_of`` date, with reasons as canonical provision ids."""

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

    def citations(self) -> list[Citation]:
        return [cite(r, self.law) for r in self.reasons]

    def explain(self, lang: str = "en") -> list[Step]:
        return explain(self.row, case_row(self.case, self.law), self.law, lang)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "case_id": self.case.case_id,
            "as_of": self.case.as_of.isoformat(),
            "eligible": self.eligible,
            "outcome": self.outcome,
            "record_cleared": self.record_cleared,
            "reasons": self.reasons,
            "citations": [{"id": c.id, "ru": c.ru, "en": c.en, "url": c.url} for c in self.citations()],
            "unconfirmed": self.unconfirmed,
            "warnings": self.warnings,
            "decisive_date": self.row["decisive_date"].isoformat(),
            "explanation": [s.text for s in self.explain(lang)],
        }


def _case(case: Case | Mapping[str, Any] | None, **facts: Any) -> Case:
    if isinstance(case, Case):
        return case
    data = dict(case or {}) | {k: v for k, v in facts.items() if v is not None}
    return Case.parse(data)


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
    row = _evaluate(case_frame([c], law), law=law).row(0, named=True)
    return Decision(c, row, law)


def evaluate(frame: pl.DataFrame, as_of: dt.date | str | None = None, law: Law | None = None) -> pl.DataFrame:
    """Evaluate a case frame (``warexempt.rules.CASE_SCHEMA``); one decision row per case."""
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    return _evaluate(frame, day, law or bundled_law())


def what_if(
    case: Case | Mapping[str, Any], on: dt.date | None = None, law: Law | None = None
) -> tuple[Decision, list[Branch]]:
    """The case's current answer and every next step the law allows, each with where it leads."""
    law = law or bundled_law()
    c = _case(case)
    row, branches = _what_if(c, law, on)
    return Decision(c, row, law), branches
