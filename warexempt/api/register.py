"""The register's routes: cases, their events, history, audit and export, behind bearer tokens and roles.

Thin over ``warexempt.register``: the token names the actor (``people.authenticate``: hashed, expiring,
revocable), the store checks the actor's role for each operation and sees only the actor's organisation, so a
case of another organisation is "not found" through every route. Failed sign-ins are counted per client address
and refused for a while past a limit (``security.SignInLimiter``). The register's errors are values with words in
both languages; here they become problem documents (404, 403, 409, 422, 503).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from warexempt._marks import N_
from warexempt.api import openapi as doc
from warexempt.api import services
from warexempt.api.problems import ApiProblem
from warexempt.api.security import SignInLimiter
from warexempt.rules.case import Problem

STATUS = {"not_found": 404, "forbidden": 403, "conflict": 409, "invalid": 422, "refused": 422, "storage": 503}
BEARER = {"WWW-Authenticate": 'Bearer realm="warexempt"'}
EXPORT_TYPES = {"json": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "yaml": "application/yaml"}


class Store:
    """The register database, opened (and migrated) on first use, once."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._reg: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._reg is None:
            with self._lock:
                if self._reg is None:
                    from warexempt.register.store import Register

                    self._reg = Register.open(self.url)
        return self._reg


def problem_of(exc: Exception, lang: str) -> ApiProblem:
    """A register error as a problem document: its status by its code, its words in ``lang``, its problems each
    with the field it names."""
    from warexempt.api.problems import translate
    from warexempt.register.errors import RegisterError

    assert isinstance(exc, RegisterError)
    found = [
        Problem(place, exc.code, None, "{text}", {"text": translate(message, lang)})
        for place, message in getattr(exc, "problems", [])
    ]
    status = STATUS.get(exc.code, 422)
    return ApiProblem(
        status,
        exc.code,
        found,
        detail="{text}",
        params={"text": _text(exc, lang).split("\n")[0]},
        headers=BEARER if status == 401 else None,
    )


def _text(exc: Any, lang: str) -> str:
    """A register error's words in ``lang``; in English if the catalog fails (logged by ``problems``)."""
    try:
        return str(exc.text(lang))
    except Exception:  # a broken catalog entry must not turn a refusal into a 500
        return str(exc)


async def call(request: Request, work: Any, *args: Any, **kwargs: Any) -> Any:
    """``work(*args)`` in a worker thread (the database blocks); a register error as its problem."""
    from warexempt.api.app import request_lang
    from warexempt.register.errors import RegisterError

    try:
        return await run_in_threadpool(work, *args, **kwargs)
    except RegisterError as exc:
        raise problem_of(exc, request_lang(request)) from None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def actor(request: Request) -> Any:
    """The actor of the request's bearer token: 401 without a valid one, 429 after too many failures."""
    from warexempt.register.errors import Forbidden
    from warexempt.register.people import authenticate

    limiter: SignInLimiter = request.app.state.sign_ins
    client = _client(request)
    limiter.check(client)
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiProblem(401, "not_signed_in", detail=N_("Send a token: Authorization: Bearer <token>"), headers=BEARER)
    reg = request.app.state.register.get()
    try:
        return await run_in_threadpool(authenticate, reg, secret)
    except Forbidden as exc:
        limiter.failed(client)
        from warexempt.api.app import request_lang

        raise ApiProblem(
            401, "bad_token", detail="{text}", params={"text": _text(exc, request_lang(request))}, headers=BEARER
        ) from None


def _event_view(e: Any) -> dict[str, Any]:
    return {
        **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in e.facts().items()},
        "seq": e.seq,
        "supersedes": e.supersedes,
        "recorded_at": e.recorded_at.isoformat(),
        "recorded_by": e.recorded_by,
    }


def _summary(record: Any) -> dict[str, Any]:
    s = record.status
    return {
        "label": record.label,
        "charges": list(record.charges),
        "stage": record.stage,
        "seq": record.seq,
        "as_of": record.day.isoformat(),
        "outcome": s.get("outcome"),
        "eligible": s.get("eligible"),
        "record_cleared": s.get("record_cleared"),
        "reasons": list(s.get("reasons") or []),
        "error": s.get("error"),
        "created_at": record.created_at.isoformat(),
        "law_fingerprint": record.law_fingerprint,
    }


def _case_view(record: Any, lang: str, law: Any) -> dict[str, Any]:
    """A case: its summary, its stored events, and the answer on its day with the steps and citations (the rules'
    answer on its effective history, as ``/check`` gives it)."""
    found = services.decide_rows([record.case()], law)[0]
    decision = None if isinstance(found, ApiProblem) else services.answer(record.case(), found, lang, law)
    return {**_summary(record), "events": [_event_view(e) for e in record.events], "decision": decision}


def _jsonable(value: Any) -> Any:
    from warexempt.register.audit import jsonable

    return jsonable(value)


CASE_SCHEMA = {"type": "object", "required": ["label", "charges", "stage", "seq", "outcome"]}
NEW_CASE = {
    "type": "object",
    "required": ["label", "charges", "stage"],
    "properties": {
        "label": {"type": "string", "minLength": 1, "maxLength": 100},
        "charges": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "stage": {"type": "string"},
        "offence_date": {"type": "string", "format": "date"},
        "as_of": {"type": "string", "format": "date"},
        "events": {"type": "array", "items": doc.ref("Event")},
        "notes": {"type": "string"},
    },
}
NEW_CASE_FIELDS = ("label", "charges", "stage", "offence_date", "as_of", "events", "notes")
NEW_EVENT = {
    "type": "object",
    "required": ["date", "kind"],
    "properties": {
        **doc.event_schema()["properties"],
        "expected_seq": {"type": "integer", "description": "Refuse (409) unless the case is still at this seq."},
        "supersedes": {"type": "string", "description": "The id of the earlier event this one corrects."},
    },
}
SECURED: dict[str, Any] = {"security": [{"bearer": []}]}


def _body(data: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiProblem(
            422,
            "invalid_value",
            [
                Problem(
                    "body",
                    "invalid_value",
                    type(data).__name__,
                    N_("expected a JSON object with {fields}"),
                    {"fields": ", ".join(fields)},
                )
            ],
        )
    return data


def router() -> APIRouter:
    from warexempt.api.app import PREFIX, json_body, json_response, request_lang

    r = APIRouter(prefix=PREFIX, tags=["register"])
    auth_errors = (401, 403, 404, 429)

    @r.get(
        "/cases",
        summary="The organisation's cases, searchable and filterable by outcome",
        openapi_extra=SECURED,
        responses=doc.responses(
            {"description": "The cases.", "content": doc.json_content({"type": "array", "items": CASE_SCHEMA})},
            *auth_errors,
        ),
    )
    async def list_cases(
        request: Request, outcome: str | None = None, q: str | None = None, lang: str = "en"
    ) -> Response:
        who = await actor(request)
        records = await call(request, request.app.state.register.get().cases, who, outcome=outcome or None)
        text = (q or "").strip().lower()
        found = [_summary(x) for x in records if not text or text in x.label.lower()]
        return json_response(found)

    @r.post(
        "/cases",
        summary="Register a new case",
        status_code=201,
        openapi_extra={
            **SECURED,
            "requestBody": {
                "required": True,
                "content": doc.json_content(NEW_CASE, {**doc.EXAMPLE_CASE, "label": "K-1"}),
            },
        },
        responses=doc.responses(
            {"description": "The case, stored.", "content": doc.json_content(CASE_SCHEMA)},
            400,
            409,
            *auth_errors,
            ok_status=201,
        ),
    )
    async def add_case(request: Request, lang: str = "en") -> Response:
        who = await actor(request)
        data = _body(await json_body(request), ("label", "charges", "stage"))
        unknown = sorted(set(data) - set(NEW_CASE_FIELDS) - {"case_id"})
        if unknown:
            raise ApiProblem(
                422,
                "unknown_field",
                [
                    Problem(
                        u,
                        "unknown_field",
                        u,
                        N_("{name} is not a field here; expected {expected}"),
                        {"name": repr(u), "expected": ", ".join(NEW_CASE_FIELDS)},
                    )
                    for u in unknown
                ],
            )
        label = data.get("label", data.get("case_id"))
        if not isinstance(label, str):
            raise ApiProblem(
                422,
                "missing",
                [Problem("label", "missing", None, N_("missing; expected {expected}"), {"expected": "a case label"})],
            )
        notes = data.get("notes")
        if notes is not None and not isinstance(notes, str):
            raise ApiProblem(
                422,
                "invalid_value",
                [
                    Problem(
                        "notes",
                        "invalid_value",
                        str(notes),
                        N_("{value} is not valid here: {reason}"),
                        {"value": repr(notes), "reason": "expected text"},
                    )
                ],
            )
        services.parse_case({k: v for k, v in data.items() if k not in ("label", "notes")} | {"case_id": label})
        reg = request.app.state.register.get()
        record = await call(
            request,
            reg.add_case,
            who,
            label,
            data.get("charges") or [],
            data.get("stage") or "",
            offence_date=data.get("offence_date"),
            as_of=data.get("as_of"),
            notes=notes,
            events=data.get("events") or [],
            request_id=request.headers.get("x-request-id"),
        )
        view = _case_view(record, request_lang(request), request.app.state.law)
        return json_response(view, 201, {"Location": f"{PREFIX}/cases/{record.label}"})

    @r.get(
        "/cases/{label}",
        summary="One case: its facts, events, status and the answer with citations",
        openapi_extra=SECURED,
        responses=doc.responses({"description": "The case.", "content": doc.json_content(CASE_SCHEMA)}, *auth_errors),
    )
    async def get_case(request: Request, label: str, lang: str = "en") -> Response:
        who = await actor(request)
        record = await call(request, request.app.state.register.get().get, who, label)
        return json_response(_case_view(record, request_lang(request), request.app.state.law))

    @r.post(
        "/cases/{label}/events",
        summary="Add an event to a case (refused with the law's reason when it cannot be true)",
        status_code=201,
        openapi_extra={
            **SECURED,
            "requestBody": {
                "required": True,
                "content": doc.json_content(NEW_EVENT, {"date": "2025-01-20", "kind": "state_award"}),
            },
        },
        responses=doc.responses(
            {"description": "What the event did.", "content": doc.json_content({"type": "object"})},
            400,
            409,
            *auth_errors,
            ok_status=201,
        ),
    )
    async def add_event(request: Request, label: str, lang: str = "en") -> Response:
        from warexempt.lifecycle.timeline import step_view

        who = await actor(request)
        data = dict(_body(await json_body(request), ("date", "kind")))
        expected = data.pop("expected_seq", None)
        supersedes = data.pop("supersedes", None)
        if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool)):
            raise ApiProblem(
                422,
                "invalid_value",
                [
                    Problem(
                        "expected_seq",
                        "invalid_value",
                        str(expected),
                        N_("{value} is not a whole number; expected a whole number"),
                        {"value": repr(expected)},
                    )
                ],
            )
        if supersedes is not None and not isinstance(supersedes, str):
            supersedes = str(supersedes)
        reg = request.app.state.register.get()
        done = await call(
            request,
            reg.append,
            who,
            label,
            data,
            expected_seq=expected,
            supersedes=supersedes,
            request_id=request.headers.get("x-request-id"),
        )
        view = step_view(done.step, request.app.state.law, request_lang(request))
        return json_response(_jsonable({**view, "seq": done.seq}), 201)

    @r.get(
        "/cases/{label}/history",
        summary="A case's lifecycle: each event with the law's answer after it",
        openapi_extra=SECURED,
        responses=doc.responses(
            {"description": "The steps.", "content": doc.json_content({"type": "array", "items": {"type": "object"}})},
            *auth_errors,
        ),
    )
    async def history(request: Request, label: str, lang: str = "en") -> Response:
        from warexempt.lifecycle.timeline import timeline

        who = await actor(request)
        record = await call(request, request.app.state.register.get().get, who, label)
        steps = await run_in_threadpool(timeline, record.case(), request.app.state.law, request_lang(request))
        return json_response(_jsonable(steps))

    @r.get(
        "/cases/{label}/audit",
        summary="A case's audit entries, oldest first (hash-chained)",
        openapi_extra=SECURED,
        responses=doc.responses(
            {
                "description": "The entries.",
                "content": doc.json_content({"type": "array", "items": {"type": "object"}}),
            },
            *auth_errors,
        ),
    )
    async def case_audit(request: Request, label: str, lang: str = "en") -> Response:
        who = await actor(request)
        reg = request.app.state.register.get()
        await call(request, reg.get, who, label)  # a case of another organisation is not found
        return json_response(_jsonable(await call(request, reg.audit_log, who, label)))

    @r.get(
        "/export",
        summary="The organisation's cases as JSON Lines, CSV or YAML (audited)",
        openapi_extra=SECURED,
        responses=doc.responses(
            {
                "description": "The export.",
                "content": {m.split(";")[0]: {"schema": {"type": "string"}} for m in EXPORT_TYPES.values()},
            },
            *auth_errors,
        ),
    )
    async def export(request: Request, format: str = "json", outcome: str | None = None, lang: str = "en") -> Response:
        from warexempt.register.io import export as run_export

        who = await actor(request)
        fmt = format.strip().lower()
        if fmt not in EXPORT_TYPES:
            raise ApiProblem(
                422,
                "invalid_value",
                [
                    Problem(
                        "format",
                        "invalid_value",
                        format,
                        N_("{value} is not an export format; expected json, csv or yaml"),
                        {"value": repr(format)},
                    )
                ],
            )
        reg = request.app.state.register.get()
        text = await call(
            request, run_export, reg, who, fmt, outcome=outcome or None, request_id=request.headers.get("x-request-id")
        )
        return Response(text.encode("utf-8"), media_type=EXPORT_TYPES[fmt])

    return r


def install(app: FastAPI, db_url: str | None) -> None:
    """Add the register's routes and its store (opened on first use) to the API."""
    app.state.register = Store(db_url)
    app.include_router(router())
    previous = app.openapi

    def openapi() -> dict[str, Any]:
        schema = previous()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A register token (warexempt users add / token).",
        }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
