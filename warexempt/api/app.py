"""The HTTP API: ``create_app()`` → a FastAPI app with every route under ``/api/v1/``.

Routes are thin: each reads its input, calls ``api.services`` (the functions the web page and the CLI's views share)
and returns their plain data as JSON. Every error is ``application/problem+json`` (``api.problems``), FastAPI's own
validation and HTTP errors included; an unexpected failure is a 500 problem with no traceback, logged. ``POST
/check`` is answered by a fast path that skips FastAPI's routing (``api.check``) and goes through the micro-batcher
(``api.batch``). The OpenAPI 3.1 document is ``/openapi.json``; there is no Swagger page (it would load scripts
from a CDN).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from warexempt import __version__
from warexempt._marks import N_
from warexempt.api import openapi as doc
from warexempt.api import services
from warexempt.api.batch import MicroBatcher, settle
from warexempt.api.check import (
    BOOL_PARSING,
    CHECK_PATH,
    Answer,
    CheckEndpoint,
    FastCheck,
    decide_bodies,
    parse_json,
    query_flag,
    warm,
)
from warexempt.api.jobs import JobError, Jobs
from warexempt.api.problems import ApiProblem, problem_response
from warexempt.api.security import Guard, MiB, SignInLimiter, lang_of
from warexempt.law.catalog import Law, bundled_law
from warexempt.rules.case import Problem

log = logging.getLogger("warexempt.api")
PREFIX = "/api/v1"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Plain ``json.dumps`` (the views are plain data): no encoder walk over every value."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def request_lang(request: Request) -> str:
    """``?lang=`` (any case), else the ``Accept-Language`` header, else English (``security.lang_of``)."""
    return lang_of(request.query_params, request.headers.get("accept-language"))


async def json_body(request: Request) -> Any:
    """The request body as JSON; a 400 problem naming what is wrong with it otherwise."""
    return parse_json(await request.body())


# ------------------------------------------------------------------------------------------------------------
# errors → problem+json
# ------------------------------------------------------------------------------------------------------------
EXPECTED = {
    "bool_parsing": BOOL_PARSING,
    "int_parsing": N_("{value} is not a whole number; expected a whole number"),
    "greater_than_equal": N_("{value} is too small; expected at least {limit}"),
    "less_than_equal": N_("{value} is too large; expected at most {limit}"),
}


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    found = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body", "header")]
        field = ".".join(loc) or "request"
        value = err.get("input")
        shown = None if value is None else str(value)
        kind = str(err.get("type", ""))
        ctx = err.get("ctx") or {}
        if kind == "missing":
            found.append(Problem(field, "missing", None, N_("missing; expected {expected}"), {"expected": field}))
        elif kind in EXPECTED:
            limit = str(ctx.get("ge", ctx.get("le", "")))
            found.append(Problem(field, "invalid_value", shown, EXPECTED[kind], {"value": repr(shown), "limit": limit}))
        else:
            reason = str(err.get("msg", ""))
            found.append(
                Problem(
                    field,
                    "invalid_value",
                    shown,
                    N_("{value} is not valid here: {reason}"),
                    {"value": repr(shown), "reason": reason},
                )
            )
    return found


def _install_errors(app: FastAPI) -> None:
    def answer(request: Request, problem: ApiProblem) -> Response:
        return problem_response(problem, request_lang(request), request.url.path, {})

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, exc: ApiProblem) -> Response:
        return answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return answer(request, ApiProblem(422, "invalid_request", _validation_problems(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = {
            404: N_("There is nothing at {path}; the API's routes are listed in /openapi.json"),
            405: N_("{method} is not a method of {path}; /openapi.json lists the methods of each route"),
        }.get(exc.status_code)
        problem = ApiProblem(
            exc.status_code,
            kind,
            detail=detail,
            params={"path": request.url.path, "method": request.method},
            headers=dict(exc.headers or {}),
        )
        return answer(request, problem)

    @app.exception_handler(Exception)
    async def _broken(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        problem = ApiProblem(500, "internal", detail=N_("Something went wrong on our side; the input was not at fault"))
        return answer(request, problem)


# ------------------------------------------------------------------------------------------------------------
# routes
# ------------------------------------------------------------------------------------------------------------
LANG_DOC = "The language of the answer's words and of its errors: en or ru (default: Accept-Language, else en)."
# /check's query, read by hand (FastAPI's parameter machinery is a tenth of a check's cost) and documented here.
CHECK_QUERY = [
    {"name": "lang", "in": "query", "required": False, "description": LANG_DOC, "schema": {"type": "string"}},
    {
        "name": "what_if",
        "in": "query",
        "required": False,
        "description": "Also list every next step the law allows and where it leads.",
        "schema": {"type": "boolean", "default": False},
    },
]


def flag(request: Request, name: str) -> bool:
    """A boolean query value (``true``/``false``, ``1``/``0``, ``yes``/``no``, any case); a 422 naming it else."""
    return query_flag(request.query_params, name)


def _routes(law: Law) -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    @router.post(
        "/check",
        summary="Check one case",
        description="One case in the acceptance format (`facts` at the top level, plus `as_of`); the answer is the "
        "object of `warexempt check --json` (`decision.schema.json`), with the what-if branches when asked. "
        "Concurrent requests are decided together in one call of the engine.",
        openapi_extra={
            "parameters": CHECK_QUERY,
            "requestBody": {"required": True, "content": doc.json_content(doc.ref("Case"), doc.EXAMPLE_CASE)},
        },
        responses=doc.responses(
            {"description": "The answer.", "content": doc.json_content(doc.ref("Decision"))}, 400, 413
        ),
    )
    async def check(request: Request) -> Response:
        # (``FastCheck`` answers POST /check before FastAPI routes it; this route documents it, and serves an app
        # mounted without that middleware, through the same ``CheckEndpoint``)
        endpoint: CheckEndpoint = request.app.state.check
        params = request.query_params
        accept = request.headers.get("accept-language")
        body = await endpoint.answer(params, accept, await request.body())
        return Response(body, media_type="application/json")

    answers = {
        "type": "object",
        "required": ["answers"],
        "properties": {
            "answers": {
                "type": "array",
                "items": {"oneOf": [doc.ref("Decision"), doc.ref("Problem")]},
                "description": "One per case, in order: its decision, or the problem that kept it from one.",
            }
        },
    }
    many = {
        "oneOf": [
            {
                "type": "object",
                "required": ["cases"],
                "properties": {"cases": {"type": "array", "items": doc.ref("Case"), "maxItems": services.MAX_CASES}},
            },
            {"type": "array", "items": doc.ref("Case"), "maxItems": services.MAX_CASES},
        ]
    }

    @router.post(
        "/evaluate",
        summary="Check many cases",
        description=f'Up to {services.MAX_CASES:,} cases in one body (`{{"cases": [...]}}` or a bare list), decided '
        "in one call of the engine; one answer per case, in order. A case that cannot be read gets its problem in "
        "its place; the others are decided all the same.",
        openapi_extra={
            "requestBody": {"required": True, "content": doc.json_content(many, {"cases": [doc.EXAMPLE_CASE]})}
        },
        responses=doc.responses({"description": "The answers.", "content": doc.json_content(answers)}, 400, 413),
    )
    async def evaluate(request: Request, lang: str = "en") -> Response:
        data = await json_body(request)
        items = data.get("cases") if isinstance(data, dict) else data
        if isinstance(data, dict) and "cases" not in data:
            raise ApiProblem(
                422,
                "invalid_value",
                [
                    Problem(
                        "cases", "missing", None, N_("missing; expected {expected}"), {"expected": "a list of cases"}
                    )
                ],
            )
        if isinstance(items, list) and len(items) > services.MAX_CASES:
            raise services.too_many(len(items))
        found = await run_in_threadpool(services.evaluate, items, request_lang(request), law)
        return json_response({"answers": found})

    @router.post(
        "/bulk",
        summary="Check a file of cases in the background",
        description="A CSV or Parquet file in the bulk schema (`warexempt bulk --help`) as the multipart field "
        "`file`; the answer is 202 with the job's URL in `Location`. The output has the input's format unless "
        "`format` says otherwise.",
        status_code=202,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "as_of": {"type": "string", "format": "date"},
                                "format": {"enum": ["csv", "parquet"]},
                            },
                        }
                    }
                },
            }
        },
        responses=doc.responses(
            {"description": "The job, queued.", "content": doc.json_content(doc.ref("Job"))},
            400,
            413,
            415,
            ok_status=202,
        ),
    )
    async def bulk(request: Request, lang: str = "en") -> Response:
        try:
            form = await request.form(max_files=1, max_fields=8)
        except Exception:  # a body that is not multipart at all: the client's problem
            raise _not_multipart() from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise _not_multipart()
        as_of = form.get("as_of")
        day = services.day(as_of if isinstance(as_of, str) else None)
        fmt = form.get("format")
        jobs: Jobs = request.app.state.jobs
        try:
            job = await run_in_threadpool(
                jobs.submit, upload.file, upload.filename or "", day, fmt if isinstance(fmt, str) else None
            )
        except JobError:
            raise ApiProblem(
                415,
                "not_a_case_file",
                [
                    Problem(
                        "file",
                        "invalid_value",
                        upload.filename,
                        N_("{value} is not a .csv or .parquet file; expected a file in the bulk schema"),
                        {"value": repr(upload.filename)},
                    )
                ],
            ) from None
        finally:
            await form.close()
        url = f"{PREFIX}/jobs/{job.id}"
        return json_response(job.view(url), status=202, headers={"Location": url})

    def _job(request: Request, job_id: str) -> Any:
        found = request.app.state.jobs.get(job_id)
        if found is None:
            raise ApiProblem(
                404,
                "no_such_job",
                [
                    Problem(
                        "id",
                        "invalid_value",
                        job_id,
                        N_("{value} is not a job of this server"),
                        {"value": repr(job_id)},
                    )
                ],
            )
        return found

    @router.get(
        "/jobs/{job_id}",
        summary="A bulk job's progress and counts",
        responses=doc.responses({"description": "The job.", "content": doc.json_content(doc.ref("Job"))}, 404),
    )
    async def job(request: Request, job_id: str, lang: str = "en") -> Response:
        found = _job(request, job_id)
        view = found.view(f"{PREFIX}/jobs/{found.id}")
        if view["error"]:
            from warexempt.api.problems import translate

            view["error"] = translate(view["error"], request_lang(request))
        return json_response(view)

    def _file(request: Request, job_id: str, which: str) -> Response:
        found = _job(request, job_id)
        if found.status != "done":
            raise ApiProblem(
                409,
                "job_not_done",
                detail=N_("The job is {status}; its files are there once it is done"),
                params={"status": found.status},
            )
        path: Path = found.output if which == "result" else found.errors_file
        media = "application/vnd.apache.parquet" if path.suffix == ".parquet" else "text/csv; charset=utf-8"
        return FileResponse(path, media_type=media, filename=f"{found.id}-{path.name}")

    files = {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.apache.parquet": {"schema": {"type": "string"}},
    }

    @router.get(
        "/jobs/{job_id}/result",
        summary="A finished job's decisions file",
        responses=doc.responses({"description": "The decisions (CSV or Parquet).", "content": files}, 404, 409),
    )
    async def job_result(request: Request, job_id: str, lang: str = "en") -> Response:
        return _file(request, job_id, "result")

    @router.get(
        "/jobs/{job_id}/errors",
        summary="A finished job's bad rows (row, case_id, column, value, reason)",
        responses=doc.responses(
            {"description": "The errors CSV.", "content": {"text/csv": files["text/csv"]}}, 404, 409
        ),
    )
    async def job_errors(request: Request, job_id: str, lang: str = "en") -> Response:
        return _file(request, job_id, "errors")

    @router.get(
        "/law",
        summary="The law in force on a day",
        responses=doc.responses(
            {"description": "Routes, lists, rules, sources.", "content": doc.json_content(doc.ref("Law"))}
        ),
    )
    async def law_in_force(request: Request, as_of: str | None = None, lang: str = "en") -> Response:
        return json_response(services.law_in_force(as_of, request_lang(request), law))

    @router.get(
        "/timeline",
        summary="Every instrument version on one time line",
        responses=doc.responses(
            {
                "description": "The instruments.",
                "content": doc.json_content({"type": "array", "items": doc.ref("TimelineItem")}),
            }
        ),
    )
    async def timeline(request: Request, lang: str = "en") -> Response:
        return json_response(services.timeline(request_lang(request), law))

    @router.get(
        "/codes",
        summary="Criminal Code articles and parts, by number or title words (autocomplete)",
        responses=doc.responses(
            {
                "description": "The matching articles and parts, in the Code's order.",
                "content": doc.json_content({"type": "array", "items": doc.ref("Code")}),
            }
        ),
    )
    async def codes(request: Request, q: str = "", limit: int = 20, lang: str = "en") -> Response:
        if not 1 <= limit <= 100:
            raise ApiProblem(
                422,
                "invalid_value",
                [
                    Problem(
                        "limit",
                        "invalid_value",
                        str(limit),
                        N_("{value} is out of range; expected {low} to {high}"),
                        {"value": str(limit), "low": "1", "high": "100"},
                    )
                ],
            )
        return json_response(services.codes(q, request_lang(request), limit, law))

    return router


def _not_multipart() -> ApiProblem:
    return ApiProblem(
        400,
        "not_multipart",
        [
            Problem(
                "file",
                "missing",
                None,
                N_("missing; expected {expected}"),
                {"expected": "a CSV or Parquet file as the multipart/form-data field 'file'"},
            )
        ],
    )


class _Api(FastAPI):
    """FastAPI with ``POST /api/v1/check`` over plain HTTP handed straight to the part of its middleware stack from
    ``security.Guard`` in to ``check.FastCheck`` — the same objects the stack would reach, with the same headers and
    limits. The layers around them (Starlette's error middleware, FastAPI's telemetry and body-size wrappers, the
    site's security headers, which the Guard's already hold: ``tests/test_api_fast.py`` compares) have nothing to
    add to it and cost a tenth of the request's server time. Over HTTPS it goes through the whole stack (the site
    adds HSTS there)."""

    _check_chain: Any = None

    def build_middleware_stack(self) -> Any:
        stack = super().build_middleware_stack()
        kinds: list[Any] = [m.cls for m in self.user_middleware]
        self._check_chain = None
        if Guard in kinds and FastCheck in kinds and kinds.index(Guard) < kinds.index(FastCheck):
            chain: Any = stack  # (FastCheck's way on for anything else: never taken, the path is checked first)
            for m in reversed(self.user_middleware[kinds.index(Guard) : kinds.index(FastCheck) + 1]):
                chain = m.cls(chain, *m.args, **m.kwargs)
            self._check_chain = chain
        return stack

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == CHECK_PATH and scope["method"] == "POST":
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            if self._check_chain is not None and scope.get("scheme") == "http":
                await self._check_chain(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    db_url: str | None = None,
    *,
    jobs_dir: Path | None = None,
    batch_window: float = 0.0,
    body_limit: int = 8 * MiB,
    upload_limit: int = 512 * MiB,
    decide_processes: int = 0,
) -> FastAPI:
    """The API. ``db_url``: the register's database (SQLite by default); ``jobs_dir``: where ``/bulk`` jobs keep
    their files (a temporary folder by default); ``batch_window``: how long an idle batcher waits for company
    (``api.batch``; 0: decide at once, the batches grow by themselves under load); ``decide_processes``: 1 to
    read and decide ``/check`` batches in a process beside the server's (``warexempt serve`` does on 2+ cores),
    0 in a thread."""
    law = bundled_law()
    jobs = Jobs(jobs_dir, law)
    batcher: MicroBatcher[tuple[bytes, str], Answer] = MicroBatcher(
        partial(decide_bodies, law.fingerprint), window=batch_window, processes=decide_processes, warm=warm
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        if batcher.processes:  # a server (``warexempt serve``), not a test's client: see ``batch.settle``
            settle()
        yield
        await batcher.close()
        jobs.close()

    app = _Api(
        title="warexempt",
        version=__version__,
        summary="Russia's prosecution-for-service law as cited, dated rules",
        description="Check a case against the law in force on its dates, with the provisions that decide it, in "
        "Russian and English. Every error is application/problem+json (RFC 9457) naming the field, the value and "
        "what was expected; every response carries the law's fingerprint in `X-Warexempt-Law`.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # no OpenTelemetry here (nothing collects it): asking whether a provider is configured costs ~70 µs a request
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.law = law
    app.state.db_url = db_url
    app.state.jobs = jobs
    app.state.batcher = batcher
    app.state.sign_ins = SignInLimiter()
    _install_errors(app)
    app.state.check = endpoint = CheckEndpoint(law, batcher)
    app.include_router(_routes(law))
    app.add_middleware(FastCheck, endpoint=endpoint)  # inside the Guard: its headers and limits apply
    app.add_middleware(Guard, fingerprint=law.fingerprint, body_limit=body_limit, upload_limit=upload_limit)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(doc.components())
            for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, replaced by Problem
                schema["components"]["schemas"].pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    _install_register(app, db_url)
    return app


def _install_register(app: FastAPI, db_url: str | None) -> None:
    """The register's routes, when the register package is there (``api.register``)."""
    import importlib

    try:
        module = importlib.import_module("warexempt.api.register")
    except ModuleNotFoundError as exc:  # the register is built apart: the API works without it
        if exc.name in ("warexempt.api.register", "warexempt.register", "sqlalchemy"):
            return
        raise
    module.install(app, db_url)
