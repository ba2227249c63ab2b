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
from warexempt.rules.case import ENTRY_KINDS, PETITION_KINDS, Case, Event

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
    anchor = entry if law.stage(case.stage).activation == "entry" else petition
    floor = anchor.order if anchor is not None else (dt.date.max, 9)

    def counting(kind: str) -> Event | None:
        of_kind = [e for e in events if e.kind == kind]
        return next((e for e in of_kind if e.order >= floor), of_kind[0] if of_kind else None)

    award, counted_discharge, resumed = counting("state_award"), counting("discharged"), counting("resumed")
    death = counting("died")
    return {
        "case_id": case.case_id,
        "charges": list(case.charges),
        "stage": case.stage,
        "offence_date": case.offence_date,
        "entry_date": entry.date if entry else None,
        "entry_kind": entry.kind if entry else None,
        "petition_date": petition.date if petition else None,
        "award_date": award.date if award else None,
        "discharge_date": counted_discharge.date if counted_discharge else None,
        "discharge_ground": counted_discharge.ground if counted_discharge else None,
        "resumed_date": resumed.date if resumed else None,
        "death_date": death.date if death else None,
        "as_of": case.as_of,
    }


def case_frame(cases: Iterable[Case], law: Law) -> pl.DataFrame:
    """A frame of cases; a single case is a one-row frame."""
    return pl.DataFrame([case_row(c, law) for c in cases], schema=CASE_SCHEMA)
