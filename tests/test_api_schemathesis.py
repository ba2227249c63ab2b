"""Schemathesis against the app's own ``/openapi.json``, in process (issue 12, item 5): whatever the generated input,
no 5xx, every status code and content type documented, every response body matching its schema."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.case import Case

from warexempt.api.app import create_app
from warexempt.register.people import add_user, create_org
from warexempt.register.store import Register

HERE = Path(tempfile.mkdtemp(prefix="warexempt-st-"))
DB = f"sqlite:///{HERE / 'register.sqlite3'}"
with Register.open(DB) as _reg:  # an editor's token, so that the register's routes are walked signed in
    create_org(_reg, "st")
    TOKEN = {"Authorization": f"Bearer {add_user(_reg, _reg.local('st'), 'fuzzer', 'editor').secret}"}
APP = create_app(DB, jobs_dir=HERE / "jobs")
EVALUATE = "/api/v1/evaluate"
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path=EVALUATE)
# /evaluate takes up to 10,000 cases: the coverage phase's hundreds of edge-case lists take half a minute, so it
# gets the examples and the fuzzing phases only (the same checks).
whole = schemathesis.openapi.from_asgi("/openapi.json", APP)
whole.config.phases.coverage.enabled = False
many = whole.include(path=EVALUATE)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: Case[Any]) -> None:
    response = case.call_and_validate(checks=CHECKS, headers=TOKEN)
    assert response.headers.get("x-warexempt-law")


@many.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_evaluate_conforms_to_its_schema(case: Case[Any]) -> None:
    response = case.call_and_validate(checks=CHECKS, headers=TOKEN)
    assert response.headers.get("x-warexempt-law")
