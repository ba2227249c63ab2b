"""What the pages show, as plain data: a check with its what-if branches, the law, the timeline, charge codes.

The pages decide nothing and refuse nothing of their own: they call the API's plain functions
(``warexempt.api.services``), which return the shared views of ``warexempt.explain.views`` — the same object that
``warexempt check --json`` prints and ``POST /api/v1/check`` returns — and name bad input in the same words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from warexempt.api import services
from warexempt.api.problems import ApiProblem, translator
from warexempt.explain.messages import field as field_name
from warexempt.law.catalog import Law


@dataclass
class Refusal:
    """One thing wrong with the facts, worded for the page: where (the field and its name), the value, why."""

    field: str
    where: str
    value: str | None
    detail: str


@dataclass
class Answer:
    """A check's answer (``what_if_view``), or the refusals when the facts cannot be read or cannot be true."""

    view: dict[str, Any] | None = None
    refusals: list[Refusal] = field(default_factory=list)


def check(facts: dict[str, Any], lang: str, law: Law | None = None) -> Answer:
    """The answer for ``facts`` (the case format of the acceptance README) with every next step, or why not."""
    try:
        return Answer(view=services.check(facts, lang, with_what_if=True, law=law))
    except ApiProblem as exc:
        say = translator(lang)
        return Answer(
            refusals=[
                Refusal(p.field, field_name(p.field, lang) if p.field else "", p.value, p.detail(say))
                for p in exc.problems
            ]
        )


def codes(query: str, lang: str, limit: int = 15, law: Law | None = None) -> list[dict[str, str]]:
    """Articles and parts for an autocomplete list, ``{"code", "label"}`` in ``lang``; once a part is typed
    (``158:3``), its points as well."""
    out = []
    for e in services.codes(query, lang, limit, law):
        text = f"{e['label']} — {e['title']}"
        out.append({"code": e["code"], "label": text})
        if e["part"] and ":" in query:
            out += [{"code": f"{e['code']}:{p}", "label": f"{e['code']}:{p} — {e['title']}"} for p in e["points"]]
    return out[:limit]


def law_on(day: dt.date, lang: str, law: Law | None = None) -> dict[str, Any]:
    """The law in force on ``day`` (``law_view``)."""
    return services.law_in_force(day.isoformat(), lang, law)


def timeline(lang: str, law: Law | None = None) -> list[dict[str, Any]]:
    """Every instrument version (``timeline_view``)."""
    return services.timeline(lang, law)
