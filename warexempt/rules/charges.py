"""Charge sets: what the engine needs to know about a case's charges, computed once per distinct set.

A million real cases hold only thousands of distinct charge strings, so the codes are parsed and checked once per
distinct set, and matched against every exclusion-list version in one join (RULES.md §3): a whole-article item
excludes every code of that article; a part or point item excludes that part or point; a code without the part or
point the item needs is excluded cautiously and flagged ``needs_detail``. The offence behind ``30:…-`` counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from warexempt.law.catalog import Law
from warexempt.law.codes import ChargeCodeError, parse_charge, split_charges


@dataclass
class ChargeSets:
    """``sets``: one row per distinct charge string; ``exclusions``: one row per (set, list version) that excludes."""

    sets: pl.DataFrame
    exclusions: pl.DataFrame
    errors: dict[str, str]


def set_key(charges: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The key of a charge set: the ``;``-joined codes as typed (a list column is joined)."""
    return charges.list.join(";") if isinstance(dtype, pl.List) else charges


def assess(keys: pl.Series, law: Law) -> ChargeSets:
    code = law.criminal_code
    rank = law.gravity.rank
    set_rows: list[tuple[str, int | None, bool, list[str], list[str]]] = []
    code_rows: list[tuple[str, str, str, str | None, str | None, int | None]] = []
    errors: dict[str, str] = {}
    for key in keys.unique().drop_nulls().to_list():
        raw_codes = split_charges(key)
        if not raw_codes:
            errors[key] = "no charge code given"
            continue
        checked = []
        try:
            checked = [code.check(parse_charge(c)) for c in raw_codes]
        except ChargeCodeError as exc:
            errors[key] = str(exc)
            continue
        ranks = [rank[c.gravity] if c.gravity else None for c in checked]
        known = [r for r in ranks if r is not None]
        warnings = sorted({c.warning for c in checked if c.warning})
        unknown = any(r is None for r in ranks)
        worst = max(known) if known else None
        worst_ids = sorted({c.code.provision_id for c, r in zip(checked, ranks, strict=True) if r == worst})
        set_rows.append((key, worst, unknown, worst_ids, warnings))
        for c, r in zip(checked, ranks, strict=True):
            k = c.code
            code_rows.append((key, k.provision_id, k.article, k.part, k.point, r))
    sets = pl.DataFrame(
        set_rows,
        schema={
            "_ck": pl.String,
            "gravity_rank": pl.Int32,
            "gravity_unknown": pl.Boolean,
            "gravest": pl.List(pl.String),
            "charge_warnings": pl.List(pl.String),
        },
        orient="row",
    )
    codes = pl.DataFrame(
        code_rows,
        schema={
            "_ck": pl.String,
            "offence_id": pl.String,
            "article": pl.String,
            "part": pl.String,
            "point": pl.String,
            "rank": pl.Int32,
        },
        orient="row",
    )
    return ChargeSets(sets, _exclusions(codes, law.exclusion_patterns), errors)


def _exclusions(codes: pl.DataFrame, patterns: pl.DataFrame) -> pl.DataFrame:
    """Match every code against every list version's patterns (a join on the article)."""
    pat = patterns.rename({"part": "p_part", "point": "p_point"})
    m = codes.join(pat, on="article", how="inner")
    exact = pl.col("p_part").is_null() | (
        (pl.col("p_part") == pl.col("part")) & (pl.col("p_point").is_null() | (pl.col("p_point") == pl.col("point")))
    )
    coarse = ~pl.col("exact") & (
        pl.col("part").is_null()
        | ((pl.col("p_part") == pl.col("part")) & pl.col("p_point").is_not_null() & pl.col("point").is_null())
    )
    m = (
        m.with_columns(exact=exact.fill_null(False))
        .with_columns(coarse=coarse.fill_null(False))
        .filter(pl.col("exact") | pl.col("coarse"))
    )
    per_code = m.group_by("_ck", "list_key", "offence_id").agg(
        exact=pl.col("exact").any(), coarse=pl.col("coarse").any()
    )
    return (
        per_code.group_by("_ck", "list_key")
        .agg(
            excluded_ids=pl.col("offence_id").unique().sort(),
            any_exact=pl.col("exact").any(),
        )
        .with_columns(needs_detail=~pl.col("any_exact"))
        .drop("any_exact")
    )
