"""Plain-data views that every interface formats: a decision, its what-if branches, the law in force, the timeline.

The CLI prints them, the HTTP API will return them as JSON and the web page will render them: none of them decides
or words anything of its own. ``decision.schema.json`` beside this file describes ``decision_view`` (with
``what_if`` when asked); tests check every answer against it.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warexempt._marks import N_
from warexempt.explain.citations import Citation, cite
from warexempt.explain.i18n import date, gettext, pick
from warexempt.explain.render import is_convict, label, outcome_label
from warexempt.law.catalog import Law

if TYPE_CHECKING:
    from warexempt.facade import Decision
    from warexempt.lifecycle.whatif import Branch

SCHEMA = Path(__file__).resolve().parent / "decision.schema.json"

# What the timeline's flags mean (RULES.md §7), as people read them.
FLAGS = {
    "non_statutory": N_("non-statutory"),
    "unconfirmed": N_("unconfirmed"),
    "documented_only": N_("documented only"),
}


@lru_cache(maxsize=1)
def decision_schema() -> dict[str, Any]:
    """The JSON Schema of ``decision_view`` (draft 2020-12)."""
    result: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return result


def citation_view(c: Citation, lang: str) -> dict[str, Any]:
    return {"id": c.id, "text": c.text(lang), "ru": c.ru, "en": c.en, "url": c.url}


def _day(value: object) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else None


def decision_view(decision: Decision, lang: str = "en") -> dict[str, Any]:
    """One decision: the answer, its reasons as ids and citations, what it rests on, the steps, the trace."""
    row = decision.row
    return {
        "case_id": decision.case.case_id,
        "as_of": decision.case.as_of.isoformat(),
        "eligible": decision.eligible,
        "outcome": decision.outcome,
        "outcome_label": outcome_label(decision.law, decision.outcome, lang, row["stage"] or decision.case.stage),
        "record_cleared": decision.record_cleared,
        "reasons": decision.reasons,
        "citations": [citation_view(c, lang) for c in decision.citations()],
        "unconfirmed": decision.unconfirmed,
        "warnings": decision.warnings,
        "decisive_date": _day(row["decisive_date"]),
        "decided_on": _day(row["decided_on"]),
        "explanation": [s.text for s in decision.explain(lang)],
        "trace": decision.trace,
    }


def branch_view(branch: Branch, law: Law, lang: str = "en") -> dict[str, Any]:
    """One what-if branch: the events it adds and where they lead, citations shaped as a decision's."""
    return {
        "events": [{"kind": k, "ground": g} for k, g in branch.events],
        "label": " → ".join(
            label(law.vocabulary.events, k, lang)
            + (f" ({label(law.vocabulary.discharge_grounds, g, lang)})" if g else "")
            for k, g in branch.events
        ),
        "on": branch.on.isoformat(),
        "outcome": branch.outcome,
        "outcome_label": outcome_label(law, branch.outcome, lang, branch.stage),
        "eligible": branch.eligible,
        "record_cleared": branch.record_cleared,
        "reasons": list(branch.reasons),
        "citations": [citation_view(cite(r, law), lang) for r in branch.reasons],
        "unconfirmed": list(branch.unconfirmed),
    }


def what_if_view(decision: Decision, branches: list[Branch], lang: str = "en") -> dict[str, Any]:
    """A decision with every next step the law allows, and (``what_if_note``) why there is none, if none."""
    return {
        **decision_view(decision, lang),
        "what_if": [branch_view(b, decision.law, lang) for b in branches],
        "what_if_note": what_if_note(decision, branches, lang),
    }


# Why a case's answer stops the law on its day (the trace's ``status``), for a sentence "because on that day …".
_CLOSED_BECAUSE = {
    "no_route": N_("no law gave a route to a case at this stage: {stage}"),
    "excluded": N_("a charge is on the list of offences the law excludes ({codes})"),
    "gate_gravity": N_("only crimes of small or medium gravity qualified"),
    "gate_offence": N_("only offences committed before the law took effect qualified"),
}


def what_if_note(decision: Decision, branches: list[Branch], lang: str = "en") -> str | None:
    """Why the what-if lists no next step, in plain words (``lifecycle.whatif.why_no_branches``); ``None`` when it
    lists some."""
    from warexempt.lifecycle.whatif import why_no_branches

    law, row = decision.law, decision.row
    why = why_no_branches(decision.case, row, law, branches)
    if why is None:
        return None
    _ = lambda msg, **kw: gettext(lang, msg, **kw)  # noqa: E731
    if why == "error":
        return _("No next step can be worked out: the facts cannot be true ({error}).", error=str(row["error"]))
    if why == "impossible":
        return _("No next step can be worked out: every step the law offers would make a history that cannot be true.")
    stage = row["stage"] or decision.case.stage
    outcome = outcome_label(law, decision.outcome, lang, stage)
    if why == "final":
        return _(
            "No next step: the case has already ended ({outcome}, {day}), and nothing that happens later changes that.",
            outcome=outcome,
            day=date(row["decided_on"], lang),
        )
    status = str(row["status"])
    version = law.list_version(row["list_version"]) if row["list_version"] else None
    listed = version.id if version else None
    codes = ", ".join(cite(r, law).text(lang) for r in decision.reasons if r != listed)
    because = _(
        _CLOSED_BECAUSE.get(status, N_("the law gave this case no route")),
        stage=label(law.vocabulary.stages, stage, lang),
        codes=codes,
    )
    if why == "refused":
        event = _event_label(decision, row["deciding_event"], lang)
        return _(
            "No next step is listed: the latest attempt ({event}, {day}) was refused, because on that day {because}. "
            "A new attempt is judged by the law in force on its own day.",
            event=event,
            day=date(row["decisive_date"], lang),
            because=because,
        )
    return _(
        "No next step is listed: the case is not covered, because on {day} {because}.",
        day=date(row["decisive_date"], lang),
        because=because,
    )


def _event_label(decision: Decision, event_id: str | None, lang: str) -> str:
    """The case's event with this id, named in ``lang`` (its ground too)."""
    vocab = decision.law.vocabulary
    for event, eid in zip(decision.case.events, decision.case.event_ids(), strict=True):
        if eid == event_id:
            text = label(vocab.events, event.kind, lang)
            return text + (f" ({label(vocab.discharge_grounds, event.ground, lang)})" if event.ground else "")
    return event_id or ""


def law_view(law: Law, day: dt.date, lang: str = "en") -> dict[str, Any]:
    """The law in force on ``day``: the route of each stage, the exclusion lists, the event rules, the facts that
    are not confirmed, the instruments and their sources."""
    view = law.as_of(day)
    routes = []
    for stage, entry in view.routes.items():
        route = entry.route if entry else None
        routes.append(
            {
                "stage": stage,
                "stage_label": label(law.vocabulary.stages, stage, lang),
                "id": entry.id if entry else None,
                "covered": bool(route and route.covered),
                "citations": [citation_view(cite(r, law), lang) for r in (route.reasons if route else [])],
                "instrument": pick(entry.window.instrument.title, lang) if entry else None,
            }
        )
    lists = [
        {
            "id": v.version,
            "citation": citation_view(cite(list_id, law), lang),
            "items": [
                {
                    **citation_view(cite("uk:" + ":".join(x for x in (a, p, q) if x), law), lang),
                    "category": cat,
                    "category_label": label(law.vocabulary.categories, cat, lang),
                }
                for a, p, q, cat in v.patterns
            ],
            "sources": v.source_urls,
        }
        for list_id, v in view.exclusion_lists.items()
    ]
    rules = [
        {
            "id": r.id,
            "stages": r.rule.stages,
            "events": r.rule.event,
            "grounds": r.rule.grounds,
            "outcome": r.rule.outcome,
            "stage_labels": [label(law.vocabulary.stages, s, lang) for s in r.rule.stages],
            "event_labels": [label(law.vocabulary.events, e, lang) for e in r.rule.event],
            "ground_labels": [label(law.vocabulary.discharge_grounds, g, lang) for g in r.rule.grounds],
            "outcome_label": outcome_label(law, r.rule.outcome, lang, _rule_stage(law, r.rule.stages)),
            "citations": [citation_view(cite(x, law), lang) for x in r.rule.reasons],
        }
        for r in view.event_rules
    ]
    return {
        "as_of": day.isoformat(),
        "law_fingerprint": law.fingerprint,
        "routes": routes,
        "exclusion_lists": lists,
        "event_rules": rules,
        "unconfirmed": [{"id": f.id, "text": pick(f, lang)} for f in view.unconfirmed],
        "instruments": [{"id": i.id, "title": pick(i.title, lang), "sources": i.source_urls} for i in view.instruments],
    }


def _rule_stage(law: Law, stages: list[str]) -> str | None:
    """The stage to name a rule's outcome by: its first, when its stages are all a convict's or all not; else none
    (the outcome is then named both ways)."""
    return stages[0] if len({is_convict(law, s) for s in stages}) == 1 else None


def timeline_view(law: Law, lang: str = "en") -> list[dict[str, Any]]:
    """Every instrument version on one time line, flagged where it is non-statutory, unconfirmed or documented
    only (RULES.md §7)."""
    out = []
    for start, end, inst in law.timeline():
        flags = [
            flag
            for flag, on in (
                ("non_statutory", inst.non_statutory),
                ("unconfirmed", not inst.in_force.confirmed or not inst.confirmed),
                ("documented_only", inst.documented_only),
            )
            if on
        ]
        out.append(
            {
                "id": inst.id,
                "title": pick(inst.title, lang),
                "from": start.isoformat(),
                "to": end.isoformat() if end else None,
                "in_force_known": inst.in_force.from_ is not None,
                "milestones": [{"date": m.date.isoformat(), "text": pick(m, lang)} for m in inst.milestones],
                "flags": flags,
                "flag_labels": [gettext(lang, FLAGS[f]) for f in flags],
                "routes": [r.id for r in law.routes if r.window.instrument is inst],
                "sources": inst.source_urls,
            }
        )
    return out
