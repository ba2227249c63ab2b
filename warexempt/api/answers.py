"""The JSON bytes of a ``/check`` answer, worded once per kind of decision and filled with each case's own values.

Writing an answer (``explain.views.decision_view``: the outcome's name, the citations in both languages, the
explanation's steps, the trace; then the JSON) costs more than deciding the case. Yet two cases with the same
decision — the same row apart from its dates, the same stage and deciding event, in the same language — get the
same words, apart from the case's id and dates. So the answer of the first such case is written once with a
placeholder for each of those values (``decision_view`` and ``explain.render.explain`` with a ``day`` that writes a
placeholder for each of the case's dates), kept as its JSON cut at the placeholders, and every later case of that
kind gets those bytes with its own id and dates put in. Nothing is kept per case or per request body: the key is the
decision's kind (``wording_key``), never the case's values, so it serves any user's data. Every template is checked
once, when it is made, against the answer written the usual way for the case that made it; a template that does not
give the same bytes is never used (its kind is answered the usual way). The first answer of a kind costs about
twice the usual (written both ways); every later one a tenth of it.

``to_json`` (pydantic-core, Rust) writes what ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` writes for
an answer (no floats): ``tests/test_api_answers.py`` compares the filled answers with that, for many cases.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any

from pydantic_core import to_json

from warexempt.explain.i18n import date
from warexempt.explain.render import _event_key, explain
from warexempt.explain.views import decision_view
from warexempt.facade import Decision
from warexempt.law.catalog import Law, per_law
from warexempt.rules.case import Case

# What a template leaves open: the answer's own fields (as whole JSON values), and the case's dates in the words.
CASE_ID, AS_OF, DECISIVE, DECIDED_ON = range(4)
WORD_DECISIVE, WORD_DECIDED_ON, WORD_OFFENCE, WORD_AS_OF = range(4, 8)
_MARK = [chr(0xE000 + slot) for slot in range(8)]  # (private-use characters: no law text or translation has them)
_TOP = {"case_id": CASE_ID, "as_of": AS_OF, "decisive_date": DECISIVE, "decided_on": DECIDED_ON}
_CUT = re.compile(
    b"|".join(
        [re.escape(b'"' + _MARK[s].encode() + b'"') for s in _TOP.values()]
        + [re.escape(_MARK[s].encode()) for s in range(WORD_DECISIVE, WORD_AS_OF + 1)]
    )
)
_SLOT_OF = {b'"' + _MARK[s].encode() + b'"': s for s in _TOP.values()} | {
    _MARK[s].encode(): s for s in range(WORD_DECISIVE, WORD_AS_OF + 1)
}
# The row's fields a template leaves open; every other field of the row is part of the key, as it is.
_ROW_OPEN = frozenset({"case_id", "as_of", "decisive_date", "decided_on"})
# The case's fields the answer reads besides its id and dates: its stage, and of its events only the deciding
# one's kind and ground (``render._event_key``: the explanation names it). Its charges are not among them: a charge
# the answer names is in the row's reasons (an excluded code), which the key holds.
_CASE_KEYED = tuple(f for f in Case.model_fields if f not in ("case_id", "as_of", "offence_date", "events", "charges"))
# Kinds of decision kept per law and language pair (1,500 varied histories make about 1,000 a language, the
# benchmark's 500 cases 18); past that, start again.
MAX_TEMPLATES = 4096


def wording_key(case: Case, row: dict[str, Any], lang: str) -> Hashable:
    """What the words of an answer depend on besides the case's id and dates: the row apart from its dates, the
    case's stage, the deciding event's kind and ground, which dates are missing, the language. A wording that depends on
    a date's value says so here: with no route on the decisive day, the explanation names the law that gave one
    later, so that day is part of the key."""
    parts: list[Any] = [lang, case.offence_date is None, row["decisive_date"] is None, row["decided_on"] is None]
    parts += [getattr(case, f) for f in _CASE_KEYED]
    parts += [tuple(v) if v.__class__ is list else v for k, v in row.items() if k not in _ROW_OPEN]
    parts.append(_event_key(case, row["deciding_event"]))
    if row["status"] == "no_route":
        parts.append(row["decisive_date"])
    return tuple(parts)


class _Day(dt.date):
    """One of the case's dates, carrying which one it is: it compares as the date does, and ``_placeholders``
    writes its placeholder where the explanation prints it."""

    slot: int

    def __new__(cls, day: dt.date, slot: int) -> _Day:
        made = super().__new__(cls, day.year, day.month, day.day)
        made.slot = slot
        return made


def _placeholders(day: dt.date, lang: str) -> str:
    return _MARK[day.slot] if isinstance(day, _Day) else date(day, lang)


@lru_cache(maxsize=8192)
def _quoted(day: dt.date | None) -> bytes:
    return b"null" if day is None else b'"' + day.isoformat().encode() + b'"'


@lru_cache(maxsize=8192)
def _words(day: dt.date | None, lang: str) -> bytes:
    return b"" if day is None else to_json(date(day, lang))[1:-1]


_FILL: dict[int, Callable[[Case, dict[str, Any], str], bytes]] = {
    CASE_ID: lambda case, row, lang: to_json(case.case_id),
    AS_OF: lambda case, row, lang: _quoted(case.as_of),
    DECISIVE: lambda case, row, lang: _quoted(row["decisive_date"]),
    DECIDED_ON: lambda case, row, lang: _quoted(row["decided_on"]),
    WORD_DECISIVE: lambda case, row, lang: _words(row["decisive_date"], lang),
    WORD_DECIDED_ON: lambda case, row, lang: _words(row["decided_on"], lang),
    WORD_OFFENCE: lambda case, row, lang: _words(case.offence_date, lang),
    WORD_AS_OF: lambda case, row, lang: _words(case.as_of, lang),
}


class Template:
    """An answer's JSON cut at its open values: ``pieces`` alternate bytes and slot numbers."""

    def __init__(self, raw: bytes) -> None:
        self.pieces: list[bytes | int] = []
        at = 0
        for m in _CUT.finditer(raw):
            self.pieces += [raw[at : m.start()], _SLOT_OF[m.group()]]
            at = m.end()
        self.pieces.append(raw[at:])
        self._fills = [_FILL[p] for p in self.pieces if isinstance(p, int)]
        self._texts = [p for p in self.pieces if isinstance(p, bytes)]

    def fill(self, case: Case, row: dict[str, Any], lang: str) -> bytes:
        out = [self._texts[0]]
        for fill, text in zip(self._fills, self._texts[1:], strict=True):
            out += (fill(case, row, lang), text)
        return b"".join(out)


def _make(case: Case, row: dict[str, Any], lang: str, law: Law) -> tuple[Template | None, bytes]:
    """The template of this case's kind of answer (None if it does not give this case's answer), and the answer."""
    view = decision_view(Decision(case, row, law), lang)
    answer = to_json(view)
    dated = dict(row)
    for field, slot in (("decisive_date", WORD_DECISIVE), ("decided_on", WORD_DECIDED_ON)):
        if row[field] is not None:
            dated[field] = _Day(row[field], slot)
    case_dates: dict[str, Any] = {"as_of": _Day(case.as_of, WORD_AS_OF)}
    if case.offence_date is not None:
        case_dates["offence_date"] = _Day(case.offence_date, WORD_OFFENCE)
    steps = explain(dated, case.model_copy(update=case_dates), law, lang, day=_placeholders)
    view["explanation"] = [s.text for s in steps]
    for field, slot in _TOP.items():
        if field == "case_id" or view[field] is not None:
            view[field] = _MARK[slot]
    template = Template(to_json(view))
    return (template if template.fill(case, row, lang) == answer else None), answer


@per_law
def _templates(law: Law) -> dict[Hashable, Template | None]:
    return {}


def answer_json(case: Case, row: dict[str, Any], lang: str, law: Law) -> bytes:
    """The JSON of ``services.answer(case, row, lang, law)``, byte for byte, from its kind's template."""
    kept = _templates(law)
    try:
        key = wording_key(case, row, lang)
        template = kept[key]
    except TypeError:  # (a value that cannot be a key: written the usual way)
        return to_json(decision_view(Decision(case, row, law), lang))
    except KeyError:
        if len(kept) >= MAX_TEMPLATES:
            kept.clear()
        template, answer = _make(case, row, lang, law)
        kept[key] = template
        return answer
    if template is None:
        return to_json(decision_view(Decision(case, row, law), lang))
    return template.fill(case, row, lang)
