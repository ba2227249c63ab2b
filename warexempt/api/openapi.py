"""The OpenAPI 3.1 document's schemas and examples, beside the routes that use them.

The answer's schema IS ``explain/decision.schema.json`` (the one ``check --json`` is tested against), moved into
``components/schemas`` with its ``$defs`` as components of their own (``Decision.citation``...), so the document
has one definition of an answer and the CLI, the API and the tests cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

from warexempt.api.problems import MEDIA_TYPE, PROBLEM_SCHEMA
from warexempt.explain.views import decision_schema
from warexempt.law.catalog import bundled_law


def _rewrite(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v, prefix) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = f"#/components/schemas/{prefix}.{ref.removeprefix('#/$defs/')}"
        return out
    if isinstance(node, list):
        return [_rewrite(v, prefix) for v in node]
    return node


def decision_components() -> dict[str, Any]:
    """``Decision`` and its parts, from the decision JSON Schema."""
    schema = copy.deepcopy(decision_schema())
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    out = {"Decision": _rewrite(schema, "Decision")}
    out.update({f"Decision.{name}": _rewrite(body, "Decision") for name, body in defs.items()})
    return out


EXAMPLE_CASE = {
    "case_id": "A-0001",
    "charges": ["158:3:в"],
    "stage": "trial",
    "events": [
        {"date": "2024-10-20", "kind": "contract_signed"},
        {"date": "2024-11-01", "kind": "command_petition"},
    ],
    "as_of": "2025-06-01",
}


def case_schema() -> dict[str, Any]:
    """One case as the API takes it: the acceptance format's ``facts`` at the top level, plus ``as_of``."""
    vocab = bundled_law().vocabulary
    date = {"type": "string", "format": "date", "examples": ["2025-06-01"]}
    return {
        "type": "object",
        "required": ["charges", "stage"],
        "additionalProperties": False,
        "properties": {
            "case_id": {"type": "string", "examples": ["A-0001"]},
            "charges": {
                "description": "Criminal Code codes ARTICLE[:PART[:POINT]], e.g. 158:3:в; 30:3-158:3 for an attempt.",
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "examples": ["158:3:в"]},
            },
            "stage": {"enum": vocab.ids("stages"), "description": "The stage at the start of the record."},
            "offence_date": date,
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            "as_of": {**date, "description": "The day the question is asked (default: today)."},
        },
        "examples": [EXAMPLE_CASE],
    }


def event_schema() -> dict[str, Any]:
    vocab = bundled_law().vocabulary
    return {
        "type": "object",
        "required": ["date", "kind"],
        "additionalProperties": False,
        "properties": {
            "date": {"type": "string", "format": "date"},
            "kind": {"enum": vocab.ids("events")},
            "ground": {"enum": vocab.ids("discharge_grounds"), "description": "For discharged."},
            "stage": {"enum": vocab.ids("stages"), "description": "For stage_changed."},
            "charge": {"type": "string", "description": "For new_offence, e.g. 338:4."},
            "award": {"type": "string", "description": "For state_award (optional)."},
            "id": {"type": "string"},
        },
    }


JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "step", "progress", "as_of"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": ["queued", "running", "done", "failed"]},
        "step": {"type": "string"},
        "progress": {"type": "number"},
        "as_of": {"type": "string", "format": "date"},
        "rows_read": {"type": ["integer", "null"]},
        "rows_decided": {"type": ["integer", "null"]},
        "rows_with_errors": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]},
        "seconds": {"type": ["number", "null"]},
        "result": {"type": ["string", "null"]},
        "errors": {"type": ["string", "null"]},
    },
}

CODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "article", "part", "points", "label", "title", "url"],
    "properties": {
        "code": {"type": "string", "examples": ["158:3"]},
        "article": {"type": "string"},
        "part": {"type": ["string", "null"]},
        "points": {"type": "array", "items": {"type": "string"}},
        "label": {"type": "string", "examples": ["ч. 3 ст. 158 УК РФ"]},
        "title": {"type": "string"},
        "url": {"type": ["string", "null"]},
    },
}

LAW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["as_of", "law_fingerprint", "routes", "exclusion_lists", "event_rules", "unconfirmed", "instruments"],
    "properties": {
        "as_of": {"type": "string", "format": "date"},
        "law_fingerprint": {"type": "string"},
        "routes": {"type": "array", "items": {"type": "object"}},
        "exclusion_lists": {"type": "array", "items": {"type": "object"}},
        "event_rules": {"type": "array", "items": {"type": "object"}},
        "unconfirmed": {"type": "array", "items": {"type": "object"}},
        "instruments": {"type": "array", "items": {"type": "object"}},
    },
}

TIMELINE_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "from", "to", "flags", "sources"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "from": {"type": "string", "format": "date"},
        "to": {"type": ["string", "null"]},
        "flags": {"type": "array", "items": {"type": "string"}},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
}


def components() -> dict[str, Any]:
    return {
        **decision_components(),
        "Case": case_schema(),
        "Event": event_schema(),
        "Problem": PROBLEM_SCHEMA,
        "Job": JOB_SCHEMA,
        "Code": CODE_SCHEMA,
        "Law": LAW_SCHEMA,
        "TimelineItem": TIMELINE_ITEM,
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema}
    if example is not None:
        body["example"] = example
    return {"application/json": body}


def problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": ref("Problem")}}}


LAW_HEADER_DOC = {
    "X-Warexempt-Law": {
        "description": "The fingerprint of the law files the answer was made under.",
        "schema": {"type": "string"},
    }
}


def responses(ok: dict[str, Any], *errors: int, ok_status: int = 200) -> dict[int | str, dict[str, Any]]:
    """An operation's responses: its answer, and the problems it can give (422 always: input it cannot use)."""
    said = {
        400: "The body is not JSON, or not the shape expected.",
        404: "No such thing.",
        409: "Not ready yet.",
        413: "The body (or the number of cases) is over the limit.",
        415: "Not a file this endpoint reads.",
        422: "Input that cannot be used: each problem names the field, the value and what was expected.",
        401: "No valid bearer token.",
        403: "The token's role may not do this, or the case belongs to another organisation.",
        429: "Too many failed sign-ins.",
    }
    out: dict[int | str, dict[str, Any]] = {ok_status: {**ok, "headers": LAW_HEADER_DOC}}
    for status in sorted({422, *errors}):
        out[status] = problem(said[status])
    return out
