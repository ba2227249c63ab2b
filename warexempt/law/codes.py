"""Criminal Code charge codes: ``158``, ``158:3``, ``158:3:в``, ``30:3-105:2``.

A code names an article, optionally a part and a point (пункт). ``30:N-`` prefixes preparation (ч. 1 ст. 30) or
attempt (ч. 3 ст. 30); the offence after the dash decides exclusion and gravity. Latin letters that look like
Cyrillic ones (``a e o p c x y``) are read as Cyrillic, and white space is ignored, because users type codes by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_NUM = r"\d+(?:\.\d+)?"
_CODE = re.compile(
    rf"^(?:30:(?P<stage>[13])-)?(?P<article>{_NUM})(?::(?P<part>{_NUM})(?::(?P<point>[а-яё](?:\.\d+)?))?)?$"
)
_LOOKALIKES = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"})


class ChargeCodeError(ValueError):
    """A code that cannot be read, or that names something the Criminal Code does not have."""

    def __init__(self, code: str, message: str, suggestions: tuple[str, ...] = ()) -> None:
        self.code = code
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"charge {code!r}: {message}.{hint}")


@dataclass(frozen=True, order=True)
class ChargeCode:
    """A parsed charge. ``inchoate`` is ``1`` (preparation) or ``3`` (attempt) for codes written ``30:N-…``."""

    article: str
    part: str | None = None
    point: str | None = None
    inchoate: str | None = None

    @property
    def offence(self) -> str:
        """The offence as ``article[:part[:point]]``, without the art. 30 prefix."""
        return ":".join(x for x in (self.article, self.part, self.point) if x is not None)

    @property
    def provision_id(self) -> str:
        """The canonical provision id of the offence, e.g. ``uk:158:3:в``."""
        return f"uk:{self.offence}"

    def __str__(self) -> str:
        return f"30:{self.inchoate}-{self.offence}" if self.inchoate else self.offence


@lru_cache(maxsize=65536)
def parse_charge(raw: str) -> ChargeCode:
    """Read one code's syntax (not whether the Code has it: see ``CriminalCode.validate``)."""
    text = "".join(str(raw).split()).lower().translate(_LOOKALIKES).replace("ё", "е")
    text = text.replace("ч.", "").replace("п.", "")
    match = _CODE.match(text)
    if match is None:
        raise ChargeCodeError(
            str(raw),
            "expected ARTICLE[:PART[:POINT]] such as 158, 158:3 or 158:3:в, "
            "or 30:3-ARTICLE… for an attempt (30:1-… for preparation)",
        )
    return ChargeCode(article=match["article"], part=match["part"], point=match["point"], inchoate=match["stage"])


def split_charges(raw: str) -> list[str]:
    """Split a ``;``- or ``,``-joined list of codes (the bulk file's ``charges`` column)."""
    return [c for c in re.split(r"[;,]", raw) if c.strip()]


def article_key(article: str) -> tuple[int, int]:
    """Sort key that puts 205 < 205.1 < 205.5 < 206 (dotted articles sit between their neighbours)."""
    head, _, tail = article.partition(".")
    return int(head), int(tail) if tail else 0
