"""The plain functions behind the API and the web page: read a case, decide cases, the law, the timeline, the codes.

Each returns the shared views (``explain.views``) as plain data, so the JSON answer, the page and ``warexempt check
--json`` are one object. Nothing here decides: the answers come from ``rules.engine.decide`` (through the same
``encode_cases`` the facade uses), the what-if from ``facade.what_if``. Bad input raises ``ApiProblem`` naming every
field, value and what was expected, as the CLI names them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warexempt._marks import N_
from warexempt.api.problems import ApiProblem
from warexempt.explain.views import decision_view, law_view, timeline_view, what_if_view
from warexempt.facade import Decision, what_if
from warexempt.law.catalog import Law, bundled_law, per_law
from warexempt.law.codes import ChargeCodeError
from warexempt.law.tables import tables
from warexempt.rules.case import Case, CaseError, Problem
from warexempt.rules.charges import charge_problems as check_codes
from warexempt.rules.engine import ChargeErrors, decide
from warexempt.rules.frames import encode_cases

MAX_CASES = 10_000  # cases in one /evaluate body


def law_of(law: Law | None = None) -> Law:
    return law or bundled_law()


def charge_problems(charges: object, named: set[str] | None = None, law: Law | None = None) -> list[Problem]:
    """Each charge code against the Criminal Code catalogue (``rules.charges.charge_problems``)."""
    return check_codes(charges, law_of(law), named)


def parse_case(data: Any, where: str = "", law: Law | None = None) -> Case:
    """One case from JSON data (the acceptance format's ``facts`` at the top level, plus ``as_of`` and an optional
    ``case_id``); ``ApiProblem`` (422) with every problem, each field prefixed with ``where`` (``cases[3].``)."""
    if not isinstance(data, dict):
        shown = type(data).__name__ if not isinstance(data, str | int | float) else str(data)
        raise ApiProblem(
            422,
            "invalid_value",
            [
                Problem(
                    where.rstrip(".") or "case",
                    "invalid_value",
                    shown,
                    N_("expected the facts of one case ({fields}), not {value}"),
                    {"fields": ", ".join(Case.model_fields), "value": repr(shown)},
                )
            ],
        )
    try:
        case = Case.parse(data)
    except CaseError as exc:
        named = {p.field for p in exc.details}
        found = [*exc.details, *charge_problems(data.get("charges"), named, law)]
        raise ApiProblem(422, "invalid_case", [p.at(where + p.field) for p in found]) from None
    bad = charge_problems(case.charges, law=law)
    for i, event in enumerate(case.events, 1):  # a new offence's code, checked as the charges are
        if event.charge is not None:
            bad += [p.at(f"events[{i}].charge") for p in charge_problems([event.charge], law=law)]
    if bad:
        raise ApiProblem(422, "invalid_case", [p.at(where + p.field) for p in bad])
    return case


def _impossible(case: Case, error: object, where: str) -> ApiProblem:
    return ApiProblem(422, "impossible_history", CaseError([("events", str(error))], case.case_id).details).at(where)


def decide_rows(cases: Sequence[Case], law: Law | None = None) -> list[dict[str, object] | ApiProblem]:
    """The decision row of each case, from ONE call of the engine over all of them (the micro-batcher's and
    ``/evaluate``'s path); a case whose history cannot be true gets its problem instead, the others their rows."""
    law = law_of(law)
    if not cases:
        return []
    t = tables(law)
    try:
        rows = decide(encode_cases(list(cases), t), t).rows()
    except (ChargeErrors, ChargeCodeError) as exc:  # a code only the engine refuses: one by one, so that one case
        if len(cases) == 1:  # cannot spoil the others
            texts = exc.rows.values() if isinstance(exc, ChargeErrors) else [str(exc).removeprefix("charge ")]
            said = [Problem("charges", "invalid_charge", None, "{text}", {"text": m}) for m in texts]
            raise ApiProblem(422, "invalid_case", charge_problems(cases[0].charges, law=law) or said) from None
        return [_alone(c, law) for c in cases]
    return [_impossible(c, r["error"], "") if r["error"] else r for c, r in zip(cases, rows, strict=True)]


def _alone(case: Case, law: Law) -> dict[str, object] | ApiProblem:
    try:
        return decide_rows([case], law)[0]
    except ApiProblem as exc:
        return exc


def answer(case: Case, row: dict[str, object], lang: str = "en", law: Law | None = None) -> dict[str, Any]:
    """The ``check --json`` object of one decided case."""
    return decision_view(Decision(case, row, law_of(law)), lang)


def check(data: Any, lang: str = "en", with_what_if: bool = False, law: Law | None = None) -> dict[str, Any]:
    """One case in, its answer out (``decision.schema.json``), with the what-if branches when asked."""
    law = law_of(law)
    case = parse_case(data, law=law)
    if with_what_if:
        try:
            decision, branches = what_if(case, law=law)
        except CaseError as exc:
            raise ApiProblem(422, "impossible_history", exc.details) from None
        except (ChargeErrors, ChargeCodeError) as exc:  # (parse_case checks every code the case names)
            raise ApiProblem(
                422, "invalid_case", [Problem("charges", "invalid_charge", None, "{text}", {"text": str(exc)})]
            ) from None
        return what_if_view(decision, branches, lang)
    found = decide_rows([case], law)[0]
    if isinstance(found, ApiProblem):
        raise found
    return answer(case, found, lang, law)


def evaluate(items: Any, lang: str = "en", law: Law | None = None) -> list[dict[str, Any]]:
    """Up to ``MAX_CASES`` cases in one call of the engine; one answer per case, in order: the decision, or the
    problem document of a case that cannot be read or cannot be true (the others are decided all the same)."""
    law = law_of(law)
    if not isinstance(items, list):
        raise ApiProblem(
            422,
            "invalid_value",
            [
                Problem(
                    "cases",
                    "invalid_value",
                    type(items).__name__,
                    N_("expected a list, not {value}"),
                    {"value": repr(type(items).__name__)},
                )
            ],
        )
    if len(items) > MAX_CASES:
        raise too_many(len(items))
    answers: list[dict[str, Any] | None] = [None] * len(items)
    good: list[tuple[int, Case]] = []
    for i, item in enumerate(items):
        try:
            good.append((i, parse_case(item, f"cases[{i + 1}].", law)))
        except ApiProblem as exc:
            answers[i] = exc.document(lang)
    rows = decide_rows([c for _, c in good], law)
    for (i, case), row in zip(good, rows, strict=True):
        answers[i] = (
            row.at(f"cases[{i + 1}].").document(lang) if isinstance(row, ApiProblem) else answer(case, row, lang, law)
        )
    return [a for a in answers if a is not None]


def too_many(count: int) -> ApiProblem:
    return ApiProblem(
        413,
        "too_many_cases",
        [
            Problem(
                "cases",
                "invalid_value",
                str(count),
                N_("{count} cases in one request; expected at most {limit} (send a file to /api/v1/bulk instead)"),
                {"count": str(count), "limit": str(MAX_CASES)},
            )
        ],
        title=N_("Too many cases"),
    )


def day(value: str | None, field: str = "as_of") -> dt.date:
    """A ``YYYY-MM-DD`` query value (today when absent); a 422 naming it otherwise."""
    if value is None or not value.strip():
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ApiProblem(
            422,
            "not_a_date",
            [
                Problem(
                    field,
                    "not_a_date",
                    value,
                    N_("{value} is not a date (expected YYYY-MM-DD)"),
                    {"value": repr(value)},
                )
            ],
        ) from None


def law_in_force(as_of: str | None, lang: str = "en", law: Law | None = None) -> dict[str, Any]:
    """The law in force on a day (``explain.views.law_view``)."""
    return law_view(law_of(law), day(as_of), lang)


def timeline(lang: str = "en", law: Law | None = None) -> list[dict[str, Any]]:
    """Every instrument version on one time line (``explain.views.timeline_view``)."""
    return timeline_view(law_of(law), lang)


# ---------------------------------------------------------------------------------------------------------------
# /codes: the Criminal Code's articles and parts, for autocomplete
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodeEntry:
    code: str  # 158, 158:3
    article: str
    part: str | None
    points: tuple[str, ...]
    title_ru: str
    title_en: str
    url: str | None
    words: str  # the titles, lower-case, for word search


@per_law
def _code_entries(law: Law) -> list[CodeEntry]:
    out = []
    for art in law.criminal_code.iter_in_force():
        words = f"{art.title_ru} {art.title_en}".lower().replace("ё", "е")
        out.append(CodeEntry(art.number, art.number, None, (), art.title_ru, art.title_en, art.source_url, words))
        for part in art.parts or ():
            if part.label:
                code = f"{art.number}:{part.label}"
                out.append(
                    CodeEntry(
                        code, art.number, part.label, part.points, art.title_ru, art.title_en, art.source_url, words
                    )
                )
    return out


_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)(?:\s*[:.\s]\s*(\d+))?\s*$")
_WORD = re.compile(r"\w+")


def codes(q: str | None, lang: str = "en", limit: int = 20, law: Law | None = None) -> list[dict[str, Any]]:
    """Articles and parts whose number starts with ``q`` (``158``, ``158:3``, ``158 3``) or whose title holds every
    word of ``q`` (Russian or English, any case), the article before its parts, in the Code's order."""
    from warexempt.explain.citations import cite

    law = law_of(law)
    text = (q or "").strip()
    entries = _code_entries(law)
    if not text:
        found = [e for e in entries if e.part is None]
    elif m := _NUMBER.match(text):
        article, part = m.group(1), m.group(2)
        if part is not None:
            found = [e for e in entries if e.article == article and (e.part or "").startswith(part)]
        else:
            found = [e for e in entries if e.article == article or (e.part is None and e.article.startswith(article))]
    else:
        words = [w.replace("ё", "е") for w in _WORD.findall(text.lower())]
        found = [e for e in entries if e.part is None and all(w in e.words for w in words)]
    out = []
    for e in found[: max(1, min(limit, 100))]:
        c = cite("uk:" + e.code, law)
        out.append(
            {
                "code": e.code,
                "article": e.article,
                "part": e.part,
                "points": list(e.points),
                "label": c.text(lang),
                "title": e.title_ru if lang == "ru" else e.title_en,
                "url": e.url,
            }
        )
    return out
