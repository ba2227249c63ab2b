"""RFC 9457 problem details (``application/problem+json``): every error the API gives, in Russian or English.

A problem names what was wrong — the field, the value as given and what was expected — in the same words as
``warexempt check --json`` (``rules.case.Problem``): the API and the CLI refuse the same input the same way. The
``errors`` member lists every problem found in one request, the top-level ``field``/``value``/``detail`` repeat the
first one, so that a client that reads only those still learns what to fix.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.responses import Response

from warexempt._marks import N_
from warexempt.explain.i18n import LANGS, gettext
from warexempt.rules.case import Problem

log = logging.getLogger("warexempt.api")
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:warexempt:problem:"

# What each HTTP status means, as the problem's title when no finer kind applies.
STATUS_TITLES = {
    400: N_("Bad request"),
    401: N_("Not signed in"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Request too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
    503: N_("Service unavailable"),
}


def language(value: object) -> str:
    """``?lang=`` as people type it (``RU``, `` en ``); anything else is English (the API never fails for it)."""
    text = str(value or "").strip().lower()
    return text if text in LANGS else "en"


def translate(text: str, lang: str) -> str:
    """An English message of the catalog in ``lang`` (``explain.messages.translate``); as it is if that fails."""
    from warexempt.explain.messages import translate as words

    try:
        return words(text, lang)
    except Exception:  # a broken catalog entry must not turn an answer into a 500; it is logged
        log.exception("cannot translate %r into %s", text, lang)
        return text


def translator(lang: str) -> Any:
    """``say(template, **params)``: a message template and its values in ``lang`` (the values too: a message
    nested in another is an English message of the catalog, ``explain.messages.translate``)."""

    def say(template: str, **params: str) -> str:
        try:
            return gettext(lang, template, **{k: translate(str(v), lang) for k, v in params.items()})
        except Exception:  # a broken catalog entry must not turn a 422 into a 500: say it in English, and log it
            log.exception("cannot translate %r into %s", template, lang)
            return template.format(**params)

    return say


class ApiProblem(Exception):
    """An error to answer with a problem document: its status, kind and the input problems behind it."""

    def __init__(
        self,
        status: int,
        kind: str,
        problems: list[Problem] | None = None,
        *,
        title: str | None = None,
        detail: str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.kind = kind
        self.problems = list(problems or [])
        self.title = title
        self.detail = detail
        self.params = dict(params or {})
        self.headers = dict(headers or {})
        super().__init__(detail or kind)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (a ``/check`` batch may be decided in another process, ``api.batch``)."""
        return (_rebuild, (self.status, self.kind, self.problems, self.title, self.detail, self.params, self.headers))

    def at(self, prefix: str) -> ApiProblem:
        """The same problem with each field under ``prefix`` (``cases[3].``)."""
        moved = [p.at(prefix + p.field) for p in self.problems]
        return ApiProblem(
            self.status,
            self.kind,
            moved,
            title=self.title,
            detail=self.detail,
            params=self.params,
            headers=self.headers,
        )

    def document(self, lang: str = "en", instance: str | None = None) -> dict[str, Any]:
        """The problem as JSON-ready data, in ``lang``."""
        say = translator(lang)
        errors = [p.to_json(say) for p in self.problems]
        title = gettext(lang, self.title) if self.title else gettext(lang, STATUS_TITLES.get(self.status, "Error"))
        if self.title is None and len(self.problems) == 1:
            title = self.problems[0].title(lambda m: gettext(lang, m))
        doc: dict[str, Any] = {"type": TYPE_BASE + self.kind, "title": title, "status": self.status}
        if self.detail is not None:
            doc["detail"] = say(self.detail, **self.params)
        elif errors:
            doc["detail"] = "; ".join(
                f"{e['field']}: {e['detail']}" if e["field"] else str(e["detail"]) for e in errors
            )
        if errors:
            doc["field"] = errors[0]["field"]
            doc["value"] = errors[0]["value"]
            doc["errors"] = errors
        if instance:
            doc["instance"] = instance
        return doc


def _rebuild(
    status: int,
    kind: str,
    problems: list[Problem],
    title: str | None,
    detail: str | None,
    params: dict[str, str],
    headers: dict[str, str],
) -> ApiProblem:
    return ApiProblem(status, kind, problems, title=title, detail=detail, params=params, headers=headers)


def problem_response(problem: ApiProblem, lang: str, instance: str | None, headers: dict[str, str]) -> Response:
    body = json.dumps(problem.document(lang, instance), ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=problem.status, media_type=MEDIA_TYPE, headers={**headers, **problem.headers})


def invalid(field: str, value: object, template: str, /, **params: str) -> ApiProblem:
    """A 422 for one bad value: ``template`` an English msgid naming what was expected."""
    shown = None if value is None else str(value)
    return ApiProblem(422, "invalid_value", [Problem(field, "invalid_value", shown, template, params)])


# The JSON Schema of a problem document, for the OpenAPI document.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists every problem with the input, each naming the field, "
    "the value as given and what was expected.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "value": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "title", "field", "value", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "field": {"type": ["string", "null"]},
                    "value": {"type": ["string", "null"]},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
