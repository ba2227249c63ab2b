"""A check as a URL: the facts in the query string, read into the case format and written back out.

The share link must reproduce a check exactly, so it carries every fact in a compact, readable form (``charge=158:3:в``,
``event=2024-10-20:contract_signed``, the CLI's ``DATE:KIND[:VALUE]``) and the fingerprint of the law it was made
under. The form's own fields (one row per event: ``ev_date``, ``ev_kind``, ``ev_value``) are read too, so the page
works without JavaScript; both end up as the same facts.
"""

from __future__ import annotations

import datetime as dt
import pprint
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from warexempt.law.catalog import Law


@dataclass
class EventRow:
    """One event as the form shows it: a date, a kind and the value the kind needs (ground, stage, charge)."""

    date: str = ""
    kind: str = ""
    value: str = ""

    def compact(self) -> str:
        return ":".join(x for x in (self.date, self.kind, self.value) if x)


@dataclass
class Facts:
    """The facts of one check as typed, before the rules path reads them (it names what is wrong)."""

    charges: list[str] = field(default_factory=list)
    stage: str = ""
    events: list[EventRow] = field(default_factory=list)
    offence_date: str = ""
    as_of: str = ""
    law: str = ""  # the fingerprint of the law the check was made under, from a shared link

    @property
    def empty(self) -> bool:
        return not (self.charges or self.stage or self.events)


def _values(query: Mapping[str, Sequence[str]], key: str) -> list[str]:
    return [v.strip() for v in query.get(key, [])]


def _row(text: str) -> EventRow:
    day, _, rest = text.partition(":")
    kind, _, value = rest.partition(":")
    return EventRow(day.strip(), kind.strip(), value.strip())


def read(query: Mapping[str, Sequence[str]]) -> Facts:
    """The facts in a query string (``parse_qs``-shaped: every key a list of values)."""
    events = [_row(e) for e in _values(query, "event") if e]
    dates, kinds, vals = (_values(query, k) for k in ("ev_date", "ev_kind", "ev_value"))
    for i in range(max(len(dates), len(kinds), len(vals))):
        row = EventRow(*(xs[i] if i < len(xs) else "" for xs in (dates, kinds, vals)))
        if row.date or row.kind or row.value:
            events.append(row)

    def first(key: str) -> str:
        return next(iter(_values(query, key)), "")

    return Facts(
        charges=[c for c in _values(query, "charge") if c],
        stage=first("stage"),
        events=events,
        offence_date=first("offence_date"),
        as_of=first("as_of"),
        law=first("law"),
    )


def case_data(facts: Facts, law: Law, today: dt.date) -> dict[str, Any]:
    """The facts in the acceptance case format (``facts``, and ``as_of``: today when not given)."""
    events = []
    kinds = {e.id for e in law.vocabulary.events}
    for row in facts.events:
        ev: dict[str, Any] = {"date": row.date, "kind": row.kind}
        if row.value:  # the value is the field the kind requires; an unknown kind is named by the case's check
            kind = row.kind.lower()
            requires = law.vocabulary.event(kind).requires if kind in kinds else []
            ev[requires[0] if requires else "ground"] = row.value
        events.append(ev)
    data: dict[str, Any] = {
        "charges": list(facts.charges),
        "stage": facts.stage or None,
        "events": events,
        "as_of": facts.as_of or today.isoformat(),
    }
    if facts.offence_date:
        data["offence_date"] = facts.offence_date
    return data


def share_query(facts: Facts, as_of: str, fingerprint: str, lang: str) -> str:
    """The query string that reproduces the check: every fact, the day, the law's fingerprint, the language."""
    pairs: list[tuple[str, str]] = [("charge", c) for c in facts.charges]
    pairs += [("stage", facts.stage)] if facts.stage else []
    pairs += [("event", e.compact()) for e in facts.events]
    pairs += [("offence_date", facts.offence_date)] if facts.offence_date else []
    pairs += [("as_of", as_of), ("law", fingerprint), ("lang", lang)]
    return urlencode(pairs)


_PLAIN = re.compile(r"[\w:.,@%+=/-]+")  # a word the shell takes as it is (Cyrillic letters too: 158:3:в)


def cli_snippet(facts: Facts, as_of: str, lang: str) -> str:
    """The same check as a ``warexempt check`` command line (the shell quoting done)."""
    words = ["warexempt", "check"]
    for c in facts.charges:
        words += ["--charge", c]
    if facts.stage:
        words += ["--stage", facts.stage]
    for e in facts.events:
        words += ["--event", e.compact()]
    if facts.offence_date:
        words += ["--offence-date", facts.offence_date]
    words += ["--as-of", as_of, "--lang", lang, "--what-if"]
    return " ".join(w if _PLAIN.fullmatch(w) else shlex.quote(w) for w in words)


def python_snippet(data: Mapping[str, Any], lang: str) -> str:
    """The same check from Python (``warexempt.check``/``what_if`` and the view the page shows)."""
    facts = pprint.pformat(dict(data), sort_dicts=False, width=100)
    return (
        "import warexempt\n"
        "from warexempt.explain.views import what_if_view\n\n"
        f"case = {facts}\n"
        "decision, branches = warexempt.what_if(case)\n"
        "print(decision.outcome, decision.reasons)\n"
        f'view = what_if_view(decision, branches, lang="{lang}")'
    )
