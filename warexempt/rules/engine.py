"""``evaluate``: the one place the rules live. Case frame in, decision frame out.

The steps follow RULES.md:
1. events after ``as_of`` are ignored; the *decisive date* is the first petition (or the entry, for convicts), else
   ``as_of`` (§1);
2. the route in force for the stage on that date, and the exclusion-list version it uses, are looked up by (stage,
   segment of the time line) in the law's tables (§2, §3);
3. the charge sets are checked against the list and the route's gates (gravity, offence date) (§2, §3);
4. the first award, discharge or resumption on or after the activation, and the death, are judged by the event rules
   in force on *their* dates (§1, §4).
The law's tables are flat arrays (``rules.tables``): each step is a ``gather`` on a small integer key, never a join,
and the texts of the answer are categorical columns that a million rows share.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

import polars as pl

from warexempt.law.catalog import Law, bundled_law
from warexempt.rules.charges import ChargeSets, as_codes, assess
from warexempt.rules.tables import FLAGS_LIST, FLAGS_NONE, FLAGS_ROUTE, FLAGS_RULE, LawTables, day_index, tables, u32


class Status(IntEnum):
    """Where a case's evaluation stopped. Stored as a small integer column; explained by ``explain``."""

    NO_ROUTE = 0
    EXCLUDED = 1
    GATE_GRAVITY = 2
    GATE_OFFENCE = 3
    ELIGIBLE = 4
    ACTIVATED = 5
    TERMINAL = 6
    DEATH = 7


TERMINAL_DATES = ("award_date", "discharge_date", "resumed_date")  # §4: events that end a suspension, in that order
EVENT_DATES = ("entry_date", "petition_date", "award_date", "discharge_date", "resumed_date", "death_date")
DECISION_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "eligible": pl.Boolean(),
    "outcome": pl.String(),
    "record_cleared": pl.Boolean(),
    "reasons": pl.List(pl.String()),
    "unconfirmed": pl.List(pl.String()),
    "warnings": pl.List(pl.String()),
    "decisive_date": pl.Date(),
    "decided_on": pl.Date(),
    "status": pl.Int8(),
    "route_key": pl.Int32(),
    "list_key": pl.Int32(),
    "rule_key": pl.Int32(),
    "deciding_event": pl.String(),
}


class ChargeErrors(ValueError):
    """Some rows' charges are not valid codes: ``rows`` maps row index → message."""

    def __init__(self, rows: dict[int, str]) -> None:
        self.rows = rows
        first = ", ".join(f"row {i}: {m}" for i, m in list(rows.items())[:5])
        super().__init__(f"{len(rows)} row(s) with invalid charges: {first}")


def evaluate(
    frame: pl.DataFrame,
    as_of: dt.date | None = None,
    law: Law | None = None,
    *,
    charge_sets: ChargeSets | None = None,
    lists: bool = True,
) -> pl.DataFrame:
    """Evaluate every case of ``frame`` (see ``rules.frame.CASE_SCHEMA``) and return one decision row per case.

    ``as_of`` fills rows whose ``as_of`` is missing (default: today). Rows with invalid charge codes raise
    ``ChargeErrors`` (the bulk runner removes them first, with the same check). With ``lists=False`` the
    ``reasons``, ``unconfirmed`` and ``warnings`` columns are ``;``-joined categorical text instead of lists (the
    same values, cheaper to write for millions of rows).
    """
    t = tables(law or bundled_law())
    codes = as_codes(frame["charges"], charge_sets.categories if charge_sets else None)
    sets = charge_sets or assess(codes, t)
    bad = codes.is_null() | ~sets.valid.gather(codes.to_physical())
    if bad.any():
        texts = codes.cast(pl.String)
        raise ChargeErrors({i: sets.errors.get(texts[i], "no charge code given") for i in bad.arg_true().to_list()})
    cases = frame.lazy().with_columns(charges=codes)
    return decide(cases, t, sets, as_of or dt.date.today(), lists=lists).collect(engine="streaming")


def decide(cases: pl.LazyFrame, t: LawTables, sets: ChargeSets, as_of: dt.date, *, lists: bool) -> pl.LazyFrame:
    """The rules as one lazy query over valid cases: ``DECISION_SCHEMA`` out.

    ``charges`` must be the categorical of ``sets`` (``as_codes``); ``stage`` and ``discharge_ground`` may be text
    or already the enums of the vocabulary.
    """
    schema = cases.collect_schema()
    names = schema.names()
    missing = [pl.lit(None, pl.Date).alias(c) for c in (*EVENT_DATES, "offence_date", "as_of") if c not in names]
    if "discharge_ground" not in names:
        missing.append(pl.lit(None, pl.String).alias("discharge_ground"))
    nseg, n_keys, n_versions, n_routes = t.nseg, len(t.event_keys), len(t.law.lists), t.n_routes
    day = pl.col("as_of").fill_null(as_of)
    df = cases.with_columns(missing).with_columns(
        # §1: what happened after the day asked about has not happened yet
        [pl.when(pl.col(c) <= day).then(pl.col(c)).alias(c) for c in EVENT_DATES],
        _s=_number(schema.get("stage"), "stage", t.stages),
        _c=pl.col("charges").to_physical().cast(pl.UInt32),
        _as_of=day,
    )
    stage = pl.col("_s")
    df = df.with_columns(
        decisive_date=pl.when(_one_of(stage, [t.stages.index(s) for s in t.by_petition]))
        .then(pl.coalesce("petition_date", "_as_of"))
        .otherwise(pl.coalesce("entry_date", "_as_of")),
        activation=pl.when(_one_of(stage, [t.stages.index(s) for s in t.act_petition]))
        .then("petition_date")
        .otherwise("entry_date"),
        _g=pl.when(pl.col("discharge_date").is_not_null()).then(
            _number(schema.get("discharge_ground"), "discharge_ground", t.grounds)
        ),
    )
    # §2-§3: the route and the list version in force on the decisive date. (Each look-up's index is made a column
    # first: a gather whose index is a column is many times faster than one whose index is still an expression.)
    a = pl.col("activation")
    df = df.with_columns(
        _dd=day_index(t, pl.col("decisive_date")),
        _dd_death=day_index(t, pl.col("death_date")),
        # §4: an award, discharge or resumption counts from the activation on
        **{
            f"_ok{i}": pl.when(a.is_not_null() & (pl.col(c) >= a)).then(pl.col(c)) for i, c in enumerate(TERMINAL_DATES)
        },
    )
    ok = [pl.col(f"_ok{i}") for i in range(len(TERMINAL_DATES))]
    df = df.with_columns(
        _seg=_at(t.segment_of_day, pl.col("_dd")),
        _d_seg=_at(t.segment_of_day, pl.col("_dd_death")),
        _t_date=pl.min_horizontal(ok),
    )
    t_date = pl.col("_t_date")
    df = df.with_columns(_i_route=pl.col("_s") * nseg + pl.col("_seg"), _dd_t=day_index(t, t_date))
    df = df.with_columns(
        _route=_at(t.route_of, pl.col("_i_route")),
        _t_seg=_at(t.segment_of_day, pl.col("_dd_t")),
        # the first of them, and the event rule in force on its own date; the death, by the rule on its date
        _t_kind=pl.when(ok[0] == t_date)
        .then(pl.lit(t.key("state_award"), pl.UInt32))
        .when(ok[1] == t_date)
        .then(pl.col("_g") + t.key(f"discharged:{t.grounds[0]}"))
        .when(ok[2] == t_date)
        .then(pl.lit(t.key("resumed"), pl.UInt32)),
    )
    df = df.with_columns(
        _i_list=_at(t.route_list, pl.col("_route")) * nseg + pl.col("_seg"),
        _i_t=(pl.col("_s") * n_keys + pl.col("_t_kind")) * nseg + pl.col("_t_seg"),
        _i_d=(pl.col("_s") * n_keys + t.key("died")) * nseg + pl.col("_d_seg"),
    )
    df = df.with_columns(
        _lv=_at(t.list_of, pl.col("_i_list")),
        _t_rule=_at(t.rule_of, pl.col("_i_t")),
        _d_rule=_at(t.rule_of, pl.col("_i_d")),
    )
    route, c, lv = pl.col("_route"), pl.col("_c"), pl.col("_lv")
    at_list = c * n_versions + lv
    df = df.with_columns(_i_set_list=at_list).with_columns(_listed=_at(sets.listed, pl.col("_i_set_list")))
    df = df.with_columns(_status=_status(t, sets))

    status = pl.col("_status")
    terminal = _one_of(status, [Status.TERMINAL, Status.DEATH])
    df = df.with_columns(_rule=pl.when(status == Status.TERMINAL).then("_t_rule").otherwise("_d_rule"))
    rule, zero = pl.col("_rule"), pl.lit(0, pl.UInt32)
    refused = (Status.NO_ROUTE, Status.EXCLUDED, Status.GATE_GRAVITY, Status.GATE_OFFENCE)
    outcome = _by_status(
        [
            (refused, u32([t.outcomes.index("not_covered")]), zero),
            ((Status.ELIGIBLE,), u32([t.outcomes.index("eligible")]), zero),
            ((Status.ACTIVATED,), t.route_outcome, route),
            ((Status.TERMINAL, Status.DEATH), t.rule_outcome, rule),
        ]
    )
    reasons = _by_status(
        [
            ((Status.NO_ROUTE,), t.r_no_route, route.fill_null(n_routes)),
            ((Status.EXCLUDED,), sets.r_excluded, pl.col("_i_set_list")),
            ((Status.GATE_GRAVITY,), sets.r_gravity, c * n_routes + route),
            ((Status.GATE_OFFENCE,), t.r_gate, route),
            ((Status.ELIGIBLE,), t.r_eligible, route),
            ((Status.ACTIVATED,), t.r_activated, route),
            ((Status.TERMINAL, Status.DEATH), t.r_rule, rule),
        ]
    )
    kind = (
        pl.when(status == Status.NO_ROUTE)
        .then(FLAGS_NONE)
        .when(status == Status.EXCLUDED)
        .then(FLAGS_LIST)
        .when(terminal)
        .then(FLAGS_RULE)
        .otherwise(FLAGS_ROUTE)
    )
    extra = pl.when(status == Status.EXCLUDED).then(pl.col("_listed")).when(terminal).then(rule + 1).otherwise(0)
    flags = ((kind * n_routes + route.fill_null(0)) * nseg + pl.col("_seg")) * (t.n_rules + 1) + extra
    event = pl.when(status == Status.TERMINAL).then("_t_kind").when(status == Status.DEATH).then(t.key("died"))
    # Indices first, then the look-ups: a gather whose index is a column is many times faster than one whose index
    # is an expression still to be evaluated.
    df = df.with_columns(_i_outcome=outcome[1], _i_reasons=reasons[1], _i_flags=flags, _i_event=event)
    out = df.select(
        pl.col("case_id").cast(pl.String),
        _outcome=_at(outcome[0], pl.col("_i_outcome")),
        record_cleared=terminal & _at(t.rule_cleared, rule).fill_null(False),
        reasons=sets.reasons.column(reasons[0], pl.col("_i_reasons"), lists),
        unconfirmed=t.flags.column(t.flags_of, pl.col("_i_flags"), lists),
        warnings=sets.warnings.column(sets.w_of, c, lists),
        decisive_date="decisive_date",
        decided_on=pl.when(status == Status.TERMINAL)
        .then("_t_date")
        .when(status == Status.DEATH)
        .then("death_date")
        .when(status == Status.ACTIVATED)
        .then("activation")
        .otherwise("decisive_date"),
        status=status,
        route_key=route.cast(pl.Int32),
        list_key=lv.cast(pl.Int32),
        rule_key=pl.when(terminal).then(rule).cast(pl.Int32),
        deciding_event=_at(pl.Series(t.event_keys, dtype=t.event_enum), pl.col("_i_event")),
    ).with_columns(
        eligible=pl.col("_outcome") != t.outcomes.index("not_covered"),
        outcome=_at(pl.Series(t.outcomes, dtype=pl.Enum(t.outcomes)), pl.col("_outcome")),
    )
    if lists:
        return out.select([pl.col(c).cast(t) for c, t in DECISION_SCHEMA.items()])
    return out.select(list(DECISION_SCHEMA))


def _number(dtype: pl.DataType | None, column: str, words: list[str]) -> pl.Expr:
    """A vocabulary column (text, or already the vocabulary's enum) as each value's place in ``words``."""
    col = pl.col(column)
    enum = pl.Enum(words)
    return (col if dtype == enum else col.cast(enum)).to_physical().cast(pl.UInt32)


def _by_status(parts: list[tuple[Sequence[Status], pl.Series, pl.Expr]]) -> tuple[pl.Series, pl.Expr]:
    """One table and an index into it that stand for ``table[local]`` of the part whose statuses include each row's
    status: the tables are laid end to end, so every row costs one ``gather`` whichever part it falls in."""
    status = pl.col("_status")
    at = 0
    chain: Any = pl
    for statuses, table, index in parts:
        chain = chain.when(_one_of(status, statuses)).then(index + at)
        at += len(table)
    return pl.concat([table for _, table, _ in parts]), chain


def _one_of(col: pl.Expr, values: Sequence[int]) -> pl.Expr:
    """``col.is_in(values)`` for a few small integers, as comparisons (many times faster over millions of rows)."""
    return functools.reduce(operator.or_, (col == v for v in values), pl.lit(False))


def _at(table: pl.Series, index: pl.Expr) -> pl.Expr:
    """``table[index]`` for every row (null where the index is null)."""
    return pl.lit(table).gather(index)


def _status(t: LawTables, sets: ChargeSets) -> pl.Expr:
    """Where the evaluation stops (``Status``): coverage, exclusion, the route's gates, then the events."""
    route, c = pl.col("_route"), pl.col("_c")
    covered = _at(t.route_covered, route).fill_null(False)
    max_rank = _at(t.route_max_rank, route)
    rank = _at(sets.rank, c)
    gravity_fail = max_rank.is_not_null() & (_at(sets.unknown, c) | (rank > max_rank).fill_null(False))
    before = _at(t.route_offence_before, route)
    offence_fail = (before.is_not_null() & (pl.col("offence_date") >= before)).fill_null(False)
    t_rule = pl.col("_t_rule")
    return (
        pl.when(~covered)
        .then(pl.lit(Status.NO_ROUTE))
        .when(pl.col("_listed").is_not_null())
        .then(pl.lit(Status.EXCLUDED))
        .when(gravity_fail)
        .then(pl.lit(Status.GATE_GRAVITY))
        .when(offence_fail)
        .then(pl.lit(Status.GATE_OFFENCE))
        .when(_at(t.rule_final, t_rule).fill_null(False))
        .then(pl.lit(Status.TERMINAL))
        .when(pl.col("_d_rule").is_not_null())
        .then(pl.lit(Status.DEATH))
        .when(t_rule.is_not_null())
        .then(pl.lit(Status.TERMINAL))
        .when(pl.col("activation").is_not_null())
        .then(pl.lit(Status.ACTIVATED))
        .otherwise(pl.lit(Status.ELIGIBLE))
        .cast(pl.Int8)
    )
