"""``POST /api/v1/check`` under load (issue 12, item 2): the fast path answers exactly as the documented FastAPI
route, with the same headers and problems; the answers' bytes are ``json.dumps``'s; a batch decided in a process of
its own is the batch decided in a thread; a deciding process that dies is replaced and no request is lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from warexempt.api.app import create_app
from warexempt.api.check import FastCheck, dumps
from warexempt.api.security import SECURITY_HEADERS
from warexempt.api.services import check
from warexempt.explain.views import decision_view
from warexempt.facade import check as facade_check
from warexempt.law.catalog import Law

from .test_api import CASE, _plain, acceptance_cases, assert_problem

DIED_FIRST = {
    **CASE,
    "events": [{"date": "2024-01-01", "kind": "died"}, {"date": "2024-02-01", "kind": "contract_signed"}],
}
BODIES: list[tuple[str, bytes]] = [
    ("", json.dumps(CASE).encode()),
    ("?lang=ru", json.dumps(CASE).encode()),
    ("?lang=RU&what_if=1", json.dumps(CASE).encode()),
    ("", json.dumps({**CASE, "stage": "trail", "as_of": "2025-13-01"}).encode()),
    ("?lang=ru", json.dumps({**CASE, "charges": ["158:9"]}).encode()),
    ("", json.dumps(DIED_FIRST).encode()),
    ("", b"[1, 2]"),
    ("", b"{"),
    ("", b""),
    ("?what_if=maybe", json.dumps(CASE).encode()),
]


def test_the_fast_path_answers_as_the_documented_route(app: FastAPI, tmp_path: Path) -> None:
    """Same status, content type and bytes for answers and for every kind of problem (400, 422, what-if)."""
    plain = create_app(jobs_dir=tmp_path)  # the same app without the fast path (the stack is built on first use)
    fast_path: object = FastCheck
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not fast_path]

    async def both() -> list[tuple[httpx.Response, httpx.Response]]:
        fast = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
        slow = httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://api")
        async with fast, slow:
            return [
                (await fast.post("/api/v1/check" + q, content=b), await slow.post("/api/v1/check" + q, content=b))
                for q, b in BODIES
            ]

    answers = asyncio.run(both())
    assert plain.state.batcher.stats.cases > 0  # the FastAPI route answered, not the fast path
    for (query, body), (got, want) in zip(BODIES, answers, strict=True):
        assert (got.status_code, got.headers["content-type"]) == (want.status_code, want.headers["content-type"])
        assert got.content == want.content, (query, body)
    statuses = [got.status_code for got, _ in answers]
    assert statuses == [200, 200, 200, 422, 422, 422, 422, 400, 400, 422]


def test_the_fast_path_keeps_the_headers_and_the_limits(client: TestClient, law: Law, tmp_path: Path) -> None:
    res = client.post("/api/v1/check", json=CASE)
    assert res.headers["x-warexempt-law"] == law.fingerprint
    for name, value in SECURITY_HEADERS.items():
        assert res.headers[name] == value
    bad = client.post("/api/v1/check?lang=ru", json={**CASE, "stage": "x"})
    assert_problem(bad, 422, "stage")
    assert bad.headers["x-warexempt-law"] == law.fingerprint and bad.json()["instance"] == "/api/v1/check"
    assert_problem(client.get("/api/v1/check"), 405)  # not POST: FastAPI's routing answers
    with TestClient(create_app(jobs_dir=tmp_path, body_limit=512)) as small:
        huge = small.post("/api/v1/check", content=json.dumps({**CASE, "case_id": "x" * 600}))
        assert_problem(huge, 413)
        assert huge.headers["x-warexempt-law"] == law.fingerprint


def test_answers_are_the_bytes_json_dumps_writes() -> None:
    """``to_json`` (Rust) instead of ``json.dumps``: byte for byte the same, for every public case, both languages,
    the what-if answers and the problems included."""
    for i, case in enumerate(_plain(acceptance_cases())):
        for lang in ("en", "ru"):
            for what_if in (False, True) if i % 4 == 0 else (False,):
                try:
                    found = check(case, lang, what_if)
                except Exception as exc:  # a case the API refuses: its problem document
                    found = exc.document(lang)  # type: ignore[attr-defined]
                assert dumps(found) == json.dumps(found, ensure_ascii=False, separators=(",", ":")).encode()


def test_a_lone_request_is_decided_at_once(client: TestClient, app: FastAPI) -> None:
    """No fixed wait at rest: one request, one engine call of one case."""
    before = app.state.batcher.stats.calls
    assert client.post("/api/v1/check", json=CASE).status_code == 200
    assert app.state.batcher.stats.calls == before + 1


@pytest.mark.skipif(not hasattr(os, "kill"), reason="needs os.kill")
def test_a_deciding_process_answers_the_same_and_is_replaced_when_it_dies(tmp_path: Path) -> None:
    cases = [*_plain(acceptance_cases())[::10], DIED_FIRST, {**CASE, "charges": ["158:9"]}]
    app = create_app(jobs_dir=tmp_path, decide_processes=1)

    async def run(c: httpx.AsyncClient, lang: str) -> list[httpx.Response]:
        return await asyncio.gather(*(c.post(f"/api/v1/check?lang={lang}", json=case) for case in cases))

    with TestClient(app) as client:
        pids = app.state.batcher.pids()
        assert pids  # started with the app, before the first request

        async def both() -> tuple[list[httpx.Response], list[httpx.Response]]:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
                return await run(c, "en"), await run(c, "ru")

        en, ru = asyncio.run(both())
        for case, res in zip(cases, en, strict=True):
            if res.status_code == 200:
                assert res.json() == decision_view(facade_check(case), "en")
        assert [r.status_code for r in en] == [r.status_code for r in ru] and en[-2].status_code == 422
        assert app.state.batcher.stats.largest > 1
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        assert client.post("/api/v1/check", json=CASE).json() == decision_view(facade_check(CASE), "en")
        assert client.post("/api/v1/check", json=CASE).status_code == 200  # and a new process after it
        assert app.state.batcher.pids() and not set(app.state.batcher.pids()) & set(pids)


def test_a_lone_surrogate_is_a_400_naming_the_body_not_a_500() -> None:
    """``"\\ud800"`` alone is valid JSON but no Unicode text: the body is refused as not UTF-8 text; a surrogate pair
    (an emoji) is one character and reads as any other."""
    from fastapi.testclient import TestClient

    from warexempt.api.app import create_app

    with TestClient(create_app()) as client:
        lone = b'{"case_id": "a\\ud800", "charges": ["158:1"], "stage": "trial", "as_of": "2025-06-01"}'
        r = client.post("/api/v1/check", content=lone, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "body", r.text
        pair = lone.replace(b"\\ud800", b"\\ud83d\\ude00")
        r = client.post("/api/v1/check", content=pair, headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json()["case_id"] == "a\U0001f600"


def test_check_over_http_skips_only_layers_that_add_nothing(tmp_path: Path) -> None:
    """Over plain HTTP ``POST /check`` goes straight to the Guard and the fast path (``app._Api``); over HTTPS
    through the whole stack. The answers and headers are the same, for the API and for the site (whose own security
    headers the Guard's already hold), apart from the site's HSTS, which only HTTPS gets."""
    from warexempt.web.app import create_site

    for made in (create_app(jobs_dir=tmp_path), create_site()):

        async def both(app: FastAPI = made) -> tuple[httpx.Response, ...]:
            plain = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
            tls = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://api")
            async with plain, tls:
                return tuple(
                    [await c.post("/api/v1/check" + q, content=b) for c in (plain, tls) for q, b in BODIES[:2]]
                    + [await c.post("/api/v1/check", content=BODIES[3][1]) for c in (plain, tls)]
                )

        over_http_en, over_http_ru, over_tls_en, over_tls_ru, bad_http, bad_tls = asyncio.run(both())
        assert made._check_chain is not None  # type: ignore[attr-defined]
        assert ("strict-transport-security" in over_tls_en.headers) == hasattr(made.state, "web_numbers")
        for got, want in ((over_http_en, over_tls_en), (over_http_ru, over_tls_ru), (bad_http, bad_tls)):
            assert (got.status_code, got.content) == (want.status_code, want.content)
            tls_headers = {k: v for k, v in want.headers.items() if k != "strict-transport-security"}
            assert dict(got.headers) == tls_headers
