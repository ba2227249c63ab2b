"""Criminal Code charge codes, in the canonical form and as lawyers write them.

The canonical form is ``ARTICLE[:PART[:POINT]]``: ``158``, ``158:3``, ``158:3:в``, ``205.1:1.1``, ``105:2:е.1``.
``30:N-`` prefixes preparation (ч. 1 ст. 30) or attempt (ч. 3 ст. 30); the offence after the dash decides exclusion
and gravity: ``30:3-105:2``. ``str(code)`` is always the canonical form.

``parse_charge`` also reads a code the way it is written in a charge, a verdict or a lawyer's note. A code is then
one or two *references*; a reference names an article (``ст.``), a part (``ч.``) and a point (``п.``), each at most
once, in any order, and may open with the bare article number:

    ст. 158 ч. 2                          158:2
    ч. 3 ст. 158 п. «в»                   158:3:в
    п. "в" ч. 3 ст. 158 УК РФ             158:3:в
    158 ч.3 п.в                           158:3:в
    пункт «а» части 2 статьи 105          105:2:а
    ч.2.1 ст.337                          337:2.1
    ч. 3 ст. 30, ч. 5 ст. 228.1 УК РФ     30:3-228.1:5   (two references: the stage, then the offence)
    ч.1 ст.30 п.«а» ч.2 ст.105            30:1-105:2:а   (the comma between the two is optional)
    ч. 3 ст. 30, 158:2                    30:3-158:2     (a canonical offence after a written stage)

The keywords may be abbreviated with or without the full stop (``ч.3``, ``ч 3``) or spelled out in any case
(``статья``/``статьи``, ``часть``/``части``, ``пункт``/``пункта``); ``УК``, ``УК РФ`` or ``Уголовного кодекса РФ``
may follow a reference. A second reference starts where a keyword repeats (``ч. 3 ст. 30 ч. 5 …``), after a comma or
dash, or once an art. 30 reference has both its article and its part.

Because codes are typed by hand: case is ignored (``158:3:В``), Latin letters that look like Cyrillic ones
(``a e o p c x y k`` and capitals such as ``B``, ``H``) are read as Cyrillic, ``ё`` as ``е``, white space and stray
full stops between tokens are ignored, quotes of any kind (``«»``, ``""``, ``„“``) are dropped, and superscripts are
decoded (``1¹`` → ``1.1``, ``е¹`` → ``е.1``, also ``е1``).

Every error is a ``ChargeCodeError`` whose text comes from ``MESSAGES`` (one English template per kind of error,
with ``{placeholders}``, ready to be translated from ``.key`` and ``.params``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

ErrorKind = Literal["syntax", "article", "part", "point", "date"]

# The forms a code may take, as the syntax errors show them.
FORMS = (
    "ARTICLE[:PART[:POINT]] such as 158, 158:3 or 158:3:в, or 30:3-ARTICLE… for an attempt (30:1-… for "
    "preparation), or as written in a charge: ст. 158 ч. 2, ч. 3 ст. 158 п. «в», п. «в» ч. 3 ст. 158, "
    "ч. 3 ст. 30, ч. 5 ст. 228.1 УК РФ"
)

# Every message of a ChargeCodeError: key -> (what is wrong, message, what was expected). English msgids with
# {placeholders}, in one place so that they can be put in the message catalog and translated.
MESSAGES: dict[str, tuple[ErrorKind, str, str]] = {
    "syntax.unreadable": ("syntax", "cannot read “{rest}”; expected {forms}", "{forms}"),
    "syntax.empty": ("syntax", "no code given; expected {forms}", "{forms}"),
    "syntax.no_article": ("syntax", "“{text}” names no article (ст.); expected {forms}", "{forms}"),
    "syntax.point_without_part": ("syntax", "a point (п.) needs its part (ч.); expected {forms}", "{forms}"),
    "syntax.bad_stage": (
        "syntax",
        "ч. {part} ст. 30 is not a stage of a crime: ч. 1 is preparation, ч. 3 attempt; expected {forms}",
        "{forms}",
    ),
    "syntax.stage_without_part": (
        "syntax",
        "ст. 30 needs its part: ч. 1 (preparation) or ч. 3 (attempt); expected {forms}",
        "{forms}",
    ),
    "syntax.stage_without_offence": (
        "syntax",
        "ст. 30 (preparation or attempt) needs the offence after it, as in ч. 3 ст. 30, ч. 1 ст. 158; expected {forms}",
        "{forms}",
    ),
    "syntax.too_many": (
        "syntax",
        "more than one offence in one code (separate charges with ;); expected {forms}",
        "{forms}",
    ),
    "article.unknown": ("article", "the Criminal Code has no article {article}", "an article of the Criminal Code"),
    "article.repealed": ("article", "article {article} has been repealed", "an article in force"),
    "part.none": ("part", "article {article} has no numbered parts", "article {article} without a part"),
    "part.unknown": ("part", "article {article} has parts {parts}", "a part of article {article}: {parts}"),
    "point.none": ("point", "part {part} of article {article} has no points", "part {part} without a point"),
    "point.unknown": (
        "point",
        "part {part} of article {article} has {points}",
        "a point of part {part} of article {article}: {points}",
    ),
    "date.in_force_from": (
        "date",
        "{provision} came into force on {since} (Federal Law {law}); it did not exist on {on}",
        "a provision in force on {on}",
    ),
    "date.in_force_from_no_law": (
        "date",
        "{provision} came into force on {since}; it did not exist on {on}",
        "a provision in force on {on}",
    ),
}
DID_YOU_MEAN = " Did you mean: {suggestions}?"


class ChargeCodeError(ValueError):
    """A code that cannot be read, or that names something the Criminal Code does not have (or not on that day).

    ``code`` is the value as given, ``what`` the kind of problem (``syntax``, ``article``, ``part``, ``point``,
    ``date``), ``expected`` a short text of what would have been valid, ``suggestions`` the nearest valid codes
    (canonical form), and ``key``/``params`` the ``MESSAGES`` template and its values, for translation.
    """

    def __init__(
        self,
        code: str,
        message: str,
        suggestions: tuple[str, ...] = (),
        what: ErrorKind = "syntax",
        expected: str = "",
        key: str = "",
        params: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.suggestions = suggestions
        self.what: ErrorKind = what
        self.expected = expected
        self.key = key
        self.params = dict(params or {})
        hint = DID_YOU_MEAN.format(suggestions=", ".join(suggestions)) if suggestions else ""
        super().__init__(f"charge {code!r}: {message}.{hint}")

    @classmethod
    def of(cls, key: str, code: str, suggestions: tuple[str, ...] = (), **params: str) -> ChargeCodeError:
        """The error of ``MESSAGES[key]``, filled with ``params``."""
        what, message, expected = MESSAGES[key]
        values = {"forms": FORMS, **params}
        return cls(code, message.format(**values), suggestions, what, expected.format(**values), key, params)

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data."""
        return {
            "code": self.code,
            "what": self.what,
            "message": self.message,
            "expected": self.expected,
            "suggestions": list(self.suggestions),
        }

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.code, self.message, self.suggestions, self.what, self.expected, self.key, self.params)
        return (type(self), args)


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

    def as_written(self) -> str:
        """The code as a charge writes it: ``п. «в» ч. 3 ст. 158``, ``ч. 3 ст. 30, ч. 5 ст. 228.1``."""
        refs = [f"п. «{self.point}»"] if self.point else []
        refs += [f"ч. {self.part}"] if self.part else []
        offence = " ".join([*refs, f"ст. {self.article}"])
        return f"ч. {self.inchoate} ст. 30, {offence}" if self.inchoate else offence

    def __str__(self) -> str:
        return f"30:{self.inchoate}-{self.offence}" if self.inchoate else self.offence


# --- reading a code ---------------------------------------------------------------------------------------------

_NUM = r"\d+(?:\.\d+)?"
_POINT = r"[а-я](?:\.\d+)?"
# The canonical form, after white space is removed; ``ч.``/``п.`` may mark the part and point (``158:ч.3:п.в``).
_CANONICAL = re.compile(
    rf"^(?:30:(?P<stage>[13])-)?(?P<article>{_NUM})(?::(?:ч\.?)?(?P<part>{_NUM})(?::(?:п\.?)?(?P<point>{_POINT}))?)?$"
)
_CANONICAL_STAGE = re.compile(r"^30:(?P<stage>\d+)-")

# Latin capitals, then (after lower-casing) small letters, that look like Cyrillic ones.
_LOOKALIKE_CAPITALS = str.maketrans(dict(zip("ABCEHKMOPTXY", "АВСЕНКМОРТХУ", strict=True)))
_LOOKALIKES = str.maketrans(dict(zip("aeopcxyk", "аеорсхук", strict=True)))
_QUOTES = str.maketrans(dict.fromkeys("«»\"„“”‟'‘’‚‹›", " "))
_SUPERSCRIPTS = str.maketrans({s: f".{d}" for s, d in zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True)})

# The tokens of the written form. A keyword must not run on into a letter (``пв`` is not ``п. в``).
_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("article", re.compile(r"(?:стать(?:я|и|е|ю|ей)|ст)(?![а-я])\.?")),
    ("part", re.compile(r"(?:част(?:ь|и|ью)|ч)(?![а-я])\.?")),
    ("point", re.compile(r"(?:пункт(?:а|е|у|ом)?|п)(?![а-я])\.?")),
)
_THE_CODE = re.compile(
    r"(?:ук|уголовного\s+кодекса)(?:\s*(?:рф|российской\s+федерации))?(?![а-я])\.?"
)  # УК, УК РФ, Уголовного кодекса Российской Федерации
_NUMBER = re.compile(rf"{_NUM}(?![\d])")
_LETTER = re.compile(r"([а-я])(?:\.?(\d+))?(?![а-я\d])")  # а, е.1, е1
_CANONICAL_REST = re.compile(rf"\s*:\s*(?P<part>{_NUM})(?:\s*:\s*(?P<point>{_POINT})(?![а-я\d]))?")
_SEPARATOR = re.compile(r"[,\-–—]")  # between the art. 30 reference and the offence
_SKIP = re.compile(r"[\s.]+")  # white space and stray full stops


@lru_cache(maxsize=65536)
def parse_charge(raw: str) -> ChargeCode:
    """Read one code's syntax, canonical or written (not whether the Code has it: see ``CriminalCode.check``)."""
    raw = str(raw)
    text = _normalize(raw)
    compact = "".join(text.split())
    match = _CANONICAL.match(compact)
    if match is not None:
        return ChargeCode(match["article"], match["part"], match["point"], match["stage"])
    stage = _CANONICAL_STAGE.match(compact)
    if stage is not None and stage["stage"] not in ("1", "3"):
        raise ChargeCodeError.of("syntax.bad_stage", raw, part=stage["stage"])
    return _combine(raw, _references(raw, text))


def _normalize(raw: str) -> str:
    text = raw.translate(_LOOKALIKE_CAPITALS).lower().translate(_LOOKALIKES).replace("ё", "е")
    return text.translate(_QUOTES).translate(_SUPERSCRIPTS)


class _Reader:
    """Walks through the normalized text token by token, skipping white space and stray full stops."""

    def __init__(self, raw: str, text: str) -> None:
        self.raw, self.text, self.pos = raw, text, 0

    def done(self) -> bool:
        self._skip()
        return self.pos >= len(self.text)

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        self._skip()
        match = pattern.match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()
        return match

    def keyword(self) -> tuple[str, int] | None:
        """The next keyword's kind and end, without taking it."""
        self._skip()
        for kind, pattern in _KEYWORDS:
            match = pattern.match(self.text, self.pos)
            if match is not None:
                return kind, match.end()
        return None

    def unreadable(self) -> ChargeCodeError:
        # Normalizing keeps the length unless superscripts were decoded: then show the normalized rest.
        rest = self.raw if len(self.raw) == len(self.text) else self.text
        return ChargeCodeError.of("syntax.unreadable", self.raw, rest=rest[self.pos :].strip())

    def _skip(self) -> None:
        if (match := _SKIP.match(self.text, self.pos)) is not None:
            self.pos = match.end()


def _references(raw: str, text: str) -> list[dict[str, str]]:
    """The references of a written code, each as {"article", "part", "point"} (those it names)."""
    reader = _Reader(raw, text)
    refs: list[dict[str, str]] = []
    while not reader.done():
        if reader.take(_THE_CODE) or reader.take(_SEPARATOR):
            continue  # УК РФ before or after a reference; a comma or dash between two
        refs.append(_reference(reader))
    if not refs:
        raise ChargeCodeError.of("syntax.empty", raw)
    return refs


def _reference(reader: _Reader) -> dict[str, str]:
    ref: dict[str, str] = {}
    start = reader.pos
    number = reader.take(_NUMBER)  # 158 ч. 3 п. в: the bare article number first
    if number is not None:
        ref["article"] = number[0]
        rest = reader.take(_CANONICAL_REST)  # or the canonical offence: ч. 3 ст. 30, 158:2
        if rest is not None:
            ref["part"] = rest["part"]
            if rest["point"]:
                ref["point"] = rest["point"]
            return ref
    while (found := reader.keyword()) is not None:
        kind, end = found
        if kind in ref or (ref.get("article") == "30" and "part" in ref):
            break  # a repeated keyword, or a complete art. 30 reference: the next reference begins
        reader.pos = end
        if kind == "point":
            letter = reader.take(_LETTER)
            if letter is None:
                raise reader.unreadable()
            ref[kind] = f"{letter[1]}.{letter[2]}" if letter[2] else letter[1]
        else:
            value = reader.take(_NUMBER)
            if value is None:
                raise reader.unreadable()
            ref[kind] = value[0]
    if not ref:
        raise reader.unreadable()
    if "article" not in ref:
        raise ChargeCodeError.of("syntax.no_article", reader.raw, text=reader.text[start : reader.pos].strip())
    return ref


def _combine(raw: str, refs: list[dict[str, str]]) -> ChargeCode:
    """One reference is the offence; two are the art. 30 stage and the offence, in either order."""
    if len(refs) > 2:
        raise ChargeCodeError.of("syntax.too_many", raw)
    stages = [r for r in refs if r["article"] == "30"]
    if len(refs) == 2 and len(stages) != 1:
        raise ChargeCodeError.of("syntax.too_many", raw)
    if len(refs) == 1 and stages:
        raise ChargeCodeError.of("syntax.stage_without_offence", raw)
    inchoate = None
    if stages:
        stage = stages[0]
        if "part" not in stage:
            raise ChargeCodeError.of("syntax.stage_without_part", raw)
        if stage["part"] not in ("1", "3") or "point" in stage:
            raise ChargeCodeError.of("syntax.bad_stage", raw, part=stage["part"])
        inchoate = stage["part"]
    offence = next(r for r in refs if r["article"] != "30" or not stages)
    if "point" in offence and "part" not in offence:
        raise ChargeCodeError.of("syntax.point_without_part", raw)
    return ChargeCode(offence["article"], offence.get("part"), offence.get("point"), inchoate)


# --- lists of codes ---------------------------------------------------------------------------------------------

_STAGE_REFERENCE = re.compile(r"(?<!\d)(?<!\d\.)30(?!\d|\.\d)")  # the number 30 alone (not 230, 30.1, 228.30)


def split_charges(raw: str) -> list[str]:
    """Split a list of codes (the bulk file's ``charges`` column): ``;`` always separates codes, ``,`` too, except
    the comma of a written attempt or preparation (``ч. 3 ст. 30, ч. 5 ст. 228.1``), which belongs to the code."""
    codes: list[str] = []
    for chunk in raw.split(";"):
        pieces = chunk.split(",")
        i = 0
        while i < len(pieces):
            piece = pieces[i].strip()
            while i + 1 < len(pieces) and _is_stage_only(piece):
                i += 1
                piece = f"{piece}, {pieces[i].strip()}"
            if piece:
                codes.append(piece)
            i += 1
    return codes


@lru_cache(maxsize=4096)
def _is_stage_only(piece: str) -> bool:
    """Whether ``piece`` is a written art. 30 reference alone (``ч. 3 ст. 30``), which the offence must follow."""
    if not _STAGE_REFERENCE.search(piece):
        return False
    text = _normalize(piece)
    if _CANONICAL.match("".join(text.split())):
        return False
    try:
        refs = _references(piece, text)
    except ChargeCodeError:
        return False
    return len(refs) == 1 and refs[0]["article"] == "30"


def article_key(article: str) -> tuple[int, int]:
    """Sort key that puts 205 < 205.1 < 205.5 < 206 (dotted articles sit between their neighbours)."""
    head, _, tail = article.partition(".")
    return int(head), int(tail) if tail else 0
