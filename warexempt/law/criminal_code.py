"""The bundled catalogue of the Criminal Code: every article, its parts and points, and each part's gravity.

``articles.csv`` holds one row per article (number, titles, source); ``parts.csv`` one row per part in force with its
points and the maximum term of imprisonment it carries, from which the gravity category of УК ст. 15 is derived
(``Gravity``: the thresholds are law data in ``vocabulary.yaml``), and, for a part added to the Code later, the day it
came into force (``in_force_from``) and the law that added it (``in_force_by``). Articles whose parts have not been
read yet are accepted with any part, and the answer says the code could not be checked.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import datetime as dt
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def _since(part: Part) -> dt.date:
    return part.in_force_from or dt.date.min


def _with(code: ChargeCode, **changes: Any) -> ChargeCode:
    """``code`` with some fields changed (a suggestion keeps the art. 30 stage of the code it replaces)."""
    return dataclasses.replace(code, **changes)


@dataclass(frozen=True)
class Part:
    label: str  # "" when the article has no numbered parts
    points: tuple[str, ...]
    max_years: float | None
    life_or_death: str | None
    negligent: bool
    gravity: str
    in_force_from: dt.date | None = None  # None: in the Code since before any date the law data covers
    in_force_by: str | None = None  # the law that added the part, e.g. "534-ФЗ"

    def in_force_on(self, day: dt.date) -> bool:
        return self.in_force_from is None or self.in_force_from <= day


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
        self._by_key = sorted((article_key(a.number), a.number) for a in self._in_force)

    @classmethod
    def load(cls, folder: Path, gravity: Gravity, point_letters: str) -> CriminalCode:
        parts: dict[str, list[Part]] = {}
        with (folder / "parts.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                max_years = float(row["max_years"]) if row["max_years"] else None
                negligent = row["negligent"] == "true"
                life = row["life_or_death"] or None
                since = row.get("in_force_from") or ""
                parts.setdefault(row["article"], []).append(
                    Part(
                        label=row["part"],
                        points=tuple(p for p in row["points"].split(",") if p),
                        max_years=max_years,
                        life_or_death=life,
                        negligent=negligent,
                        gravity=gravity.of(max_years, life, negligent),
                        in_force_from=dt.date.fromisoformat(since) if since else None,
                        in_force_by=row.get("in_force_by") or None,
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

    def check(self, raw: str | ChargeCode, on: dt.date | None = None) -> Checked:
        """Validate a code (and, given ``on``, that its part was in force that day); raise ``ChargeCodeError``
        naming the code, what was expected and the nearest valid codes."""
        code = parse_charge(raw) if isinstance(raw, str) else raw
        shown = str(raw)
        article = self.articles.get(code.article)
        if article is None:
            raise ChargeCodeError.of("article.unknown", shown, self._near(code), article=code.article)
        if article.repealed:
            raise ChargeCodeError.of("article.repealed", shown, self._near(code), article=code.article)
        if article.parts is None:
            return Checked(
                code,
                None,
                f"{shown}: the parts and points of article {code.article} are not in the catalogue yet; "
                "the code could not be checked",
            )
        if code.part is None:
            parts = [p for p in article.parts if on is None or p.in_force_on(on)]
            if not parts and on is not None:
                raise self._not_yet(shown, code, min(article.parts, key=_since), on)
            grav = max((p.gravity for p in parts), key=self._gravity_rank)
            return Checked(code, grav)
        if not article.has_parts:
            raise ChargeCodeError.of(
                "part.none", shown, (str(_with(code, part=None, point=None)),), article=code.article
            )
        part = article.part(code.part)
        if part is None:
            raise ChargeCodeError.of(
                "part.unknown",
                shown,
                self._near_parts(code, article.parts),
                article=code.article,
                parts=", ".join(p.label for p in article.parts),
            )
        if code.point is not None and code.point not in part.points:
            if not part.points:
                raise ChargeCodeError.of(
                    "point.none", shown, (str(_with(code, point=None)),), article=code.article, part=code.part
                )
            raise ChargeCodeError.of(
                "point.unknown",
                shown,
                tuple(str(_with(code, point=p)) for p in _nearest(code.point, part.points, self.point_letters)),
                article=code.article,
                part=code.part,
                points=", ".join(part.points),
            )
        if on is not None and not part.in_force_on(on):
            earlier = [p for p in article.parts if p.in_force_on(on)]
            raise self._not_yet(shown, code, part, on, self._near_parts(code, earlier))
        return Checked(code, part.gravity)

    def _not_yet(
        self, shown: str, code: ChargeCode, part: Part, on: dt.date, suggestions: tuple[str, ...] = ()
    ) -> ChargeCodeError:
        """The error of a code whose part (or whole article, when no part is given) was not in force ``on``."""
        provision = f"ч. {part.label} ст. {code.article}" if code.part else f"ст. {code.article}"
        since = part.in_force_from.isoformat() if part.in_force_from else ""
        if part.in_force_by:
            law = part.in_force_by.replace("ФЗ", "FZ")
            return ChargeCodeError.of(
                "date.in_force_from", shown, suggestions, provision=provision, since=since, law=law, on=on.isoformat()
            )
        return ChargeCodeError.of(
            "date.in_force_from_no_law", shown, suggestions, provision=provision, since=since, on=on.isoformat()
        )

    def _gravity_rank(self, gravity: str) -> int:
        return self.gravity_rank.get(gravity, 0)

    def _near_parts(self, code: ChargeCode, parts: Iterable[Part]) -> tuple[str, ...]:
        labels = [p.label for p in parts]
        assert code.part is not None
        return tuple(str(_with(code, part=p, point=None)) for p in _nearest(code.part, labels, self.point_letters))

    def _near(self, code: ChargeCode, n: int = 4) -> tuple[str, ...]:
        """The articles in force nearest to an unknown or repealed one: the article it would be a sub-article of and
        its neighbours in the Code's order (``158.9``: 158, 158.1, 159); past the end of the Code, the ones that differ
        by a typo (``1580``: 158, 180 …)."""
        near: list[str] = []
        key = article_key(code.article)
        if self._by_key and key <= self._by_key[-1][0]:
            head = code.article.partition(".")[0]  # 158 for 158.9
            if head != code.article and head in self.articles and not self.articles[head].repealed:
                near.append(head)
            at = bisect.bisect_left(self._by_key, (key, ""))
            around = self._by_key[max(0, at - 1) : at + 1]  # the article before it and the one after it
            near += [number for _, number in around if number not in near]
        else:
            numbers = [a.number for a in self._in_force]
            typos = difflib.get_close_matches(code.article, numbers, n=n, cutoff=0.6)
            near = sorted(typos, key=lambda a: not code.article.startswith(a))  # a digit too many first: 1580 → 158
        return tuple(str(_with(code, article=a, part=None, point=None)) for a in near[:n])

    def iter_in_force(self) -> Iterable[Article]:
        return iter(self._in_force)
