"""Plain-language explanations of a decision row, step by step, each with its citations.

This module only *describes* what ``rules.evaluate`` decided: it reads the decision (its status, the stable ids of
the route, list version and rule in its trace, its dates and reasons) and the law data; it decides nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warexempt.explain.citations import Citation, cite
from warexempt.explain.i18n import date, gettext, pick
from warexempt.explain.messages import translate
from warexempt.law.catalog import Law
from warexempt.rules.case import Case
from warexempt.rules.judge import Status


@dataclass
class Step:
    text: str
    citations: list[Citation] = field(default_factory=list)


def label(items: list[Any], key: str, lang: str) -> str:
    """The name of the vocabulary item ``key`` (a stage, event, ground, outcome) in ``lang``; else the key itself."""
    found = next((i for i in items if i.id == key), None)
    return pick(found, lang) if found else key


def is_convict(law: Law, stage: str | None) -> bool:
    """Whether ``stage`` is a convict's: the stage whose attempt is the entry into service (a sentence in force)."""
    return stage is not None and stage in law.vocabulary.ids("stages") and law.stage(stage).attempt == "entry"


def outcome_label(law: Law, outcome: str, lang: str, stage: str | None = None) -> str:
    """The name of an outcome for the person at ``stage``: a convict's where the vocabulary gives one
    (``ru_convict``/``en_convict``). With no stage (a count over many cases) both names, when they differ."""
    found = next((o for o in law.vocabulary.outcomes if o.id == outcome), None)
    if found is None:
        return outcome
    general = pick(found, lang)
    convict = found.ru_convict if lang == "ru" else found.en_convict
    if convict is None:
        return general
    if stage is None:
        return f"{general} / {convict}"
    return convict if is_convict(law, stage) else general


def _event_phrase(event: str | None, lang: str, law: Law) -> str:
    if not event:
        return ""
    kind, _, ground = event.partition(":")
    text = label(law.vocabulary.events, kind, lang)
    if ground:
        text += f" ({label(law.vocabulary.discharge_grounds, ground, lang)})"
    return text


def explain(
    decision: dict[str, Any], case: Case, law: Law, lang: str = "en", day: Callable[[dt.date, str], str] = date
) -> list[Step]:
    """Steps a family member can follow: which day's law, which route, which exclusions, what the events did.

    Every date in the words is written by ``day`` (``i18n.date`` unless given): ``api.answers`` passes one that
    writes a placeholder for each of the case's own dates, to keep the wording of an answer once and put each
    case's dates into it. So a date printed here must be one of the case's or the decision's dates as they are, or
    a date of the law; and a wording that depends on a date's value (not only prints it) must say so in
    ``api.answers.wording_key``."""
    _ = lambda msg, **kw: gettext(lang, msg, **kw)  # noqa: E731
    if decision.get("error"):
        return [Step(translate(str(decision["error"]), lang))]
    status = Status(decision["status"])
    steps: list[Step] = []
    decisive: dt.date = decision["decisive_date"]
    stage_id = str(decision["stage"] or case.stage)
    stage = label(law.vocabulary.stages, stage_id, lang)
    attempted = decision["deciding_event"] is not None and status != Status.ELIGIBLE
    by_entry = law.stage(stage_id).attempt == "entry"
    if by_entry:
        why = (
            _("the day the person entered military service")
            if attempted
            else _("the day of the question (no contract yet)")
        )
    else:
        why = _("the day of the command's petition") if attempted else _("the day of the question (no petition yet)")
    steps.append(
        Step(_("The case is judged under the law in force on {day}: {why}.", day=day(decisive, lang), why=why))
    )

    entry = law.route(decision["route"]) if decision["route"] else None
    route = entry.route if entry else None
    if status == Status.NO_ROUTE:
        later = next(
            (
                r
                for r in sorted(law.routes, key=lambda r: r.window.start)
                if r.route.stage == stage_id and r.route.covered and r.window.start > decisive
            ),
            None,
        )
        text = _(
            "On {day} no law let a case at this stage ({stage}) be suspended or released for military service.",
            day=day(decisive, lang),
            stage=stage,
        )
        cites: list[Citation] = [cite(r, law) for r in decision["reasons"]]
        if route is not None and not route.covered and route.reasons:
            text += " " + _("Only an individual, secret, non-statutory practice existed; no rule can reproduce it.")
        if later is not None:
            text += " " + _(
                "That became possible on {day} ({law}).",
                day=day(later.window.start, lang),
                law=pick(later.window.instrument.title, lang),
            )
        steps.append(Step(text, cites))
        return steps + _unconfirmed(decision, law, lang)

    assert entry is not None and route is not None
    steps.append(
        Step(
            _(
                "On that day {law} covered cases at this stage ({stage}).",
                law=pick(entry.window.instrument.title, lang),
                stage=stage,
            ),
            [cite(r, law) for r in route.reasons],
        )
    )
    lst = law.list_version(decision["list_version"]) if decision["list_version"] else None
    if status == Status.EXCLUDED:
        assert lst is not None
        codes = [r for r in decision["reasons"] if r != lst.id]
        steps.append(
            Step(
                _(
                    "A charge is on the list of offences the law excludes ({codes}), so the route is closed.",
                    codes=", ".join(c.removeprefix("uk:") for c in codes),
                ),
                [cite(lst.id, law)] + [cite(c, law) for c in codes],
            )
        )
        if "needs_detail" in decision["unconfirmed"]:
            steps.append(
                Step(
                    _(
                        "A charge lacks the part or point that the list needs, so it was treated as excluded; a more precise code may change the answer."
                    )
                )
            )
        return steps + _unconfirmed(decision, law, lang)
    if lst is not None:
        steps.append(Step(_("None of the charges is on the list of excluded offences."), [cite(lst.id, law)]))
    if status == Status.GATE_GRAVITY:
        steps.append(
            Step(
                _(
                    "Only crimes of small or medium gravity qualified; the gravest charge is graver than that (Criminal Code Art. 15)."
                ),
                [cite(r, law) for r in decision["reasons"]],
            )
        )
        return steps + _unconfirmed(decision, law, lang)
    if status == Status.GATE_OFFENCE:
        steps.append(
            Step(
                _(
                    "Only offences committed before {day} qualified; this one was committed on {offence}.",
                    day=day(route.offence_before or decisive, lang),
                    offence=day(case.offence_date or decisive, lang),
                ),
                [cite(r, law) for r in decision["reasons"]],
            )
        )
        return steps + _unconfirmed(decision, law, lang)

    on = decision["decided_on"]
    cites = [cite(r, law) for r in decision["reasons"]]
    outcome = decision["outcome"]
    if status == Status.ELIGIBLE:
        nxt = _("a contract or call-up") if by_entry else _("the command's petition")
        steps.append(
            Step(_("Nothing has happened yet that the law acts on; the next step is {next}.", next=nxt), cites)
        )
    elif status == Status.OPEN:
        activated = {
            "suspended": _(
                "On {day} the command petitioned, so the proceedings are suspended while the person serves.",
                day=day(on, lang),
            ),
            "conditionally_released": _(
                "On {day} the person entered military service and so is conditionally released from serving the sentence.",
                day=day(on, lang),
            ),
        }
        steps.append(Step(activated[outcome], cites))
    else:
        key = _event_key(case, decision["deciding_event"])
        values = {"day": day(on, lang), "event": _event_phrase(key, lang, law)}
        convict = is_convict(law, stage_id)
        messages = {
            "released": _(
                "On {day}: {event}. Under the law in force that day the person is released from criminal liability; there is no criminal record (no conviction arises: the prosecution ends on a non-rehabilitating ground).",
                **values,
            ),
            "released_from_punishment": _(
                "On {day}: {event}. Under the law in force that day the person is finally released from punishment and counts as having no criminal record (Criminal Code Art. 86(2)).",
                **values,
            ),
            "resumed": _resumed(key, convict, decision["reasons"], law, lang, values),
            "terminated_death": _(
                "On {day} the person died. The case ends on the death, not by a release for military service.",
                day=day(on, lang),
            ),
        }
        steps.append(Step(messages[outcome], cites))
    return steps + _unconfirmed(decision, law, lang)


def _resumed(key: str | None, convict: bool, reasons: list[str], law: Law, lang: str, values: dict[str, str]) -> str:
    """Why a cycle ended in a resumption, by the role of the deciding event (a discharge on another ground, a
    recorded resumption, a new offence) and whose case it is (a convict's sentence is enforced again)."""
    _ = lambda msg: gettext(lang, msg, **values)  # noqa: E731
    kind = (key or "").partition(":")[0]
    # the kind's own role: a discharge's is "ground" (its ground's role, here a resumption, is what it did)
    role = law.vocabulary.event(kind).role if kind in law.vocabulary.ids("events") else None
    if role == "new_offence":
        if convict and "uk:80.2:3" in reasons:
            return _(
                "On {day}: {event}. A person conditionally released from punishment committed a new crime during service: the court imposes punishment under the rules on cumulative sentences (Criminal Code Art. 70)."
            )
        if convict:
            return _(
                "On {day}: {event}. A new crime during service ends the conditional release: the sentence is enforced again."
            )
        return _("On {day}: {event}. A new crime during service ends the suspension: the criminal proceedings resume.")
    if role == "resumption":
        if convict:
            return _(
                "On {day}: {event}. The conditional release ends without a release from punishment: the sentence is enforced again."
            )
        return _("On {day}: {event}. The suspension ends without a release: the criminal proceedings resume.")
    if convict:
        return _(
            "On {day}: {event}. Service ended on a ground that does not release, so the sentence is enforced again."
        )
    return _("On {day}: {event}. Service ended on a ground that does not release, so the criminal proceedings resume.")


def _event_key(case: Case, event_id: str | None) -> str | None:
    """The kind (and ground) of the case's event with this id."""
    for event, eid in zip(case.events, case.event_ids(), strict=True):
        if eid == event_id:
            return f"{event.kind}:{event.ground}" if event.ground else event.kind
    return None


def _unconfirmed(decision: dict[str, Any], law: Law, lang: str) -> list[Step]:
    _ = lambda msg, **kw: gettext(lang, msg, **kw)  # noqa: E731
    out = []
    for fid in decision["unconfirmed"]:
        fact = law.facts.get(fid)
        text = pick(fact, lang) if fact else fid
        out.append(Step(_("Unconfirmed: {fact}.", fact=text)))
    for warning in decision.get("warnings") or []:
        out.append(Step(_("Note: {warning}.", warning=translate(warning, lang))))
    return out
