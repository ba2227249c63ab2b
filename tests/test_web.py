"""The web page over HTTP (issue 12, items 3 and 4), without a browser: the pages answer and cite, hostile input is
escaped, the headers allow no inline script or framing, form posts need their CSRF token, the language is switched,
remembered and taken from ``Accept-Language``, and every word of the pages has its Russian."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from warexempt.explain.i18n import catalog
from warexempt.law.catalog import bundled_law
from warexempt.web import security
from warexempt.web.app import create_site
from warexempt.web.pages import EXAMPLES
from warexempt.web.render import accepted

from .conftest import ROOT

TRIAL = (
    "/?charge=158:3:в&stage=trial&event=2024-10-20:contract_signed&event=2024-11-01:command_petition&as_of=2025-06-01"
)
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('web') / 'register.db'}"


@pytest.fixture(scope="module")
def client(db_url: str) -> Iterator[TestClient]:
    # https: the session and CSRF cookies are Secure, and a client keeps them only over https
    with TestClient(create_site(db_url), base_url="https://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def tokens(db_url: str) -> dict[str, str]:
    """Register tokens of two organisations' editors and of a viewer (``people.add_user``)."""
    from warexempt.register import people
    from warexempt.register.store import Register

    reg = Register.open(db_url)
    out = {}
    for org, user, role in (("firm-a", "anna", "editor"), ("firm-b", "boris", "editor"), ("firm-a", "vera", "viewer")):
        if org not in people.orgs(reg):
            people.create_org(reg, org)
        out[user] = people.add_user(reg, reg.local(org), user, role).secret
    reg.close()
    return out


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.scripts.append(data)


def tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def assert_no_script_of_its_own(page: str) -> None:
    """No inline script, no event handler attribute, no inline style, no script or style from elsewhere."""
    found = tags(page)
    assert found.scripts == []
    for tag, attrs in found.tags:
        assert [a for a in attrs if a.startswith("on")] == [], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        if tag == "link":
            assert (attrs.get("href") or "").startswith("/static/"), attrs
        target = attrs.get("href") or attrs.get("action") or ""
        assert not target.strip().lower().startswith("javascript:"), (tag, attrs)


def _fresh(client: TestClient) -> TestClient:
    client.cookies.clear()
    return client


def test_a_check_in_english_and_in_russian(client: TestClient) -> None:
    en = _fresh(client).get(TRIAL + "&lang=en")
    assert en.status_code == 200
    assert 'data-outcome="suspended"' in en.text
    assert "Code of Criminal Procedure of the Russian Federation, Art. 238(1)(5)" in en.text
    ru = client.get(TRIAL + "&lang=ru")
    assert '<html lang="ru">' in ru.text
    assert "п. 5 ч. 1 ст. 238 УПК РФ" in ru.text
    assert re.search(r"1 ноября 2024\s+г\.", ru.text)  # dates per locale (Babel)
    assert "производство по делу приостановлено" in ru.text


def test_the_share_link_carries_every_fact_and_the_law(client: TestClient) -> None:
    from warexempt.law.catalog import bundled_law

    page = _fresh(client).get(TRIAL + "&lang=en").text
    url = re.search(r'id="share-url" readonly value="([^"]+)"', page)
    assert url
    query = parse_qs(urlsplit(url.group(1).replace("&amp;", "&")).query)
    assert query["charge"] == ["158:3:в"] and query["stage"] == ["trial"]
    assert query["event"] == ["2024-10-20:contract_signed", "2024-11-01:command_petition"]
    assert query["as_of"] == ["2025-06-01"] and query["law"] == [bundled_law().fingerprint]
    # under another law's fingerprint the page does not pretend to reproduce it
    stale = client.get(TRIAL + "&law=0123456789abcdef&lang=en").text
    assert "The law has changed since this check was made" in stale and 'data-outcome="' not in stale


def test_the_snippets_are_the_same_check(client: TestClient) -> None:
    import html

    page = _fresh(client).get(TRIAL + "&lang=en").text
    cli = html.unescape(re.search(r'<code id="cli-snippet">(.*?)</code>', page, re.S).group(1))  # type: ignore[union-attr]
    assert cli.startswith("warexempt check --charge 158:3:в --stage trial --event 2024-10-20:contract_signed")
    py = html.unescape(re.search(r'<code id="py-snippet">(.*?)</code>', page, re.S).group(1))  # type: ignore[union-attr]
    scope: dict[str, object] = {}
    exec(compile(py, "<snippet>", "exec"), scope)  # the Python snippet runs and gives the page's answer
    assert scope["view"]["outcome"] == "suspended"  # type: ignore[index]


def test_refused_facts_are_named_in_the_users_language(client: TestClient) -> None:
    r = _fresh(client).get("/?lang=ru&charge=158:9&stage=trail&ev_date=2024-13-01&ev_kind=contract_signed")
    assert r.status_code == 400
    assert "в статье 158 части 1, 2, 3, 4" in r.text
    assert "не стадия" in r.text and 'href="#stage"' in r.text
    assert 'value="2024-13-01"' in r.text  # the wrong date stays in its field
    assert "Traceback" not in r.text


def test_codes_autocomplete(client: TestClient) -> None:
    r = _fresh(client).get("/codes/options?charge=158:3&lang=ru")
    assert '<option value="158:3:в">' in r.text and "Кража" in r.text
    en = client.get("/codes/options?q=theft&lang=en")
    assert '<option value="158">' in en.text and "Theft" in en.text


@pytest.mark.parametrize(
    "path",
    [
        "/?charge=" + quote(HOSTILE) + "&stage=" + quote(HOSTILE) + "&lang=en",
        "/?charge=158:3&stage=trial&ev_date="
        + quote(HOSTILE)
        + "&ev_kind="
        + quote(HOSTILE)
        + "&ev_value="
        + quote(HOSTILE),
        "/?charge=158&stage=trial&event=2024-10-20:new_offence:" + quote(HOSTILE) + "&as_of=" + quote(HOSTILE),
        "/codes/options?q=" + quote(HOSTILE),
        "/law?as_of=" + quote(HOSTILE),
        "/?" + quote(HOSTILE) + "=" + quote(HOSTILE) + "&lang=" + quote(HOSTILE),
    ],
)
def test_hostile_input_is_escaped(client: TestClient, path: str) -> None:
    r = _fresh(client).get(path)
    assert r.status_code < 500
    assert "<script>alert" not in r.text and "<img src=x" not in r.text  # shown, if at all, as text
    assert_no_script_of_its_own(r.text)
    assert "img" not in {t for t, _ in tags(r.text).tags}


def test_headers_allow_no_inline_script_and_no_framing(client: TestClient) -> None:
    for path in ("/", TRIAL, "/law", "/codes/options?q=158", "/static/site.css"):
        r = _fresh(client).get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert re.search(r"script-src 'self'(;|$)", csp)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/", TRIAL, "/law", "/?charge=158:9&stage=trail"])
def test_pages_have_no_inline_script_style_or_handler(client: TestClient, path: str) -> None:
    page = _fresh(client).get(path).text
    assert_no_script_of_its_own(page)  # every asset from this site, none from the internet
    for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", page, re.S | re.I):
        assert f'name="{security.CSRF_FIELD}"' in form


def test_static_assets_are_served_with_their_licence() -> None:
    static = ROOT / "warexempt" / "web" / "static"
    assert (static / "vendor" / "htmx.min.js").stat().st_size > 10_000
    assert (
        "BSD" in (static / "vendor" / "htmx.LICENSE").read_text()
        or "Zero-Clause" in (static / "vendor" / "htmx.LICENSE").read_text()
    )


def test_the_language_is_switched_remembered_and_defaults_to_accept_language(client: TestClient) -> None:
    c = _fresh(client)
    assert '<html lang="ru">' in c.get("/", headers={"accept-language": "ru-RU,ru;q=0.9,en;q=0.8"}).text
    assert '<html lang="en">' in c.get("/", headers={"accept-language": "de-DE,en;q=0.5"}).text
    page = c.get("/?lang=ru")
    assert "wx_lang=ru" in page.headers["set-cookie"]
    assert 'href="/?lang=en"' in page.text  # the switch on every page
    assert '<html lang="ru">' in c.get("/law", headers={"accept-language": "en"}).text  # remembered
    assert '<html lang="en">' in c.get("/law?lang=en").text
    assert accepted("en;q=0.2, ru;q=0.8") == "ru"
    assert accepted("fr, de") == "en"


def _csrf_app() -> FastAPI:
    """A form post guarded as the site's are (``security.require_csrf``)."""
    app = FastAPI()
    app.add_middleware(security.Headers)

    @app.get("/form")
    def form(request: Request) -> PlainTextResponse:
        return PlainTextResponse(security.csrf_token(request))

    @app.post("/form")
    async def post(request: Request) -> PlainTextResponse:
        if refused := await security.require_csrf(request):
            return PlainTextResponse(refused, status_code=403)
        return PlainTextResponse("done")

    return app


def test_a_form_post_without_its_csrf_token_is_refused() -> None:
    with TestClient(_csrf_app(), base_url="https://testserver") as c:
        token = c.get("/form").text
        cookie = c.cookies.get(security.CSRF_COOKIE)
        assert cookie == token
        assert c.post("/form", data={}).status_code == 403
        assert c.post("/form", data={security.CSRF_FIELD: "forged" * 8}).status_code == 403
        other = {"origin": "https://evil.example"}
        assert c.post("/form", data={security.CSRF_FIELD: token}, headers=other).status_code == 403
        cross = {"sec-fetch-site": "cross-site", "origin": "null"}
        assert c.post("/form", data={security.CSRF_FIELD: token}, headers=cross).status_code == 403
        own = {"sec-fetch-site": "same-origin", "origin": "null"}  # a browser's own form under no-referrer
        assert c.post("/form", data={security.CSRF_FIELD: token}, headers=own).text == "done"
        assert c.post("/form", data={security.CSRF_FIELD: token}).text == "done"
        c.cookies.clear()
        assert c.post("/form", data={security.CSRF_FIELD: token}).status_code == 403


def test_the_csrf_cookie_is_secure_http_only_and_strict(client: TestClient) -> None:
    cookie = _fresh(client).get("/").headers["set-cookie"]
    assert security.CSRF_COOKIE in cookie
    assert all(flag in cookie.lower() for flag in ("httponly", "secure", "samesite=strict"))


def test_every_word_of_the_pages_has_its_russian() -> None:
    known = set(catalog("ru"))
    web = ROOT / "warexempt" / "web"
    found: set[str] = set()
    for path in [*web.glob("templates/*.html"), *web.glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        found |= {m[1] for m in re.findall(r"""(?<![\w.])_\(\s*(["'])((?:(?!\1).)*)\1""", text)}
        found |= {m[1] for m in re.findall(r"""N_\(\s*(["'])((?:(?!\1).)*)\1""", text)}
    found.discard("English msgid")  # the docstring's example
    assert sorted(found - known) == []
    assert len(found) > 60


def test_the_templates_autoescape() -> None:
    from warexempt.web.render import ENV

    assert ENV.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    for name in ("base.html", "check.html", "law.html", "_options.html"):
        assert ENV.get_template(name).name == name  # the templates compile
    assert Path(ENV.loader.searchpath[0]).name == "templates"  # type: ignore[union-attr]


@pytest.mark.parametrize("example", [q for _, q in EXAMPLES])
def test_the_examples_on_the_first_page_answer(client: TestClient, example: str) -> None:
    page = _fresh(client).get("/?lang=en").text
    assert f'href="/?{example}&amp;lang=en"'.replace("&", "&amp;").replace("&amp;amp;", "&amp;") in page
    r = client.get("/?" + example)
    assert r.status_code == 200 and 'data-outcome="' in r.text


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _sign_in(c: TestClient, token: str) -> str:
    """Sign in through the form; the page's CSRF token."""
    csrf = _csrf(_fresh(c).get("/cases?lang=en").text)
    r = c.post("/cases/sign-in", data={"csrf": csrf, "token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    assert "wx_session=" in cookie and all(f in cookie.lower() for f in ("httponly", "secure", "samesite=strict"))
    assert token not in cookie  # the token stays on the server
    return csrf


def test_the_register_flow_with_a_refused_step(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = _sign_in(client, tokens["anna"])
    r = client.post(
        "/cases/new",
        data={"csrf": csrf, "label": "A-1", "charges": "158:3:в", "stage": "trial", "as_of": "2025-06-01"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/cases/A-1"
    page = client.get("/cases/A-1").text
    assert 'data-outcome="eligible"' in page
    client.post("/cases/A-1/events", data={"csrf": csrf, "date": "2024-10-20", "kind": "contract_signed"})
    r = client.post("/cases/A-1/events", data={"csrf": csrf, "date": "2024-11-01", "kind": "command_petition"})
    assert 'data-outcome="suspended"' in r.text
    assert "changes the status from eligible" in r.text and "Art. 238(1)(5)" in r.text
    assert "event added: command petition (2024-11-01)" in r.text  # the audit history
    refused = client.post("/cases/A-1/events", data={"csrf": csrf, "date": "2024-09-01", "kind": "state_award"})
    assert refused.status_code == 422
    assert "comes before the entry into service" in refused.text  # the law's reason, at the form
    assert 'value="2024-09-01"' in refused.text  # the values kept
    listed = client.get("/cases?outcome=suspended").text
    assert 'href="/cases/A-1"' in listed
    assert 'href="/cases/A-1"' not in client.get("/cases?outcome=released").text
    assert 'href="/cases/A-1"' not in client.get("/cases?q=zzz").text


def test_a_bad_case_is_named_at_its_fields(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = _sign_in(client, tokens["anna"])
    r = client.post("/cases/new", data={"csrf": csrf, "label": "A-2", "charges": "158:9", "stage": "trail"})
    assert r.status_code == 422
    assert "is not a stage" in r.text and "article 158 has parts 1, 2, 3, 4" in r.text
    assert 'href="/cases/A-2"' not in client.get("/cases").text


def test_hostile_labels_and_notes_are_escaped(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = _sign_in(client, tokens["anna"])
    r = client.post(
        "/cases/new",
        data={"csrf": csrf, "label": HOSTILE[:90], "charges": "158:3", "stage": "trial", "notes": HOSTILE},
        follow_redirects=False,
    )
    assert r.status_code == 303
    for page in (client.get(r.headers["location"]).text, client.get("/cases").text):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert_no_script_of_its_own(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(r.headers["location"]).text


def test_every_register_form_post_needs_its_csrf_token(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = _sign_in(client, tokens["anna"])
    client.post("/cases/new", data={"csrf": csrf, "label": "A-3", "charges": "158:3", "stage": "trial"})
    posts = {
        "/cases/new": {"label": "A-4", "charges": "158:3", "stage": "trial"},
        "/cases/A-3/events": {"date": "2024-10-20", "kind": "contract_signed"},
        "/cases/sign-out": {},
        "/cases/sign-in": {"token": tokens["anna"]},
    }
    for path, data in posts.items():
        for forged in ({}, {"csrf": "x" * 43}):
            r = client.post(path, data={**data, **forged}, follow_redirects=False)
            assert r.status_code in (403, 422) and "did not come from this site" in r.text, path
        r = client.post(path, data={**data, "csrf": csrf}, headers={"origin": "https://evil.example"})
        assert r.status_code in (403, 422), path
    assert 'href="/cases/A-4"' not in client.get("/cases").text
    assert "No events yet." in client.get("/cases/A-3").text
    for page in (client.get("/cases").text, client.get("/cases/A-3").text):
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", page, re.S):
            assert 'name="csrf"' in form


def test_an_organisation_sees_only_its_own_cases(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = _sign_in(client, tokens["anna"])
    client.post("/cases/new", data={"csrf": csrf, "label": "SECRET-A", "charges": "158:3", "stage": "trial"})
    csrf = _sign_in(client, tokens["boris"])
    assert "SECRET-A" not in client.get("/cases").text
    assert client.get("/cases/SECRET-A").status_code == 404
    r = client.post("/cases/SECRET-A/events", data={"csrf": csrf, "date": "2024-10-20", "kind": "contract_signed"})
    assert r.status_code == 404
    # a viewer of the right organisation reads, but has no form to write
    _sign_in(client, tokens["vera"])
    page = client.get("/cases/SECRET-A").text
    assert "Case SECRET-A" in page and 'action="/cases/SECRET-A/events"' not in page


def test_failed_sign_ins_are_limited(db_url: str, tokens: dict[str, str]) -> None:
    with TestClient(create_site(db_url), base_url="https://testserver") as c:
        csrf = _csrf(c.get("/cases?lang=en").text)
        codes = [c.post("/cases/sign-in", data={"csrf": csrf, "token": f"wx_wrong{i}"}).status_code for i in range(12)]
        assert codes[0] == 401 and codes[-1] == 429
        r = c.post("/cases/sign-in", data={"csrf": csrf, "token": tokens["anna"]}, follow_redirects=False)
        assert r.status_code == 429 and "Retry-After" in r.headers  # even a good token waits


def test_signing_out_ends_the_session(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = _sign_in(client, tokens["anna"])
    assert "Cases of firm-a" in client.get("/cases").text
    assert "editor (records cases)" in client.get("/cases?lang=en").text  # the role in words, in each language
    assert "редактор (ведение дел)" in client.get("/cases?lang=ru").text
    client.post("/cases/sign-out", data={"csrf": csrf})
    assert 'name="token"' in client.get("/cases").text


def test_the_numbers_are_computed_once_in_the_background(db_url: str, tmp_path: Path) -> None:
    from warexempt.web.numbers import Numbers

    def make() -> Numbers:
        return Numbers(draws=500, sections=("intervals",), cache_dir=tmp_path)

    numbers = make()
    with TestClient(create_site(db_url, numbers=numbers), base_url="https://testserver") as c:
        first = c.get("/numbers?lang=en")
        assert first.status_code == 202 and 'http-equiv="refresh"' in first.text
        numbers.wait(300)
        page = c.get("/numbers?lang=en")
        assert page.status_code == 200, page.text
        assert "Estimates with their intervals" in page.text and "<table>" in page.text
        src = re.search(r'<img src="(/numbers/figures/en/[\w.-]+\.png)"', page.text)
        assert src
        png = c.get(src.group(1))
        assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
        assert_no_script_of_its_own(page.text)
        ru = c.get("/numbers?lang=ru")
        assert ru.status_code == 200 and '<html lang="ru">' in ru.text
        assert c.get("/numbers/figures/en/nothing.png").status_code == 404
    assert make().view("en") is not None  # from the cache file, at once


def test_the_check_has_a_json_twin(client: TestClient) -> None:
    from warexempt.explain.views import decision_schema

    page = _fresh(client).get(TRIAL + "&lang=en").text
    link = re.search(r'id="json-link" href="([^"]+)"|href="([^"]+)" id="json-link"', page)
    assert link
    r = client.get((link.group(1) or link.group(2)).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    answer = r.json()
    assert answer["outcome"] == "suspended" and answer["what_if"]
    assert set(decision_schema()["required"]) <= set(answer)
    bad = client.get("/check.json?charge=158:9&stage=trail&lang=en")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in bad.json()["errors"]} == {"stage", "charges[1]"}


def test_the_law_charts_reach_past_today_and_the_last_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """The /law charts end on the 1 January after today and after the law's last change (not on a fixed year)."""
    from warexempt.web import pages

    law = bundled_law()
    monkeypatch.setattr(pages, "today", lambda: dt.date(2031, 5, 1))
    assert pages.chart_end(law) == dt.date(2032, 1, 1)
    monkeypatch.setattr(pages, "today", lambda: dt.date(2025, 5, 1))
    assert pages.chart_end(law) == dt.date(max(law.boundaries).year + 1, 1, 1)
