"""``POST /api/v1/check``, the route under load: its one implementation and the fast path that serves it.

FastAPI's request machinery (routing over every route of the site, dependency solving, its exception and exit-stack
layers) costs several times what the check itself costs, so ``FastCheck`` — a pure ASGI middleware just inside
``security.Guard`` — answers ``POST /api/v1/check`` itself: the Guard still adds the law's fingerprint and the
security headers and enforces the body limit, and every other request (``GET /api/v1/check``'s 405 included) goes on
to FastAPI untouched. The FastAPI route stays registered, for the OpenAPI document and for an app built without the
middleware, and calls the same ``CheckEndpoint``: one reading of the query and body, one set of problems.

The body is read by ``parse_json`` (pydantic-core's JSON reader, ``json.loads`` for what it refuses) and
``services.parse_case`` exactly as on every other route; the answer's JSON is its kind's template filled with the
case's id and dates (``api.answers``), the bytes of ``services.answer`` serialised by pydantic-core's ``to_json``
(Rust), which writes the same bytes as ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` for a decision (no
numbers in ``decision.schema.json``, so no float formatting to differ: ``tests/test_api.py`` and
``tests/test_api_answers.py`` compare them).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from pydantic_core import from_json, to_json
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, QueryParams

from warexempt._marks import N_
from warexempt.api import services
from warexempt.api.answers import answer_json
from warexempt.api.batch import MicroBatcher, settle
from warexempt.api.problems import ApiProblem, problem_response
from warexempt.api.security import ASGIApp, Message, Receive, Scope, Send, lang_of
from warexempt.law.catalog import Law, bundled_law
from warexempt.rules.case import Case, Problem

log = logging.getLogger("warexempt.api")
CHECK_PATH = "/api/v1/check"
FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
BOOL_PARSING = N_("{value} is not true or false; expected true or false")
JSON_HEADERS = [(b"content-type", b"application/json")]


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON, as ``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` writes it for data
    without floats (a decision has none)."""
    return to_json(data)


def query_flag(params: QueryParams | None, name: str) -> bool:
    """A boolean query value (``true``/``false``, ``1``/``0``, ``yes``/``no``, any case); a 422 naming it else."""
    raw = None if params is None else params.get(name)
    if raw is None:
        return False
    found = FLAGS.get(raw.strip().lower())
    if found is None:
        raise ApiProblem(
            422, "invalid_request", [Problem(name, "invalid_value", raw, BOOL_PARSING, {"value": repr(raw)})]
        )
    return found


def parse_json(raw: bytes) -> Any:
    """A request body as JSON; a 400 problem naming what is wrong with it otherwise."""
    if not raw.strip():
        raise ApiProblem(
            400,
            "empty_body",
            [Problem("body", "missing", None, N_("missing; expected {expected}"), {"expected": "a JSON object"})],
        )
    try:
        try:  # (pydantic-core's reader, in Rust, reads valid UTF-8 JSON as ``json.loads`` does, a third the cost;
            data = from_json(raw)  # anything it refuses goes to ``json.loads``, for its answer or its problem)
        except ValueError:
            data = json.loads(raw)
        if _SURROGATE.search(raw) and not _unicode(data):  # (``\ud800`` alone: JSON, but no text a reply can carry)
            raise ValueError("a lone surrogate")
        return data
    except json.JSONDecodeError as exc:
        template, params = (
            N_("the body is not JSON (line {line}, column {column}); expected a JSON object"),
            {"line": str(exc.lineno), "column": str(exc.colno)},
        )
    except (ValueError, UnicodeDecodeError):
        template, params = N_("the body is not UTF-8 text; expected a JSON object"), {}
    shown = raw[:80].decode("utf-8", "replace")
    raise ApiProblem(400, "not_json", [Problem("body", "invalid_value", shown, template, params)])


_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # an escaped UTF-16 surrogate: a pair is a character, one alone is not


def _unicode(data: Any) -> bool:
    """Whether every string of the parsed body (keys too) is Unicode text, encodable as UTF-8."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(data, dict):
        return all(_unicode(k) and _unicode(v) for k, v in data.items())
    if isinstance(data, list):
        return all(_unicode(v) for v in data)
    return True


Answer = bytes | ApiProblem


def decide_bodies(fingerprint: str, items: Sequence[tuple[bytes, str]]) -> list[Answer]:
    """The micro-batcher's work for ``/check``: each ``(body, lang)`` read (``parse_json``, ``services.parse_case``),
    every readable case decided in ONE call of the engine (``services.decide_rows``), each answer's JSON written
    (``answers.answer_json``: the bytes of ``services.answer``, from its kind's template) — or the problem that
    kept a body from one. Runs in a thread or in the deciding process (``api.batch``), on the
    bundled law, which must be the one the app names in its responses (``fingerprint``)."""
    law = bundled_law()
    if law.fingerprint != fingerprint:  # the law files changed under a running server: say so, answer nothing
        raise RuntimeError(f"the law is {law.fingerprint} here, {fingerprint} in the app; restart the server")
    out: list[Answer | None] = [None] * len(items)
    good: list[tuple[int, Case, str]] = []
    for i, (raw, lang) in enumerate(items):
        try:
            good.append((i, services.parse_case(parse_json(raw), law=law), lang))
        except ApiProblem as exc:
            out[i] = exc
    try:
        rows = services.decide_rows([case for _, case, _ in good], law)
    except ApiProblem as exc:  # (only for a batch of one: the engine refused its code)
        rows = [exc]
    for (i, case, lang), row in zip(good, rows, strict=True):
        out[i] = row if isinstance(row, ApiProblem) else answer_json(case, row, lang, law)
    return [found for found in out if found is not None]


def warm() -> None:
    """A new deciding process: the law, its tables, the engine and both languages' words loaded before the first
    request comes, then kept out of the collector's sight (``batch.settle``); and a watch on the server's process,
    so that this one ends with it even when it is killed outright."""
    threading.Thread(target=_end_with, args=(os.getppid(),), name="warexempt-parent-watch", daemon=True).start()
    law = bundled_law()
    decide_bodies(law.fingerprint, [(EXAMPLE, "en"), (EXAMPLE, "ru")])
    settle()


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


EXAMPLE = json.dumps(
    {"charges": ["158:3"], "stage": "trial", "events": [{"date": "2024-10-20", "kind": "contract_signed"}]}
).encode()


class CheckEndpoint:
    """What ``POST /check`` answers: the query read, then the body read, decided and serialised with the other
    bodies that came meanwhile (``decide_bodies`` through the micro-batcher), or with its what-if branches in a
    worker thread. Bad input raises ``ApiProblem``."""

    def __init__(self, law: Law, batcher: MicroBatcher[tuple[bytes, str], Answer]) -> None:
        self.law = law
        self.batcher = batcher

    async def answer(self, params: QueryParams | None, accept: str | None, raw: bytes) -> bytes:
        with_what_if = query_flag(params, "what_if")
        say = lang_of(params, accept)
        if with_what_if:
            data = parse_json(raw)
            found = await run_in_threadpool(services.check, data, say, True, self.law)
            return json.dumps(found, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        answer = await self.batcher.submit((raw, say))
        if isinstance(answer, ApiProblem):
            raise answer
        return answer


class ClientGone(Exception):
    """The client closed the connection before its body was in."""


async def read_body(receive: Receive) -> bytes:
    """Every ``http.request`` message's bytes, as ``Request.body()`` reads them."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class FastCheck:
    """``POST /api/v1/check`` answered without FastAPI's routing (see the module's docstring); the rest passes on."""

    def __init__(self, app: ASGIApp, endpoint: CheckEndpoint, path: str = CHECK_PATH) -> None:
        self.app = app
        self.endpoint = endpoint
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        params = QueryParams(query) if query else None
        accept = None
        for key, value in scope["headers"]:
            if key == b"accept-language":
                accept = value.decode("latin-1")
                break
        try:
            raw = await read_body(receive)  # (the Guard's BodyTooLarge passes through: the Guard answers it)
        except ClientGone:
            return
        try:
            body = await self.endpoint.answer(params, accept, raw)
        except ApiProblem as exc:
            await self._problem(scope, receive, send, exc, lang_of(params, accept))
            return
        except Exception:  # as the app's own handler: a 500 problem, no traceback, logged
            log.exception("unexpected error on POST %s", scope["path"])
            broken = ApiProblem(
                500, "internal", detail=N_("Something went wrong on our side; the input was not at fault")
            )
            await self._problem(scope, receive, send, broken, lang_of(params, accept))
            return
        start: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode()), *JSON_HEADERS],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def _problem(self, scope: Scope, receive: Receive, send: Send, problem: ApiProblem, lang: str) -> None:
        response = problem_response(problem, lang, URL(scope=scope).path, {})
        await response(scope, receive, send)
