"""The pages: check a case (``/``), the law over time (``/law``) and the charge-code suggestions behind the form.

Each handler reads the request, asks ``warexempt.web.data`` (the shared views) for plain data and renders a template;
the wording is the catalog's and the answer the rules path's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from warexempt._marks import N_
from warexempt.explain.i18n import gettext
from warexempt.explain.messages import translate
from warexempt.explain.render import label
from warexempt.law.catalog import Law, bundled_law
from warexempt.web import data, query, svg
from warexempt.web.render import language, page

router = APIRouter(include_in_schema=False)

# The charts begin when the practice began; the general procedure (2002) is drawn from the left edge.
CHART_START = dt.date(2022, 1, 1)


def today() -> dt.date:
    return dt.date.today()


def chart_end(law: Law) -> dt.date:
    """The charts end on the 1 January after this year and after the law's last change, so that today and every
    version in force are drawn."""
    last = max(law.boundaries, default=today())
    return dt.date(max(today().year, last.year) + 1, 1, 1)


_FIELD = re.compile(r"^(?P<name>charges|events)(?:\[(?P<n>\d+)\])?(?:\.(?P<sub>\w+))?$")


def anchor(field: str) -> str:
    """The id of the form control a problem's field names (``events[2].date`` → ``ev-date-2``)."""
    m = _FIELD.match(field)
    if field in ("stage", "offence_date", "as_of"):
        return field
    if not m:
        return "errors"
    n = m.group("n") or "1"
    if m.group("name") == "charges":
        return f"charge-{n}"
    if not m.group("n"):
        return "events-set"
    sub = m.group("sub")
    return f"ev-{'date' if sub == 'date' else 'kind' if sub in (None, 'kind') else 'value'}-{n}"


def _choices(law: Law, lang: str) -> dict[str, Any]:
    v = law.vocabulary
    out: dict[str, Any] = {
        name: [(i.id, label(items, i.id, lang)) for i in items]
        for name, items in (("stages", v.stages), ("events", v.events), ("grounds", v.discharge_grounds))
    }
    out["event_ids"] = {e.id for e in v.events}
    out["stage_ids"] = {s.id for s in v.stages}
    return out


def _history(facts: query.Facts, law: Law, lang: str) -> list[dict[str, str]]:
    """The events in date order with the stage the case is at after each (a stage change moves it)."""
    v = law.vocabulary
    stage = facts.stage
    known_stages = {s.id for s in v.stages}
    known_events = {e.id for e in v.events}
    grounds = {g.id for g in v.discharge_grounds}
    rows = []
    for e in sorted(facts.events, key=lambda e: e.date):
        kind = e.kind.lower()
        value = e.value
        if kind == "stage_changed" and value.lower() in known_stages:
            stage = value.lower()
            value = label(v.stages, stage, lang)
        elif kind == "discharged" and value.lower() in grounds:
            value = label(v.discharge_grounds, value.lower(), lang)
        rows.append(
            {
                "date": e.date,
                "event": label(v.events, kind, lang) if kind in known_events else e.kind,
                "value": value,
                "stage": label(v.stages, stage, lang) if stage in known_stages else stage,
                "stage_changed": "yes" if kind == "stage_changed" else "",
            }
        )
    return rows


# The form's labels, by the id of their control: a refusal names the field as the form does.
_LABELS = {
    "charge": N_("Charge {n}"),
    "ev-date": N_("Date of event {n}"),
    "ev-kind": N_("Event {n}"),
    "ev-value": N_("Ground, new stage or charge of event {n}"),
    "stage": N_("Stage of the case when the contract was signed or the person was called up"),
    "offence_date": N_("Date of the offence (optional)"),
    "as_of": N_("Status on"),
    "events-set": N_("What happened, with dates"),
}


def field_label(control: str, lang: str) -> str | None:
    """The label of the form control ``control`` (``ev-date-2`` → "Date of event 2")."""
    head, _, n = control.rpartition("-")
    if head in _LABELS and n.isdigit():
        return gettext(lang, _LABELS[head], n=n)
    return gettext(lang, _LABELS[control], n="") if control in _LABELS else None


def is_day(text: str) -> bool:
    """Whether a date input can show ``text`` (else it is shown as text, so that a wrong date stays visible)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return not text
    return len(text) == 10


# Cases to try, for a first visit: each a query string of the form's own (and each one of README's examples).
EXAMPLES = (
    (
        N_("A defendant on trial signs a contract; the command petitions"),
        "charge=158:3:в&charge=228:2&stage=trial&event=2024-10-20:contract_signed"
        "&event=2024-11-01:command_petition&as_of=2025-06-01",
    ),
    (
        N_("A suspect signs a contract and is given a state award"),
        "charge=158:3:в&stage=pre_trial&event=2024-05-14:contract_signed&event=2024-06-05:command_petition"
        "&event=2025-01-20:state_award&as_of=2025-02-01",
    ),
    (
        N_("A case that moves to court, is suspended, resumed after a discharge, and suspended again"),
        "charge=161:2&stage=pre_trial&event=2024-03-01:stage_changed:trial&event=2024-05-01:contract_signed"
        "&event=2024-06-01:command_petition&event=2024-11-05:command_petition&event=2025-03-01:discharged:other"
        "&event=2025-05-10:contract_signed&event=2025-05-20:command_petition&as_of=2025-09-01",
    ),
    (
        N_("A charge the law excludes (treason)"),
        "charge=275&stage=trial&event=2024-10-20:contract_signed&event=2024-11-01:command_petition&as_of=2025-01-15",
    ),
)


@router.get("/", response_class=HTMLResponse)
def check_page(request: Request) -> HTMLResponse:
    """Check a case: the form, and with facts in the query string the answer, what can happen next and the link."""
    lang = language(request)
    law = bundled_law()
    facts = query.read(parse_qs(request.url.query, keep_blank_values=True))
    context: dict[str, Any] = {
        "facts": facts,
        "choices": _choices(law, lang),
        "today": today().isoformat(),
        "examples": [(gettext(lang, text), f"/?{q}&lang={lang}") for text, q in EXAMPLES],
    }
    context["charge_rows"] = [*facts.charges, *[""] * max(1, 2 - len(facts.charges))]
    context["event_rows"] = [*facts.events, *[query.EventRow() for _ in range(max(2, 4 - len(facts.events)))]]
    if not facts.empty:
        case = query.case_data(facts, law, today())
        as_of = str(case["as_of"])
        share = query.share_query(facts, as_of, law.fingerprint, lang)
        context.update(
            share_url=str(request.base_url).rstrip("/") + "/?" + share,
            json_url="/check.json?" + share,
            cli=query.cli_snippet(facts, as_of, lang),
            python=query.python_snippet(case, lang),
            history=_history(facts, law, lang),
            fingerprint=law.fingerprint,
        )
        if facts.law and facts.law != law.fingerprint:
            context["stale_law"] = facts.law
            context["rerun_url"] = "/?" + share
        else:
            answer = data.check(case, lang, law)
            context["refusals"] = answer.refusals
            if answer.view:
                view = answer.view
                _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
                context["answer"] = view
                context["warnings"] = [translate(w, lang) for w in view["warnings"]]
                if view["what_if"]:
                    context["tree"] = svg.what_if_tree(
                        view,
                        (_("Now"), _("If this happens"), _("The case becomes")),
                        data_date(view["as_of"], lang),
                        _("What can happen next"),
                    )
    by_id: dict[str, list[str]] = {}
    for r in context.get("refusals", []):
        by_id.setdefault(anchor(r.field), []).append(r.detail)
        r.where = field_label(anchor(r.field), lang) or r.where
    context.update(errors_by_id=by_id, anchor=anchor, is_day=is_day, tone=lambda o: svg.TONE.get(o, "open"))
    status = 400 if context.get("refusals") else 200
    return page(request, "check.html", lang, status=status, **context)


@router.get("/check.json")
def check_json(request: Request) -> Response:
    """The page's check as JSON (Datasette's ``.json`` twin): the object of ``warexempt check --json --what-if``
    for the facts in the same query string, or the problem document (422) naming what is wrong."""
    import json

    from warexempt.api import services
    from warexempt.api.problems import MEDIA_TYPE, ApiProblem

    lang = language(request)
    law = bundled_law()
    facts = query.read(parse_qs(request.url.query, keep_blank_values=True))
    try:
        body: Any = services.check(query.case_data(facts, law, today()), lang, with_what_if=True, law=law)
        status, media = 200, "application/json"
    except ApiProblem as exc:
        body, status, media = exc.document(lang, str(request.url.path)), exc.status, MEDIA_TYPE
    return Response(json.dumps(body, ensure_ascii=False).encode("utf-8"), status_code=status, media_type=media)


def data_date(iso: str, lang: str) -> str:
    from warexempt.explain.i18n import date

    return date(dt.date.fromisoformat(iso), lang)


@router.get("/codes/options", response_class=HTMLResponse)
def code_options(request: Request) -> HTMLResponse:
    """Suggestions for a charge field (an htmx call as one types): ``<option>``s of a ``<datalist>``."""
    lang = language(request)
    text = request.query_params.get("q") or request.query_params.get("charge") or ""
    return page(request, "_options.html", lang, options=data.codes(text[:100], lang))


def _coverage(law: Law, lang: str) -> list[tuple[str, list[tuple[dt.date, dt.date, bool, str]]]]:
    """Each stage's route in every period between the law's boundaries (``law_view`` on each boundary)."""
    end = chart_end(law)
    days = [d for d in law.boundaries if d < end]
    views = [data.law_on(d, lang, law) for d in days]
    not_covered = gettext(lang, N_("no route"))
    rows = []
    for stage in law.vocabulary.stages:
        segs = []
        for i, (day, view) in enumerate(zip(days, views, strict=True)):
            until = days[i + 1] if i + 1 < len(days) else end
            route = next((r for r in view["routes"] if r["stage"] == stage.id), None)
            covered = bool(route and route["covered"])
            segs.append((day, until, covered, (route or {}).get("instrument") or not_covered))
        rows.append((label(law.vocabulary.stages, stage.id, lang), segs))
    return rows


def _list_changes(law: Law, lang: str) -> list[dict[str, Any]]:
    """Each version of the exclusion lists with what it added to and removed from the one before it."""
    seen: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for day in law.boundaries:
        for lst in data.law_on(day, lang, law)["exclusion_lists"]:
            if lst["id"] in seen:
                continue
            base = lst["citation"]["id"]
            before = next((v for v in reversed(out) if v["citation"]["id"] == base), None)
            ids = {i["id"] for i in lst["items"]}
            old = {i["id"] for i in before["items"]} if before else set()
            entry = {
                **lst,
                "from": day.isoformat(),
                "added": [i for i in lst["items"] if i["id"] not in old] if before else [],
                "removed": [i for i in before["items"] if i["id"] not in ids] if before else [],
            }
            seen[lst["id"]] = entry
            out.append(entry)
    return out


@router.get("/law", response_class=HTMLResponse)
def law_page(request: Request) -> HTMLResponse:
    """The law over time: every instrument and version on a chart, the stages covered, the exclusion lists and
    what changed, the law in force on a chosen day, the unconfirmed facts — each with its sources."""
    lang = language(request)
    law = bundled_law()
    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    raw = request.query_params.get("as_of", "").strip()
    error = None
    try:
        day = dt.date.fromisoformat(raw) if raw else today()
    except ValueError:
        day = today()
        error = _("{value} is not a date (expected YYYY-MM-DD)", value=repr(raw[:40]))
    items = data.timeline(lang, law)
    context = {
        "items": items,
        "day": day.isoformat(),
        "error": error,
        "view": data.law_on(day, lang, law),
        "lists": _list_changes(law, lang),
        "timeline_svg": svg.timeline_chart(
            items,
            CHART_START,
            chart_end(law),
            _("Every instrument and version of the law"),
            _("in force"),
            lambda year: _("since {year}", year=year),
        ),
        "coverage_svg": svg.coverage_chart(
            _coverage(law, lang),
            CHART_START,
            chart_end(law),
            _("Which stages of a case the law covered, and from when"),
        ),
        "fingerprint": law.fingerprint,
    }
    return page(request, "law.html", lang, status=400 if error else 200, **context)


@router.get("/numbers", response_class=HTMLResponse)
def numbers_page(request: Request) -> HTMLResponse:
    """The population estimates and their figures; while they are being computed, a page that says so and
    reloads itself (202)."""
    lang = language(request)
    numbers = request.app.state.web_numbers
    view = numbers.view(lang)
    error = numbers.error(lang)
    status = 200 if view else 500 if error else 202
    return page(request, "numbers.html", lang, status=status, view=view, error=error)


@router.get("/numbers/figures/{lang}/{chart_id}.png")
def numbers_figure(lang: str, chart_id: str, request: Request) -> Response:
    png = request.app.state.web_numbers.figure(lang, chart_id)
    if png is None:
        return Response(status_code=404)
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})
