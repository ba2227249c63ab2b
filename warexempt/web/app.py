"""The site: the HTTP API (``warexempt.api.app.create_app``) with the pages and their static files beside it.

One application, so that the page and the API share a process, the law in memory and the security headers; every
asset is served from ``static/`` (htmx vendored from the npm registry), nothing from the internet.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from warexempt.api.app import create_app
from warexempt.web import pages, security
from warexempt.web.numbers import Numbers, default_cache
from warexempt.web.render import HERE


def create_site(db_url: str | None = None, *, numbers: Numbers | None = None) -> FastAPI:
    """The API app with the pages (``/``, ``/law``, ``/numbers``, and ``/cases`` when the API has the register)
    and ``/static``. ``numbers``: how the population estimates are built (default: the report's, cached in the
    user's cache folder)."""
    app = create_app(db_url)
    app.state.web_numbers = numbers or Numbers(cache_dir=default_cache())
    app.add_middleware(security.Headers)
    app.include_router(pages.router)
    if hasattr(app.state, "register"):  # the API installed the register: its pages too
        from warexempt.web import cases

        app.state.web_sessions = cases.Sessions()
        app.include_router(cases.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
