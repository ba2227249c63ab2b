"""The case frame: one row per case, the only input the rules engine takes.

Columns (``CASE_SCHEMA``): ``charges`` is a list column of codes as typed; each lifecycle event is a date column.
For an event list, the event that *counts* for each kind is the first one on or after the case's activation (the
command's petition, or the entry into service for a convict: the ``activation`` of the stage in
``vocabulary.yaml``), because an award or a discharge before the suspension releases nobody (RULES.md §4) and a later
one still can. A bulk file row already has one date per kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from warexempt.law.catalog import Law
from warexempt.rules.case import ENTRY_KINDS, PETITION_KINDS, Case

CASE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "charges": pl.List(pl.String()),
    "stage": pl.String(),
    "offence_date": pl.Date(),
    "entry_date": pl.Date(),
    "entry_kind": pl.String(),
    "petition_date": pl.Date(),
    "award_date": pl.Date(),
    "discharge_date": pl.Date(),
    "discharge_ground": pl.String(),
    "resumed_date": pl.Date(),
    "death_date": pl.Date(),
    "as_of": pl.Date(),
}


def case_row(case: Case, law: Law) -> dict[str, object]:
    """The frame row of one case."""
    events = case.sorted_events()
    entry = next((e for e in events if e.kind in ENTRY_KINDS), None)
    petition = next((e for e in events if e.kind in PETITION_KINDS), None)
    stage = next(s for s in law.vocabulary.stages if s.id == case.stage)
    anchor = entry if stage.activation == "entry" else petition
    floor = anchor.order if anchor is not None else (dt.date.max, 9)

    def counting(kind: str) -> dt.date | None:
        of_kind = [e for e in events if e.kind == kind]
        after = [e for e in of_kind if e.order >= floor]
        chosen = after[0] if after else (of_kind[0] if of_kind else None)
        return chosen.date if chosen else None

    discharges = [e for e in events if e.kind == "discharged"]
    counted_discharge = next((e for e in discharges if e.order >= floor), discharges[0] if discharges else None)
    death = next((e for e in events if e.kind == "died"), None)
    return {
        "case_id": case.case_id,
        "charges": list(case.charges),
        "stage": case.stage,
        "offence_date": case.offence_date,
        "entry_date": entry.date if entry else None,
        "entry_kind": entry.kind if entry else None,
        "petition_date": petition.date if petition else None,
        "award_date": counting("state_award"),
        "discharge_date": counted_discharge.date if counted_discharge else None,
        "discharge_ground": counted_discharge.ground if counted_discharge else None,
        "resumed_date": counting("resumed"),
        "death_date": death.date if death else None,
        "as_of": case.as_of,
    }


def case_frame(cases: Iterable[Case], law: Law) -> pl.DataFrame:
    """A frame of cases; a single case is a one-row frame."""
    return pl.DataFrame([case_row(c, law) for c in cases], schema=CASE_SCHEMA)
