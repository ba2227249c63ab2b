"""``evaluate``: the one place the rules live. Case frame in, decision frame out.

The steps follow RULES.md:
1. events after ``as_of`` are ignored; the *decisive date* is the first petition (or the entry, for convicts), else
   ``as_of`` (§1);
2. the route in force for the stage on that date, and the exclusion-list version it uses, come from the law's dated
   tables by a join on (stage, segment of the time line) (§2, §3);
3. the charge sets are checked against the list and the route's gates (gravity, offence date) (§2, §3);
4. the first award, discharge or resumption on or after the activation, and the death, are judged by the event rules
   in force on *their* dates (§1, §4).
Every row ends in a *decision signature* (status plus the keys of the law rows used); the reasons, the unconfirmed
facts and the outcome are assembled once per distinct signature, then joined back.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum
from typing import Any

import polars as pl

from warexempt.law.catalog import Law, bundled_law
from warexempt.rules.charges import ChargeSets, assess, set_key


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


EVENT_DATES = ("entry_date", "petition_date", "award_date", "discharge_date", "resumed_date", "death_date")
RELEASES = ("released", "released_from_punishment")
SIGNATURE = ["status", "route_key", "list_key", "sig_ck", "segment", "t_rule", "d_rule"]
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
    law = law or bundled_law()
    default_day = as_of or dt.date.today()
    df = frame.lazy()
    names = frame.collect_schema().names()
    for col in (*EVENT_DATES, "offence_date", "as_of"):
        if col not in names:
            df = df.with_columns(pl.lit(None, pl.Date).alias(col))
    if "discharge_ground" not in names:
        df = df.with_columns(pl.lit(None, pl.String).alias("discharge_ground"))
    ck = set_key(pl.col("charges"), frame.schema["charges"])
    sets = charge_sets or assess(frame.select(ck.alias("_ck")).to_series(), law)
    df = df.with_columns(_ck=ck, as_of=pl.col("as_of").fill_null(default_day))
    if sets.errors:
        bad = frame.with_row_index("_i").filter(ck.is_in(list(sets.errors)) | ck.is_null())
        raise ChargeErrors(
            {i: sets.errors.get(k, "no charges") for i, k in zip(bad["_i"], bad.select(ck).to_series(), strict=True)}
        )

    df = df.with_columns(
        [pl.when(pl.col(c) <= pl.col("as_of")).then(pl.col(c)).alias(c) for c in EVENT_DATES]
    ).with_columns(discharge_ground=pl.when(pl.col("discharge_date").is_not_null()).then(pl.col("discharge_ground")))

    vocab = law.vocabulary
    by_petition = [s.id for s in vocab.stages if s.decisive_event == "petition"]
    act_petition = [s.id for s in vocab.stages if s.activation == "petition"]
    df = df.with_columns(
        decisive_date=pl.when(pl.col("stage").is_in(by_petition))
        .then(pl.coalesce("petition_date", "as_of"))
        .otherwise(pl.coalesce("entry_date", "as_of")),
        activation=pl.when(pl.col("stage").is_in(act_petition)).then("petition_date").otherwise("entry_date"),
    ).with_columns(segment=law.segment_expr(pl.col("decisive_date")))

    df = (
        df.join(law.route_table.lazy(), on=["stage", "segment"], how="left")
        .join(_route_attrs(law).lazy(), on="route_key", how="left")
        .join(
            law.list_table.lazy(),
            left_on=["exclusion_list", "segment"],
            right_on=["list_id", "segment"],
            how="left",
        )
        .join(sets.sets.lazy(), on="_ck", how="left")
        .join(
            sets.exclusions.lazy().select("_ck", "list_key", pl.lit(True).alias("excluded")),
            on=["_ck", "list_key"],
            how="left",
        )
    )
    df = _terminal(df, law)
    df = df.with_columns(status=_status()).with_columns(
        sig_ck=pl.when(pl.col("status").is_in([Status.EXCLUDED, Status.GATE_GRAVITY])).then("_ck"),
        t_rule=pl.when(pl.col("status") == Status.TERMINAL).then("t_rule_key"),
        d_rule=pl.when(pl.col("status") == Status.DEATH).then("d_rule_key"),
        decided_on=pl.when(pl.col("status") == Status.TERMINAL)
        .then("t_date")
        .when(pl.col("status") == Status.DEATH)
        .then("death_date")
        .when(pl.col("status") == Status.ACTIVATED)
        .then("activation")
        .otherwise("decisive_date"),
    )
    rows = df.with_columns(_sig=pl.struct(SIGNATURE).hash(seed=7)).collect()
    decisions = _signatures(rows.select("_sig", *SIGNATURE).unique("_sig"), law, sets).drop(SIGNATURE)
    warnings = sets.sets.select("_ck", warnings=pl.col("charge_warnings"))
    schema = dict(DECISION_SCHEMA)
    if not lists:
        joined = [pl.col(c).list.join(";").cast(pl.Categorical) for c in ("reasons", "unconfirmed")]
        decisions = decisions.with_columns(joined)
        warnings = warnings.with_columns(pl.col("warnings").list.join(";").cast(pl.Categorical))
        schema |= {c: pl.Categorical() for c in ("reasons", "unconfirmed", "warnings")}
    out = rows.join(decisions, on="_sig", how="left").join(warnings, on="_ck", how="left")
    out = out.with_columns(
        rule_key=pl.coalesce("t_rule", "d_rule"),
        deciding_event=pl.when(pl.col("status") == Status.TERMINAL)
        .then("t_key")
        .when(pl.col("status") == Status.DEATH)
        .then(pl.lit("died")),
    )
    return out.select([pl.col(c).cast(t) for c, t in schema.items()])


def _route_attrs(law: Law) -> pl.DataFrame:
    rank = law.gravity.rank
    rows = [
        (
            i,
            r.covered,
            r.exclusion_list,
            rank[r.max_gravity] if r.max_gravity else None,
            r.offence_before,
        )
        for i, (r, _) in enumerate(law.routes)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "route_key": pl.Int32,
            "covered": pl.Boolean,
            "exclusion_list": pl.String,
            "max_rank": pl.Int32,
            "offence_before": pl.Date,
        },
        orient="row",
    )


def _terminal(df: pl.LazyFrame, law: Law) -> pl.LazyFrame:
    """The first award / discharge / resumption on or after the activation, and the law in force on its date."""
    a = pl.col("activation")
    ok = {
        c: pl.when(a.is_not_null() & (pl.col(c) >= a)).then(pl.col(c))
        for c in ("award_date", "discharge_date", "resumed_date")
    }
    t_date = pl.min_horizontal(*ok.values())
    t_key = (
        pl.when(ok["award_date"] == t_date)
        .then(pl.lit("state_award"))
        .when(ok["discharge_date"] == t_date)
        .then(pl.lit("discharged:") + pl.col("discharge_ground"))
        .when(ok["resumed_date"] == t_date)
        .then(pl.lit("resumed"))
    )
    rules = law.rule_table.lazy()
    df = df.with_columns(
        t_date=t_date, t_key=t_key, d_key=pl.when(pl.col("death_date").is_not_null()).then(pl.lit("died"))
    )
    df = df.with_columns(t_segment=law.segment_expr(pl.col("t_date")), d_segment=law.segment_expr(pl.col("death_date")))
    df = df.join(
        rules.rename({"rule_key": "t_rule_key"}),
        left_on=["stage", "t_key", "t_segment"],
        right_on=["stage", "event_key", "segment"],
        how="left",
    ).join(
        rules.rename({"rule_key": "d_rule_key"}),
        left_on=["stage", "d_key", "d_segment"],
        right_on=["stage", "event_key", "segment"],
        how="left",
    )
    outcome = pl.Series("o", [r.outcome for r, _ in law.rules], dtype=pl.String)
    return df.with_columns(
        t_outcome=pl.when(pl.col("t_rule_key").is_not_null()).then(
            pl.lit(outcome).gather(pl.col("t_rule_key").fill_null(0))
        ),
    )


def _status() -> pl.Expr:
    covered = pl.col("covered").fill_null(False)
    gravity_fail = pl.col("max_rank").is_not_null() & (
        pl.col("gravity_unknown") | (pl.col("gravity_rank") > pl.col("max_rank"))
    )
    offence_fail = pl.col("offence_before").is_not_null() & (pl.col("offence_date") >= pl.col("offence_before"))
    return (
        pl.when(~covered)
        .then(pl.lit(Status.NO_ROUTE))
        .when(pl.col("excluded").fill_null(False))
        .then(pl.lit(Status.EXCLUDED))
        .when(gravity_fail)
        .then(pl.lit(Status.GATE_GRAVITY))
        .when(offence_fail.fill_null(False))
        .then(pl.lit(Status.GATE_OFFENCE))
        .when(pl.col("t_outcome").is_in(RELEASES))
        .then(pl.lit(Status.TERMINAL))
        .when(pl.col("d_rule_key").is_not_null())
        .then(pl.lit(Status.DEATH))
        .when(pl.col("t_outcome").is_not_null())
        .then(pl.lit(Status.TERMINAL))
        .when(pl.col("activation").is_not_null())
        .then(pl.lit(Status.ACTIVATED))
        .otherwise(pl.lit(Status.ELIGIBLE))
        .cast(pl.Int8)
    )


def _signatures(sigs: pl.DataFrame, law: Law, sets: ChargeSets) -> pl.DataFrame:
    """Outcome, reasons and unconfirmed facts for each distinct decision signature."""
    excl = {
        (r["_ck"], r["list_key"]): (r["excluded_ids"], r["needs_detail"]) for r in sets.exclusions.iter_rows(named=True)
    }
    gravest = {r["_ck"]: (r["gravity_rank"], r["gravest"]) for r in sets.sets.iter_rows(named=True)}
    by_rank = {g.rank: g.provision for g in law.gravity.rows}
    out = []
    for sig in sigs.iter_rows(named=True):
        status = Status(sig["status"])
        route = law.routes[sig["route_key"]][0] if sig["route_key"] is not None else None
        lst = law.lists[sig["list_key"]] if sig["list_key"] is not None else None
        day = law.segment_start(sig["segment"])
        route_flags = law.fact_flags(route.rests_on, day) if route else []
        list_flags = law.fact_flags(lst.rests_on, day) if lst else []
        outcome, cleared, reasons, flags = "not_covered", False, [], []
        if status == Status.NO_ROUTE:
            reasons = list(route.reasons) if route else []
        elif status == Status.EXCLUDED:
            assert lst is not None
            ids, needs_detail = excl[(sig["sig_ck"], sig["list_key"])]
            reasons = [lst.id, *ids]
            flags = list_flags + (["needs_detail"] if needs_detail else [])
        elif status in (Status.GATE_GRAVITY, Status.GATE_OFFENCE):
            assert route is not None
            reasons = list(route.gate_reasons)
            if status == Status.GATE_GRAVITY:
                rank, ids = gravest[sig["sig_ck"]]
                reasons += ([by_rank[rank]] if rank is not None else []) + list(ids or [])
            flags = route_flags + list_flags
        else:
            assert route is not None and route.activated is not None
            flags = route_flags + list_flags
            if status == Status.ELIGIBLE:
                outcome, reasons = "eligible", list(route.reasons)
            elif status == Status.ACTIVATED:
                outcome, reasons = route.activated.outcome, list(route.activated.reasons)
            else:
                rule = law.rules[sig["t_rule"] if status == Status.TERMINAL else sig["d_rule"]][0]
                outcome, cleared, reasons = rule.outcome, rule.record_cleared, list(rule.reasons)
                flags += law.fact_flags(rule.rests_on, None)
        out.append(
            {
                **sig,
                "eligible": outcome != "not_covered",
                "outcome": outcome,
                "record_cleared": cleared,
                "reasons": list(dict.fromkeys(reasons)),
                "unconfirmed": list(dict.fromkeys(flags)),
            }
        )
    schema: dict[str, Any] = {
        **dict(sigs.schema),
        "eligible": pl.Boolean,
        "outcome": pl.String,
        "record_cleared": pl.Boolean,
    }
    schema |= {"reasons": pl.List(pl.String), "unconfirmed": pl.List(pl.String)}
    return pl.DataFrame(out, schema=schema)
