"""``evaluate``: the one place the rules live. Case frame in, decision frame out.

The steps follow RULES.md:
1. events after ``as_of`` are ignored; the *decisive date* is the first petition (or the entry, for convicts), else
   ``as_of`` (§1);
2. the route in force for the stage on that date, and the exclusion-list version it uses, are looked up by (stage,
   segment of the time line) in the law's tables (§2, §3);
3. the charge sets are checked against the list and the route's gates (gravity, offence date) (§2, §3);
4. the first award, discharge or resumption on or after the activation, and the death, are judged by the event rules
   in force on *their* dates (§1, §4).
The law's tables are flat arrays (``rules.tables``): each step is a ``gather`` on a small integer key, never a join.
Steps 2-3 depend only on (stage, segment, charge set), so they are judged once per such *situation* on a small frame;
step 4 depends only on an *event key* (stage and segment, the first terminal event's kind and segment, the death's
segment, whether the case was activated), so it is judged once per possible key. Every output but the dates is then
one *answer* (the situation's refusal, the offence-date gate's, or the event key's): the answers are built once, with
the same expressions, and each row computes its keys and gathers its answer. The texts of the answers are categorical
columns that a million rows share.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import polars as pl

from warexempt.rules.charges import ChargeSets, as_codes, assess
from warexempt.rules.tables import FLAGS_LIST, FLAGS_NONE, FLAGS_ROUTE, FLAGS_RULE, LawTables, day_index, tables, u32

if TYPE_CHECKING:
    from warexempt.law.catalog import Law


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


NO_DAY = 2**31 - 1  # "no such event" among day numbers: later than any date
TERMINAL_DATES = ("award_date", "discharge_date", "resumed_date")  # §4: events that end a suspension, in that order
EVENT_DATES = ("entry_date", "petition_date", "award_date", "discharge_date", "resumed_date", "death_date")
INPUT_COLUMNS = ("case_id", "charges", "stage", *EVENT_DATES, "discharge_ground", "as_of", "offence_date")
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
    lists: bool = True,
) -> pl.DataFrame:
    """Evaluate every case of ``frame`` (see ``rules.frame.CASE_SCHEMA``) and return one decision row per case.

    ``as_of`` fills rows whose ``as_of`` is missing (default: today). Rows with invalid charge codes raise
    ``ChargeErrors`` (the bulk runner removes them first, with the same check). With ``lists=False`` the
    ``reasons``, ``unconfirmed`` and ``warnings`` columns are ``;``-joined categorical text instead of lists (the
    same values, cheaper to write for millions of rows).
    """
    from warexempt.law.catalog import bundled_law

    t = tables(law or bundled_law())
    codes = as_codes(frame["charges"])
    sets = assess(codes, t)
    bad = codes.is_null() | ~sets.valid.gather(codes.to_physical())
    if bad.any():
        texts = codes.cast(pl.String)
        raise ChargeErrors({i: sets.errors.get(texts[i], "no charge code given") for i in bad.arg_true().to_list()})
    cases = frame.lazy().with_columns(charges=codes)
    return decide(cases, t, sets, as_of or dt.date.today(), lists=lists).collect(engine="streaming")


def decide(cases: pl.LazyFrame, t: LawTables, sets: ChargeSets, as_of: dt.date, *, lists: bool) -> pl.LazyFrame:
    """The rules as one lazy query over valid cases: ``DECISION_SCHEMA`` out.

    ``charges`` must be the categorical of ``sets`` (``as_codes``); ``stage`` and ``discharge_ground`` may be text
    or already the enums of the vocabulary. Each look-up's index is made a column before the look-up: a gather
    whose index is a column is many times faster than one whose index is still an expression.
    """
    schema = cases.collect_schema()
    names = [c for c in INPUT_COLUMNS if c in schema]  # a frame's other columns are not the engine's business
    cases = cases.select(names)
    # without offence dates the offence-date gate cannot refuse anyone: it is left out of the query
    offences = "offence_date" in names
    missing = [pl.lit(None, pl.Date).alias(c) for c in (*EVENT_DATES, "as_of") if c not in names]
    if "discharge_ground" not in names:
        missing.append(pl.lit(None, pl.String).alias("discharge_ground"))
    nseg = t.nseg
    pre = _situations(t, sets)
    df = _event_days(cases.with_columns(missing), t, schema, as_of)
    stage = pl.col("_s")
    a = pl.col("_activation")
    # §2-§3: the stage and the segment of the decisive date give the route and the list version; with the charge
    # set they give the situation, judged once per distinct (stage, segment, set) by ``_situations``. §4: the events
    # give the event key, judged once per possible key by ``_event_answers``.
    df = df.with_columns(_i_route=stage * nseg + pl.col("_seg"))
    df = df.with_columns(
        _i_pre=pl.col("_i_route") * pre.n_sets + pl.col("_c"),
        _i_event=_event_key(
            t, pl.col("_i_route"), pl.col("_t_kind1"), pl.col("_t_seg1"), pl.col("_d_seg1"), a != NO_DAY
        ),
    )
    answers = _answers(t, sets, pre)
    events = _event_answers(t)
    offence = (
        (pl.col("_before").is_not_null() & (pl.col("offence_date") >= pl.col("_before"))).fill_null(False)
        if offences
        else None
    )
    df = df.with_columns(
        _pre=_at(pre.status, pl.col("_i_pre")),
        _post=_at(events + pre.size, pl.col("_i_event")),
        **({"_before": _at(t.route_offence_before, _at(t.route_of, pl.col("_i_route")))} if offences else {}),
    )
    # the answer: the situation's refusal, else the offence-date gate's, else the events'
    chain: Any = pl.when(pl.col("_pre") != Status.ELIGIBLE).then("_i_pre")
    if offence is not None:
        chain = chain.when(offence).then(_post_key(t, 0, pl.col("_i_route"), 0, 0) + pre.size)
    df = df.with_columns(_ans=chain.otherwise("_post"))
    # each row gathers its whole answer at once (one struct), the texts already resolved
    df = df.with_columns(_answer=_at(_shown(t, sets, answers, lists), pl.col("_ans"))).unnest("_answer")
    status = pl.col("status")
    out = df.select(
        pl.col("case_id").cast(pl.String),
        "eligible",
        "outcome",
        "record_cleared",
        "reasons",
        "unconfirmed",
        warnings=sets.warnings.column(sets.w_of, pl.col("_c"), lists),
        decisive_date=pl.col("_decisive").cast(pl.Date),
        decided_on=pl.when(status == Status.TERMINAL)
        .then("_t_day")
        .when(status == Status.DEATH)
        .then("_death_date")
        .when(status == Status.ACTIVATED)
        .then("_activation")
        .otherwise("_decisive")
        .cast(pl.Date),
        status=status,
        route_key=_at(t.route_of, pl.col("_i_route")).cast(pl.Int32),
        list_key=_at(t.lv_of, pl.col("_i_route")).cast(pl.Int32),
        rule_key="rule_key",
        deciding_event="deciding_event",
    )
    if lists:
        return out.select([pl.col(c).cast(t) for c, t in DECISION_SCHEMA.items()])
    return out.select(list(DECISION_SCHEMA))


def _event_days(cases: pl.LazyFrame, t: LawTables, schema: pl.Schema, as_of: dt.date) -> pl.LazyFrame:
    """Per row (RULES.md §1, §4): the event dates as day numbers cut at the day asked about, the decisive day and the
    activation, the first award, discharge or resumption after it (its day and kind), and the segments of the
    decisive, terminal and death days, ready for the keys. Also ``_s`` (stage) and ``_c`` (charge set)."""
    as_of_date = pl.col("as_of").fill_null(as_of)
    df = cases.with_columns(
        # §1: what happened after the day asked about has not happened yet. From here on dates are day numbers
        # (``Date``'s own), NO_DAY for "did not happen": arithmetic on them needs no null masks.
        [
            pl.when(pl.col(c) <= as_of_date).then(pl.col(c).to_physical()).otherwise(NO_DAY).alias(f"_{c}")
            for c in EVENT_DATES
        ],
        _s=_number(schema.get("stage"), "stage", t.stages),
        _c=pl.col("charges").to_physical().cast(pl.UInt32),
        _as_of=as_of_date.to_physical(),
    )
    stage = pl.col("_s")
    entry, petition = pl.col("_entry_date"), pl.col("_petition_date")
    df = df.with_columns(
        # the first petition (or the entry, for convicts), else the day asked about: no event is later than it
        _decisive=pl.min_horizontal(
            pl.when(_one_of(stage, [t.stages.index(s) for s in t.by_petition])).then(petition).otherwise(entry),
            "_as_of",
        ),
        _activation=pl.when(_one_of(stage, [t.stages.index(s) for s in t.act_petition]))
        .then(petition)
        .otherwise(entry),
        _g=pl.when(pl.col("_discharge_date") != NO_DAY).then(
            _number(schema.get("discharge_ground"), "discharge_ground", t.grounds)
        ),
    )
    a = pl.col("_activation")
    df = df.with_columns(
        _dd=day_index(t, pl.col("_decisive")),
        _dd_death=day_index(t, pl.col("_death_date")),
        # §4: an award, discharge or resumption counts from the activation on (none without an activation)
        **{
            f"_ok{i}": pl.when(pl.col(f"_{c}") >= a).then(f"_{c}").otherwise(NO_DAY)
            for i, c in enumerate(TERMINAL_DATES)
        },
    )
    ok = [pl.col(f"_ok{i}") for i in range(len(TERMINAL_DATES))]
    # the parts of the event key (``_event_key``) as they go into it: a kind or a segment plus one, 0 for none
    segment1 = t.segment_of_day + 1
    df = df.with_columns(
        _seg=_at(t.segment_of_day, pl.col("_dd")),
        _d_seg1=pl.when(pl.col("_death_date") != NO_DAY).then(_at(segment1, pl.col("_dd_death"))).otherwise(0),
        _t_day=pl.min_horizontal(ok),
    )
    t_day = pl.col("_t_day")
    df = df.with_columns(
        # (no terminal event: NO_DAY falls in the last segment, which no answer reads without an event kind)
        _dd_t=day_index(t, t_day),
        # the first of them (its kind, the ground of a discharge included; none without a known ground)
        _t_kind1=pl.when(t_day == NO_DAY)
        .then(0)
        .when(ok[0] == t_day)
        .then(pl.lit(t.key("state_award") + 1, pl.UInt32))
        .when(ok[1] == t_day)
        .then((pl.col("_g") + (t.key(f"discharged:{t.grounds[0]}") + 1)).fill_null(0))
        .otherwise(pl.lit(t.key("resumed") + 1, pl.UInt32)),
    )
    return df.with_columns(_t_seg1=_at(segment1, pl.col("_dd_t")))


def _shown(t: LawTables, sets: ChargeSets, answers: pl.DataFrame, lists: bool) -> pl.Series:
    """The answers (``_answers``) as a row of the decision shows them: one struct per answer key."""
    return answers.select(
        "status",
        eligible="eligible",
        outcome=pl.Series(t.outcomes, dtype=pl.Enum(t.outcomes)).gather(answers["outcome"]),
        record_cleared="cleared",
        reasons=sets.reasons.resolve(answers["reasons"], lists),
        unconfirmed=t.flags.resolve(answers["flags"], lists),
        rule_key=pl.col("rule").cast(pl.Int32),
        deciding_event=pl.Series(t.event_keys, dtype=t.event_enum).gather(answers["event"]),
    ).to_struct()


def _answers(t: LawTables, sets: ChargeSets, pre: Situations) -> pl.DataFrame:
    """The answer for every key a row can have (see ``decide``): the refusals at the gates, one per situation, then
    every (status after the gates, stage and segment, rule, event). Columns: outcome (index into the vocabulary's
    outcomes), eligible, cleared, reasons and flags (indices into the answer texts), event (index into event keys),
    and the ``Status`` and event rule behind it (for ``explain``)."""
    post = _post_answers(t)
    refused = pl.DataFrame(
        {"status": pre.status, "reasons": pre.reasons, "flags": pre.flags},
    ).select(
        "status",
        outcome=pl.lit(t.outcomes.index("not_covered"), pl.UInt32),
        eligible=pl.lit(False),
        cleared=pl.lit(False),
        reasons=pl.col("reasons").cast(pl.UInt32),
        flags=pl.col("flags").cast(pl.UInt32),
        event=pl.lit(None, pl.UInt32),
        rule=pl.lit(None, pl.UInt32),
    )
    return pl.concat([refused, post])


def _post_dims(t: LawTables) -> tuple[int, int, int]:
    """The sizes of an answer key after the gates: stage-segments, rules (+1 for none), events (+1 for none)."""
    return len(t.stages) * t.nseg, t.n_rules + 1, len(t.event_keys) + 1


def law_answers(t: LawTables) -> LawTables:
    """``t`` with the answers that depend on the law alone built (``_post_answers``, ``_event_answers``), as
    ``bundled_tables`` caches them: a run then only judges its own charge sets."""
    _post_answers(t)
    _event_answers(t)
    return t


def _post_answers(t: LawTables) -> pl.DataFrame:
    """The answers after the gates (``GATE_OFFENCE`` … ``DEATH``) for every (stage and segment, rule, event): the law's
    own texts, the same for every file, so computed once per ``LawTables``."""
    if t.post_answers is not None:
        return t.post_answers
    n_routes_at, n_rule, n_kind = _post_dims(t)
    size = (Status.DEATH - Status.GATE_OFFENCE + 1) * n_routes_at * n_rule * n_kind
    key = pl.col("_key")
    frame = pl.select(_key=pl.int_range(0, size, dtype=pl.UInt32)).with_columns(
        _status=(key // (n_routes_at * n_rule * n_kind) + Status.GATE_OFFENCE).cast(pl.Int8),
        _i_route=key // (n_rule * n_kind) % n_routes_at,
        _rule=_key_part(key, n_kind, n_rule),
        _t_kind=_key_part(key, 1, n_kind),
    )
    frame = frame.with_columns(_route=_at(t.route_of, pl.col("_i_route")), _seg=pl.col("_i_route") % t.nseg)
    status, route, rule = pl.col("_status"), pl.col("_route"), pl.col("_rule")
    terminal = _one_of(status, [Status.TERMINAL, Status.DEATH])
    outcome = _by_status(
        [
            ((Status.GATE_OFFENCE,), u32([t.outcomes.index("not_covered")]), pl.lit(0, pl.UInt32)),
            ((Status.ELIGIBLE,), u32([t.outcomes.index("eligible")]), pl.lit(0, pl.UInt32)),
            ((Status.ACTIVATED,), t.route_outcome, route),
            ((Status.TERMINAL, Status.DEATH), t.rule_outcome, rule),
        ]
    )
    reasons = _by_status(
        [
            ((Status.GATE_OFFENCE,), t.r_gate, route),
            ((Status.ELIGIBLE,), t.r_eligible, route),
            ((Status.ACTIVATED,), t.r_activated, route),
            ((Status.TERMINAL, Status.DEATH), t.r_rule, rule),
        ]
    )
    # a rule's unconfirmed facts join the route's and the list's
    flags = _flags_at(
        t, pl.when(terminal).then(FLAGS_RULE).otherwise(FLAGS_ROUTE), pl.when(terminal).then(rule + 1).otherwise(0)
    )
    frame = frame.with_columns(_i_outcome=outcome[1], _i_reasons=reasons[1], _i_flags=flags)
    t.post_answers = frame.select(
        status=status,
        outcome=_at(outcome[0], pl.col("_i_outcome")),
        eligible=_at(outcome[0], pl.col("_i_outcome")) != t.outcomes.index("not_covered"),
        cleared=terminal & _at(t.rule_cleared, rule).fill_null(False),
        reasons=_at(reasons[0], pl.col("_i_reasons")),
        flags=_at(t.flags_of, pl.col("_i_flags")),
        event=pl.when(status == Status.TERMINAL).then("_t_kind").when(status == Status.DEATH).then(t.key("died")),
        rule=rule,
    )
    return t.post_answers


def _post_key(t: LawTables, after: Any, i_route: Any, rule1: Any, kind1: Any) -> Any:
    """The place of an answer in ``_post_answers``: ``after`` is its status counted from ``GATE_OFFENCE``, ``rule1`` and
    ``kind1`` the event rule and event plus one (0 for none). Numbers or expressions alike."""
    n_routes_at, n_rule, n_kind = _post_dims(t)
    return ((after * n_routes_at + i_route) * n_rule + rule1) * n_kind + kind1


def _key_part(key: pl.Expr, stride: int, n: int) -> pl.Expr:
    """A part of a mixed-radix key that counts "none" as 0 and a value as itself plus one: the value, or null."""
    return (key // stride % n).cast(pl.Int64).replace(0, None).sub(1).cast(pl.UInt32)


def _event_dims(t: LawTables) -> tuple[int, int]:
    """The sizes of an event key's parts: the first terminal event's kind (+1 for none), a segment (+1 for none)."""
    return len(t.event_keys) + 1, t.nseg + 1


def _event_key(
    t: LawTables, i_route: pl.Expr, kind1: pl.Expr, t_seg1: pl.Expr, d_seg1: pl.Expr, act: pl.Expr
) -> pl.Expr:
    """A case's *event key*: stage and segment, the first award, discharge or resumption (its kind and the segment of
    its date), the segment of the death's date, and whether the case was activated (``act``, contract or petition).
    A kind or segment comes as its number plus one, 0 for none.

    Everything §4 decides about a case that passed the gates is a function of this key, so ``_event_answers``
    judges every possible key once (a few tens of thousands) and each row only computes its key.
    """
    n_kind, n_seg1 = _event_dims(t)
    return (((i_route * n_kind + kind1) * n_seg1 + t_seg1) * n_seg1 + d_seg1) * 2 + act.cast(pl.UInt32)


def _event_answers(t: LawTables) -> pl.Series:
    """RULES.md §4 for every event key (``_event_key``): the place of its answer in ``_post_answers``.

    The event rule in force on the date of the first terminal event and on the date of the death, and which of them
    decides (``_event_status``), judged with the same expressions for every key; the law's own, so cached in the
    ``LawTables``."""
    if t.event_answers is not None:
        return t.event_answers
    n_kind, n_seg1 = _event_dims(t)
    n_keys = len(t.event_keys)
    size = len(t.stages) * t.nseg * n_kind * n_seg1 * n_seg1 * 2
    key = pl.col("_key")
    frame = pl.select(_key=pl.int_range(0, size, dtype=pl.UInt32)).with_columns(
        _i_route=key // (n_kind * n_seg1 * n_seg1 * 2),
        _t_kind=_key_part(key, n_seg1 * n_seg1 * 2, n_kind),
        _t_seg=_key_part(key, n_seg1 * 2, n_seg1),
        _d_seg=_key_part(key, 2, n_seg1),
        activation=pl.when(key % 2 == 1).then(pl.lit(dt.date(1970, 1, 1))),
    )
    stage = pl.col("_i_route") // t.nseg
    frame = frame.with_columns(
        _i_t=(stage * n_keys + pl.col("_t_kind")) * t.nseg + pl.col("_t_seg"),
        _i_d=(stage * n_keys + t.key("died")) * t.nseg + pl.col("_d_seg"),
    ).with_columns(
        _t_rule=_at(t.rule_of, pl.col("_i_t")),
        _final=_at(t.final_of, pl.col("_i_t")),
        _d_rule=_at(t.rule_of, pl.col("_i_d")),
    )
    frame = frame.with_columns(_status=_event_status())
    status = pl.col("_status")
    rule = pl.when(status == Status.TERMINAL).then("_t_rule").when(status == Status.DEATH).then("_d_rule")
    kind = pl.when(status == Status.TERMINAL).then(pl.col("_t_kind") + 1).otherwise(0)
    after = (status - Status.GATE_OFFENCE).cast(pl.UInt32)
    post = _post_key(t, after, pl.col("_i_route"), (rule + 1).fill_null(0), kind)
    t.event_answers = frame.select(post.cast(pl.UInt32).alias("event_answer")).to_series()
    return t.event_answers


@dataclass
class Situations:
    """Per (stage, segment, charge set), at ``(stage * nseg + segment) * n_sets + set``: where the coverage and the
    gates leave a case (``Status`` up to ``GATE_GRAVITY``, else ``ELIGIBLE`` for "passes"), with the reasons and
    the unconfirmed facts of a refusal (indices into the answer texts and into ``flags_of``)."""

    n_sets: int
    status: pl.Series
    reasons: pl.Series
    flags: pl.Series

    @property
    def size(self) -> int:
        return len(self.status)


def _situations(t: LawTables, sets: ChargeSets) -> Situations:
    """RULES.md §2-§3 (coverage, exclusion lists, the gravity gate) judged once per (stage, segment, charge set):
    they depend on nothing else, and a file holds a few thousand such situations for millions of rows."""
    n_sets, n_versions, n_routes = len(sets.keys), len(t.list_versions), t.n_routes
    i_pre = pl.int_range(0, len(t.stages) * t.nseg * n_sets, dtype=pl.UInt32)
    frame = (
        pl.select(_i_pre=i_pre)
        .with_columns(_i_route=pl.col("_i_pre") // n_sets, _c=pl.col("_i_pre") % n_sets)
        .with_columns(
            _route=_at(t.route_of, pl.col("_i_route")),
            _lv=_at(t.lv_of, pl.col("_i_route")),
            _seg=pl.col("_i_route") % t.nseg,
        )
    )
    frame = frame.with_columns(_i_listed=pl.col("_c") * n_versions + pl.col("_lv")).with_columns(
        _listed=_at(sets.listed, pl.col("_i_listed"))
    )
    frame = frame.with_columns(_status=_gates(t, sets))
    route, c = pl.col("_route"), pl.col("_c")
    reasons = _by_status(
        [
            ((Status.NO_ROUTE,), t.r_no_route, route.fill_null(n_routes)),
            ((Status.EXCLUDED,), sets.r_excluded, pl.col("_i_listed")),
            ((Status.GATE_GRAVITY,), sets.r_gravity, c * n_routes + route),
        ]
    )
    status = pl.col("_status")
    kind = pl.when(status == Status.NO_ROUTE).then(FLAGS_NONE).when(status == Status.EXCLUDED).then(FLAGS_LIST)
    # an exclusion's unconfirmed facts include needs_detail when only a too-coarse code matched (_listed == 1)
    extra = pl.when(status == Status.EXCLUDED).then(pl.col("_listed")).otherwise(0)
    frame = frame.with_columns(_i_reasons=reasons[1], _i_flags=_flags_at(t, kind.otherwise(FLAGS_ROUTE), extra)).select(
        "_status", _reasons=_at(reasons[0], pl.col("_i_reasons")), _flags=_at(t.flags_of, pl.col("_i_flags"))
    )
    return Situations(n_sets, frame["_status"], frame["_reasons"], frame["_flags"])


def _flags_at(t: LawTables, kind: pl.Expr, extra: pl.Expr) -> pl.Expr:
    """The place in ``t.flags_of`` of the unconfirmed facts of this kind for the row's route and segment."""
    return ((kind * t.n_routes + pl.col("_route").fill_null(0)) * t.nseg + pl.col("_seg")) * (t.n_rules + 1) + extra


def _number(dtype: pl.DataType | None, column: str, words: list[str]) -> pl.Expr:
    """A vocabulary column (text, or already the vocabulary's enum) as each value's place in ``words``."""
    col = pl.col(column)
    enum = pl.Enum(words)
    return (col if dtype == enum else col.cast(enum)).to_physical().cast(pl.UInt32)


def _by_status(parts: list[tuple[Sequence[Status], pl.Series, pl.Expr]]) -> tuple[pl.Series, pl.Expr]:
    """One table and an index into it that stand for ``table[local]`` of the part whose statuses include each row's
    ``_status``: the tables are laid end to end, so every row costs one ``gather`` whichever part it falls in."""
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


def _gates(t: LawTables, sets: ChargeSets) -> pl.Expr:
    """Coverage, the exclusion list and the gravity gate (``_route``, ``_c``, ``_listed``), or ``ELIGIBLE``: passes."""
    route, c = pl.col("_route"), pl.col("_c")
    covered = _at(t.route_covered, route).fill_null(False)
    max_rank = _at(t.route_max_rank, route)
    rank = _at(sets.rank, c)
    gravity_fail = max_rank.is_not_null() & (_at(sets.unknown, c) | (rank > max_rank).fill_null(False))
    return (
        pl.when(~covered)
        .then(pl.lit(Status.NO_ROUTE))
        .when(pl.col("_listed").is_not_null())
        .then(pl.lit(Status.EXCLUDED))
        .when(gravity_fail)
        .then(pl.lit(Status.GATE_GRAVITY))
        .otherwise(pl.lit(Status.ELIGIBLE))
        .cast(pl.Int8)
    )


def _event_status() -> pl.Expr:
    """Where the events leave a case that passed the gates (``Status``, from ``ELIGIBLE`` on): a final release
    first, then a death, then another terminal event, then the activation (RULES.md §4)."""
    return (
        pl.when(pl.col("_final").fill_null(False))
        .then(pl.lit(Status.TERMINAL))
        .when(pl.col("_d_rule").is_not_null())
        .then(pl.lit(Status.DEATH))
        .when(pl.col("_t_rule").is_not_null())
        .then(pl.lit(Status.TERMINAL))
        .when(pl.col("activation").is_not_null())
        .then(pl.lit(Status.ACTIVATED))
        .otherwise(pl.lit(Status.ELIGIBLE))
        .cast(pl.Int8)
    )
