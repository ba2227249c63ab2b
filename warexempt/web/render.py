"""Templates and languages: Jinja2 with autoescape, the Babel catalog, dates and numbers per locale.

The language is the page's ``?lang=`` (then remembered in a cookie), else the cookie, else the browser's
``Accept-Language``, else English. Templates call ``_("English msgid", name=value)``: the same catalog as the CLI
(``warexempt/locale``), so a term is worded the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from warexempt._marks import N_
from warexempt.explain.i18n import LANGS, date, gettext
from warexempt.law.catalog import bundled_law

LANG_COOKIE = "wx_lang"
HERE = Path(__file__).resolve().parent

ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "svg"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: Request) -> str:
    """The page's language (see the module's docstring)."""
    asked = request.query_params.get("lang", "").strip().lower()
    if asked in LANGS:
        return asked
    kept = request.cookies.get(LANG_COOKIE, "")
    if kept in LANGS:
        return kept
    return accepted(request.headers.get("accept-language", ""))


def accepted(header: str) -> str:
    """The first of our languages in an ``Accept-Language`` header, by its quality (``ru-RU,ru;q=0.9,en;q=0.8``)."""
    best, best_q = "en", -1.0
    for i, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        base = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if base in LANGS and q - i * 1e-6 > best_q:
            best, best_q = base, q - i * 1e-6
    return best


def _day(value: str | dt.date | None, lang: str) -> str:
    if not value:
        return ""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return date(day, lang)


# a register user's role (``register.models.ROLES``) as the page names it
ROLE_NAMES = {
    "viewer": N_("viewer (reads cases)"),
    "editor": N_("editor (records cases)"),
    "admin": N_("administrator"),
}


def page(request: Request, template: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` in ``lang``; ``?lang=`` is remembered in a cookie."""
    from warexempt.web.security import CSRF_FIELD, csrf_token

    other = "ru" if lang == "en" else "en"
    values = {
        "request": request,
        "lang": lang,
        "other_lang": other,
        "switch_url": relative(request, lang=other),
        "_": lambda message, **kw: gettext(lang, message, **kw),
        "fmt_date": lambda value: _day(value, lang),
        "role_name": lambda role: gettext(lang, ROLE_NAMES[role]) if role in ROLE_NAMES else role,
        "fmt_number": lambda value: format_decimal(value, locale="en_GB" if lang == "en" else lang),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "path": request.url.path,
        "law_fingerprint": bundled_law().fingerprint,
        "register_on": hasattr(request.app.state, "web_sessions"),
        **context,
    }
    response = HTMLResponse(ENV.get_template(template).render(values), status_code=status)
    if request.query_params.get("lang", "").strip().lower() in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True, path="/")
    return response


def relative(request: Request, **params: str) -> str:
    """This page's path and query with ``params`` set (a link that stays on this site)."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in params]
    return request.url.path + "?" + urlencode([*pairs, *params.items()])
