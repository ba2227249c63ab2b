"""A case's history as a timeline, each step with the law's answer after it and its citations, in Russian and
English; and the words for what a new event did (``lifecycle.step``).

Each step is the engine's decision on the history up to that day (every event of the day, so that same-day events
are ordered by the law, RULES.md §4), all days decided in one engine call. The words and citations come from
``explain`` (``render.label``, ``render.outcome_label``, ``views.citation_view``); nothing here decides.
"""

from __future__ import annotations

from typing import Any

from warexempt._marks import N_
from warexempt.explain.citations import cite
from warexempt.explain.i18n import date, gettext
from warexempt.explain.messages import translate
from warexempt.explain.render import label, outcome_label
from warexempt.explain.views import citation_view
from warexempt.law.catalog import Law
from warexempt.lifecycle.step import ANSWER, StepResult, statuses
from warexempt.rules.case import Case, Event


def event_label(event: Event, law: Law, lang: str) -> str:
    """An event in words: its kind, and its ground, stage or charge."""
    vocab = law.vocabulary
    text = label(vocab.events, event.kind, lang)
    if event.ground:
        text += f" ({label(vocab.discharge_grounds, event.ground, lang)})"
    if event.stage:
        text += f" → {label(vocab.stages, event.stage, lang)}"
    if event.charge:
        text += f" ({cite('uk:' + event.charge, law).text(lang)})"
    return text


def _answer(row: dict[str, Any], law: Law, lang: str, stage: str) -> dict[str, Any]:
    return {
        "outcome": row["outcome"],
        "outcome_label": outcome_label(law, str(row["outcome"]), lang, row["stage"] or stage),
        "eligible": row["eligible"],
        "record_cleared": row["record_cleared"],
        "reasons": list(row["reasons"] or []),
        "citations": [citation_view(cite(r, law), lang) for r in row["reasons"] or []],
    }


def timeline(case: Case, law: Law, lang: str = "en") -> list[dict[str, Any]]:
    """Every event of ``case`` (its effective history) in date order, with the answer after its day."""
    ordered = sorted(enumerate(case.events), key=lambda p: (p[1].date, p[0]))
    days = sorted({e.date for e in case.events})
    prefixes = [case.model_copy(update={"events": [e for e in case.events if e.date <= d], "as_of": d}) for d in days]
    rows = dict(zip(days, statuses(prefixes, law), strict=True))
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for _, event in ordered:
        row = rows[event.date]
        step: dict[str, Any] = {
            "event_id": event.id,
            "date": event.date.isoformat(),
            "kind": event.kind,
            "event": event_label(event, law, lang),
        }
        if row["error"]:
            step |= {"error": translate(str(row["error"]), lang), "outcome": None, "citations": [], "changed": False}
        else:
            step |= _answer(row, law, lang, case.stage)
            step["changed"] = previous is None or any(previous[k] != row[k] for k in ANSWER)
            previous = row
        out.append(step)
    return out


def step_view(result: StepResult, law: Law, lang: str = "en") -> dict[str, Any]:
    """What adding an event did, as plain data with its words: ``effect``, ``message``, the answers before and
    after (with citations) and, for a refused event, its problems."""
    _ = lambda msg, **kw: gettext(lang, msg, **kw)  # noqa: E731
    event = event_label(result.event, law, lang)
    day = date(result.event.date, lang)
    stage = result.history.stage
    view: dict[str, Any] = {
        "effect": result.effect,
        "event_id": result.event.id,
        "supersedes": result.supersedes,
        "judged_on": result.day.isoformat(),
    }
    if result.refused:
        view["message"] = _("Refused: {event} on {day} cannot be true of this case.", event=event, day=day)
        view["problems"] = [{"field": f, "detail": translate(m, lang)} for f, m in result.problems]
        return view
    before = _answer(result.before, law, lang, stage)
    after = _answer(result.after, law, lang, stage)
    view |= {"before": before, "after": after, "why": result.why}
    cited = ", ".join(c["text"] for c in after["citations"])
    if result.effect == "changed":
        view["message"] = _(
            "Recorded: {event} on {day} changes the status from {before} to {after} ({citations}).",
            event=event,
            day=day,
            before=before["outcome_label"],
            after=after["outcome_label"],
            citations=cited or "—",
        )
    else:
        template = WHY[result.why] if result.why else WHY["no_rule"]
        view["message"] = _(template, event=event, day=day, outcome=after["outcome_label"])
        if cited:
            view["message"] += " " + _("Provisions: {citations}.", citations=cited)
    return view


WHY = {
    "final": N_("Recorded, with no effect: the case had already ended ({outcome}); {event} on {day} changes nothing."),
    "not_acted_on": N_(
        "Recorded, with no effect: the law in force on {day} does not act on {event}; the status stays {outcome}."
    ),
    "no_rule": N_(
        "Recorded, with no effect: no rule of the law acts on {event} on {day} at this point of the case; "
        "the status stays {outcome}."
    ),
}
