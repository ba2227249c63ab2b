"""The page's protections: security headers with a Content-Security-Policy that allows no inline script, a CSRF
token on every form post, and the cookies' flags.

CSRF is the double-submit pattern: a random token in an HTTP-only, ``SameSite=Strict`` cookie, repeated in a hidden
field of every form; a post whose field does not match the cookie, or that comes from another origin, is refused
before the handler runs. No secret is needed, so a restart or a second worker does not log anyone out of a form.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warexempt._marks import N_

CSRF_COOKIE = "wx_csrf"
CSRF_FIELD = "csrf"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csrf_token(request: Request) -> str:
    """The token of this browser (its cookie), or a new one that ``headers`` sets as the cookie."""
    token = getattr(request.state, "csrf", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or ""
        if len(token) < 32:
            token = secrets.token_urlsafe(32)
            request.state.new_csrf = True
        request.state.csrf = token
    return str(token)


def same_origin(request: Request) -> bool:
    """A post from this site, as far as the browser says: ``Sec-Fetch-Site: same-origin`` when it sends that
    header, else an ``Origin`` (or ``Referer``) that names this host. (With ``Referrer-Policy: no-referrer`` a
    browser sends ``Origin: null`` even for its own forms, so ``null`` alone proves nothing either way.)"""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin") or request.headers.get("referer") or "null"
    if origin == "null":
        return True  # the token decides
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def csrf_ok(request: Request) -> bool:
    """Whether a form post carries this browser's token and comes from this site."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not cookie:
        return False
    return hmac.compare_digest(sent.encode(), cookie.encode()) and same_origin(request)


REFUSED = N_("This form has expired or did not come from this site; reload the page and send it again.")


async def require_csrf(request: Request) -> str | None:
    """``None`` when a form post may go on; else why it may not, in the page's language (answer it with 403)."""
    if await csrf_ok(request):
        return None
    from warexempt.explain.i18n import gettext
    from warexempt.web.render import language

    return gettext(language(request), REFUSED)


class Headers:
    """Pure ASGI middleware: the security headers on every response (those the API sets itself are kept) and the
    CSRF cookie when a page made a new token. (Starlette's ``BaseHTTPMiddleware`` would add a task and a stream
    per request to every API call as well.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if scope.get("scheme") == "https" and "strict-transport-security" not in headers:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                state = scope.get("state") or {}
                if state.get("new_csrf"):
                    cookie = Response()
                    cookie.set_cookie(
                        CSRF_COOKIE, state["csrf"], httponly=True, secure=True, samesite="strict", path="/"
                    )
                    headers.append("set-cookie", cookie.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, sending)
