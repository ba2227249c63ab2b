"""What every response carries and what every request may not exceed: one pure ASGI middleware.

- the law's fingerprint (``X-Warexempt-Law``) on every response, errors included, so a stored answer can be
  matched to the law files it was made under;
- the security headers: a Content-Security-Policy without inline scripts and with ``frame-ancestors 'none'``,
  ``X-Content-Type-Options``, ``Referrer-Policy``, ``X-Frame-Options``, ``Cross-Origin-Opener-Policy``,
  ``Permissions-Policy`` (a page may set its own CSP: a header already set is kept);
- a body size limit (a larger one for the ``/bulk`` upload), by ``Content-Length`` and by the bytes actually
  read, answered with a 413 problem.

``SignInLimiter`` counts failed token sign-ins per client address and refuses more for a while (429).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from warexempt._marks import N_
from warexempt.api.problems import ApiProblem, language, problem_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
LAW_HEADER = "x-warexempt-law"

MiB = 1 << 20


class BodyTooLarge(Exception):
    pass


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413,
        "body_too_large",
        title=N_("Request too large"),
        detail=N_("The request body is larger than {limit} MiB; send fewer cases, or a file to /api/v1/bulk"),
        params={"limit": f"{limit / MiB:g}"},
    )


class Guard:
    """Headers on every response, size limits on every request body (``upload_paths`` get ``upload_limit``)."""

    def __init__(
        self,
        app: ASGIApp,
        fingerprint: str,
        body_limit: int = 8 * MiB,
        upload_limit: int = 512 * MiB,
        upload_paths: tuple[str, ...] = ("/api/v1/bulk",),
    ) -> None:
        self.app = app
        self.fingerprint = fingerprint
        self.body_limit = body_limit
        self.upload_limit = upload_limit
        self.upload_paths = upload_paths
        self.headers = [(LAW_HEADER.encode(), fingerprint.encode())] + [
            (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.upload_limit if path in self.upload_paths else self.body_limit
        extra = self.headers
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in have)]
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send_with_headers, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send_with_headers, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            too_large(limit), _lang_of(scope), str(scope.get("path", "")), {"connection": "close"}
        )
        await response(scope, receive, send)


def _lang_of(scope: Scope) -> str:
    from starlette.datastructures import QueryParams

    accept = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"accept-language"), None)
    return lang_of(QueryParams(scope.get("query_string", b"")), accept)


def lang_of(params: Any, accept: str | None) -> str:
    """``?lang=`` (any case), else the ``Accept-Language`` header, else English (``params``: Starlette's
    ``QueryParams``, or None)."""
    if params is not None and "lang" in params:
        return language(params["lang"])
    return accept_language(accept)


def accept_language(header: str | None) -> str:
    """The first of ru/en that an ``Accept-Language`` header names (by its order, ignoring weights below 0)."""
    for item in (header or "").split(","):
        tag = item.split(";")[0].strip().lower()[:2]
        if tag in ("ru", "en"):
            return tag
    return "en"


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class SignInLimiter:
    """At most ``attempts`` failed sign-ins per client address in ``window`` seconds; past that a 429 with
    ``Retry-After`` until the oldest failure leaves the window. A success does not reset the count (an attacker
    with one valid token must not get unlimited guesses at others)."""

    def __init__(self, attempts: int = 10, window: float = 60.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        found = self._failures.setdefault(client, deque())
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def check(self, client: str) -> None:
        """Raise a 429 problem if ``client`` has failed too often lately."""
        now = time.monotonic()
        with self._lock:
            found = self._recent(client, now)
            if len(found) >= self.attempts:
                wait = max(1, int(found[0] + self.window - now) + 1)
                raise ApiProblem(
                    429,
                    "too_many_sign_ins",
                    title=N_("Too many requests"),
                    detail=N_("Too many failed sign-ins from this address; try again in {seconds} s"),
                    params={"seconds": str(wait)},
                    headers={"Retry-After": str(wait)},
                )

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client, time.monotonic()).append(time.monotonic())
            if len(self._failures) > 10_000:  # never grow without bound: forget the addresses with no recent failure
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]
