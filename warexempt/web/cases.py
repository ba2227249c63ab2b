"""The register's pages (``/cases``): sign in with a token, the organisation's cases, a case, adding a case or an
event — over the register's service API (``warexempt.register``) and the shared views, as the API's routes are.

Signing in exchanges a register token for a session: a random id in a ``Secure``, ``HttpOnly``,
``SameSite=Strict`` cookie; the token stays on the server, and each request authenticates it again
(``people.authenticate``), so that a revoked or expired token ends the session at once. Sessions live in memory and
end with the process or after ``IDLE`` seconds unused. Every form post carries its CSRF token; failed sign-ins are
counted per address by the API's limiter. The register decides who may read or write what, and refuses an event
the law says cannot be true with the law's reason, which the page shows at the form.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from warexempt._marks import N_
from warexempt.api import services
from warexempt.api.problems import ApiProblem, translator
from warexempt.explain.i18n import gettext
from warexempt.explain.messages import translate
from warexempt.explain.render import label as word
from warexempt.explain.render import outcome_label
from warexempt.law.catalog import Law, bundled_law
from warexempt.web.render import language, page
from warexempt.web.security import require_csrf
from warexempt.web.svg import TONE

router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "wx_session"
IDLE = 8 * 3600  # seconds a session lives unused


class Sessions:
    """Session id → the register token it was opened with, and when it was last used."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def open(self, secret: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._open = {k: v for k, v in self._open.items() if now - v[1] < IDLE}
            self._open[sid] = (secret, now)
        return sid

    def token(self, sid: str | None) -> str | None:
        with self._lock:
            found = self._open.get(sid or "")
            if found is None or time.monotonic() - found[1] >= IDLE:
                self._open.pop(sid or "", None)
                return None
            self._open[sid or ""] = (found[0], time.monotonic())
            return found[0]

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._open.pop(sid or "", None)


@dataclass
class Problem:
    """A form's refusal: the field it names (``""``: the whole form) and why, in the page's language."""

    field: str
    detail: str


def _reg(request: Request) -> Any:
    return request.app.state.register.get()


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _actor(request: Request) -> Any | None:
    """The signed-in actor, or ``None`` (no session, or its token no longer valid)."""
    from warexempt.register.errors import RegisterError
    from warexempt.register.people import authenticate

    secret = request.app.state.web_sessions.token(request.cookies.get(SESSION_COOKIE))
    if secret is None:
        return None
    try:
        return await run_in_threadpool(authenticate, _reg(request), secret)
    except RegisterError:
        request.app.state.web_sessions.close(request.cookies.get(SESSION_COOKIE))
        return None


def _refusals(exc: Exception, lang: str) -> list[Problem]:
    """A register error or an API problem as the form's refusals, each naming its field."""
    from warexempt.register.errors import RegisterError

    if isinstance(exc, ApiProblem):
        say = translator(lang)
        found = [Problem(p.field, p.detail(say)) for p in exc.problems]
        return found or [Problem("", str(exc.document(lang).get("detail", exc.kind)))]
    assert isinstance(exc, RegisterError)
    listed = [Problem(place, translate(message, lang)) for place, message in getattr(exc, "problems", [])]
    return [Problem("", exc.text(lang).split("\n")[0]), *listed]


def _outcomes(law: Law, lang: str) -> list[tuple[str, str]]:
    return [(o.id, outcome_label(law, o.id, lang)) for o in law.vocabulary.outcomes]


def _sign_in_page(request: Request, lang: str, status: int = 200, error: str | None = None) -> HTMLResponse:
    return page(request, "sign_in.html", lang, status=status, error=error)


@router.get("/cases", response_class=HTMLResponse)
async def cases_page(request: Request) -> Response:
    """The organisation's cases (searchable by label, filterable by outcome) and a form to add one."""
    lang = language(request)
    who = await _actor(request)
    if who is None:
        return _sign_in_page(request, lang)
    return await _list(request, lang, who)


async def _list(
    request: Request, lang: str, who: Any, problems: list[Problem] | None = None, form: dict[str, str] | None = None
) -> HTMLResponse:
    law = bundled_law()
    outcome = request.query_params.get("outcome", "").strip()
    q = request.query_params.get("q", "").strip()
    from warexempt.register.errors import RegisterError

    try:
        records = await run_in_threadpool(_reg(request).cases, who, outcome=outcome or None)
    except RegisterError as exc:
        records, problems = [], [*(problems or []), *_refusals(exc, lang)]
    shown = [r for r in records if not q or q.lower() in r.label.lower()]
    rows = [
        {
            "label": r.label,
            "url": "/cases/" + quote(r.label, safe=""),
            "charges": ", ".join(r.charges),
            "stage": word(law.vocabulary.stages, r.stage, lang) if r.stage else "",
            "outcome": r.status.get("outcome") or "",
            "outcome_label": outcome_label(law, str(r.status.get("outcome")), lang, r.stage)
            if r.status.get("outcome")
            else translate(str(r.status.get("error") or ""), lang),
            "as_of": r.day.isoformat(),
            "events": len(r.effective_events()),
        }
        for r in shown
    ]
    return page(
        request,
        "cases.html",
        lang,
        status=422 if problems else 200,
        who=who,
        rows=rows,
        q=q,
        outcome=outcome,
        outcomes=_outcomes(law, lang),
        stages=[(s.id, word(law.vocabulary.stages, s.id, lang)) for s in law.vocabulary.stages],
        problems=problems or [],
        form=form or {},
        total=len(records),
    )


@router.post("/cases/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Exchange a token for a session; a wrong token is refused (and counted), too many refusals wait."""
    from warexempt.register.errors import RegisterError
    from warexempt.register.people import authenticate

    lang = language(request)
    if refused := await require_csrf(request):
        return _sign_in_page(request, lang, 403, refused)
    limiter = request.app.state.sign_ins
    client = _client(request)
    try:
        limiter.check(client)
    except ApiProblem as exc:
        waiting = _sign_in_page(request, lang, 429, str(exc.document(lang).get("detail")))
        waiting.headers.update(exc.headers)
        return waiting
    secret = str((await request.form()).get("token") or "").strip()
    try:
        await run_in_threadpool(authenticate, _reg(request), secret)
    except RegisterError:
        limiter.failed(client)
        return _sign_in_page(request, lang, 401, gettext(lang, BAD_TOKEN))
    resp = RedirectResponse("/cases", status_code=303)
    sid = request.app.state.web_sessions.open(secret)
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, secure=True, samesite="strict", path="/", max_age=IDLE)
    return resp


BAD_TOKEN = N_("This token is not valid (wrong, expired or revoked).")


@router.post("/cases/sign-out")
async def sign_out(request: Request) -> Response:
    lang = language(request)
    if refused := await require_csrf(request):
        return _sign_in_page(request, lang, 403, refused)
    request.app.state.web_sessions.close(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/cases", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return resp


def _split(text: str) -> list[str]:
    return [c.strip() for line in text.splitlines() for c in line.split(";") if c.strip()]


@router.post("/cases/new", response_class=HTMLResponse)
async def add_case(request: Request) -> Response:
    """Register a case; what cannot be read is named at its field and nothing is stored."""
    from warexempt.register.errors import RegisterError

    lang = language(request)
    who = await _actor(request)
    if who is None:
        return _sign_in_page(request, lang, 401)
    if refused := await require_csrf(request):
        return await _list(request, lang, who, [Problem("", refused)])
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf"}
    label = form.get("label", "").strip()
    charges = _split(form.get("charges", ""))
    facts: dict[str, Any] = {"case_id": label or "case", "charges": charges, "stage": form.get("stage") or None}
    for key in ("offence_date", "as_of"):
        if form.get(key, "").strip():
            facts[key] = form[key].strip()
    facts.setdefault("as_of", dt.date.today().isoformat())
    try:
        services.parse_case(facts)
        record = await run_in_threadpool(
            _reg(request).add_case,
            who,
            label,
            charges,
            form.get("stage", ""),
            offence_date=facts.get("offence_date"),
            as_of=form.get("as_of", "").strip() or None,
            notes=form.get("notes") or None,
        )
    except (ApiProblem, RegisterError) as exc:
        return await _list(request, lang, who, _refusals(exc, lang), form)
    return RedirectResponse("/cases/" + quote(record.label, safe=""), status_code=303)


@router.get("/cases/{label:path}", response_class=HTMLResponse)
async def case_page(request: Request, label: str) -> Response:
    """One case: its status with citations, the lifecycle step by step, the audit history, a form for an event."""
    lang = language(request)
    who = await _actor(request)
    if who is None:
        return _sign_in_page(request, lang, 401)
    return await _case(request, lang, who, label)


async def _case(
    request: Request,
    lang: str,
    who: Any,
    label: str,
    *,
    message: str | None = None,
    problems: list[Problem] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    from warexempt.lifecycle.timeline import timeline
    from warexempt.register.errors import Forbidden, RegisterError

    law = bundled_law()
    reg = _reg(request)
    try:
        try:
            record = await run_in_threadpool(reg.get, who, label, with_notes=True)
        except Forbidden:  # a viewer reads the case without its notes
            record = await run_in_threadpool(reg.get, who, label)
        audit = await run_in_threadpool(reg.audit_log, who, label)
    except RegisterError as exc:
        return page(request, "case_missing.html", lang, status=404, detail=exc.text(lang).split("\n")[0])
    case = record.case()
    found = services.decide_rows([case], law)[0]
    decision = None if isinstance(found, ApiProblem) else services.answer(case, found, lang, law)
    steps = await run_in_threadpool(timeline, case, law, lang) if case.events else []
    return page(
        request,
        "case.html",
        lang,
        status=status,
        who=who,
        record=record,
        stage_label=word(law.vocabulary.stages, record.stage, lang) if record.stage else "",
        decision=decision,
        steps=steps,
        audit=[_audit_row(a, law, lang) for a in reversed(audit)],
        message=message,
        problems=problems or [],
        form=form or {},
        events=[(e.id, word(law.vocabulary.events, e.id, lang)) for e in law.vocabulary.events],
        grounds=[(g.id, word(law.vocabulary.discharge_grounds, g.id, lang)) for g in law.vocabulary.discharge_grounds],
        stages=[(s.id, word(law.vocabulary.stages, s.id, lang)) for s in law.vocabulary.stages],
        url="/cases/" + quote(record.label, safe=""),
        tone=TONE.get(decision["outcome"], "open") if decision else "open",
        can_write=who.role in ("editor", "admin"),
    )


ACTIONS = {"case": N_("case registered"), "event": N_("event added"), "notes": N_("notes changed")}


def _audit_row(entry: dict[str, Any], law: Law, lang: str) -> dict[str, str]:
    """An audit entry in words: when, who, what, and the status it left."""
    after = entry.get("after") or {}
    status = after.get("status") if isinstance(after, dict) else None
    what = gettext(lang, ACTIONS[entry["action"]]) if entry["action"] in ACTIONS else str(entry["action"])
    if (
        entry["action"] == "event"
        and isinstance(after, dict)
        and after.get("kind") in {e.id for e in law.vocabulary.events}
    ):
        what += f": {word(law.vocabulary.events, after['kind'], lang)} ({after.get('date', '')})"
    outcome = status.get("outcome") if isinstance(status, dict) else None
    return {
        "at": str(entry.get("at", ""))[:19].replace("T", " "),
        "actor": str(entry.get("actor", "")),
        "what": what,
        "outcome": outcome_label(law, str(outcome), lang) if outcome else "",
        "seq": str(entry.get("seq", "")),
    }


@router.post("/cases/{label:path}/events", response_class=HTMLResponse)
async def add_event(request: Request, label: str) -> Response:
    """Add an event: what it did (the status before and after, with citations), or the law's reason for refusing
    it, shown at the form with the values kept."""
    from warexempt.lifecycle.timeline import step_view
    from warexempt.register.errors import RegisterError

    lang = language(request)
    who = await _actor(request)
    if who is None:
        return _sign_in_page(request, lang, 401)
    if refused := await require_csrf(request):
        return await _case(request, lang, who, label, problems=[Problem("", refused)], status=403)
    form = {k: str(v).strip() for k, v in (await request.form()).items() if k != "csrf"}
    law = bundled_law()
    event: dict[str, Any] = {"date": form.get("date", ""), "kind": form.get("kind", "")}
    if form.get("value"):
        kinds = {e.id for e in law.vocabulary.events}
        requires = law.vocabulary.event(event["kind"]).requires if event["kind"] in kinds else []
        event[requires[0] if requires else "ground"] = form["value"]
    try:
        done = await run_in_threadpool(_reg(request).append, who, label, event)
    except RegisterError as exc:
        return await _case(request, lang, who, label, problems=_refusals(exc, lang), form=form, status=422)
    view = step_view(done.step, law, lang)
    return await _case(request, lang, who, label, message=str(view["message"]))
