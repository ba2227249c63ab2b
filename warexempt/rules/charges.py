"""Charge sets: what the rules need to know about a case's charges, worked out once per distinct set.

A million real cases hold only thousands of distinct sets of charges, so each set is parsed, checked against the
Criminal Code catalogue and matched against the exclusion lists once (and remembered for the life of the law). RULES.md
§3: a whole-article item excludes every code of that article; a part or point item excludes that part or point; a
code without the part or point the item needs is excluded cautiously and marked ``coarse`` (the answer is flagged
``needs_detail``); the offence behind ``30:…-`` counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from warexempt.law.catalog import Law, ListVersion, per_law
from warexempt.law.codes import ChargeCodeError, parse_charge, split_charges

if TYPE_CHECKING:
    from warexempt.rules.case import Problem


@dataclass(frozen=True)
class Code:
    """One code as the rules see it: its provision id, its gravity rank (УК ст. 15; None: not in the catalogue),
    whether the article's parts differ in gravity while the code names none (``needs_detail`` for a gravity gate),
    a catalogue warning, and the part it is judged by then (RULES.md §3: its gravest, ``uk:158:4`` for ``158``)."""

    provision_id: str
    article: str
    part: str | None
    point: str | None
    rank: int | None
    coarse_gravity: bool
    warning: str | None
    judged_as: str  # the provision its gravity is judged by: itself, or (a code without a part) its gravest part

    @functools.cache  # noqa: B019  (codes and list versions live as long as their law)
    def on_list(self, version: ListVersion) -> bool | None:
        """RULES.md §3 for one code: True if an item of the list names it, False if only because the code is too
        coarse to tell (``131`` against ``131:3:а``), None if it is not on the list."""
        found: bool | None = None
        for _, part, point, _ in version.by_article.get(self.article, ()):
            if part is None or (part == self.part and (point is None or point == self.point)):
                return True
            if self.part is None or (part == self.part and point is not None and self.point is None):
                found = False
        return found


@dataclass(frozen=True)
class ChargeSet:
    """A case's charges: each code, or the error that makes the set invalid."""

    codes: tuple[Code, ...]
    error: str | None = None

    @property
    def rank(self) -> int | None:
        """The gravest category among the charges (a charge too coarse to tell is judged by its gravest part)."""
        known = [c.rank for c in self.codes if c.rank is not None]
        return max(known) if known else None

    @property
    def unknown_gravity(self) -> bool:
        return any(c.rank is None for c in self.codes)

    @property
    def gravest(self) -> tuple[str, ...]:
        rank = self.rank
        return tuple(sorted({c.judged_as for c in self.codes if c.rank == rank}))

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(sorted({c.warning for c in self.codes if c.warning}))

    @functools.lru_cache(maxsize=1 << 16)  # noqa: B019
    def excluded(self, version: ListVersion) -> tuple[tuple[str, ...], bool]:
        """The charges on ``version`` and whether the answer needs more detail: only too-coarse codes matched."""
        exact = sorted({c.provision_id for c in self.codes if c.on_list(version)})
        coarse = sorted({c.provision_id for c in self.codes if c.on_list(version) is False})
        if exact:
            return tuple(exact), False
        return tuple(coarse), bool(coarse)


class ChargeBook:
    """The charge sets of a law: each distinct text (codes joined by ``;``) assessed once."""

    def __init__(self, law: Law) -> None:
        self.law = law
        self._sets: dict[str, ChargeSet] = {}
        self._codes: dict[str, Code | ChargeCodeError] = {}

    def code(self, raw: str) -> Code:
        """One code checked against the catalogue (raises ``ChargeCodeError``, the same each time: its kind, what was
        expected and the nearest codes kept)."""
        found = self._codes.get(raw)
        if found is None:
            try:
                found = self._code(raw)
            except ChargeCodeError as exc:
                found = exc.with_traceback(None)
            self._codes[raw] = found
        if isinstance(found, ChargeCodeError):
            raise found.with_traceback(None)
        return found

    def _code(self, raw: str) -> Code:
        checked = self.law.criminal_code.check(parse_charge(raw))
        k = checked.code
        rank = self.law.gravity.rank[checked.gravity] if checked.gravity else None
        article = self.law.criminal_code.get(k.article)
        parts = article.parts if article is not None and article.has_parts else None
        coarse = k.part is None and parts is not None and len({p.gravity for p in parts}) > 1
        judged_as = k.provision_id
        if coarse and parts is not None:  # the part of the gravest category, the first such in the article
            order = self.law.gravity.rank
            gravest = max(parts, key=lambda p: (order.get(p.gravity, 0), -parts.index(p)))
            judged_as = f"{k.provision_id}:{gravest.label}"
        return Code(k.provision_id, k.article, k.part, k.point, rank, coarse, checked.warning, judged_as)

    def charge_set(self, text: str) -> ChargeSet:
        """The set of a ``;``-joined text of codes as typed."""
        found = self._sets.get(text)
        if found is None:
            found = self._sets[text] = self._charge_set(text)
        return found

    def _charge_set(self, text: str) -> ChargeSet:
        raw = split_charges(text)
        if not raw:
            return ChargeSet((), "no charge code given")
        try:
            return ChargeSet(tuple(self.code(c) for c in raw))
        except ChargeCodeError as exc:
            return ChargeSet((), str(exc))


@per_law
def book(law: Law) -> ChargeBook:
    """The charge sets of ``law``, remembered for its life."""
    return ChargeBook(law)


def set_type() -> pl.Categorical:
    """The type that numbers a run's charge sets: a categorical with the run's own categories, so the numbers are
    dense from 0 (``set_texts`` reads the sets back from the categories)."""
    return pl.Categorical(pl.Categories.random())


def set_numbers(charges: pl.Series) -> pl.Series:
    """The charge sets of a column as dense numbers: a categorical with the run's own categories, so a million rows
    hash their text once and the set of number ``i`` is the ``i``-th category (``set_texts``). A list column is
    joined with ``;`` first."""
    if isinstance(charges.dtype, pl.Categorical):  # already numbered (the bulk reader's row pass)
        return charges
    text = charges.list.join(";") if isinstance(charges.dtype, pl.List) else charges.cast(pl.String)
    return text.cast(set_type())


def set_texts(numbers: pl.Series) -> list[str | None]:
    """The texts of the charge-set numbers of ``set_numbers``, in the order of their numbers."""
    dtype = numbers.dtype
    assert isinstance(dtype, pl.Categorical)
    return dtype.categories.to_series().to_list()


def charge_problems(charges: object, law: Law, named: set[str] | None = None) -> list[Problem]:
    """Each charge code (given as text) against the Criminal Code catalogue: every bad one named with its place and
    the nearest valid codes, before the engine sees the case (which refuses a whole frame for one bad code), for the
    CLI and the API alike. ``named``: places already reported."""
    from warexempt.rules.case import Problem

    codes = book(law)
    found = []
    items = charges if isinstance(charges, list) else [charges]
    for i, item in enumerate(items, 1):
        if not isinstance(item, str) or f"charges[{i}]" in (named or ()):
            continue
        for code in split_charges(item):
            try:
                codes.code(code)
            except ChargeCodeError as exc:
                detail = str(exc).removeprefix("charge ")
                found.append(Problem(f"charges[{i}]", "invalid_charge", exc.code, "{text}", {"text": detail}))
    return found
