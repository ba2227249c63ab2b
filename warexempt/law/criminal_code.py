"""The bundled catalogue of the Criminal Code: every article, its parts and points, and each part's gravity.

``articles.csv`` holds one row per article (number, titles, source); ``parts.csv`` one row per part in force with its
points and the maximum term of imprisonment it carries, from which the gravity category of УК ст. 15 is derived
(``Gravity``: the thresholds are law data in ``vocabulary.yaml``). Articles whose parts have not been read yet are
accepted with any part, and the answer says the code could not be checked.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from warexempt.law.codes import ChargeCode, ChargeCodeError, article_key, parse_charge

if TYPE_CHECKING:
    from warexempt.law.models import GravityRow


def _nearest(wanted: str, have: Iterable[str], letters: str, n: int = 3) -> list[str]:
    """The labels closest to the one asked for: parts by number, points by their place in ``letters`` (the point
    letters of ``vocabulary.yaml``)."""

    def position(label: str) -> float:
        head, _, tail = label.partition(".")
        base = float(head) if head.isdigit() else float(letters.find(head))
        return base + (0.1 if tail else 0.0)

    return sorted(have, key=lambda h: abs(position(h) - position(wanted)))[:n]


@dataclass(frozen=True)
class Part:
    label: str  # "" when the article has no numbered parts
    points: tuple[str, ...]
    max_years: float | None
    life_or_death: str | None
    negligent: bool
    gravity: str


@dataclass(frozen=True)
class Article:
    number: str
    title_ru: str
    title_en: str
    chapter: str
    repealed: bool
    source_url: str
    parts: tuple[Part, ...] | None  # None: structure not verified

    @property
    def has_parts(self) -> bool:
        return bool(self.parts) and any(p.label for p in self.parts or ())

    def part(self, label: str) -> Part | None:
        return next((p for p in self.parts or () if p.label == label), None)


@dataclass(frozen=True)
class Checked:
    """A code checked against the catalogue: its gravity (``None`` if unknown) and any warning."""

    code: ChargeCode
    gravity: str | None
    warning: str | None = None


@dataclass
class Gravity:
    """УК ст. 15: the category of a part from its maximum term of imprisonment and the form of guilt."""

    rows: list[GravityRow]
    rank: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.rank = {r.id: r.rank for r in self.rows}

    def of(self, max_years: float | None, life_or_death: str | None, negligent: bool) -> str:
        form = "negligent" if negligent else "intentional"
        if life_or_death:
            return max(self.rows, key=lambda r: r.rank).id
        years = max_years or 0.0
        for row in self.rows:
            if form in row.forms and (row.max_years is None or years <= row.max_years):
                return row.id
        return max(self.rows, key=lambda r: r.rank).id


class CriminalCode:
    """Look-ups and validation of charge codes against the bundled catalogue."""

    def __init__(self, articles: dict[str, Article], gravity_rank: dict[str, int], point_letters: str) -> None:
        self.articles = articles
        self.gravity_rank = gravity_rank  # plain values (no schema objects): the compiled tables pickle this
        self.point_letters = point_letters
        self._in_force = sorted((a for a in articles.values() if not a.repealed), key=lambda a: a.number)

    @classmethod
    def load(cls, folder: Path, gravity: Gravity, point_letters: str) -> CriminalCode:
        parts: dict[str, list[Part]] = {}
        with (folder / "parts.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                max_years = float(row["max_years"]) if row["max_years"] else None
                negligent = row["negligent"] == "true"
                life = row["life_or_death"] or None
                parts.setdefault(row["article"], []).append(
                    Part(
                        label=row["part"],
                        points=tuple(p for p in row["points"].split(",") if p),
                        max_years=max_years,
                        life_or_death=life,
                        negligent=negligent,
                        gravity=gravity.of(max_years, life, negligent),
                    )
                )
        articles: dict[str, Article] = {}
        with (folder / "articles.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                number = row["article"]
                found = parts.get(number)
                articles[number] = Article(
                    number=number,
                    title_ru=row["title_ru"],
                    title_en=row["title_en"],
                    chapter=row["chapter"],
                    repealed=row["repealed"] == "true",
                    source_url=row["source_url"],
                    parts=tuple(found) if found else None,
                )
        return cls(articles, gravity.rank, point_letters)

    def get(self, article: str) -> Article | None:
        return self.articles.get(article)

    def articles_between(self, first: str, last: str) -> list[str]:
        """Articles of a range in the law ("276 – 280.2"), dotted articles between its ends included."""
        lo, hi = article_key(first), article_key(last)
        return sorted((a for a in self.articles if lo <= article_key(a) <= hi), key=article_key)

    def check(self, raw: str | ChargeCode) -> Checked:
        """Validate a code; raise ``ChargeCodeError`` naming the code and the nearest valid ones."""
        code = parse_charge(raw) if isinstance(raw, str) else raw
        shown = str(raw)
        article = self.articles.get(code.article)
        if article is None:
            raise ChargeCodeError(shown, f"the Criminal Code has no article {code.article}", self._near(code))
        if article.repealed:
            raise ChargeCodeError(shown, f"article {code.article} has been repealed", self._near(code))
        if article.parts is None:
            return Checked(
                code,
                None,
                f"{shown}: the parts and points of article {code.article} are not in the catalogue yet; "
                "the code could not be checked",
            )
        if code.part is None:
            grav = max((p.gravity for p in article.parts), key=self._gravity_rank)
            return Checked(code, grav)
        if not article.has_parts:
            raise ChargeCodeError(shown, f"article {code.article} has no numbered parts", (code.article,))
        part = article.part(code.part)
        if part is None:
            labels = ", ".join(p.label for p in article.parts)
            raise ChargeCodeError(
                shown,
                f"article {code.article} has parts {labels}",
                tuple(
                    f"{code.article}:{p}"
                    for p in _nearest(code.part, [p.label for p in article.parts], self.point_letters)
                ),
            )
        if code.point is not None and code.point not in part.points:
            have = ", ".join(part.points) if part.points else "no points"
            raise ChargeCodeError(
                shown,
                f"part {code.part} of article {code.article} has {have}",
                tuple(f"{code.article}:{code.part}:{p}" for p in _nearest(code.point, part.points, self.point_letters)),
            )
        return Checked(code, part.gravity)

    def _gravity_rank(self, gravity: str) -> int:
        return self.gravity_rank.get(gravity, 0)

    def _near(self, code: ChargeCode) -> tuple[str, ...]:
        numbers = [a.number for a in self._in_force]
        close = difflib.get_close_matches(code.article, numbers, n=4, cutoff=0.6)
        return tuple(close)

    def iter_in_force(self) -> Iterable[Article]:
        return iter(self._in_force)
