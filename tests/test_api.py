"""The HTTP API (issue 12, items 1, 2 and 4): every endpoint, its problem+json errors, its headers, the micro-batcher,
and the same answers as ``warexempt.facade.check`` (RULES.md §1-§4 through the one rules path)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi.testclient import TestClient

from warexempt.api.app import create_app
from warexempt.api.security import SignInLimiter
from warexempt.api.services import MAX_CASES
from warexempt.explain.views import decision_schema, decision_view
from warexempt.facade import check
from warexempt.law.catalog import Law
from warexempt.rules.acceptance import load_case_yaml

from .conftest import ROOT, require_shared

CASE = {
    "case_id": "A-1",
    "charges": ["158:3:в"],
    "stage": "trial",
    "events": [{"date": "2024-10-20", "kind": "contract_signed"}, {"date": "2024-11-01", "kind": "command_petition"}],
    "as_of": "2025-06-01",
}
SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


def acceptance_cases() -> list[dict[str, Any]]:
    folder = require_shared()
    found = []
    for path in sorted([*folder.glob("*.yaml"), *(folder / "histories").glob("*.yaml")]):
        for item in load_case_yaml(path.read_text(encoding="utf-8"))["cases"]:
            found.append({**item["facts"], "as_of": str(item["as_of"]), "case_id": str(item["id"])})
    return found


def _plain(data: Any) -> Any:
    """YAML's dates as ISO text, as a JSON client sends them."""
    return json.loads(json.dumps(data, default=str))


def assert_problem(res: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = res.json()
    assert body["status"] == status and body["type"].startswith("urn:warexempt:problem:") and body["title"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


# -- /check -------------------------------------------------------------------------------------------------------
def test_check_is_the_cli_answer_and_matches_the_schema(client: TestClient, law: Law) -> None:
    """The answer is ``check --json``'s object: ``decision_view`` of ``facade.check`` (upk:238:1:5, RULES.md §2)."""
    res = client.post("/api/v1/check", json=CASE)
    assert res.status_code == 200 and res.headers["content-type"] == "application/json"
    body = res.json()
    assert body == decision_view(check(CASE), "en")
    assert body["outcome"] == "suspended" and body["reasons"] == ["upk:238:1:5"]
    jsonschema.validate(body, decision_schema())
    assert res.headers["x-warexempt-law"] == law.fingerprint == body["trace"]["law_fingerprint"]


def test_check_in_russian_and_with_what_if(client: TestClient) -> None:
    res = client.post("/api/v1/check?lang=RU&what_if=true", json=CASE)
    body = res.json()
    assert res.status_code == 200 and body["citations"][0]["text"] == "п. 5 ч. 1 ст. 238 УПК РФ"
    jsonschema.validate(body, decision_schema())
    outcomes = {b["outcome"] for b in body["what_if"]}
    assert {"released", "resumed", "terminated_death"} <= outcomes  # award, other discharge, death (RULES.md §4)


def test_every_acceptance_case_gets_the_facade_answer(client: TestClient) -> None:
    """All 157 public cases through /evaluate in one body: each answer is facade.check's, in order."""
    cases = _plain(acceptance_cases())
    res = client.post("/api/v1/evaluate", json={"cases": cases})
    assert res.status_code == 200
    answers = res.json()["answers"]
    assert len(answers) == len(cases)
    for case, got in zip(cases, answers, strict=True):
        assert got == decision_view(check(case), "en"), case["case_id"]
    for case in cases[:: max(1, len(cases) // 8)]:  # and a few one at a time through the batcher
        assert client.post("/api/v1/check", json=case).json() == decision_view(check(case), "en")


# -- problems -----------------------------------------------------------------------------------------------------
def test_bad_charge_code_is_named(client: TestClient) -> None:
    body = assert_problem(client.post("/api/v1/check", json={**CASE, "charges": ["158:9"]}), 422, "charges[1]")
    assert body["value"] == "158:9" and "158:3" in body["errors"][0]["detail"]


def test_bad_date_and_unknown_stage_are_named_together(client: TestClient) -> None:
    bad = {**CASE, "stage": "trail", "as_of": "2025-13-01"}
    body = assert_problem(client.post("/api/v1/check", json=bad), 422, "stage")
    fields = {e["field"]: e for e in body["errors"]}
    assert fields["as_of"]["value"] == "2025-13-01" and "YYYY-MM-DD" in fields["as_of"]["detail"]
    assert "did you mean trial" in fields["stage"]["detail"] and "pre_trial" in fields["stage"]["detail"]


def test_problems_in_russian(client: TestClient) -> None:
    res = client.post("/api/v1/check?lang=ru", json={**CASE, "stage": "trail"})
    body = assert_problem(res, 422, "stage")
    assert "не стадия" in body["errors"][0]["detail"] and body["title"] == "Неизвестная стадия"
    res = client.post("/api/v1/check", json={**CASE, "stage": "x"}, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert "не стадия" in res.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"", 400, "body"),
        (b"[1, 2]", 422, "case"),
        (json.dumps({**CASE, "colour": "red"}).encode(), 422, "colour"),
        (
            json.dumps({**CASE, "events": [{"date": "2024-01-01", "kind": "discharged"}]}).encode(),
            422,
            "events[1].ground",
        ),
        (json.dumps({**CASE, "charges": []}).encode(), 422, "charges"),
        (
            json.dumps({**CASE, "events": [{"date": "2026-02-01", "kind": "new_offence", "charge": "999:9"}]}).encode(),
            422,
            "events[1].charge",
        ),
        (b"\xff\xfe", 400, "body"),
    ],
)
def test_bad_bodies_are_problems_never_500(client: TestClient, body: bytes, status: int, field: str) -> None:
    assert_problem(client.post("/api/v1/check", content=body), status, field)


def test_impossible_history_is_refused_with_its_reason(client: TestClient) -> None:
    events = [{"date": "2024-01-01", "kind": "state_award"}, {"date": "2024-02-01", "kind": "contract_signed"}]
    body = assert_problem(client.post("/api/v1/check", json={**CASE, "events": events}), 422, "events")
    assert body["type"].endswith("impossible_history")


def test_query_values_are_problems(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/check?what_if=maybe", json=CASE), 422, "what_if")
    assert_problem(client.get("/api/v1/law?as_of=yesterday"), 422, "as_of")
    assert_problem(client.get("/api/v1/codes?limit=0"), 422, "limit")
    assert_problem(client.get("/api/v1/codes?limit=many"), 422, "limit")


def test_routes_and_methods_that_are_not_there(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/nothing"), 404)
    assert_problem(client.get("/api/v1/check"), 405)


def test_too_large_a_body_is_413(tmp_path: Path) -> None:
    with TestClient(create_app(jobs_dir=tmp_path, body_limit=1024)) as small:
        res = small.post("/api/v1/check", content=json.dumps({**CASE, "case_id": "x" * 2000}))
        body = assert_problem(res, 413)
        assert "1024" not in body["detail"] and "MiB" in body["detail"]
        assert res.headers["x-warexempt-law"]


def test_too_large_an_upload_is_413(tmp_path: Path) -> None:
    with TestClient(create_app(jobs_dir=tmp_path, upload_limit=2048)) as small:
        res = small.post("/api/v1/bulk", files={"file": ("cases.csv", BULK_CSV.encode() * 40, "text/csv")})
        assert_problem(res, 413)
        ok = small.post("/api/v1/bulk", files={"file": ("cases.csv", BULK_CSV.encode(), "text/csv")})
        assert ok.status_code == 202


def test_hostile_values_come_back_as_json_data_never_markup(client: TestClient) -> None:
    """A charge code, a case id and a query that are HTML: answered as JSON (nosniff), never as a page."""
    hostile = "<script>alert(1)</script>"
    res = client.post("/api/v1/check?lang=<b>x</b>", json={**CASE, "case_id": hostile, "charges": [hostile]})
    body = assert_problem(res, 422, "charges[1]")
    assert body["value"] == hostile and res.headers["x-content-type-options"] == "nosniff"
    ok = client.post("/api/v1/check", json={**CASE, "case_id": hostile})
    assert ok.headers["content-type"] == "application/json" and ok.json()["case_id"] == hostile


def test_too_many_cases_is_413(client: TestClient) -> None:
    body = assert_problem(client.post("/api/v1/evaluate", json=[{}] * (MAX_CASES + 1)), 413, "cases")
    assert str(MAX_CASES) in body["errors"][0]["detail"]


def test_evaluate_answers_every_case_in_order(client: TestClient) -> None:
    cases = [CASE, {**CASE, "stage": "nowhere"}, {**CASE, "as_of": "2024-10-25", "case_id": "B"}]
    answers = client.post("/api/v1/evaluate", json=cases).json()["answers"]
    assert answers[0]["outcome"] == "suspended" and answers[2]["outcome"] == "eligible"
    assert answers[1]["status"] == 422 and answers[1]["errors"][0]["field"] == "cases[2].stage"
    assert_problem(client.post("/api/v1/evaluate", json={"rows": []}), 422, "cases")


# -- headers ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/timeline", "/api/v1/nothing", "/openapi.json"])
def test_every_response_has_the_law_and_security_headers(client: TestClient, law: Law, path: str) -> None:
    res = client.get(path)
    assert res.headers["x-warexempt-law"] == law.fingerprint
    for name in SECURITY:
        assert res.headers[name]
    csp = res.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp


# -- the law, the timeline, the codes -----------------------------------------------------------------------------
def test_law_timeline_and_codes(client: TestClient) -> None:
    law = client.get("/api/v1/law?as_of=2024-05-01&lang=ru").json()
    assert law["as_of"] == "2024-05-01" and any(r["covered"] for r in law["routes"])
    timeline = client.get("/api/v1/timeline").json()
    assert {"fz-270", "fz-64", "fz-340"} <= {t["id"] for t in timeline}
    by_word = client.get("/api/v1/codes", params={"q": "кража", "lang": "ru"}).json()
    assert by_word[0]["code"] == "158" and by_word[0]["title"] == "Кража" and by_word[0]["label"] == "ст. 158 УК РФ"
    assert client.get("/api/v1/codes", params={"q": "Theft"}).json()[0]["code"] == "158"
    parts = client.get("/api/v1/codes", params={"q": "158 3"}).json()
    assert [p["code"] for p in parts] == ["158:3"] and "в" in parts[0]["points"]
    assert [c["code"] for c in client.get("/api/v1/codes?q=78.1").json()] == ["78.1", "78.1:1", "78.1:2", "78.1:3"][
        : len(client.get("/api/v1/codes?q=78.1").json())
    ]
    assert client.get("/api/v1/codes", params={"q": "<script>zzzz"}).json() == []


# -- /bulk jobs ---------------------------------------------------------------------------------------------------
BULK_CSV = (
    "case_id,charges,stage,contract_date,petition_date,as_of\n"
    "c1,158:3:в,trial,2024-10-20,2024-11-01,2025-06-01\n"
    "c2,205:2,pre_trial,2024-05-02,2024-05-10,2025-06-01\n"
    "c3,158:9,trial,2024-10-20,,2025-06-01\n"
)


def _wait(client: TestClient, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(url).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {url} did not finish")


def test_bulk_job_runs_the_cli_bulk(client: TestClient) -> None:
    res = client.post(
        "/api/v1/bulk", files={"file": ("cases.csv", BULK_CSV.encode(), "text/csv")}, data={"as_of": "2025-06-01"}
    )
    assert res.status_code == 202, res.text
    url = res.headers["location"]
    assert url.startswith("/api/v1/jobs/") and res.json()["status"] in ("queued", "running", "done")
    job = _wait(client, url)
    assert job["status"] == "done" and (job["rows_read"], job["rows_decided"], job["rows_with_errors"]) == (3, 2, 1)
    result = client.get(job["result"])
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    lines = result.text.splitlines()
    assert lines[0].startswith("case_id,as_of,eligible,outcome") and lines[1].startswith("c1,2025-06-01,true,suspended")
    errors = client.get(job["errors"]).text
    assert "c3" in errors and "158:9" in errors


def test_bulk_problems(client: TestClient) -> None:
    assert_problem(
        client.post("/api/v1/bulk", files={"file": ("cases.xlsx", b"x", "application/octet-stream")}), 415, "file"
    )
    assert_problem(client.post("/api/v1/bulk", data={"as_of": "2025-01-01"}), 400, "file")
    assert_problem(client.post("/api/v1/bulk", content=b"plain"), 400, "file")
    assert_problem(client.get("/api/v1/jobs/nope"), 404, "id")
    assert_problem(client.get("/api/v1/jobs/nope/result"), 404, "id")
    res = client.post("/api/v1/bulk", files={"file": ("cases.csv", b"just,one,header\n", "text/csv")})
    job = _wait(client, res.headers["location"])
    assert job["status"] == "failed" and job["error"].startswith("cases.csv: unknown column 'just'")
    assert_problem(client.get(res.headers["location"] + "/result"), 409)


# -- the micro-batcher (item 2) -----------------------------------------------------------------------------------
def test_concurrent_checks_are_decided_in_fewer_engine_calls(tmp_path: Path) -> None:
    """40 requests at once: fewer engine calls than requests, and each request gets its own case's answer."""
    app = create_app(jobs_dir=tmp_path, batch_window=0.02)
    days = [f"2025-0{1 + i % 9}-1{i % 10}" for i in range(40)]

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            return await asyncio.gather(
                *(c.post("/api/v1/check", json={**CASE, "case_id": f"k{i}", "as_of": d}) for i, d in enumerate(days))
            )

    answers = asyncio.run(run())
    stats = app.state.batcher.stats
    assert stats.cases == 40 and stats.calls < 40 and stats.largest > 1
    for i, (res, day) in enumerate(zip(answers, days, strict=True)):
        body = res.json()
        assert (body["case_id"], body["as_of"]) == (f"k{i}", day)
        assert body == decision_view(check({**CASE, "case_id": f"k{i}", "as_of": day}), "en")


def test_a_bad_case_in_a_batch_spoils_no_other(tmp_path: Path) -> None:
    app = create_app(jobs_dir=tmp_path, batch_window=0.02)
    impossible = {
        **CASE,
        "events": [{"date": "2024-01-01", "kind": "died"}, {"date": "2024-02-01", "kind": "contract_signed"}],
    }

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
            return await asyncio.gather(
                *(c.post("/api/v1/check", json=impossible if i == 3 else CASE) for i in range(8))
            )

    answers = asyncio.run(run())
    assert [r.status_code for r in answers] == [200, 200, 200, 422, 200, 200, 200, 200]


# -- sign-ins, OpenAPI, serve -------------------------------------------------------------------------------------
def test_failed_sign_ins_are_rate_limited() -> None:
    limiter = SignInLimiter(attempts=3, window=60)
    for _ in range(3):
        limiter.check("10.0.0.1")
        limiter.failed("10.0.0.1")
    with pytest.raises(Exception) as caught:
        limiter.check("10.0.0.1")
    assert getattr(caught.value, "status", None) == 429 and int(caught.value.headers["Retry-After"]) >= 1  # type: ignore[attr-defined]
    limiter.check("10.0.0.2")  # another address is not held back


def test_openapi_document(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    paths = schema["paths"]
    assert {"/api/v1/check", "/api/v1/evaluate", "/api/v1/bulk", "/api/v1/law", "/api/v1/codes"} <= set(paths)
    check_op = paths["/api/v1/check"]["post"]
    assert check_op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Decision"
    }
    assert "application/problem+json" in check_op["responses"]["422"]["content"]
    assert check_op["requestBody"]["content"]["application/json"]["example"]["charges"] == ["158:3:в"]
    comps = schema["components"]["schemas"]
    assert comps["Decision"]["required"] == decision_schema()["required"] and "Decision.citation" in comps
    assert "HTTPValidationError" not in comps and "/docs" not in json.dumps(paths)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_warexempt_serve_serves_the_api(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "WAREXEMPT_DATA_DIR": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    exe = Path(sys.executable).with_name("warexempt")
    cmd = [str(exe), "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'r.sqlite3'}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline, res = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                res = httpx.post(f"http://127.0.0.1:{port}/api/v1/check", json=CASE, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert res is not None, proc.stderr.read().decode() if proc.stderr and proc.poll() is not None else "no answer"
        assert res.status_code == 200 and res.json()["outcome"] == "suspended"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
