"""Charge sets: what the engine needs to know about a case's charges, computed once per distinct set.

A million real cases hold only thousands of distinct charge strings, so the codes are parsed and checked once per
distinct set (and remembered for the life of the law), then matched against every exclusion-list version
(RULES.md §3): a whole-article item excludes every code of that article; a part or point item excludes that part or
point; a code without the part or point the item needs is excluded cautiously and flagged ``needs_detail``. The
offence behind ``30:…-`` counts. The results are arrays indexed by the set's number: the physical code of the
``charges`` column as a categorical with the run's own categories (``code_type``), so ten million rows hash their
charge text once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from warexempt.law.codes import ChargeCodeError, parse_charge, split_charges
from warexempt.rules.tables import LawTables, Texts, u32


@dataclass(frozen=True)
class ChargeSet:
    """One distinct set of charges: its gravest rank (УК ст. 15), warnings, and the list items it falls under."""

    rank: int | None
    unknown: bool  # some code's gravity could not be told (its article's parts are not in the catalogue)
    gravest: tuple[str, ...]
    warnings: tuple[str, ...]
    # list version → (offence ids on that list, True if only a too-coarse code matched)
    listed: dict[int, tuple[tuple[str, ...], bool]] = field(default_factory=dict)


@dataclass
class ChargeSets:
    """Per-set arrays for ``evaluate``; ``errors`` maps an invalid set's text to the message."""

    keys: list[str | None]  # [set]: its text (None: a number no row uses)
    errors: dict[str, str]
    valid: pl.Series  # [set]
    rank: pl.Series  # [set]
    unknown: pl.Series  # [set]
    listed: pl.Series  # [set * V + list version] → null: not on it; 0: on it; 1: only by a too-coarse code
    reasons: Texts  # the law's reason texts plus the texts that name a set's charges
    r_excluded: pl.Series  # [set * V + list version]
    r_gravity: pl.Series  # [set * R + route]
    warnings: Texts
    w_of: pl.Series  # [set]


def code_type() -> pl.Categorical:
    """The type that numbers a run's charge sets: a categorical with the run's own categories, so the numbers are
    dense from 0 and index ``ChargeSets``' arrays (``assess`` reads the sets back from the categories)."""
    return pl.Categorical(pl.Categories.random())


def as_codes(charges: pl.Series) -> pl.Series:
    """The charge sets of a column as set numbers (``code_type``) of the ``;``-joined codes as typed; a list column
    (``rules.frame.CASE_SCHEMA``) is joined first."""
    text = charges.list.join(";") if isinstance(charges.dtype, pl.List) else charges.cast(pl.String)
    return text.cast(code_type())


@dataclass(frozen=True)
class _Code:
    """One code checked once per law: its provision id, gravity rank, warning, and the list items it falls under."""

    provision_id: str
    rank: int | None
    warning: str | None
    listed: tuple[tuple[int, bool], ...]  # (list version, matched exactly; False: only because the code is too coarse)


def _code(raw: str, t: LawTables) -> _Code:
    found = t.code_memo.get(raw)
    if isinstance(found, _Code):
        return found
    checked = t.criminal_code.check(parse_charge(raw))  # raises ChargeCodeError
    k = checked.code
    listed = []
    for version, part, point in t.list_items.get(k.article, ()):
        exact = part is None or (part == k.part and (point is None or point == k.point))
        coarse = not exact and (k.part is None or (part == k.part and point is not None and k.point is None))
        if exact or coarse:
            listed.append((version, exact))
    rank = t.gravity_rank[checked.gravity] if checked.gravity else None
    code = _Code(k.provision_id, rank, checked.warning, tuple(listed))
    t.code_memo[raw] = code
    return code


def _one(key: str, t: LawTables) -> ChargeSet | str:
    """Assess one set, or return the error message."""
    raw_codes = split_charges(key)
    if not raw_codes:
        return "no charge code given"
    try:
        codes = [_code(c, t) for c in raw_codes]
    except ChargeCodeError as exc:
        return str(exc)
    known = [c.rank for c in codes if c.rank is not None]
    worst = max(known) if known else None
    listed: dict[int, tuple[list[str], bool]] = {}
    for c in codes:
        for version, exact in c.listed:
            ids, detail = listed.get(version, ([], True))
            listed[version] = ([*ids, c.provision_id], detail and not exact)
    return ChargeSet(
        rank=worst,
        unknown=any(c.rank is None for c in codes),
        gravest=tuple(sorted({c.provision_id for c in codes if c.rank == worst})),
        warnings=tuple(sorted({c.warning for c in codes if c.warning})),
        listed={v: (tuple(sorted(set(ids))), detail) for v, (ids, detail) in listed.items()},
    )


def assess(codes: pl.Series, t: LawTables) -> ChargeSets:
    """Assess every distinct charge set of ``codes`` (from ``as_codes``) and lay the answers out as arrays."""
    memo = t.charge_memo
    dtype = codes.dtype
    assert isinstance(dtype, pl.Categorical)
    # The run's own categories hold exactly its distinct sets, in the order of their numbers: no pass over the rows.
    uniq: list[str | None] = dtype.categories.to_series().to_list()
    n_versions, n_routes = len(t.list_versions), t.n_routes
    reasons, warnings = t.reasons.copy(), Texts()
    errors: dict[str, str] = {}
    rank: list[int | None] = []
    unknown: list[bool] = []
    valid: list[bool] = []
    on_list: list[int | None] = [None] * (len(uniq) * n_versions)
    r_excluded: list[int | None] = [None] * (len(uniq) * n_versions)
    r_gravity: list[int | None] = [None] * (len(uniq) * n_routes)
    w_of: list[int] = []
    for c, key in enumerate(uniq):
        if key is None:  # a number no row uses
            found: object = ChargeSet(None, False, (), ())
        elif (found := memo.get(key)) is None:
            found = memo[key] = _one(key, t)
        assert isinstance(found, (str, ChargeSet))
        valid.append(isinstance(found, ChargeSet))
        if isinstance(found, str):
            errors[str(key)] = found
            found = ChargeSet(None, False, (), ())
        rank.append(found.rank)
        unknown.append(found.unknown)
        w_of.append(warnings.add(list(found.warnings)))
        for v, (ids, coarse) in found.listed.items():
            on_list[c * n_versions + v] = int(coarse)
            r_excluded[c * n_versions + v] = reasons.add([t.list_versions[v], *ids])
        for route, gate in t.gravity_gates:
            named = [t.gravity_provision[found.rank]] if found.rank is not None else []
            r_gravity[c * n_routes + route] = reasons.add([*gate, *named, *found.gravest])
    return ChargeSets(
        keys=uniq,
        errors=errors,
        valid=pl.Series(valid, dtype=pl.Boolean),
        rank=pl.Series(rank, dtype=pl.Int32),
        unknown=pl.Series(unknown, dtype=pl.Boolean),
        listed=u32(on_list),
        reasons=reasons,
        r_excluded=u32(r_excluded),
        r_gravity=u32(r_gravity),
        warnings=warnings,
        w_of=u32(w_of),
    )
