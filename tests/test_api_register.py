"""The register over HTTP (issue 12, items 1 and 4): bearer tokens and roles, cases and events with the law's answer,
refused steps with their reason (RULES.md §5), history, audit, export; one organisation never reads or changes
another's cases through any route of ``/openapi.json``; failed sign-ins are rate-limited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from warexempt.api.app import create_app
from warexempt.register.people import add_user, create_org
from warexempt.register.store import Register

CASE = {
    "label": "K-1",
    "charges": ["158:3:в"],
    "stage": "trial",
    "events": [{"date": "2024-10-20", "kind": "contract_signed"}],
    "as_of": "2025-06-01",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app on a fresh SQLite register with two organisations: tokens of an editor and a viewer of "a", and an
    editor of "b"."""
    folder = tmp_path_factory.mktemp("register")
    url = f"sqlite:///{folder / 'r.sqlite3'}"
    with Register.open(url) as reg:
        tokens = {}
        for org in ("a", "b"):
            create_org(reg, org)
            tokens[f"{org}-editor"] = add_user(reg, reg.local(org), f"ed-{org}", "editor").secret
        tokens["a-viewer"] = add_user(reg, reg.local("a"), "viewer-a", "viewer").secret
    app = create_app(url, jobs_dir=folder / "jobs")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(res: Any, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = res.json()
    return body


def test_the_register_flow(world: tuple[TestClient, dict[str, str]]) -> None:
    """Add a case, add a petition (the trial is suspended: upk:238:1:5), see the status, history and audit."""
    client, tokens = world
    ed = auth(tokens["a-editor"])
    res = client.post("/api/v1/cases", json=CASE, headers=ed)
    assert res.status_code == 201, res.text
    assert res.headers["location"] == "/api/v1/cases/K-1" and res.json()["outcome"] == "eligible"
    res = client.post(
        "/api/v1/cases/K-1/events?lang=ru", json={"date": "2024-11-01", "kind": "command_petition"}, headers=ed
    )
    assert res.status_code == 201, res.text
    step = res.json()
    assert step["effect"] == "changed" and step["after"]["outcome"] == "suspended" and "238" in step["message"]
    case = client.get("/api/v1/cases/K-1", headers=ed).json()
    assert case["outcome"] == "suspended" and case["seq"] == 2 and case["decision"]["reasons"] == ["upk:238:1:5"]
    history = client.get("/api/v1/cases/K-1/history", headers=ed).json()
    assert len(history) >= 2
    audit = client.get("/api/v1/cases/K-1/audit", headers=ed).json()
    assert len(audit) >= 2 and all(a["case_label"] == "K-1" for a in audit)
    listed = client.get("/api/v1/cases?outcome=suspended", headers=ed).json()
    assert [c["label"] for c in listed] == ["K-1"]
    assert client.get("/api/v1/cases?q=zz", headers=ed).json() == []
    exported = client.get("/api/v1/export?format=csv", headers=ed)
    assert exported.status_code == 200 and "K-1" in exported.text


def test_a_refused_step_names_the_laws_reason(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    ed = auth(tokens["a-editor"])
    client.post("/api/v1/cases", json={**CASE, "label": "K-2"}, headers=ed)
    client.post("/api/v1/cases/K-2/events", json={"date": "2025-01-01", "kind": "died"}, headers=ed)
    body = problem(
        client.post("/api/v1/cases/K-2/events", json={"date": "2025-02-01", "kind": "state_award"}, headers=ed), 422
    )
    assert body["type"].endswith("refused") and "death" in body["detail"] + str(body.get("errors"))


def test_bad_input_is_named(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    ed = auth(tokens["a-editor"])
    body = problem(client.post("/api/v1/cases", json={**CASE, "label": "K-3", "stage": "trail"}, headers=ed), 422)
    assert body["field"] == "stage" and body["value"] == "trail"
    body = problem(client.post("/api/v1/cases", json={**CASE, "label": "K-3", "charges": ["158:9"]}, headers=ed), 422)
    assert body["field"] == "charges[1]"
    problem(client.post("/api/v1/cases", json={**CASE, "colour": 1}, headers=ed), 422)
    problem(client.post("/api/v1/cases", json=CASE, headers=ed), 409)  # K-1 exists
    problem(client.post("/api/v1/cases/K-1/events", json={"date": "2025-13-01", "kind": "died"}, headers=ed), 422)
    problem(client.get("/api/v1/export?format=xml", headers=ed), 422)


def test_roles_and_tokens(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    viewer = auth(tokens["a-viewer"])
    assert client.get("/api/v1/cases", headers=viewer).status_code == 200
    problem(client.post("/api/v1/cases", json={**CASE, "label": "V-1"}, headers=viewer), 403)
    body = problem(client.get("/api/v1/cases"), 401)
    assert "Bearer" in body["detail"]
    problem(client.get("/api/v1/cases", headers=auth("not-a-token")), 401)


def _routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (m.upper(), p) for p, ops in paths.items() if p.startswith(("/api/v1/cases", "/api/v1/export")) for m in ops
    ]


def test_another_organisation_is_refused_on_every_route(world: tuple[TestClient, dict[str, str]]) -> None:
    """Issue 12 item 4: a token of organisation b walks every register route of /openapi.json on a's case."""
    client, tokens = world
    a, b = auth(tokens["a-editor"]), auth(tokens["b-editor"])
    assert client.post("/api/v1/cases", json={**CASE, "label": "A-SECRET"}, headers=a).status_code == 201
    before = client.get("/api/v1/cases/A-SECRET", headers=a).json()
    routes = _routes(client)
    assert len(routes) >= 7
    for method, path in routes:
        url = path.replace("{label}", "A-SECRET")
        body = {"date": "2025-01-20", "kind": "state_award"} if "events" in path else {**CASE, "label": "B-1"}
        res = client.request(method, url, headers=b, json=body if method == "POST" else None)
        if "{label}" in path:
            assert res.status_code == 404, (method, path, res.text)
        else:  # the list, the export and a new case: b sees and writes only its own
            assert res.status_code in (200, 201) and "A-SECRET" not in res.text, (method, path, res.text)
    after = client.get("/api/v1/cases/A-SECRET", headers=a).json()
    assert after["seq"] == before["seq"] and after["outcome"] == before["outcome"]  # a's case is unchanged
    assert "A-SECRET" not in client.get("/api/v1/export?format=yaml", headers=b).text


def test_failed_sign_ins_are_rate_limited_over_http(tmp_path: Path) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'r.sqlite3'}", jobs_dir=tmp_path / "jobs")
    app.state.sign_ins.attempts = 3
    with TestClient(app) as client:
        for _ in range(3):
            problem(client.get("/api/v1/cases", headers=auth("guess")), 401)
        res = client.get("/api/v1/cases", headers=auth("guess"))
        problem(res, 429)
        assert int(res.headers["retry-after"]) >= 1
